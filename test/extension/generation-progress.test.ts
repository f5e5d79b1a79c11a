// Progress lines and the tok/s figure of the status bar.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeStage, TokenRate } from '../../src/extension/generation-progress';

test('stage lines', () => {
  assert.equal(describeStage({ stage: 'image', index: 0, count: 2, gridH: 4, gridW: 4, tokens: 20 }), 'reading image 1 of 2 (20 tokens)');
  assert.equal(describeStage({ stage: 'prefill', promptTokens: 120, contextLength: 4096 }), 'reading the prompt (120 tokens)');
  assert.equal(describeStage({ stage: 'decode' }), 'writing');
});

test('live estimate from text events, then the exact figure from done', () => {
  let now = 0;
  const rate = new TokenRate(() => now);
  assert.equal(rate.tokensPerSecond, undefined);
  for (let i = 0; i < 11; i++) {
    if (i > 0) now += 100;
    rate.observe({ type: 'text', text: 'x' });
  }
  assert.ok(Math.abs(rate.tokensPerSecond! - 10 / 1.0) < 1e-9, String(rate.tokensPerSecond));
  rate.observe({ type: 'done', stopReason: 'stop', usage: { promptTokens: 5, completionTokens: 50, imageTokens: 0 }, timings: { preprocessMs: 1, prefillMs: 1, decodeMs: 2000 } });
  assert.equal(rate.tokensPerSecond, 25);
});
