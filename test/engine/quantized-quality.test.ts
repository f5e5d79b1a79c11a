// Quality of quantized weights and of the q8_0 KV cache on the fixture model (any PIXTRAL_FIXTURES
// folder; npm test runs pixtral-tiny and test/fixtures/pixtral-alt): next-token distributions at
// every position of the manifest's prompts (text and images), against the bf16 checkpoint with an
// f32 KV cache, as KL divergence and top-1 agreement. The bounds are for these random-weight models,
// whose logits are nearly flat (top-2 margins of a few hundredths): top-1 is required only where
// the reference's margin leaves room for each precision's noise. Prints every figure it bounds.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { loadNative, type KvCacheType, type WeightPrecision } from '../../src/engine/native';
import { fixtureDir } from '../support/fixtures';
import { agreement, linkedModelFolder, manifestPrompts, promptLogits, type Agreement } from './quant-support';

const native = loadNative();
const prompts = manifestPrompts();

// Bounds per load: mean and max KL over positions (nats), and the reference margin above which
// the top-1 token must agree.
const loads: { precision: WeightPrecision; kvCache: KvCacheType; meanKl: number; maxKl: number; margin: number }[] = [
  { precision: 'q8_0', kvCache: 'f32', meanKl: 5e-4, maxKl: 2e-3, margin: 0.05 },
  { precision: 'q4_0', kvCache: 'f32', meanKl: 0.03, maxKl: 0.1, margin: 0.3 },
  { precision: 'q4_0-pure', kvCache: 'f32', meanKl: 0.05, maxKl: 0.15, margin: 0.3 },
  { precision: 'bf16', kvCache: 'q8_0', meanKl: 1e-4, maxKl: 5e-4, margin: 0.05 },
];

describe(`quantized weights and KV cache against bf16 (${fixtureDir})`, () => {
  const folder = linkedModelFolder(fixtureDir);
  let reference: Float32Array[] = [];
  let V = 0;
  let headDim = 0;
  const measured = new Map<string, Agreement>();

  const logits = async (precision: WeightPrecision, kvCache: KvCacheType): Promise<Float32Array[]> => {
    const engine = new native.Engine();
    await engine.load(folder.dir, { precision, kvCache, contextLength: 512 });
    try {
      const out: Float32Array[] = [];
      for (const p of prompts) out.push(await promptLogits(engine, p));
      return out;
    } finally {
      engine.unload();
    }
  };

  before(async () => {
    const info = native.inspectModel(folder.dir);
    V = info.config.vocabSize;
    headDim = info.config.headDim;
    reference = await logits('bf16', 'f32');
  });
  after(() => folder.remove());

  for (const load of loads) {
    test(`${load.precision} weights, ${load.kvCache} KV cache: mean KL <= ${load.meanKl}, max KL <= ${load.maxKl}, top-1 agrees where the margin exceeds ${load.margin}`, async (t) => {
      if (load.kvCache === 'q8_0' && headDim % 32) {
        await assert.rejects(logits(load.precision, load.kvCache), /q8_0 KV cache needs a head size that is a multiple of 32/);
        t.diagnostic(`head size ${headDim}: a q8_0 cache is refused with a clear error`);
        return;
      }
      const got = await logits(load.precision, load.kvCache);
      let kl = 0, positions = 0, maxKl = 0, decisive = 0, agree = 0;
      prompts.forEach((p, i) => {
        const a = agreement(reference[i], got[i], V, load.margin);
        console.log(`    ${p.name}: ${a.positions} positions, mean KL ${a.meanKl.toExponential(2)}, max ${a.maxKl.toExponential(2)}, top-1 ${(100 * a.top1).toFixed(0)}% (${a.decisive} positions with margin > ${load.margin}: ${(100 * a.top1Decisive).toFixed(0)}%)`);
        kl += a.meanKl * a.positions;
        positions += a.positions;
        maxKl = Math.max(maxKl, a.maxKl);
        decisive += a.decisive;
        agree += a.top1Decisive * a.decisive;
      });
      const all: Agreement = { positions, meanKl: kl / positions, maxKl, top1: NaN, decisive, top1Decisive: decisive ? agree / decisive : 1 };
      measured.set(`${load.precision}/${load.kvCache}`, all);
      assert.ok(all.meanKl <= load.meanKl, `mean KL ${all.meanKl} > ${load.meanKl}`);
      assert.ok(all.maxKl <= load.maxKl, `max KL ${all.maxKl} > ${load.maxKl}`);
      assert.ok(decisive > 0, 'no position is decisive enough to compare the top-1 token');
      assert.equal(agree, decisive, `top-1 differs at ${decisive - agree} of ${decisive} decisive positions`);
    });
  }

  test('fewer bits cost more: KL of q8_0 <= q4_0 <= q4_0-pure', () => {
    const kl = (p: string) => measured.get(`${p}/f32`)!.meanKl;
    assert.ok(kl('q8_0') <= kl('q4_0') && kl('q4_0') <= kl('q4_0-pure'), `q8_0 ${kl('q8_0')}, q4_0 ${kl('q4_0')}, q4_0-pure ${kl('q4_0-pure')}`);
  });
});
