// Numeric kernels against float64 computations on fresh random inputs: the bf16 x fp32 matmul of
// every kernel set this machine runs (threaded, through the CPU backend, with ragged tails), text
// RoPE at long-context positions, and the vision 2D RoPE table of a full 64x64 grid.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadNative } from '../../src/engine/native';
import { randomBf16, randomFloats, rng } from './random';

const native = loadNative();
const kernelSets = ['generic', 'avx2', 'neon'].filter((k) => {
  try {
    native.testing.matmulBf16(new Float32Array(1), new Uint16Array(1), 1, 1, 1, k);
    return true;
  } catch {
    return false;
  }
});

test(`runtime dispatch picks a supported kernel set (${native.cpuKernels()}; available: ${kernelSets.join(', ')})`, () => {
  assert.ok(kernelSets.includes(native.cpuKernels()));
});

for (const kernels of kernelSets) {
  test(`matmul bf16 x fp32 (${kernels}) matches float64 within 1e-5 relative to the row scale`, () => {
    const rand = rng();
    // Ragged sizes: inputs not a multiple of 8/16, outputs not of 4/32, 1..7 tokens and a block of 37.
    const shapes = [
      [1, 5120, 64],
      [1, 37, 13],
      [2, 300, 70],
      [3, 256, 33],
      [5, 513, 65],
      [7, 1000, 31],
      [37, 259, 97],
    ];
    for (const [T, inDim, outDim] of shapes) {
      const x = randomFloats(rand, T * inDim);
      const w = randomBf16(rand, outDim * inDim, 0.05);
      const y = native.testing.matmulBf16(x, w.bits, T, inDim, outDim, kernels);
      let worst = 0;
      for (let t = 0; t < T; t++)
        for (let r = 0; r < outDim; r++) {
          let exact = 0;
          let scale = 0;
          for (let i = 0; i < inDim; i++) {
            const p = x[t * inDim + i] * w.values[r * inDim + i];
            exact += p;
            scale += Math.abs(p);
          }
          worst = Math.max(worst, Math.abs(y[t * outDim + r] - exact) / scale);
        }
      assert.ok(worst < 1e-5, `[${T}x${inDim}] @ [${outDim}x${inDim}]^T: relative error ${worst}`);
    }
  });
}

for (const kernels of kernelSets) {
  test(`attention (${kernels}) matches float64: causal and unmasked, grouped heads, one and many query rows`, () => {
    const rand = rng();
    // [Tq, Tk, H, K, hd, causalOffset]: decode rows, a prefill chunk appended to a cache, vision.
    const cases = [
      [1, 1, 4, 2, 32, 0],
      [1, 300, 8, 2, 64, 299],
      [2, 70, 6, 2, 20, 68],
      [37, 37, 4, 1, 16, 0],
      [50, 130, 32, 8, 128, 80],
      [33, 33, 3, 3, 16, -1],
      [100, 100, 16, 16, 64, -1],
    ];
    for (const [Tq, Tk, H, K, hd, causal] of cases) {
      const q = randomFloats(rand, Tq * H * hd);
      const k = randomFloats(rand, Tk * K * hd);
      const v = randomFloats(rand, Tk * K * hd);
      const got = native.testing.attention(q, k, v, Tq, Tk, H, K, hd, causal, kernels);
      let worst = 0;
      for (let i = 0; i < Tq; i++)
        for (let h = 0; h < H; h++) {
          const g = Math.floor(h / (H / K));
          const n = causal < 0 ? Tk : Math.min(Tk, causal + i + 1);
          const scores = Array.from({ length: n }, (_, j) => {
            let dot = 0;
            for (let d = 0; d < hd; d++) dot += q[(i * H + h) * hd + d] * k[(j * K + g) * hd + d];
            return dot / Math.sqrt(hd);
          });
          const max = Math.max(...scores);
          const p = scores.map((s) => Math.exp(s - max));
          const sum = p.reduce((a, b) => a + b, 0);
          for (let d = 0; d < hd; d++) {
            let o = 0;
            for (let j = 0; j < n; j++) o += (p[j] / sum) * v[(j * K + g) * hd + d];
            worst = Math.max(worst, Math.abs(got[(i * H + h) * hd + d] - o));
          }
        }
      assert.ok(worst < 2e-5, `Tq ${Tq} Tk ${Tk} H ${H} K ${K} hd ${hd} causal ${causal}: max error ${worst}`);
    }
  });
}

test('text RoPE at positions up to 131071 with theta 1e9 matches float64 (both pairings)', () => {
  const rand = rng();
  const heads = 2;
  const hd = 128;
  const positions = Int32Array.from([0, 1, 7, 4095, 65535, 100000, 131070, 131071]);
  const x = randomFloats(rand, positions.length * heads * hd);
  for (const style of ['interleaved', 'half'] as const) {
    const got = native.testing.ropeText(x, positions, heads, hd, 1e9, style);
    let worst = 0;
    positions.forEach((p, t) => {
      for (let h = 0; h < heads; h++)
        for (let j = 0; j < hd / 2; j++) {
          const angle = p * Math.pow(1e9, (-2 * j) / hd);
          const [i0, i1] = style === 'interleaved' ? [2 * j, 2 * j + 1] : [j, j + hd / 2];
          const base = (t * heads + h) * hd;
          const a = x[base + i0];
          const b = x[base + i1];
          worst = Math.max(
            worst,
            Math.abs(got[base + i0] - (a * Math.cos(angle) - b * Math.sin(angle))),
            Math.abs(got[base + i1] - (a * Math.sin(angle) + b * Math.cos(angle))),
          );
        }
    });
    // fp32 rounding of cos/sin and of the products only: |x| ~ 1, so a few ulps of 1.
    assert.ok(worst < 2e-6, `${style}: max error ${worst}`);
  }
});

test('vision 2D RoPE table for a full 64x64 patch grid matches float64', () => {
  const hd = 64;
  const theta = 1e4;
  const { cos, sin } = native.testing.ropeVisionTable(64, 64, hd, theta);
  assert.equal(cos.length, 64 * 64 * (hd / 2));
  let worst = 0;
  for (let r = 0; r < 64; r++)
    for (let c = 0; c < 64; c++)
      for (let j = 0; j < hd / 2; j++) {
        // Pairs [0, hd/4) rotate by the row with the even frequencies, [hd/4, hd/2) by the column with the odd ones.
        const freq = (k: number) => Math.pow(theta, (-2 * k) / hd);
        const angle = j < hd / 4 ? r * freq(2 * j) : c * freq(2 * (j - hd / 4) + 1);
        const at = (r * 64 + c) * (hd / 2) + j;
        worst = Math.max(worst, Math.abs(cos[at] - Math.cos(angle)), Math.abs(sin[at] - Math.sin(angle)));
      }
  assert.ok(worst < 1e-7, `max error ${worst}`);
});
