// Matrix products y[T, N] = x[T, K] @ w[N, K]^T (+ bias[1, N]) (+ y when accumulating), fp32
// accumulation. x, y f32; w any float dtype (bf16 weights are unpacked from 32-bit words), q8_0 or
// q4_0; bias any float dtype.
// Each dispatch computes the columns [n0, n0 + cols) of y from one window of w's rows (a weight
// larger than one binding is bound in windows: the 12B output head is 1.3 GB).
//   matvec  T <= 8 (decode): 8 rows of w per 256-thread workgroup, 32 threads per row streaming the
//           row once for all T inputs; the fast form reads a word (two 16-bit weights) per load,
//           the block form a scale per 32 weights and a word of quants per load.
//   tiled   T > 8 (prefill, vision): 64x64 output tiles, 16-deep slices of x and w in workgroup
//           memory, 4x4 outputs per thread.
import type { Kernel } from '../wgsl';

const PARAMS: Kernel['params'] = [
  ['t', 'u32'],
  ['k', 'u32'],
  ['cols', 'u32'], // columns of y this dispatch writes (rows of its w window)
  ['n0', 'u32'], // first of them
  ['ldy', 'u32'], // row stride of y (its N)
  ['has_bias', 'u32'],
  ['accumulate', 'u32'],
];

/** The finished value of y[t, n0 + n] (n within the window). */
const EPILOGUE = /* wgsl */ `
fn finish(t: u32, n: u32, sum: f32) {
  let at = t * P.ldy + P.n0 + n;
  var v = sum;
  if (P.has_bias == 1u) { v += ld_bias(P.n0 + n); }
  if (P.accumulate == 1u) { v += ld_y(at); }
  st_y(at, v);
}`;

const operands = (bias: boolean): string[] => (bias ? ['y', 'x', 'w', 'bias'] : ['y', 'x', 'w']);

/** T <= 8. `words`: w is 16-bit, K even and its window starts on a word (the model's case). */
export function matvec(T: number, words: boolean, bf16: boolean, bias: boolean): Kernel {
  const unpack = bf16
    ? 'let w0 = bitcast<f32>(wd << 16u); let w1 = bitcast<f32>(wd & 0xffff0000u);'
    : 'let w0 = f16_to_f32(wd & 0xffffu); let w1 = f16_to_f32(wd >> 16u);';
  const inner = words
    ? /* wgsl */ `
  let half_k = P.k / 2u;
  for (var j = lane; j < half_k; j += 32u) {
    let wd = word_w(n * half_k + j);
    ${unpack}
    for (var t = 0u; t < ${T}u; t++) {
      acc[t] = fma(ld_x(t * P.k + 2u * j), w0, fma(ld_x(t * P.k + 2u * j + 1u), w1, acc[t]));
    }
  }`
    : /* wgsl */ `
  for (var i = lane; i < P.k; i += 32u) {
    let wv = ld_w(n * P.k + i);
    for (var t = 0u; t < ${T}u; t++) { acc[t] = fma(ld_x(t * P.k + i), wv, acc[t]); }
  }`;
  return rowsPerGroup(`matvec-t${T}${words ? '-words' : ''}`, T, bias, inner);
}

/** T <= 8 with q8_0 or q4_0 weights: each lane takes whole blocks, reads the scale once and the
 *  quants a word (4 int8 or 8 nibbles) at a time, sums q * x in fp32 and scales the block's sum.
 *  x is used as it is (no int8 rounding of the activations: more exact than the CPU path). */
export function matvecBlocks(T: number, q4: boolean, bias: boolean): Kernel {
  // Quant word m of the block -> the x offsets (within the block) of its values and their ints.
  const perWord = q4
    ? /* wgsl */ `
      for (var m = 0u; m < 4u; m++) {
        let qw = qword_w(blk, m);
        for (var b = 0u; b < 4u; b++) {
          let by = (qw >> (8u * b)) & 0xffu;
          let j = 4u * m + b;
          for (var t = 0u; t < ${T}u; t++) {
            let xo = t * P.k + 32u * i;
            bs[t] = fma(ld_x(xo + j), f32(i32(by & 15u) - 8), fma(ld_x(xo + j + 16u), f32(i32(by >> 4u) - 8), bs[t]));
          }
        }
      }`
    : /* wgsl */ `
      for (var m = 0u; m < 8u; m++) {
        let qw = qword_w(blk, m);
        for (var b = 0u; b < 4u; b++) {
          let q = f32(bitcast<i32>(qw << (24u - 8u * b)) >> 24u);
          for (var t = 0u; t < ${T}u; t++) { bs[t] = fma(ld_x(t * P.k + 32u * i + 4u * m + b), q, bs[t]); }
        }
      }`;
  const inner = /* wgsl */ `
  let blocks = P.k / 32u;
  for (var i = lane; i < blocks; i += 32u) {
    let blk = n * blocks + i;
    var bs: array<f32, ${T}>; // this block's sum of q * x${perWord}
    let d = scale_w(blk);
    for (var t = 0u; t < ${T}u; t++) { acc[t] = fma(d, bs[t], acc[t]); }
  }`;
  return rowsPerGroup(`matvec-t${T}-${q4 ? 'q4_0' : 'q8_0'}`, T, bias, inner);
}

/** The matvec skeleton: 8 rows of w per 256-thread workgroup, 32 lanes per row; `inner` adds lane's
 *  share of row n into acc[T], then the lanes' partial sums are reduced in workgroup memory. */
function rowsPerGroup(label: string, T: number, bias: boolean, inner: string): Kernel {
  return {
    label,
    operands: operands(bias),
    writes: ['y'],
    params: PARAMS,
    body: /* wgsl */ `
${bias ? '' : 'fn ld_bias(i: u32) -> f32 { return 0.0; }'}
${EPILOGUE}
var<workgroup> partial: array<f32, ${256 * T}>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let lane = lid % 32u;
  let n = flat_group(wid, nwg) * 8u + lid / 32u;
  var acc: array<f32, ${T}>;
  if (n < P.cols) {${inner}
  }
  for (var t = 0u; t < ${T}u; t++) { partial[t * 256u + lid] = acc[t]; }
  workgroupBarrier();
  for (var s = 16u; s > 0u; s >>= 1u) {
    if (lane < s) {
      for (var t = 0u; t < ${T}u; t++) { partial[t * 256u + lid] += partial[t * 256u + lid + s]; }
    }
    workgroupBarrier();
  }
  if (lane == 0u && n < P.cols) {
    for (var t = 0u; t < ${T}u; t++) { finish(t, n, partial[t * 256u + lid]); }
  }
}`,
  };
}

/** T > 8: a workgroup per 64x64 tile of y (x: tile column, y: tile row). */
export function tiled(bias: boolean): Kernel {
  return {
    label: 'matmul-tiled',
    operands: operands(bias),
    writes: ['y'],
    params: PARAMS,
    body: /* wgsl */ `
${bias ? '' : 'fn ld_bias(i: u32) -> f32 { return 0.0; }'}
${EPILOGUE}
// [kk][row] slices, padded against bank conflicts.
var<workgroup> xs: array<f32, ${16 * 65}>;
var<workgroup> ws: array<f32, ${16 * 65}>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let m0 = wid.y * 64u;
  let c0 = wid.x * 64u;
  let tx = lid % 16u;
  let ty = lid / 16u;
  var acc: array<array<f32, 4>, 4>;
  for (var k0 = 0u; k0 < P.k; k0 += 16u) {
    for (var q = 0u; q < 4u; q++) {
      let e = lid + 256u * q;
      let r = e / 16u;
      let kk = e % 16u;
      let k = k0 + kk;
      var xv = 0.0;
      if (m0 + r < P.t && k < P.k) { xv = ld_x((m0 + r) * P.k + k); }
      xs[kk * 65u + r] = xv;
      var wv = 0.0;
      if (c0 + r < P.cols && k < P.k) { wv = ld_w((c0 + r) * P.k + k); }
      ws[kk * 65u + r] = wv;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < 16u; kk++) {
      var a: array<f32, 4>;
      var b: array<f32, 4>;
      for (var i = 0u; i < 4u; i++) {
        a[i] = xs[kk * 65u + ty * 4u + i];
        b[i] = ws[kk * 65u + tx * 4u + i];
      }
      for (var i = 0u; i < 4u; i++) {
        for (var j = 0u; j < 4u; j++) { acc[i][j] = fma(a[i], b[j], acc[i][j]); }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    for (var j = 0u; j < 4u; j++) {
      let t = m0 + ty * 4u + i;
      let n = c0 + tx * 4u + j;
      if (t < P.t && n < P.cols) { finish(t, n, acc[i][j]); }
    }
  }
}`,
  };
}
