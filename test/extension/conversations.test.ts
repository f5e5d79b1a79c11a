// The turn layout of multi-turn requests: HTML refinement (image, first page as assistant turn,
// new instruction) and the image chat (earlier questions and answers, then the new question).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { askRequest } from '../../src/extension/ask/ask-conversation';
import { HtmlConversation } from '../../src/extension/html/conversation';
import type { ContentPart } from '../../src/worker/protocol';

const settings = { maxTokens: undefined, temperature: undefined, imageTokenBudget: 4160 };
const png = (n: number) => ({ data: new Uint8Array([n]) });
const kinds = (content: string | ContentPart[]) => (typeof content === 'string' ? 'text' : content.map((p) => p.type).join('+'));

test('a page from two images: both images, then the request with the notes', () => {
  const conversation = new HtmlConversation([png(1), png(2)], 'html-tailwind', 'dark header');
  const request = conversation.firstRequest(settings);
  assert.equal(request.messages.length, 1);
  assert.equal(kinds(request.messages[0].content), 'image+image+text');
  const parts = request.messages[0].content as ContentPart[];
  assert.deepEqual(parts.slice(0, 2).map((p) => (p.type === 'image' && 'data' in p.image ? p.image.data[0] : -1)), [1, 2]);
  assert.match((parts[2] as { text: string }).text, /dark header/);
  assert.match(request.systemPrompt!, /Tailwind/);
  assert.equal(request.imageTokenBudget, 4160);
  assert.equal(request.sampling.maxTokens, 4096, 'task default');
  assert.equal(conversation.firstRequest({ ...settings, maxTokens: 100, temperature: 0 }).sampling.maxTokens, 100, 'setting wins');
});

test('refinements are real turns; a page edited by hand replaces the model\'s last one', () => {
  const conversation = new HtmlConversation([png(1)], 'html-css', '');
  assert.throws(() => conversation.refineRequest('x', settings), /generate a page first/);
  conversation.record('<html>v1</html>');
  const second = conversation.refineRequest('make it blue', settings);
  assert.deepEqual(second.messages.map((m) => m.role), ['user', 'assistant', 'user']);
  assert.equal(second.messages[1].content, '<html>v1</html>');
  assert.equal(second.messages[2].content, 'make it blue');
  conversation.record('<html>v2</html>', 'make it blue');
  assert.equal(conversation.lastHtml, '<html>v2</html>');

  const third = conversation.refineRequest('add a footer', settings, '<html>v2 edited</html>');
  assert.deepEqual(third.messages.map((m) => m.role), ['user', 'assistant', 'user', 'assistant', 'user']);
  assert.equal(third.messages[1].content, '<html>v1</html>');
  assert.equal(third.messages[3].content, '<html>v2 edited</html>');
  assert.equal(kinds(third.messages[0].content), 'image+text', 'the image stays in the first turn');
});

test('the image chat sends earlier turns, skips stopped ones, and takes several images per question', () => {
  const history = [
    { question: 'What does this show?', images: [png(1)], answer: 'Sales per month.' },
    { question: 'And this?', images: [png(2)], answer: 'Half an ans', stopped: true },
  ];
  const request = askRequest(history, { question: 'Compare both', images: [png(3), png(4)] }, settings);
  assert.deepEqual(request.messages.map((m) => m.role), ['user', 'assistant', 'user']);
  assert.equal(kinds(request.messages[0].content), 'image+text');
  assert.equal(request.messages[1].content, 'Sales per month.');
  assert.equal(kinds(request.messages[2].content), 'image+image+text');
  assert.ok(request.systemPrompt);
});
