// The test-only addon (native/test/testing_addon.cc, built beside the engine, never shipped):
// memcpy bandwidth, the FMA peak and the CPU matmul alone for the benchmarks, the op harness on the
// WebGPU backend.
import { createRequire } from 'node:module';
import path from 'node:path';
import type { WebGpuExecutor } from '../../src/engine/webgpu/executor';
import type { HarnessLine } from '../engine/harness-report';

export interface NativeTesting {
  /** Bytes copied per second by memcpy over `bytes`, `iters` times, split across threads. */
  memcpyBandwidth(bytes: number, iters: number, threads?: number): number;
  /** fp32 FLOP/s of the widest vector FMA on every thread (native/test/fma_peak.h); bits 0 where no probe exists. */
  fmaPeak(threads?: number): { flops: number; bits: number };
  /** y [rows, outDim] = x [rows, inDim] @ w^T through the CPU backend's matmul; w is bf16 bits
   *  [outDim, inDim], taken once as a checkpoint weight is (the kernel set's layout), then the op
   *  runs `runs` times (default 1): seconds[i] is run i's wall time. */
  matmulBf16(x: Float32Array, w: Uint16Array, rows: number, inDim: number, outDim: number, threads?: number, runs?: number): { y: Float32Array; seconds: number[] };
  /** The op harness (native/test/op_harness.cc) on the WebGPU backend over `executor`, on a worker
   *  thread: one line per case, as the op_harness program prints them. */
  runOpHarness(backend: 'webgpu', executor: WebGpuExecutor, options?: { seed?: number; filter?: string }): Promise<{ cases: HarnessLine[]; backend: string; seed: number }>;
}

export function loadNativeTesting(): NativeTesting {
  const file = path.resolve(__dirname, '..', '..', 'native', 'build', 'Release', 'pixtral_testing.node');
  return createRequire(__filename)(file) as NativeTesting;
}
