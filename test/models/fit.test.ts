// Memory fit: parameter count from the config (checked against spec a.1 and against the tensors
// of the tiny fixture), the engine's own memory plan for the 12B shapes, and the verdict for
// machines that fit, barely fit, or do not.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { loadNative, type MemoryPlan } from '../../src/engine/native';
import { assertFits, assessFit, parameterCount, type FitRequest, type MemoryDevice } from '../../src/models/fit';
import { paramsJson, PIXTRAL_12B, tensorList, writeSafetensors } from '../bench/synthetic-model';
import { dimsFromHfConfig, dimsFromParams } from '../../src/models/model-config';
import { FIXTURE } from './model-files';

// params.json of mistralai/Pixtral-12B-2409 (spec a.1).
const PARAMS_12B = JSON.stringify({
  dim: 5120, n_layers: 40, head_dim: 128, hidden_dim: 14336, n_heads: 32, n_kv_heads: 8, rope_theta: 1e9, norm_eps: 1e-5, vocab_size: 131072,
  vision_encoder: {
    hidden_size: 1024, num_channels: 3, image_size: 1024, patch_size: 16, rope_theta: 1e4, intermediate_size: 4096, num_hidden_layers: 24,
    num_attention_heads: 16, image_token_id: 10, image_break_token_id: 12, image_end_token_id: 13, adapter_bias: true,
  },
});

// config.json as transformers saves it: keys equal to the class defaults are left out.
const CONFIG_12B = JSON.stringify({
  architectures: ['LlavaForConditionalGeneration'], model_type: 'llava', image_token_index: 10, projector_hidden_act: 'gelu',
  vision_feature_layer: -1, vision_feature_select_strategy: 'full',
  text_config: { head_dim: 128, hidden_size: 5120, model_type: 'mistral', num_hidden_layers: 40, num_key_value_heads: 8, rms_norm_eps: 1e-5, rope_theta: 1e9, vocab_size: 131072 },
  vision_config: { head_dim: 64, hidden_act: 'silu', image_size: 1024, model_type: 'pixtral', patch_size: 16, rope_theta: 1e4 },
});

const dims12b = dimsFromParams(PARAMS_12B);
const GB = 1e9;
const cpu = (free: number, total: number): MemoryDevice => ({ backend: 'cpu', name: 'system memory', freeBytes: free * GB, totalBytes: total * GB });

describe('sizes', () => {
  test('the parameter count of Pixtral-12B matches spec a.1, from either config format', () => {
    assert.deepEqual(parameterCount(dims12b), { text: 12_247_782_400, vision: 403_489_792, adapter: 31_467_520, total: 12_682_739_712 });
    assert.deepEqual(dimsFromHfConfig(CONFIG_12B), dims12b);
  });

  test('the parameter count of the tiny fixture equals the elements of its safetensors tensors', () => {
    const file = readFileSync(path.join(FIXTURE, 'consolidated.safetensors'));
    const header = JSON.parse(file.subarray(8, 8 + Number(file.readBigUInt64LE(0))).toString()) as Record<string, { shape?: number[] }>;
    const elements = Object.entries(header)
      .filter(([k]) => k !== '__metadata__')
      .reduce((sum, [, t]) => sum + (t.shape ?? []).reduce((a, b) => a * b, 1), 0);
    const dims = dimsFromParams(readFileSync(path.join(FIXTURE, 'params.json'), 'utf8'));
    assert.equal(parameterCount(dims).total, elements);
    assert.deepEqual(dimsFromHfConfig(readFileSync(path.join(FIXTURE, 'hf', 'config.json'), 'utf8')), dims);
  });

  test("the engine's plan for Pixtral-12B: weights, 2 × layers × KV heads × head dim × element size per token, scratch", () => {
    // A 12B folder whose safetensors file is all headers and a hole (no 25 GB written).
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pixtral-12b-plan-'));
    try {
      writeFileSync(path.join(dir, 'params.json'), JSON.stringify(paramsJson(PIXTRAL_12B)));
      writeSafetensors(path.join(dir, 'consolidated.safetensors'), tensorList(PIXTRAL_12B), true);
      const native = loadNative();
      const f32 = native.planMemory(dir, { contextLength: 8192, kvCache: 'f32' });
      assert.equal(f32.weightBytes, 2 * parameterCount(dims12b).total);
      assert.equal(f32.kvCacheBytes, 2_684_354_560);
      assert.equal(native.planMemory(dir, { contextLength: 1, kvCache: 'f32' }).kvCacheBytes, 327_680);
      assert.equal(native.planMemory(dir, { contextLength: 8192, kvCache: 'f16' }).kvCacheBytes, 1_342_177_280);
      assert.equal(native.planMemory(dir, { contextLength: 8192, kvCache: 'bf16' }).kvCacheBytes, 1_342_177_280);
      // Activations for a 512-row chunk and one 1024×1024 image, the RoPE tables: half a GB or so.
      assert.ok(f32.scratchBytes > 3e8 && f32.scratchBytes < 8e8, `scratch ${f32.scratchBytes}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('assessFit', () => {
  // The engine's plan for the 12B checkpoint at 8192 tokens with an f32 KV cache (see above).
  const plan: MemoryPlan = { weightBytes: 25_365_479_424, kvCacheBytes: 2_684_354_560, scratchBytes: 520_355_840 };
  const required = 25_365_479_424 + 2_684_354_560 + 520_355_840 + 300_000_000;
  const fit = (r: Omit<FitRequest, 'dims' | 'plan'> & { plan?: MemoryPlan }) => assessFit({ dims: dims12b, plan, ...r });

  test('fits when free memory covers weights, KV cache and working memory', () => {
    const verdict = fit({ contextLength: 8192, devices: [cpu(64, 128)] });
    assert.equal(verdict.fits, true);
    assert.equal(verdict.choice?.precision, 'bf16');
    assert.equal(verdict.choice?.requiredBytes, required);
    assert.equal(verdict.choice?.status, 'fits');
    assert.match(verdict.message, /^The model \(12\.68 B parameters\) fits in system memory at bf16: it needs 28\.9 GB \(weights 25\.4 GB, KV cache 2\.68 GB for 8192 tokens/);
    assert.equal(assertFits(verdict), verdict.choice);
  });

  test('tight when it fits in total memory but not in what is free now', () => {
    const verdict = fit({ contextLength: 8192, devices: [cpu(10, 36)] });
    assert.equal(verdict.fits, true);
    assert.equal(verdict.choice?.status, 'tight');
    assert.match(verdict.message, /only 10\.0 GB of 36\.0 GB system memory is free: it loads only if other programs give memory back/);
  });

  test('never starts a load that cannot fit, and names the quantization that would', () => {
    const verdict = fit({ contextLength: 8192, devices: [cpu(8, 16)] });
    assert.equal(verdict.fits, false);
    assert.equal(verdict.choice, undefined);
    assert.match(verdict.message, /does not fit: it needs 28\.9 GB .* at bf16, and system memory has 16\.0 GB in total\. At q4_0 it would need 10\.\d GB, once quantized weights are available\./);
    assert.throws(() => assertFits(verdict), (err: Error) => err.name === 'FitError' && err.message === verdict.message);
  });

  test('a longer context can tip the balance', () => {
    assert.equal(fit({ contextLength: 8192, devices: [cpu(30, 64)] }).choice?.status, 'fits');
    const long = fit({ contextLength: 32768, devices: [cpu(30, 64)], plan: { ...plan, kvCacheBytes: 4 * plan.kvCacheBytes } });
    assert.equal(long.choice?.status, 'tight');
    assert.equal(long.choice?.kvCacheBytes, 4 * 2_684_354_560);
  });

  test('prefers the first device that fits (a GPU) and picks a quantized precision when only that fits', () => {
    const gpu: MemoryDevice = { backend: 'gpu', name: 'NVIDIA H100', freeBytes: 79 * GB, totalBytes: 80 * GB };
    const onGpu = fit({ contextLength: 8192, devices: [gpu, cpu(64, 128)] });
    assert.equal(onGpu.choice?.device.name, 'NVIDIA H100');
    assert.equal(onGpu.options.length, 6);

    const quantized = fit({ contextLength: 8192, devices: [cpu(20, 24)], available: ['bf16', 'q8_0'] });
    assert.equal(quantized.choice?.precision, 'q8_0');
    assert.equal(quantized.choice?.status, 'fits');
  });
});
