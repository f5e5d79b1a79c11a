// The built-in sketch model (models/pixtral-sketch-small) on the WebGPU backend against the CPU
// backend at the shapes it really runs: a 384 px image (24x24 patches, 600 image tokens) followed
// by text, so attention spans more than 600 keys in the vision encoder and the decoder. The fixture
// models are too small to reach those lengths; a kernel limit that only shows past a few hundred
// keys (Mesa llvmpipe ends an invocation after 65535 loop iterations) is caught here.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadNative, type ImageInput, type ModelInfo, type NativeEngine } from '../../src/engine/native';
import { createWebGpuExecutor, type WebGpuExecutor } from '../../src/engine/webgpu/executor';
import { requires } from '../support/requirements';
import { randomFloats, randomInts, rng } from './random';

const modelDir = path.resolve(__dirname, '..', '..', 'models', 'pixtral-sketch-small');
const mesa = requires('mesa-egl');
const native = loadNative();

describe('built-in sketch model: webgpu equals cpu at 384 px', mesa.options, () => {
  let cpu: NativeEngine;
  let gpu: NativeEngine;
  let executor: WebGpuExecutor | undefined;
  let info: ModelInfo;
  const rand = rng();

  before(async () => {
    if (!mesa.met()) return;
    executor = await createWebGpuExecutor({ allowSoftwareAdapter: true });
    cpu = new native.Engine();
    gpu = new native.Engine();
    info = await cpu.load(modelDir, { contextLength: 1024 });
    await gpu.load(modelDir, { contextLength: 1024, backend: 'webgpu', webgpu: executor });
  });
  after(() => {
    cpu?.unload();
    gpu?.unload();
    executor?.destroy();
  });

  test('logits of a 600-token image prompt and its decoded continuation', async () => {
    const v = info.config.vision!;
    const side = v.imageSize;
    const grid = side / v.patchSize;
    const image: ImageInput = { pixels: randomFloats(rand, 3 * side * side), height: side, width: side };
    const ids = [1, 3];
    for (let r = 0; r < grid; r++) {
      for (let c = 0; c < grid; c++) ids.push(v.imageTokenId);
      ids.push(r === grid - 1 ? v.imageEndTokenId : v.imageBreakTokenId);
    }
    ids.push(...randomInts(rand, 40, 1000, info.config.vocabSize), 4);
    const prompt = Int32Array.from(ids);
    assert.ok(prompt.length > 600);

    // The webgpu engine prefills and samples a continuation (decode steps: matvec, split-KV
    // attention); the cpu engine recomputes prompt + continuation in one prefill.
    const steps = 8;
    const prefillLogits = await gpu.prefill(prompt, { images: [image], logits: 'all', reserve: steps });
    const generated: number[] = [];
    const stepLogits: Float32Array[] = [];
    await gpu.generate({ maxTokens: steps, temperature: 1, seed: Math.floor(rand() * 1e9), stopIds: [], returnLogits: true }, (id, l) => {
      generated.push(id);
      stepLogits.push(l!);
    });
    const full = Int32Array.from([...prompt, ...generated.slice(0, -1)]);
    const want = await cpu.prefill(full, { images: [image], logits: 'all' });
    const V = info.config.vocabSize;
    const got = new Float32Array(want.length);
    got.set(prefillLogits);
    stepLogits.slice(1).forEach((l, i) => got.set(l, (prompt.length + i) * V));
    let scale = 1;
    let worst = 0;
    for (let i = 0; i < want.length; i++) {
      scale = Math.max(scale, Math.abs(want[i]));
      worst = Math.max(worst, Math.abs(got[i] - want[i]));
    }
    console.log(`    ${full.length} positions: max |logit err| ${worst.toExponential(2)}, largest logit ${scale.toFixed(2)}`);
    // Both run fp32 arithmetic on the same bf16 weights; summation order and the GELU of the vision
    // encoder differ (seen: up to 5.5e-5 of the largest logit, at image positions). A wrong row or
    // key moves logits by whole units.
    assert.ok(worst <= 3e-4 * scale, `logits differ by ${worst} (largest ${scale})`);
  });
});
