// Element-wise kernels, one thread per value over a grid() of 256-thread workgroups:
//   silu_mul  y = silu(gate) * up            [n] f32 (y may be gate)
//   gelu      y = gelu(x), exact erf form     [n] f32 (y may be x)
//   copy      y = x rounded to y's dtype      [n] f32 -> f32 | f16 | bf16
//   add_i32   x += step                       [n] i32
import type { Kernel } from '../wgsl';

const each = (statement: string): string => /* wgsl */ `
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = flat_group(wid, nwg) * 256u + lid;
  if (i >= P.n) { return; }
  ${statement}
}`;

export const siluMul: Kernel = {
  label: 'silu_mul',
  operands: ['y', 'gate', 'up'],
  writes: ['y'],
  params: [['n', 'u32']],
  body: each('let g = ld_gate(i); st_y(i, g / (1.0 + exp(-g)) * ld_up(i));'),
};

export const gelu: Kernel = {
  label: 'gelu',
  operands: ['y', 'x'],
  writes: ['y'],
  params: [['n', 'u32']],
  body: each('let x = ld_x(i); st_y(i, 0.5 * x * (1.0 + erf_f32(x * 0.70710678118654752)));'),
};

export const copy: Kernel = {
  label: 'copy',
  operands: ['y', 'x'],
  writes: ['y'],
  params: [['n', 'u32']],
  body: each('st_y(i, ld_x(i));'),
};

export const addI32: Kernel = {
  label: 'add_i32',
  operands: ['x'],
  writes: ['x'],
  params: [['n', 'u32'], ['step', 'i32']],
  body: each('st_x(i, ld_x(i) + P.step);'),
};
