// Streamed text reaches the editor in batches, in order, never two edits at once.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { TextBatcher } from '../../src/extension/text-batcher';

test('many pushes become a few ordered, non-overlapping batches', async () => {
  const batches: string[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const batcher = new TextBatcher(async (text) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    await sleep(15); // a slow editor
    batches.push(text);
    inFlight--;
  }, 10);
  const expected: string[] = [];
  for (let i = 0; i < 200; i++) {
    const piece = `t${i} `;
    expected.push(piece);
    batcher.push(piece);
    if (i % 20 === 0) await sleep(3);
  }
  await batcher.flush();
  assert.equal(batches.join(''), expected.join(''));
  assert.ok(batches.length < 40, `${batches.length} batches for 200 pieces`);
  assert.equal(maxInFlight, 1);
});

test('flush applies what is pending at once and reports a failed edit', async () => {
  const seen: string[] = [];
  const batcher = new TextBatcher(async (text) => void seen.push(text), 10_000);
  batcher.push('a');
  batcher.push('b');
  await batcher.flush();
  assert.deepEqual(seen, ['ab']);

  const failing = new TextBatcher(async () => {
    throw new Error('document closed');
  }, 1);
  failing.push('x');
  await assert.rejects(failing.flush(), /document closed/);
});
