// The op harness (native/test/op_harness.cc) on the WebGPU backend: every op, dtype and odd shape
// against float64 on fresh random inputs, through the real executor (src/engine/webgpu) and the real
// `webgpu` package, on the software adapter every machine here has (Mesa llvmpipe through OpenGL
// ES). One subtest per case, so a failure names the op, dtype and shape. Real GPUs run the same
// kernels through Metal, D3D12 or Vulkan; this is what CI can check.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { createWebGpuExecutor, type WebGpuExecutor } from '../../src/engine/webgpu/executor';
import { loadNativeTesting } from '../support/native-testing';
import { requires } from '../support/requirements';
import { reportCases } from './harness-report';
import { testSeed } from './random';

const mesa = requires('mesa-egl');

describe('op harness on the WebGPU backend (software adapter)', mesa.options, async () => {
  if (!mesa.met()) return;
  const executor: WebGpuExecutor = await createWebGpuExecutor({ allowSoftwareAdapter: true });
  after(() => executor.destroy());
  const run = await loadNativeTesting().runOpHarness('webgpu', executor, { seed: testSeed });
  test(`runs on ${run.backend}`, () => {
    assert.match(run.backend, /^webgpu .*\bsoftware\)$/);
    assert.equal(run.seed, testSeed);
  });
  reportCases([...run.cases, { backend: run.backend, cases: run.cases.length, failed: run.cases.filter((c) => !c.ok).length }]);
});
