// RMSNorm, one 256-thread workgroup per row:
//   y[t, :] = x[t, :] / sqrt(mean(x[t, :]^2) + eps) * w[0, :]     x, y f32 [T, D]; w any float [1, D]
// (y may be x: each value is read and written by the same thread). The sum of squares is fp32,
// reduced as a tree (the CPU sums in fp64; the harness bounds the difference).
import type { Kernel } from '../wgsl';

export const rmsnorm: Kernel = {
  label: 'rmsnorm',
  operands: ['y', 'x', 'w'],
  writes: ['y'],
  params: [['rows', 'u32'], ['d', 'u32'], ['eps', 'f32']],
  body: /* wgsl */ `
var<workgroup> partial: array<f32, 256>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let t = flat_group(wid, nwg);
  let row = t * P.d;
  var ss = 0.0;
  for (var i = lid; i < P.d; i += 256u) {
    let v = ld_x(row + i);
    ss = fma(v, v, ss);
  }
  partial[lid] = ss;
  workgroupBarrier();
  for (var s = 128u; s > 0u; s >>= 1u) {
    if (lid < s) { partial[lid] += partial[lid + s]; }
    workgroupBarrier();
  }
  let inv = 1.0 / sqrt(partial[0] / f32(P.d) + P.eps);
  if (t >= P.rows) { return; }
  for (var i = lid; i < P.d; i += 256u) { st_y(row + i, (ld_x(row + i) * inv) * ld_w(i)); }
}`,
};
