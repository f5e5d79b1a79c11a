// Pixtral instruct prompts (spec g) and image token blocks (spec d) against the chat cases of
// ../shared/tokenizer/tekken-test.expected.json.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { buildChatPrompt, ChatFormatError, type ChatMessage, imageTokenIds } from '../../src/worker/chat-format';
import { TekkenTokenizer } from '../../src/worker/tokenizer';
import { TEST_TOKENIZER, expected, toChatMessages } from './support/tokenizer-data';

const tok = TekkenTokenizer.fromFile(TEST_TOKENIZER);
after(() => tok.dispose());

describe('chat_cases', () => {
  for (const c of expected.chat_cases) {
    test(c.name, () => {
      const { ids } = buildChatPrompt(tok, toChatMessages(c.messages), { systemPrompt: c.system_prompt });
      assert.deepEqual(ids, c.ids);
    });
  }
});

describe('system prompt placement', () => {
  const multiTurn = expected.chat_cases.find((c) => c.name === 'two_turns_with_image_and_system')!;
  const messages = toChatMessages(multiTurn.messages);

  test("'first-user' puts it in front of the first user message; every earlier turn's prompt is then a prefix", () => {
    const first = buildChatPrompt(tok, messages, { systemPrompt: multiTurn.system_prompt, placement: 'first-user' });
    const system = tok.encode(`${multiTurn.system_prompt}\n\n`);
    assert.deepEqual(first.ids.slice(0, 2 + system.length), [tok.bos, tok.inst, ...system]);
    const turn1 = buildChatPrompt(tok, messages.slice(0, 1), { systemPrompt: multiTurn.system_prompt, placement: 'first-user' });
    assert.deepEqual(first.ids.slice(0, turn1.ids.length), turn1.ids);
    // Same tokens as mistral-common's placement, only moved.
    assert.deepEqual([...first.ids].sort(), [...multiTurn.ids].sort());
  });

  test('with one user message both placements are mistral-common\'s prompt', () => {
    const single = expected.chat_cases.find((c) => c.name === 'system_prompt_with_image_1x1')!;
    const ids = buildChatPrompt(tok, toChatMessages(single.messages), { systemPrompt: single.system_prompt, placement: 'first-user' }).ids;
    assert.deepEqual(ids, single.ids);
  });
});

describe('image tokens', () => {
  test('2×3 grid is two rows of three [IMG], a break, and [IMG_END] last', () => {
    assert.deepEqual(imageTokenIds(2, 3, tok), [10, 10, 10, 12, 10, 10, 10, 13]);
  });

  test('h·(w+1) tokens, one [IMG_END]', () => {
    const ids = imageTokenIds(64, 64, tok);
    assert.equal(ids.length, 64 * 65);
    assert.equal(ids.filter((id) => id === tok.img).length, 64 * 64);
    assert.equal(ids.filter((id) => id === tok.imgEnd).length, 1);
    assert.equal(ids.at(-1), tok.imgEnd);
  });

  test('images are returned in the order of their tokens, after the image-first reordering', () => {
    const a = { gridH: 1, gridW: 1, name: 'a' };
    const b = { gridH: 2, gridW: 1, name: 'b' };
    const c = { gridH: 1, gridW: 2, name: 'c' };
    const messages: ChatMessage<typeof a>[] = [
      { role: 'user', content: [{ type: 'text', text: 'First' }, { type: 'image', image: a }] },
      { role: 'assistant', content: 'ok' },
      { role: 'user', content: [{ type: 'image', image: b }, { type: 'text', text: 'vs' }, { type: 'image', image: c }] },
    ];
    const { ids, images } = buildChatPrompt(tok, messages);
    assert.deepEqual(images.map((i) => i.name), ['a', 'b', 'c']);
    assert.deepEqual(ids.slice(0, 4), [tok.bos, tok.inst, tok.img, tok.imgEnd]);
    assert.equal(ids.filter((id) => id === tok.img).length, 1 + 2 + 2);
  });
});

describe('text content', () => {
  test('string content equals a single text chunk, with or without system prompt', () => {
    for (const systemPrompt of [null, 'Answer briefly.']) {
      const asString = buildChatPrompt(tok, [{ role: 'user', content: 'Describe this chart.' }], { systemPrompt });
      const asChunk = buildChatPrompt(tok, [{ role: 'user', content: [{ type: 'text', text: 'Describe this chart.' }] }], { systemPrompt });
      assert.deepEqual(asString.ids, asChunk.ids);
    }
  });

  test('the prompt ends right after [/INST] and assistant turns end with [EOS]', () => {
    const { ids } = buildChatPrompt(tok, [
      { role: 'user', content: 'a' },
      { role: 'assistant', content: 'b' },
      { role: 'user', content: 'c' },
    ]);
    assert.deepEqual(ids, [tok.bos, tok.inst, ...tok.encode('a'), tok.endInst, ...tok.encode('b'), tok.eos, tok.inst, ...tok.encode('c'), tok.endInst]);
  });
});

describe('bad conversations are clear errors', () => {
  const cases: [string, unknown[], RegExp][] = [
    ['empty', [], /the conversation is empty/],
    ['starts with the assistant', [{ role: 'assistant', content: 'x' }], /messages\[0\]\.role is "assistant" but must be "user"/],
    ['two user turns in a row', [{ role: 'user', content: 'x' }, { role: 'user', content: 'y' }], /messages\[1\]\.role is "user" but must be "assistant"/],
    ['ends with the assistant', [{ role: 'user', content: 'x' }, { role: 'assistant', content: 'y' }], /ends with an assistant message/],
    ['unknown chunk', [{ role: 'user', content: [{ type: 'audio' }] }], /messages\[0\]\.content\[0\] must be/],
    ['empty grid', [{ role: 'user', content: [{ type: 'text', text: 'x' }, { type: 'image', image: { gridH: 0, gridW: 3 } }] }], /messages\[0\]\.content\[1\]\.image has a patch grid of 0×3/],
    ['assistant chunks', [{ role: 'user', content: 'x' }, { role: 'assistant', content: [] }, { role: 'user', content: 'y' }], /messages\[1\]\.content must be a string/],
  ];
  for (const [name, messages, message] of cases) {
    test(name, () => {
      assert.throws(() => buildChatPrompt(tok, messages as ChatMessage[]), (err: Error) => err instanceof ChatFormatError && message.test(err.message));
    });
  }
});
