// Rotary position embedding (1D for text, 2D for vision: the table decides), in place, one thread
// per rotated pair:
//   x[t, h*hd + i0], x[t, h*hd + i1] rotated by (cos, sin) = table[pos[t], j], table[pos[t], hd/2 + j]
// with (i0, i1) = (2j, 2j+1) interleaved (Mistral layout) or (j, j + hd/2) (transformers layout).
// x f32 [T, heads*hd]; table f32 [P, hd]; pos i32 [1, T]. A position outside the table leaves the
// row as it is (the CPU backend throws; positions come from the engine, which keeps them in range).
import type { Kernel } from '../wgsl';

export const rope = (interleaved: boolean): Kernel => ({
  label: `rope-${interleaved ? 'interleaved' : 'half'}`,
  operands: ['x', 'table', 'pos'],
  writes: ['x'],
  params: [['pairs', 'u32'], ['heads', 'u32'], ['hd', 'u32'], ['positions', 'u32']],
  body: /* wgsl */ `
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let k = flat_group(wid, nwg) * 256u + lid;
  if (k >= P.pairs) { return; }
  let half = P.hd / 2u;
  let j = k % half;
  let th = k / half;
  let t = th / P.heads;
  let p = ld_pos(t);
  if (p < 0 || u32(p) >= P.positions) { return; }
  let c = ld_table(u32(p) * P.hd + j);
  let s = ld_table(u32(p) * P.hd + half + j);
  let base = th * P.hd;
  let i0 = base + ${interleaved ? '2u * j' : 'j'};
  let i1 = base + ${interleaved ? '2u * j + 1u' : 'j + half'};
  let a = ld_x(i0);
  let b = ld_x(i1);
  st_x(i0, a * c - b * s);
  st_x(i1, a * s + b * c);
}`,
});
