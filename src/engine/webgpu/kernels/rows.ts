// Row movement, one thread per value:
//   embed     y[t, :] = table[ids[t], :] as f32, for the ids inside this dispatch's window of
//             table rows [row0, row0 + rows) (a table larger than one binding is bound in windows)
//             y f32 [T, D]; table any float [V, D]; ids i32 [1, T]
//   set_rows  dst[index[i], :] = src[i, :] rounded to dst's dtype
//             dst any float [R, C]; src f32 [n, C]; index i32 [1, n]
// Ids or rows outside the table are skipped (the engine checks ids before they reach the device).
import type { Kernel } from '../wgsl';

const grid = (statements: string): string => /* wgsl */ `
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let k = flat_group(wid, nwg) * 256u + lid;
  if (k >= P.n) { return; }
  let c = k % P.cols;
  let r = k / P.cols;
  ${statements}
}`;

export const embed: Kernel = {
  label: 'embed',
  operands: ['y', 'table', 'ids'],
  writes: ['y'],
  params: [['n', 'u32'], ['cols', 'u32'], ['row0', 'i32'], ['rows', 'i32']],
  body: grid(`let id = ld_ids(r) - P.row0;
  if (id < 0 || id >= P.rows) { return; }
  st_y(k, ld_table(u32(id) * P.cols + c));`),
};

export const setRows: Kernel = {
  label: 'set_rows',
  operands: ['dst', 'src', 'index'],
  writes: ['dst'],
  params: [['n', 'u32'], ['cols', 'u32'], ['rows', 'i32']],
  body: grid(`let to = ld_index(r);
  if (to < 0 || to >= P.rows) { return; }
  st_dst(u32(to) * P.cols + c, ld_src(k));`),
};
