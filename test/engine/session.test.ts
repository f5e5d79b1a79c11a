// The engine session as the worker drives it: sampling options, the context window check, cancel
// latency, a free event loop during compute, one call at a time, and clear errors for bad calls.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadNative, type NativeEngine } from '../../src/engine/native';
import { fixtureDir } from '../support/fixtures';
import { randomInts, rng } from './random';

const native = loadNative();

describe('engine session', () => {
  let engine: NativeEngine;
  let V = 0;
  let P = 16; // patch size
  let side = 256; // the model's maximum image side
  const rand = rng();

  before(async () => {
    engine = new native.Engine();
    const info = await engine.load(fixtureDir, { contextLength: 8192, maxChunk: 64 });
    V = info.config.vocabSize;
    P = info.config.vision!.patchSize;
    side = info.config.vision!.imageSize;
  });
  after(() => engine.unload());

  async function sample(prompt: Int32Array, options: Parameters<NativeEngine['generate']>[0]): Promise<number[]> {
    engine.reset();
    await engine.prefill(prompt);
    const ids: number[] = [];
    await engine.generate(options, (id) => ids.push(id));
    return ids;
  }

  test('sampling: same seed gives the same tokens, greedy equals argmax, top-k 1 and tiny top-p equal greedy', async () => {
    const prompt = Int32Array.from([1, 3, ...randomInts(rand, 10, 1000, V), 4]);
    const opts = { maxTokens: 12, temperature: 1.5, seed: 1234, stopIds: [] };
    const a = await sample(prompt, opts);
    assert.deepEqual(await sample(prompt, opts), a);
    const other = await sample(prompt, { ...opts, seed: 5678 });
    assert.notDeepEqual(other, a, 'a different seed gave identical samples');

    engine.reset();
    const logits = await engine.prefill(prompt, { logits: 'last' });
    let best = 0;
    for (let i = 1; i < V; i++) if (logits[i] > logits[best]) best = i;
    const greedy = await sample(prompt, { maxTokens: 12, temperature: 0, stopIds: [] });
    assert.equal(greedy[0], best);
    assert.deepEqual(await sample(prompt, { ...opts, topK: 1 }), greedy);
    assert.deepEqual(await sample(prompt, { ...opts, topP: 1e-6 }), greedy);
  });

  test('sampling: top-k keeps only the k most likely tokens', async () => {
    const prompt = Int32Array.from([1, 3, ...randomInts(rand, 6, 1000, V), 4]);
    engine.reset();
    const logits = await engine.prefill(prompt, { logits: 'last' });
    const top = Array.from(logits.keys()).sort((x, y) => logits[y] - logits[x]).slice(0, 3);
    for (let seed = 0; seed < 20; seed++) {
      engine.reset();
      await engine.prefill(prompt);
      const r = await engine.generate({ maxTokens: 1, temperature: 5, topK: 3, seed, stopIds: [] }, () => {});
      assert.ok(top.includes(r.tokens[0]), `seed ${seed}: ${r.tokens[0]} is not among the top 3`);
    }
  });

  test('sampling: top-p keeps only the smallest set of tokens whose mass reaches p', async () => {
    const prompt = Int32Array.from([1, 3, ...randomInts(rand, 6, 1000, V), 4]);
    engine.reset();
    const logits = await engine.prefill(prompt, { logits: 'last' });
    const temperature = 3;
    const order = Array.from(logits.keys()).sort((x, y) => logits[y] - logits[x]);
    const weights = order.map((i) => Math.exp((logits[i] - logits[order[0]]) / temperature));
    const total = weights.reduce((a, b) => a + b, 0);
    let mass = 0;
    let size = 0;
    while (mass < 0.3 * total) mass += weights[size++];
    const nucleus = new Set(order.slice(0, size));
    for (let seed = 0; seed < 20; seed++) {
      engine.reset();
      await engine.prefill(prompt);
      const r = await engine.generate({ maxTokens: 1, temperature, topP: 0.3, seed, stopIds: [] }, () => {});
      assert.ok(nucleus.has(r.tokens[0]), `seed ${seed}: ${r.tokens[0]} is outside the ${size}-token nucleus`);
    }
  });

  test('generation stops on a stop id without emitting it, or at the token budget', async () => {
    const prompt = Int32Array.from([1, 3, 2000, 2001, 4]);
    const greedy = await sample(prompt, { maxTokens: 6, temperature: 0, stopIds: [] });
    engine.reset();
    await engine.prefill(prompt);
    const streamed: number[] = [];
    const r = await engine.generate({ maxTokens: 6, temperature: 0, stopIds: [greedy[2]] }, (id) => streamed.push(id));
    const firstStop = greedy.indexOf(greedy[2]);
    assert.equal(r.stopReason, 'stop');
    assert.deepEqual(r.tokens, greedy.slice(0, firstStop));
    assert.deepEqual(streamed, r.tokens);
    engine.reset();
    await engine.prefill(prompt);
    const budget = await engine.generate({ maxTokens: 4, temperature: 0, stopIds: [] }, () => {});
    assert.equal(budget.stopReason, 'length');
    assert.equal(budget.tokens.length, 4);
    assert.equal(engine.position, prompt.length + 3, 'every token but the last was fed back into the cache');
    assert.equal((await engine.prefill(Int32Array.from([5]), { logits: 'none' })).length, 0, 'no logits come back unless asked for');
  });

  test('rewind keeps a prefix of the cache: appending after it equals prefilling the whole prompt', async () => {
    const shared = Int32Array.from([1, 3, ...randomInts(rand, 40, 1000, V)]);
    const tailA = Int32Array.from(randomInts(rand, 9, 1000, V));
    const tailB = Int32Array.from(randomInts(rand, 13, 1000, V));
    const join = (a: Int32Array, b: Int32Array) => Int32Array.from([...a, ...b]);
    engine.reset();
    const whole = await engine.prefill(join(shared, tailB), { logits: 'last' });
    engine.reset();
    await engine.prefill(join(shared, tailA));
    engine.rewind(shared.length);
    assert.equal(engine.position, shared.length);
    const reused = await engine.prefill(tailB, { logits: 'last' });
    let worst = 0;
    for (let i = 0; i < V; i++) worst = Math.max(worst, Math.abs(reused[i] - whole[i]));
    assert.ok(worst < 1e-5, `logits after rewind differ by ${worst}`);
    assert.throws(() => engine.rewind(engine.position + 1), (e: Error & { code?: string }) => e.code === 'EBADINPUT');
    engine.rewind(3);
    await assert.rejects(engine.generate({ maxTokens: 2 }, () => {}), /needs a prefill first/, 'a rewind drops the logits of the removed tail');
  });

  test('a prompt over the context window is refused before any compute, with the numbers', async () => {
    const small = new native.Engine();
    await small.load(fixtureDir, { contextLength: 64 });
    const ids = Int32Array.from([1, 3, ...randomInts(rand, 57, 1000, V), 4]);
    await assert.rejects(small.prefill(ids, { reserve: 10 }), /needs 70 tokens.*60 prompt \+ 10 to generate.*context holds 64/);
    assert.equal(small.position, 0);
    await small.prefill(ids, { reserve: 4 });
    await assert.rejects(small.generate({ maxTokens: 10 }, () => {}), /needs 69 tokens.*context holds 64/);
    await assert.rejects(new native.Engine().load(fixtureDir, { contextLength: 1 << 30 }), /exceeds the model's window of \d+ tokens/);

    small.unload();
  });

  test('the memory plan is what a load allocates (the fit check reads it: one source of sizes)', async () => {
    for (const kvCache of ['f32', 'f16', 'bf16'] as const) {
      const e = new native.Engine();
      const info = await e.load(fixtureDir, { contextLength: 300, maxChunk: 40, kvCache });
      const plan = native.planMemory(fixtureDir, { contextLength: 300, maxChunk: 40, kvCache });
      const { nLayers, nKvHeads, headDim } = info.config;
      assert.equal(plan.kvCacheBytes, 2 * nLayers * 300 * nKvHeads * headDim * (kvCache === 'f32' ? 4 : 2));
      assert.equal(e.memory().kvCacheBytes, plan.kvCacheBytes);
      assert.equal(plan.weightBytes, info.weightBytes);
      // Resident scratch after load (decoder buffers, RoPE tables) never exceeds the plan, which
      // also holds one full-size image in flight; a full-size image prefill fits in it.
      const resident = e.memory().scratchBytes;
      assert.ok(resident > 0 && resident <= plan.scratchBytes, `resident ${resident} > planned ${plan.scratchBytes}`);
      e.unload();
    }
  });

  test('cancel returns the engine to idle within 100 ms (decode, prefill, vision)', async () => {
    engine.reset();
    await engine.prefill(Int32Array.from([1, 3, 1500, 4]));
    const streamed: number[] = [];
    const generation = engine.generate({ maxTokens: 8000, temperature: 0, stopIds: [] }, (id) => streamed.push(id));
    await new Promise((r) => setTimeout(r, 150));
    let t0 = performance.now();
    engine.cancel();
    const r = await generation;
    const decodeMs = performance.now() - t0;
    assert.equal(r.stopReason, 'cancelled');
    assert.ok(r.tokens.length > 0 && r.tokens.length < 8000);
    assert.deepEqual(streamed, r.tokens, 'every token produced before the cancel was delivered');
    assert.ok(decodeMs < 100, `decode cancel took ${decodeMs} ms`);

    engine.reset();
    const long = Int32Array.from([1, 3, ...randomInts(rand, 6000, 1000, V), 4]);
    const prefill = engine.prefill(long, { chunkSize: 32 });
    await new Promise((r) => setTimeout(r, 100));
    t0 = performance.now();
    engine.cancel();
    await assert.rejects(prefill, (e: Error & { code?: string }) => e.code === 'ECANCELLED');
    const prefillMs = performance.now() - t0;
    assert.ok(prefillMs < 100, `prefill cancel took ${prefillMs} ms`);
    assert.equal(engine.position, 0, 'a cancelled prefill leaves the cache as it was');

    const vision = engine.encodeImages([{ pixels: new Float32Array(3 * side * side), height: side, width: side }]);
    engine.cancel(); // cancels a call submitted before it, even if it has not started
    await assert.rejects(vision, (e: Error & { code?: string }) => e.code === 'ECANCELLED');
    // The engine is idle and usable again.
    const ok = await engine.encodeImages([{ pixels: new Float32Array(3 * P * P), height: P, width: P }]);
    assert.equal(ok.tokensPerImage[0], 1);
    console.log(`    cancel latency: decode ${decodeMs.toFixed(1)} ms, prefill ${prefillMs.toFixed(1)} ms`);
  });

  // Timing a 5 ms timer says nothing about an instrumented build (the sanitizer run loads one).
  const instrumented = process.env.PIXTRAL_NATIVE_ADDON ? { skip: 'an instrumented engine build (PIXTRAL_NATIVE_ADDON)' } : {};
  test('the event loop keeps running during a long prefill', instrumented, async () => {
    engine.reset();
    const long = Int32Array.from([1, 3, ...randomInts(rand, 3000, 1000, V), 4]);
    let last = performance.now();
    let worstGap = 0;
    const timer = setInterval(() => {
      const now = performance.now();
      worstGap = Math.max(worstGap, now - last);
      last = now;
    }, 5);
    const t0 = performance.now();
    await engine.prefill(long);
    const took = performance.now() - t0;
    clearInterval(timer);
    assert.ok(took > 50, `prefill too short (${took} ms) to show anything`);
    assert.ok(worstGap < 50, `the event loop stalled for ${worstGap} ms`);
  });

  test('an engine dropped and garbage-collected mid-call is safe, and so are reads during a call', () => {
    // A child process: it needs --expose-gc, and a crash there must fail this test, not the runner.
    const child = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', path.join(__dirname, 'drop-during-call.ts')], {
      encoding: 'utf8',
      timeout: 120_000,
    });
    assert.equal(child.status, 0, `exit ${child.status} ${child.signal ?? ''}\n${child.stderr}`);
    assert.match(child.stdout, /^ok$/m);
  });

  test('one call at a time: a second call while one runs is refused', async () => {
    engine.reset();
    await engine.prefill(Int32Array.from([1, 3, 1500, 4]));
    const generation = engine.generate({ maxTokens: 200, temperature: 0, stopIds: [] }, () => {});
    assert.throws(() => engine.prefill(Int32Array.from([5])), /engine is busy/);
    assert.throws(() => engine.reset(), /engine is busy/);
    await generation;
  });

  test('bad calls get clear errors with their kind as code, and leave the engine usable', async () => {
    engine.reset();
    const code = (expected: string) => (e: Error & { code?: string }) => e.code === expected;
    await assert.rejects(engine.prefill(Int32Array.from([1, V + 5])), /token id \d+ at position 1 is outside the vocabulary/);
    await assert.rejects(engine.prefill(Int32Array.from([1, V + 5])), code('EBADINPUT'));
    await assert.rejects(new native.Engine().load('/nonexistent/model'), code('EBADWEIGHTS'));
    await assert.rejects(new native.Engine().load(fixtureDir, { backend: 'webgpu' }), code('EUNSUPPORTED'));
    await assert.rejects(new native.Engine().load(fixtureDir, { backend: 'cuda' }), code('EUNSUPPORTED'));
    assert.throws(() => new native.Engine().load(fixtureDir, { kvCache: 'q3' as never }), code('EBADINPUT'));
    await assert.rejects(engine.prefill(Int32Array.from([1, 10, 10, 4])), /2 \[IMG\] tokens but the images have 0 patches/);
    assert.throws(
      () => engine.prefill(Int32Array.from([1, 10]), { images: [{ pixels: new Float32Array(10), height: P, width: P }] }),
      new RegExp(`expected 3\\*height\\*width = ${3 * P * P}`),
    );
    await assert.rejects(
      engine.encodeImages([{ pixels: new Float32Array(3 * (P + 4) * P), height: P + 4, width: P }]),
      new RegExp(`multiples of the patch size ${P}`),
    );
    await assert.rejects(
      engine.encodeImages([{ pixels: new Float32Array(3 * 2 * side * P), height: 2 * side, width: P }]),
      new RegExp(`exceeds the model's maximum side of ${side} px`),
    );
    engine.reset();
    await assert.rejects(engine.generate({ maxTokens: 3 }, () => {}), /needs a prefill first/);
    const fresh = new native.Engine();
    await assert.rejects(fresh.prefill(Int32Array.from([1])), /no model is loaded/);
    await assert.rejects(fresh.load('/nonexistent/model'), /nonexistent/);
    // A throwing token callback stops generation and rejects with its error.
    engine.reset();
    await engine.prefill(Int32Array.from([1, 3, 1500, 4]));
    await assert.rejects(
      engine.generate({ maxTokens: 50, stopIds: [] }, () => {
        throw new Error('consumer failed');
      }),
      /consumer failed/,
    );
    const m = engine.memory();
    assert.ok(m.weightBytes > 0 && m.kvCacheBytes > 0 && m.rssBytes > 0);
  });
});
