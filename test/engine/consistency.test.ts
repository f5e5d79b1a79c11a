// Equivalences the fixtures cannot pin alone, on fresh random prompts and images: KV-cache decode
// equals a full recompute (the mistral-inference test), packed images equal the same images encoded
// alone, and chunked prefill equals one-shot prefill.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { loadNative, type ImageInput, type ModelInfo, type NativeEngine } from '../../src/engine/native';
import { fixtureDir } from '../support/fixtures';
import { randomFloats, randomInts, rng } from './random';

const native = loadNative();

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Bound for logits reached through another fp32 summation order (matvec vs matmul, chunk edges,
 *  16- vs 8-lane kernels, -O1 sanitized builds): 1e-3 of the largest reference logit, at least 1e-3.
 *  At image positions the random model turns a reordered sum into logit changes of up to 1.7e-4 of
 *  the largest logit (seeds 1-40 and 100-189; the same with the AVX2 matvec's loop merely reversed),
 *  while a structural error such as one extra cache row shifting every position moves them by
 *  about 0.4 of it. */
function reorderTolerance(ref: ArrayLike<number>): number {
  let m = 1;
  for (let i = 0; i < ref.length; i++) m = Math.max(m, Math.abs(ref[i]));
  return 1e-3 * m;
}

describe('engine consistency on random inputs', () => {
  let engine: NativeEngine;
  let info: ModelInfo;
  let V = 0;
  const rand = rng();
  const vision = () => info.config.vision!;

  function randomImage(): ImageInput {
    const P = vision().patchSize;
    const maxSide = vision().imageSize / P;
    const gh = 1 + Math.floor(rand() * Math.min(maxSide, 6));
    const gw = 1 + Math.floor(rand() * Math.min(maxSide, 6));
    return { pixels: randomFloats(rand, 3 * gh * P * gw * P), height: gh * P, width: gw * P };
  }

  /** [BOS][INST] image tokens, random text ids [/INST] (spec d, g). */
  function promptWithImages(imgs: ImageInput[], textLen: number): Int32Array {
    const v = vision();
    const ids = [1, 3];
    for (const im of imgs) {
      const gh = im.height / v.patchSize;
      const gw = im.width / v.patchSize;
      for (let r = 0; r < gh; r++) {
        for (let c = 0; c < gw; c++) ids.push(v.imageTokenId);
        ids.push(r === gh - 1 ? v.imageEndTokenId : v.imageBreakTokenId);
      }
    }
    ids.push(...randomInts(rand, textLen, 1000, V), 4);
    return Int32Array.from(ids);
  }

  before(async () => {
    engine = new native.Engine();
    info = await engine.load(fixtureDir, { contextLength: 512, maxChunk: 64 });
    V = info.config.vocabSize;
  });
  after(() => engine.unload());

  test('KV-cache decode equals full recompute (text and image prompts)', async () => {
    for (const imgs of [[], [randomImage()], [randomImage(), randomImage()]]) {
      const prompt = promptWithImages(imgs, 3 + Math.floor(rand() * 20));
      const steps = 12;
      engine.reset();
      await engine.prefill(prompt, { images: imgs, reserve: steps });
      const stepLogits: Float32Array[] = [];
      const generated: number[] = [];
      // Sampling (not greedy) so the continuation is not a fixed point of the random model.
      await engine.generate({ maxTokens: steps, temperature: 1, seed: Math.floor(rand() * 1e9), stopIds: [], returnLogits: true }, (id, l) => {
        generated.push(id);
        stepLogits.push(l!);
      });
      engine.reset();
      const full = Int32Array.from([...prompt, ...generated.slice(0, -1)]);
      const all = await engine.prefill(full, { images: imgs, logits: 'all' });
      let worst = 0;
      const tol = reorderTolerance(all);
      stepLogits.forEach((l, i) => {
        const row = prompt.length - 1 + i;
        worst = Math.max(worst, maxAbsDiff(l, all.subarray(row * V, (row + 1) * V)));
      });
      assert.ok(worst < tol, `${imgs.length} image(s): cached vs recomputed logits differ by ${worst} (bound ${tol})`);
    }
  });

  test('images packed in one sequence equal the same images encoded alone', async () => {
    // A one-patch image alone is a single row, which the matmuls run as a matvec: another fp32
    // summation order than the packed matmul (up to 8.4e-7 of the largest output, 300 random
    // pairs, AVX-512 panels), so every run has one and the bound is 1e-5 of the largest output.
    // Attention leaking across images (one attention over all rows) moved an output by 0.23
    // against a bound of 3.4e-5 (seed 3).
    const P = vision().patchSize;
    const onePatch = { pixels: randomFloats(rand, 3 * P * P), height: P, width: P };
    const imgs = [randomImage(), onePatch, randomImage()];
    const packed = await engine.encodeImages(imgs);
    const Dv = vision().hidden;
    let offset = 0;
    for (const im of imgs) {
      const alone = await engine.encodeImages([im]);
      const slice = packed.out.subarray(offset, offset + alone.out.length);
      const bound = 1e-5 * Math.max(...alone.out.map(Math.abs));
      const diff = maxAbsDiff(slice, alone.out);
      assert.ok(diff <= bound, `packed ${im.height}x${im.width} image differs from the image alone by ${diff} (bound ${bound})`);
      offset += alone.out.length;
    }
    assert.equal(offset, packed.out.length);
    assert.deepEqual(packed.tokensPerImage.map((n) => n * Dv).reduce((a, b) => a + b, 0), packed.out.length);
  });

  test('chunked prefill equals one-shot prefill', async () => {
    const imgs = [randomImage()];
    const prompt = promptWithImages(imgs, 40);
    engine.reset();
    const oneShot = await engine.prefill(prompt, { images: imgs, logits: 'all' });
    const tol = reorderTolerance(oneShot);
    for (const chunkSize of [1, 5, 17]) {
      engine.reset();
      const chunked = await engine.prefill(prompt, { images: imgs, logits: 'all', chunkSize });
      const diff = maxAbsDiff(chunked, oneShot);
      assert.ok(diff < tol, `chunk ${chunkSize}: logits differ by ${diff} (bound ${tol})`);
    }
    // Two prefill calls appended to the same cache equal one call too.
    engine.reset();
    const cut = prompt.length - 6; // every image token before the cut
    await engine.prefill(prompt.subarray(0, cut), { images: imgs });
    const tail = await engine.prefill(prompt.subarray(cut), { logits: 'all' });
    const splitDiff = maxAbsDiff(tail, oneShot.subarray(cut * V));
    assert.ok(splitDiff < tol, `split prefill: logits differ by ${splitDiff} (bound ${tol})`);
    assert.equal(engine.position, prompt.length);
  });
});
