// Conversations keep their KV cache: the prefix rules (src/worker/prompt-cache.ts) on made-up
// keys, and a real worker on the fixture model, where a follow-up must reuse the first turn and
// answer exactly as a worker with an empty cache does.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { GenerationEvent } from '../../src/service/generation-backend';
import { WorkerClient } from '../../src/service/worker-client';
import { imageStarts, keysAfter, promptKeys, reusablePrefix } from '../../src/worker/prompt-cache';
import type { ChatMessage, GenerationRequest } from '../../src/worker/protocol';
import { TekkenTokenizer } from '../../src/worker/tokenizer';
import { fixtureDir } from '../support/fixtures';

const IMG = 10;
const SYSTEM = 'Answer briefly.';

describe('prefix rules', () => {
  test('image rows are keyed by image content and row; other positions by id', () => {
    const ids = [1, 3, IMG, IMG, 12, IMG, IMG, 13, 500, IMG, 13, 4];
    const keys = promptKeys(ids, IMG, ['aa', 'bb'], [4, 1]);
    assert.deepEqual(keys, [1, 3, 'aa:0', 'aa:1', 12, 'aa:2', 'aa:3', 13, 500, 'bb:0', 13, 4]);
    assert.deepEqual(imageStarts(keys), [2, 9]);
  });

  test('the common prefix, never the whole prompt, never part of an image', () => {
    const turn = [1, 3, 'aa:0', 'aa:1', 12, 'aa:2', 'aa:3', 13, 500, 4] as const;
    assert.equal(reusablePrefix([], turn), 0);
    assert.equal(reusablePrefix(turn, turn), turn.length - 1, 'the last position runs again for its logits');
    assert.equal(reusablePrefix([...turn, 77, 2], [...turn, 77, 2, 3, 600, 4]), turn.length + 2);
    // A different image at the same place: only what comes before it.
    assert.equal(reusablePrefix(turn, [1, 3, 'cc:0', 'cc:1', 12, 'cc:2', 'cc:3', 13, 500, 4]), 2);
    // Cached up to the middle of an image (an [IMG_BREAK] differs): the image runs again whole.
    assert.equal(reusablePrefix([1, 3, 'aa:0', 'aa:1', 99], turn), 2);
  });

  test('after a request the cache holds the prompt and the generated tokens the engine fed back', () => {
    assert.deepEqual(keysAfter([1, 3, 4], [70, 71, 72], 5), [1, 3, 4, 70, 71]);
    assert.deepEqual(keysAfter([1, 3, 4], [70], 2), [1, 3], 'a cancelled prefill left less');
  });
});

describe('follow-ups on a real worker', () => {
  const image = (name: string) => ({ type: 'image' as const, image: { path: path.join(fixtureDir, 'images', name) } });
  let cached: WorkerClient;
  let fresh: WorkerClient;
  const load = { contextLength: 2048, kvCache: 'f32' as const };

  before(async () => {
    cached = new WorkerClient({ model: fixtureDir, load });
    fresh = new WorkerClient({ model: fixtureDir, load });
    await Promise.all([cached.load(), fresh.load()]);
  });
  after(() => {
    cached.dispose();
    fresh.dispose();
  });

  async function ask(client: WorkerClient, messages: ChatMessage[]) {
    const request: GenerationRequest = {
      systemPrompt: SYSTEM,
      systemPromptPlacement: 'first-user',
      messages,
      sampling: { maxTokens: 8, temperature: 0 },
    };
    let text = '';
    let done: Extract<GenerationEvent, { type: 'done' }> | undefined;
    for await (const event of client.generate(request)) {
      if (event.type === 'text') text += event.text;
      if (event.type === 'done') done = event;
    }
    assert.ok(done);
    return { text, usage: done.usage, prefillMs: done.timings?.prefillMs ?? NaN };
  }

  test('a follow-up prefills only what is new and answers as from an empty cache', async () => {
    const first: ChatMessage[] = [{ role: 'user', content: [{ type: 'text', text: 'What is in this image?' }, image('vision_single.png')] }];
    const turn1 = await ask(cached, first);
    assert.equal(turn1.usage.cachedTokens, 0);
    const followUp: ChatMessage[] = [...first, { role: 'assistant', content: turn1.text }, { role: 'user', content: 'And the colours?' }];
    const turn2 = await ask(cached, followUp);
    const reference = await ask(fresh, followUp);
    assert.equal(reference.usage.cachedTokens, 0);
    assert.ok(turn2.usage.cachedTokens! >= turn1.usage.promptTokens, `reused ${turn2.usage.cachedTokens} of the first turn's ${turn1.usage.promptTokens} prompt tokens`);
    assert.equal(turn2.text, reference.text, 'the reused cache changed the answer');
    console.log(
      `    follow-up: ${turn2.usage.cachedTokens}/${turn2.usage.promptTokens} prompt tokens reused; prefill ${turn2.prefillMs.toFixed(1)} ms vs ${reference.prefillMs.toFixed(1)} ms from an empty cache (first turn ${turn1.prefillMs.toFixed(1)} ms)`,
    );
  });

  test('another image at the same place is never taken from the cache', async () => {
    const question = (name: string): ChatMessage[] => [{ role: 'user', content: [{ type: 'text', text: 'Describe it.' }, image(name)] }];
    await ask(cached, question('vision_single.png'));
    const other = await ask(cached, question('vision_pair_0.png'));
    const reference = await ask(fresh, question('vision_pair_0.png'));
    // [BOS] [INST] and the system prompt come before the image: exactly those are reused.
    const tok = TekkenTokenizer.fromFile(path.join(fixtureDir, 'tekken.json'));
    const beforeImage = 2 + tok.encode(`${SYSTEM}\n\n`).length;
    tok.dispose();
    assert.equal(other.usage.cachedTokens, beforeImage, 'reused rows of a different image');
    assert.equal(other.text, reference.text);
  });
});
