// The explanation cache key changes with anything that changes an answer, entries survive a restart
// (a new cache over the same folder), and every lookup is counted as a hit or a miss.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { ExplanationCache, explanationKey } from '../../src/extension/hovers/explanation-cache';

const base = { image: new Uint8Array([1, 2, 3]), model: '["local","/m","","bf16"]', prompt: { id: 'chart-explain', version: 1 }, tokenBudget: 1056 };

test('the key depends on image bytes, model, precision, prompt version and token budget', () => {
  const key = explanationKey(base);
  assert.match(key, /^[0-9a-f]{64}$/);
  assert.equal(explanationKey({ ...base, image: new Uint8Array([1, 2, 3]) }), key, 'same bytes, same key');
  const variants = [
    { ...base, image: new Uint8Array([1, 2, 4]) },
    { ...base, model: '["remote","https://api.mistral.ai/v1","pixtral-12b-2409"]' },
    { ...base, model: '["local","/m","","q8_0"]' },
    { ...base, prompt: { id: 'chart-explain', version: 2 } },
    { ...base, tokenBudget: 4160 },
  ];
  const keys = new Set(variants.map(explanationKey));
  assert.equal(keys.size, variants.length);
  assert.ok(!keys.has(key));
});

test('entries persist on disk and are read back by a new cache', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'pixtral-cache-'));
  try {
    const key = explanationKey(base);
    const first = new ExplanationCache(dir);
    assert.equal(await first.get(key), undefined);
    await first.set(key, '## What it shows\nA bar chart.');
    assert.equal(first.peek(key), '## What it shows\nA bar chart.');
    assert.equal(await first.get(key), '## What it shows\nA bar chart.');
    assert.deepEqual(first.counts, { hits: 1, misses: 1 }, 'every lookup is counted, answered or not');
    assert.deepEqual(await readdir(dir), [`${key}.md`]);
    const second = new ExplanationCache(dir);
    assert.equal(second.peek(key), undefined, 'nothing in memory yet');
    assert.equal(await second.get(key), '## What it shows\nA bar chart.');
    assert.deepEqual(second.counts, { hits: 1, misses: 0 }, 'an entry read from disk is a hit');
    await assert.rejects(second.get('../../etc/passwd'), /not a cache key/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
