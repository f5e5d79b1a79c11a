// The benchmark-only addon (native/test/testing_addon.cc, built beside the engine, never shipped):
// memcpy bandwidth and the CPU matmul alone.
import { createRequire } from 'node:module';
import path from 'node:path';

export interface NativeTesting {
  /** Bytes copied per second by memcpy over `bytes`, `iters` times, split across threads. */
  memcpyBandwidth(bytes: number, iters: number, threads?: number): number;
  /** y [rows, outDim] = x [rows, inDim] @ w^T through the CPU backend's matmul; w is bf16 bits [outDim, inDim], viewed in place. */
  matmulBf16(x: Float32Array, w: Uint16Array, rows: number, inDim: number, outDim: number, threads?: number): Float32Array;
}

export function loadNativeTesting(): NativeTesting {
  const file = path.resolve(__dirname, '..', '..', 'native', 'build', 'Release', 'pixtral_testing.node');
  return createRequire(__filename)(file) as NativeTesting;
}
