// The small sketch model's data path (tools/sketch-model): what it trains on must be exactly what
// the product sends, and its learned tokenizer must be a tekken.json the product loads unchanged.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { chartToTable, htmlFromSketch } from '../../src/prompts';
import { imageTokenIds } from '../../src/worker/chat-format';
import { CLIP_MEAN, CLIP_STD } from '../../src/worker/image/normalize';
import { prepareImage } from '../../src/worker/image/preprocess';
import { TekkenTokenizer } from '../../src/worker/tokenizer';
import { chartCsv, CHART_KINDS, randomChart } from '../../tools/sketch-data/chart-data';
import { randomPage } from '../../tools/sketch-data/page';
import { pageHtml } from '../../tools/sketch-data/page-html';
import { Rng } from '../../tools/sketch-data/random';
import { NEUTRAL_THEME, randomTheme } from '../../tools/sketch-data/stylesheet';
import { learnBpe, pieceCounts } from '../../tools/sketch-model/bpe';
import { encodeExample, taskRequest } from '../../tools/sketch-model/example-encoding';
import { promptTexts } from '../../tools/sketch-model/make-tokenizer';
import { readReferenceTekken, tekkenJson } from '../../tools/sketch-model/tekken-writer';
import { fixtureDir } from '../support/fixtures';

const repo = path.resolve(__dirname, '..', '..');
const sketch = path.join(repo, 'media', 'examples', 'sketch.png');
const config = JSON.parse(readFileSync(path.join(repo, 'tools', 'sketch-model', 'config.json'), 'utf8'));
const vision = { imageSize: config.vision_encoder.image_size, patchSize: config.vision_encoder.patch_size };
const referenceTekken = path.join(fixtureDir, 'tekken.json');
const tmp = mkdtempSync(path.join(tmpdir(), 'sketch-model-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** Generated targets of both kinds: pages (plain and themed) and chart CSVs, from fixed seeds. */
function targets(seed: number, count: number): string[] {
  return Array.from({ length: count }, (_, i) => {
    const rng = new Rng(seed * 100_003 + i);
    if (i % 3 === 2) return chartCsv(randomChart(rng, CHART_KINDS[i % CHART_KINDS.length]));
    return pageHtml(randomPage(rng, rng.int(360, 1280)), i % 3 === 0 ? NEUTRAL_THEME : randomTheme(rng));
  });
}

describe('training examples are encoded as the product prompts them', () => {
  const tokenizer = TekkenTokenizer.fromFile(referenceTekken);
  after(() => tokenizer.dispose());

  for (const task of ['sketch', 'chart'] as const) {
    test(`${task}: prompt ids, image and target ids`, async () => {
      const target = task === 'chart' ? 'City,Rain (mm)\nOslo,12' : '<!DOCTYPE html>\n<html lang="en">\n</html>';
      const encoded = await encodeExample(tokenizer, vision, { task, imagePath: sketch, target });

      // The worker's image: same grid, and our bytes normalise back to its pixels (rounding only).
      const budget = taskRequest(task, { path: sketch }).imageTokenBudget;
      const prepared = await prepareImage(sketch, { maxImageSize: vision.imageSize, patchSize: vision.patchSize, tokenBudget: budget });
      assert.deepEqual([encoded.gridH, encoded.gridW], [prepared.gridH, prepared.gridW]);
      assert.ok(Math.max(encoded.gridH, encoded.gridW) * vision.patchSize <= vision.imageSize);
      const plane = prepared.width * prepared.height;
      let worst = 0;
      for (let c = 0; c < 3; c++) {
        for (let p = 0; p < plane; p++) {
          const ours = (encoded.rgb[3 * p + c] / 255 - CLIP_MEAN[c]) / CLIP_STD[c];
          const theirs = Math.min(Math.max(prepared.pixels[c * plane + p], -CLIP_MEAN[c] / CLIP_STD[c]), (1 - CLIP_MEAN[c]) / CLIP_STD[c]);
          worst = Math.max(worst, Math.abs(ours - theirs));
        }
      }
      assert.ok(worst <= 0.5 / 255 / Math.min(...CLIP_STD) + 1e-5, `pixels differ by ${worst}`);

      // The prompt, assembled by hand from the task's texts: [BOS][INST] system "\n\n", image, request [/INST].
      const conversation =
        task === 'chart' ? chartToTable.build({ image: 0, format: 'csv' }) : htmlFromSketch.build({ images: [0], target: 'html-css' });
      const request = conversation.messages[0].content as { type: string; text?: string }[];
      const expected = [
        tokenizer.bos,
        tokenizer.inst,
        ...tokenizer.encode(`${conversation.systemPrompt}\n\n`),
        ...imageTokenIds(prepared.gridH, prepared.gridW, tokenizer),
        ...tokenizer.encode(request.find((c) => c.type === 'text')!.text!),
        tokenizer.endInst,
      ];
      assert.deepEqual(encoded.promptIds, expected);
      assert.equal(encoded.prefixLength, expected.indexOf(tokenizer.img));
      assert.deepEqual(encoded.targetIds, [...tokenizer.encode(target), tokenizer.eos]);
      assert.equal(tokenizer.decode(encoded.targetIds), target);
    });
  }
});

describe('the learned tokenizer', () => {
  const reference = readReferenceTekken(referenceTekken);
  const file = path.join(tmp, 'tekken.json');
  const counts = pieceCounts([...targets(1, 120), ...promptTexts()], reference.pattern);
  const ranks = learnBpe(counts, { vocabSize: 1500 });
  writeFileSync(file, tekkenJson(ranks, reference, { patchSize: 16, maxImageSize: vision.imageSize }));
  const json = JSON.parse(readFileSync(file, 'utf8'));

  test('has the real schema: pattern, 1000 control tokens, v3, byte ranks first, image section', () => {
    const real = JSON.parse(readFileSync(referenceTekken, 'utf8'));
    assert.equal(json.config.pattern, real.config.pattern);
    assert.equal(json.config.version, 'v3');
    assert.equal(json.config.default_num_special_tokens, 1000);
    assert.equal(json.config.default_vocab_size, 1000 + json.vocab.length);
    assert.equal(json.config.num_vocab_tokens, json.vocab.length);
    assert.deepEqual(json.special_tokens, real.special_tokens);
    for (let b = 0; b < 256; b++) assert.deepEqual(Buffer.from(json.vocab[b].token_bytes, 'base64'), Buffer.from([b]));
    assert.deepEqual(json.multimodal, { image_patch_size: 16, max_image_size: vision.imageSize });
    const distinct = new Set(json.vocab.map((v: { token_bytes: string }) => v.token_bytes));
    assert.equal(distinct.size, json.vocab.length, 'every rank has its own bytes');
  });

  test('loads in the product tokenizer and round-trips unseen targets, compactly', () => {
    const tokenizer = TekkenTokenizer.fromFile(file);
    try {
      assert.equal(tokenizer.vocabSize, 1000 + ranks.length);
      let bytes = 0;
      let tokens = 0;
      for (const text of targets(2, 30)) {
        const ids = tokenizer.encode(text);
        assert.equal(tokenizer.decode(ids), text);
        assert.ok(ids.every((id) => id >= 1000 && id < tokenizer.vocabSize));
        bytes += Buffer.byteLength(text);
        tokens += ids.length;
      }
      // Bytes alone would be 1 token per byte; the learned merges give well under a third of that.
      assert.ok(tokens < bytes / 3, `${tokens} tokens for ${bytes} bytes`);
    } finally {
      tokenizer.dispose();
    }
  });
});
