// Memory fit: parameter count from the config (checked against spec a.1 and against the tensors
// of the tiny fixture), the engine's own memory plan for the 12B shapes at each precision (a sparse
// 12B folder: real headers, no data written), and the verdict and precision choice for machines
// that fit, barely fit, or do not.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadNative } from '../../src/engine/native';
import { planPrecisions } from '../../src/models/engine-check';
import { assertFits, assessFit, parameterCount, type FitRequest, type MemoryDevice, type PrecisionPlan } from '../../src/models/fit';
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

// A 12B folder whose safetensors file is all headers and a hole (no 25 GB written).
let dir12b = '';
before(() => {
  dir12b = mkdtempSync(path.join(os.tmpdir(), 'pixtral-12b-plan-'));
  writeFileSync(path.join(dir12b, 'params.json'), JSON.stringify(paramsJson(PIXTRAL_12B)));
  writeSafetensors(path.join(dir12b, 'consolidated.safetensors'), tensorList(PIXTRAL_12B), true);
});
after(() => rmSync(dir12b, { recursive: true, force: true }));

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
    const native = loadNative();
    const f32 = native.planMemory(dir12b, { contextLength: 8192, kvCache: 'f32' });
    assert.equal(f32.weightBytes, 2 * parameterCount(dims12b).total);
    assert.equal(f32.kvCacheBytes, 2_684_354_560);
    assert.equal(native.planMemory(dir12b, { contextLength: 1, kvCache: 'f32' }).kvCacheBytes, 327_680);
    assert.equal(native.planMemory(dir12b, { contextLength: 8192, kvCache: 'f16' }).kvCacheBytes, 1_342_177_280);
    assert.equal(native.planMemory(dir12b, { contextLength: 8192, kvCache: 'bf16' }).kvCacheBytes, 1_342_177_280);
    // Activations for a 512-row chunk and one 1024×1024 image, the RoPE tables: half a GB or so.
    assert.ok(f32.scratchBytes > 3e8 && f32.scratchBytes < 8e8, `scratch ${f32.scratchBytes}`);
  });

  test('the plan at each precision: the same KV cache and scratch, weights of 2, about 34/32 and at least 18/32 bytes per parameter', () => {
    const plans = planPrecisions(dir12b, { contextLength: 8192, kvCache: 'f32', backend: 'cpu' });
    assert.deepEqual(plans.map((p) => p.precision), ['bf16', 'q8_0', 'q4_0']);
    const params = parameterCount(dims12b).total;
    const [bf16, q8, q4] = plans.map((p) => p.plan);
    for (const p of [q8, q4]) {
      assert.equal(p.kvCacheBytes, bf16.kvCacheBytes);
      assert.equal(p.scratchBytes, bf16.scratchBytes);
    }
    // Norms stay bf16 (2 bytes), so q8_0 is a little above 34/32; q4_0 keeps embeddings and the
    // output head at q8_0, so it lies between 18/32 and 34/32.
    assert.ok(q8.weightBytes >= (params * 34) / 32 && q8.weightBytes < (params * 34.1) / 32, `q8_0 ${q8.weightBytes}`);
    assert.ok(q4.weightBytes > (params * 18) / 32 && q4.weightBytes < q8.weightBytes, `q4_0 ${q4.weightBytes}`);
    console.log(`    12B weights: bf16 ${bf16.weightBytes}, q8_0 ${q8.weightBytes}, q4_0 ${q4.weightBytes} bytes`);
  });
});

describe('assessFit', () => {
  // The engine's plans for the 12B checkpoint at 8192 tokens with an f32 KV cache, every precision.
  let plans: PrecisionPlan[] = [];
  before(() => {
    plans = planPrecisions(dir12b, { contextLength: 8192, kvCache: 'f32', backend: 'cpu' });
  });
  const required = (precision: string) => {
    const { plan } = plans.find((p) => p.precision === precision)!;
    return plan.weightBytes + plan.kvCacheBytes + plan.scratchBytes + 300_000_000;
  };
  const fit = (r: Omit<FitRequest, 'dims' | 'plans'>) => assessFit({ dims: dims12b, plans, ...r });

  test('fits at bf16 when free memory covers weights, KV cache and working memory', () => {
    const verdict = fit({ contextLength: 8192, devices: [cpu(64, 128)] });
    assert.equal(verdict.fits, true);
    assert.equal(verdict.choice?.precision, 'bf16');
    assert.equal(verdict.choice?.requiredBytes, required('bf16'));
    assert.equal(verdict.choice?.status, 'fits');
    assert.match(verdict.message, /^The model \(12\.68 B parameters\) fits in system memory at bf16: it needs 28\.9 GB \(weights 25\.4 GB, KV cache 2\.68 GB for 8192 tokens/);
    assert.equal(assertFits(verdict), verdict.choice);
  });

  test('auto picks the best precision that fits: q8_0 in 24 GB, q4_0 in 16 GB, none in 8 GB', () => {
    const in24 = fit({ contextLength: 8192, devices: [cpu(22, 24)] });
    assert.equal(in24.choice?.precision, 'q8_0');
    assert.equal(in24.choice?.status, 'fits');
    assert.equal(in24.choice?.requiredBytes, required('q8_0'));
    assert.match(in24.message, /fits in system memory at 8-bit q8_0: it needs 17\.\d GB/);

    const in16 = fit({ contextLength: 8192, devices: [cpu(14, 16)] });
    assert.equal(in16.choice?.precision, 'q4_0');
    assert.match(in16.message, /at 4-bit q4_0/);

    const in8 = fit({ contextLength: 8192, devices: [cpu(6, 8)] });
    assert.equal(in8.fits, false);
    assert.match(in8.message, /does not fit: it needs 1\d\.\d GB .* at 4-bit q4_0, and system memory has 8\.00 GB in total\.$/);
  });

  test('auto prefers a precision that fits now over a better one that is only tight', () => {
    // bf16 needs 28.9 GB: within 36 GB in total, not within the 20 GB free; q8_0 fits in what is free.
    const verdict = fit({ contextLength: 8192, devices: [cpu(20, 36)] });
    assert.equal(verdict.choice?.precision, 'q8_0');
    assert.equal(verdict.choice?.status, 'fits');
    const bf16 = verdict.options.find((o) => o.precision === 'bf16');
    assert.equal(bf16?.status, 'tight');
  });

  test('tight when only the chosen precision is allowed and it fits in total memory but not in what is free now', () => {
    const verdict = fit({ contextLength: 8192, devices: [cpu(10, 36)], precision: 'bf16' });
    assert.equal(verdict.fits, true);
    assert.equal(verdict.choice?.status, 'tight');
    assert.equal(verdict.choice?.precision, 'bf16');
    assert.match(verdict.message, /only 10\.0 GB of 36\.0 GB system memory is free: it loads only if other programs give memory back/);
  });

  test('a precision set by hand that cannot fit is never loaded, and the message names the one that would', () => {
    const verdict = fit({ contextLength: 8192, devices: [cpu(8, 16)], precision: 'bf16' });
    assert.equal(verdict.fits, false);
    assert.equal(verdict.choice, undefined);
    assert.ok(verdict.options.every((o) => o.allowed === (o.precision === 'bf16')));
    assert.match(verdict.message, /does not fit: it needs 28\.9 GB .* at bf16, and system memory has 16\.0 GB in total\. At 4-bit q4_0 it would need 1\d\.\d GB: set the precision to q4_0 or auto\./);
    assert.throws(() => assertFits(verdict), (err: Error) => err.name === 'FitError' && err.message === verdict.message);
  });

  test('a checkpoint stored quantized loads only at its own precision', () => {
    const q4only = plans.filter((p) => p.precision === 'q4_0');
    assert.equal(assessFit({ dims: dims12b, plans: q4only, contextLength: 8192, devices: [cpu(64, 128)] }).choice?.precision, 'q4_0');
    const wrong = assessFit({ dims: dims12b, plans: q4only, contextLength: 8192, devices: [cpu(64, 128)], precision: 'q8_0' });
    assert.equal(wrong.fits, false);
    assert.match(wrong.message, /is stored at q4_0 and loads only at that precision, not q8_0/);
  });

  test('a longer context can tip the balance', () => {
    assert.equal(fit({ contextLength: 8192, devices: [cpu(30, 64)] }).choice?.status, 'fits');
    const long = planPrecisions(dir12b, { contextLength: 32768, kvCache: 'f32', backend: 'cpu' });
    const verdict = assessFit({ dims: dims12b, plans: long, contextLength: 32768, devices: [cpu(30, 64)], precision: 'bf16' });
    assert.equal(verdict.choice?.status, 'tight');
    assert.equal(verdict.choice?.kvCacheBytes, 4 * 2_684_354_560);
  });

  test('prefers the first device that fits (a GPU), quantized there before bf16 on the CPU', () => {
    const h100: MemoryDevice = { backend: 'gpu', name: 'NVIDIA H100', freeBytes: 79 * GB, totalBytes: 80 * GB };
    const onGpu = fit({ contextLength: 8192, devices: [h100, cpu(64, 128)] });
    assert.equal(onGpu.choice?.device.name, 'NVIDIA H100');
    assert.equal(onGpu.choice?.precision, 'bf16');
    assert.equal(onGpu.options.length, 6);

    const small: MemoryDevice = { backend: 'gpu', name: 'RTX 4060 Ti 16 GB', freeBytes: 15.5 * GB, totalBytes: 16 * GB };
    const quantized = fit({ contextLength: 8192, devices: [small, cpu(64, 128)] });
    assert.equal(quantized.choice?.device.name, 'RTX 4060 Ti 16 GB');
    assert.equal(quantized.choice?.precision, 'q4_0');
  });
});
