// Seeded random inputs for engine tests: each run draws a fresh seed (printed, and overridable
// with PIXTRAL_TEST_SEED) so failures can be replayed exactly.
import { randomInt } from 'node:crypto';
import { mulberry32 } from '../support/random';

export const testSeed = Number(process.env.PIXTRAL_TEST_SEED ?? randomInt(2 ** 31));
console.log(`# random inputs seeded with PIXTRAL_TEST_SEED=${testSeed}`);

/** Uniform floats in [0, 1), from this run's seed unless given another. */
export function rng(seed = testSeed): () => number {
  return mulberry32(seed);
}

export function normal(rand: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

export function randomFloats(rand: () => number, n: number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = normal(rand) * scale;
  return a;
}

export function randomInts(rand: () => number, n: number, lo: number, hi: number): Int32Array {
  const a = new Int32Array(n);
  for (let i = 0; i < n; i++) a[i] = lo + Math.floor(rand() * (hi - lo));
  return a;
}

/** bf16 bit patterns (round to nearest even) of normal values, and their exact float values. */
export function randomBf16(rand: () => number, n: number, scale = 1): { bits: Uint16Array; values: Float64Array } {
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  const bits = new Uint16Array(n);
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    f[0] = normal(rand) * scale;
    const rounded = (u[0] + 0x7fff + ((u[0] >>> 16) & 1)) >>> 16;
    bits[i] = rounded;
    u[0] = rounded << 16;
    values[i] = f[0];
  }
  return { bits, values };
}
