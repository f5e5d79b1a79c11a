// Row movement, one thread per value:
//   embed     y[t, :] = table[ids[t], :] as f32, for the ids inside this dispatch's window of
//             table rows [row0, row0 + rows) (a table larger than one binding is bound in windows)
//             y f32 [T, D]; table any float [V, D]; ids i32 [1, T]
//   set_rows  dst[index[i], :] = src[i, :] rounded to dst's dtype
//             dst any float [R, C]; src f32 [n, C]; index i32 [1, n]
//   set_rows  into a q8_0 dst (the quantized KV cache): one thread per 32-value block, rounding as
//             quant_blocks.cc does (d = max|x| / 127 stored as f16, q = x / d rounded half away
//             from zero, with the fp32 d); n and cols count blocks
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

export const setRowsQ8: Kernel = {
  label: 'set_rows-q8_0',
  operands: ['dst', 'src', 'index'],
  writes: ['dst'],
  params: [['n', 'u32'], ['cols', 'u32'], ['rows', 'i32']],
  body: grid(`let to = ld_index(r);
  if (to < 0 || to >= P.rows) { return; }
  var amax = 0.0;
  for (var j = 0u; j < 32u; j++) { amax = max(amax, abs(ld_src(32u * k + j))); }
  let d = amax / 127.0;
  let inv = select(0.0, 1.0 / d, d != 0.0);
  let blk = u32(to) * P.cols + c;
  st_scale_dst(blk, d);
  for (var j = 0u; j < 32u; j++) {
    let v = ld_src(32u * k + j) * inv;
    let t = i32(v);
    let f = v - f32(t);
    st_q_dst(blk, j, t + select(0, 1, f >= 0.5) - select(0, 1, f <= -0.5));
  }`),
};
