// The "Ask about this image" chat's webview in a real Chromium, under its real Content Security
// Policy: images pasted, dropped and sent by the host; the question it posts; answers streamed in
// as the host streams them, rendered from Markdown as text (an answer's HTML never becomes
// elements or runs); follow-up questions, which the host turns into a multi-turn request; the
// keyboard (Enter sends, Shift+Enter breaks the line, focus order); the conversation surviving a
// reload.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import sharp from 'sharp';
import { askRequest, restoredTurns, type Exchange } from '../../src/extension/ask/ask-conversation';
import { askPageBody } from '../../src/extension/ask/ask-page';
import type { AskImage, AskState, AskToHost, AskToWebview, AskTurn } from '../../src/extension/ask/protocol';
import { decodeImageDataUrl } from '../../src/extension/images/image-input';
import type { ContentPart } from '../../src/worker/protocol';
import { launchChromium } from '../support/chromium';
import { requires } from '../support/requirements';
import { buildWebviews, hostSends, installVsCodeApi, posted, savedState, servePages, type PageServer } from './harness';

const chromium = requires('chromium');
let server: PageServer;
let browser: { context: BrowserContext; close(): Promise<void> };
/** Three PNGs of different sizes, so each can be told apart after the round trip. */
const pngs: { name: string; base64: string; width: number; height: number }[] = [];

before(async () => {
  if (!chromium.met()) return;
  buildWebviews();
  server = await servePages({ ask: { body: askPageBody(), styles: ['ask.css'] } });
  browser = await launchChromium();
  for (const [name, width, height, background] of [
    ['revenue-chart.png', 64, 48, '#c83232'],
    ['costs-chart.png', 80, 40, '#3264c8'],
    ['legend.png', 24, 96, '#32a050'],
  ] as const) {
    const png = await sharp({ create: { width, height, channels: 3, background } }).png().toBuffer();
    pngs.push({ name, base64: png.toString('base64'), width, height });
  }
});

after(async () => {
  await browser?.close();
  await server?.close();
});

async function openAsk(state?: AskState): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.context.newPage();
  page.setDefaultTimeout(5000); // a missing element fails the test in seconds, not half a minute
  const errors: string[] = [];
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  page.on('pageerror', (e) => errors.push(e.message));
  await installVsCodeApi(page, state);
  await page.goto(server.pageUrl('ask'));
  await page.waitForFunction(() => (window as unknown as { __posted: { type: string }[] }).__posted.some((m) => m.type === 'ready'));
  return { page, errors };
}

/** Pastes image files, as Ctrl+V with screenshots or files on the clipboard does. */
async function paste(page: Page, files: { name: string; base64: string }[]): Promise<void> {
  await page.evaluate((list) => {
    const data = new DataTransfer();
    for (const f of list) data.items.add(new File([Uint8Array.from(atob(f.base64), (c) => c.charCodeAt(0))], f.name, { type: 'image/png' }));
    document.activeElement!.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
  }, files);
}

/** Drops image files from the OS on the page's root element, below the conversation. */
async function drop(page: Page, files: { name: string; base64: string }[]): Promise<boolean> {
  return page.evaluate((list) => {
    const data = new DataTransfer();
    for (const f of list) data.items.add(new File([Uint8Array.from(atob(f.base64), (c) => c.charCodeAt(0))], f.name, { type: 'image/png' }));
    const event = new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true });
    document.documentElement.dispatchEvent(event);
    return event.defaultPrevented;
  }, files);
}

const attachmentNames = (page: Page) => page.locator('#attachments img').evaluateAll((imgs) => imgs.map((i) => (i as HTMLImageElement).alt));
const asks = async (page: Page) => (await posted<AskToHost>(page)).filter((m): m is Extract<AskToHost, { type: 'ask' }> => m.type === 'ask');

/**
 * The extension host's side, step by step as AskPanel.ask does it (src/extension/ask/ask-panel.ts):
 * the new turn with busy state, the stage, the answer's pieces as the model writes them, then the
 * final state with the whole answer.
 */
class StandInHost {
  state: AskState = { turns: [], busy: false, stage: '', error: undefined };

  constructor(private readonly page: Page) {}

  private send(message: AskToWebview): Promise<void> {
    return hostSends(this.page, message);
  }

  async answer(ask: { question: string; images: AskImage[] }, pieces: string[]): Promise<void> {
    const turn: AskTurn = { question: ask.question.trim(), images: ask.images, answer: '' };
    this.state = { turns: [...this.state.turns, turn], busy: true, stage: 'starting', error: undefined };
    await this.send({ type: 'state', state: structuredClone(this.state) });
    this.state = { ...this.state, stage: 'Reading the images' };
    await this.send({ type: 'state', state: structuredClone(this.state) });
    for (const text of pieces) {
      turn.answer += text;
      await this.send({ type: 'answer', text });
    }
    turn.stopped = false;
    this.state = { ...this.state, busy: false, stage: '' };
    await this.send({ type: 'state', state: structuredClone(this.state) });
  }
}

test('loads under its Content Security Policy, announces itself and shows an empty conversation', chromium.options, async () => {
  const { page, errors } = await openAsk();
  const csp = await page.locator('meta[http-equiv="Content-Security-Policy"]').getAttribute('content');
  assert.match(csp!, /default-src 'none'; script-src 'nonce-/);
  assert.deepEqual(await posted(page), [{ type: 'ready' }]);
  assert.equal(await page.locator('#turns li').count(), 0);
  assert.equal(await page.locator('#send').isDisabled(), false);
  assert.equal(await page.locator('#stop').isDisabled(), true, 'nothing to stop');
  assert.equal(await page.locator('#error').isHidden(), true);
  assert.deepEqual(errors, []);
  await page.close();
});

test('pasted, dropped and host-picked images go with the question, in order, byte for byte', chromium.options, async () => {
  const { page, errors } = await openAsk();
  await page.focus('#question');
  await paste(page, [pngs[0], pngs[1]]);
  await page.waitForFunction(() => document.querySelectorAll('#attachments li').length === 2);
  assert.equal(await drop(page, [pngs[2]]), true, 'the drop is the page\'s, not the browser\'s (which would open the file)');
  await page.waitForFunction(() => document.querySelectorAll('#attachments li').length === 3);
  assert.deepEqual(await attachmentNames(page), pngs.map((p) => p.name));

  // Removing one by keyboard: focus stays in the list, on the image that took its place.
  await page.getByRole('button', { name: 'Remove costs-chart.png' }).focus();
  await page.keyboard.press('Enter');
  assert.deepEqual(await attachmentNames(page), ['revenue-chart.png', 'legend.png']);
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('aria-label')), 'Remove legend.png');

  // An image the host read from disk (Add Images… or a drop from the explorer).
  await page.click('#attach');
  assert.deepEqual((await posted(page)).at(-1), { type: 'pickImages' });
  await hostSends(page, { type: 'addImages', images: [{ name: 'costs-chart.png', dataUrl: `data:image/png;base64,${pngs[1].base64}` }] });
  assert.deepEqual(await attachmentNames(page), ['revenue-chart.png', 'legend.png', 'costs-chart.png']);

  await page.locator('#question').fill('  What does the revenue chart show?  ');
  await page.click('#send');
  const [ask] = await asks(page);
  assert.equal(ask.question, '  What does the revenue chart show?  ', 'sent as typed; the host trims it');
  assert.deepEqual(ask.images.map((i) => i.name), ['revenue-chart.png', 'legend.png', 'costs-chart.png']);
  const sizes = await Promise.all(ask.images.map(async (i) => sharp(decodeImageDataUrl(i.dataUrl)).metadata()));
  assert.deepEqual(sizes.map((m) => [m.format, m.width, m.height]), [['png', 64, 48], ['png', 24, 96], ['png', 80, 40]], 'the host decodes the very PNGs');

  assert.equal(await page.inputValue('#question'), '', 'the composer is emptied for the next question');
  assert.equal(await page.locator('#attachments li').count(), 0);
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'question', 'focus returns to the question, not to the disabled button');
  assert.deepEqual(errors, []);
  await page.close();
});

test('explorer drops go to the host; an image over the size limit is refused with a message', chromium.options, async () => {
  const { page, errors } = await openAsk();
  await page.evaluate(() => {
    const data = new DataTransfer();
    data.setData('text/uri-list', '# from the explorer\r\nfile:///work/chart%201.png\r\nfile:///work/table.png\r\n');
    document.body.dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }));
  });
  assert.deepEqual((await posted(page)).at(-1), { type: 'dropUris', uris: ['file:///work/chart%201.png', 'file:///work/table.png'] });

  await page.focus('#question');
  await page.evaluate((b64) => {
    const data = new DataTransfer();
    data.items.add(new File([new Uint8Array(21 * 1024 * 1024)], 'huge.png', { type: 'image/png' }));
    data.items.add(new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], 'small.png', { type: 'image/png' }));
    document.activeElement!.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
  }, pngs[0].base64);
  await page.locator('#error').waitFor({ state: 'visible' });
  assert.match(await page.locator('#error').innerText(), /huge\.png is larger than 20 MB/);
  assert.deepEqual(await attachmentNames(page), ['small.png'], 'the other image is still added');
  assert.deepEqual(errors, []);
  await page.close();
});

test('a first question without an image is kept, with the reason, instead of being sent', chromium.options, async () => {
  const { page } = await openAsk();
  await page.locator('#question').fill('What is this?');
  await page.locator('#question').press('Enter');
  assert.deepEqual(await asks(page), []);
  assert.equal(await page.inputValue('#question'), 'What is this?');
  assert.match(await page.locator('#error').innerText(), /Add at least one image/);
  await paste(page, [pngs[0]]);
  await page.waitForFunction(() => document.querySelectorAll('#attachments li').length === 1);
  assert.equal(await page.locator('#error').isHidden(), true, 'the reason goes once an image is there');
  await page.locator('#question').press('Enter');
  assert.equal((await asks(page)).length, 1);
  await page.close();
});

test('a streamed answer renders as Markdown text; HTML in it never becomes elements or runs', chromium.options, async () => {
  const { page, errors } = await openAsk();
  const host = new StandInHost(page);
  await page.focus('#question');
  await paste(page, [pngs[0]]);
  await page.waitForFunction(() => document.querySelectorAll('#attachments li').length === 1);
  await page.locator('#question').fill('What does this show?');
  await page.locator('#question').press('Enter');
  const [ask] = await asks(page);

  const pieces = [
    '## Rev',
    'enue\n\nThe chart shows **monthly',
    ' revenue**:\n\n- January: 10\n- February: 12\n\n| Month | Revenue |\n|---|---|\n| Jan | 10 |\n\n',
    'Its alt text reads <img src=x onerror="window.pwned = 1"> and ',
    '<script>window.pwned = 2</script> <a href="javascript:window.pwned=3">link</a>\n\n```\n<b>code</b>\n```',
  ];
  // Watch the answer while it streams: the first pieces are on screen before the last arrives.
  const turn: AskTurn = { question: ask.question.trim(), images: ask.images, answer: '' };
  await hostSends(page, { type: 'state', state: { turns: [turn], busy: true, stage: 'Reading the images', error: undefined } });
  assert.equal(await page.locator('#send').isDisabled(), true, 'no second question while one is answered');
  assert.equal(await page.locator('#stop').isDisabled(), false);
  assert.equal(await page.locator('#status').innerText(), 'Reading the images');
  await hostSends(page, { type: 'answer', text: pieces[0] });
  await hostSends(page, { type: 'answer', text: pieces[1] });
  assert.equal(await page.locator('.answer h4').innerText(), 'Revenue', 'a heading split across pieces');
  assert.equal(await page.locator('.answer strong').count(), 0, 'bold not closed yet');
  assert.equal(await page.locator('.answer p').innerText(), 'The chart shows **monthly');
  await page.click('#stop');
  assert.deepEqual((await posted(page)).at(-1), { type: 'stop' });

  // The same turn from the start, as the host would send it (its state then carries the whole answer).
  host.state = { turns: [], busy: false, stage: '', error: undefined };
  await page.evaluate(() => ((window as unknown as { __posted: unknown[] }).__posted.length = 0));
  await host.answer(ask, pieces);
  const answer = page.locator('.turn .answer');
  assert.equal(await answer.count(), 1);
  assert.deepEqual(await answer.locator('li').allInnerTexts(), ['January: 10', 'February: 12']);
  assert.deepEqual(await answer.locator('th').allInnerTexts(), ['Month', 'Revenue']);
  assert.equal(await answer.locator('strong').innerText(), 'monthly revenue');
  assert.equal(await answer.locator('pre code').innerText(), '<b>code</b>');
  const text = await answer.innerText();
  assert.ok(text.includes('<img src=x onerror="window.pwned = 1">'), 'the markup is shown as the text it is');
  assert.ok(text.includes('<script>window.pwned = 2</script>'));
  // Only the elements the Markdown renderer makes; no img, script, a or b from the model's text.
  const tags = await answer.evaluate((el) => [...new Set(Array.from(el.querySelectorAll('*'), (e) => e.tagName.toLowerCase()))].sort());
  assert.deepEqual(tags, ['code', 'h4', 'li', 'p', 'pre', 'strong', 'table', 'tbody', 'td', 'th', 'thead', 'tr', 'ul']);
  // Belt and braces: the policy would also stop an inline handler, and would say so on the console.
  await page.waitForTimeout(100); // an onerror would fire as the image fails to load
  assert.equal(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned), undefined);

  assert.equal(await page.locator('.turn .question').innerText(), 'What does this show?');
  assert.deepEqual(await page.locator('.turn .thumbs img').evaluateAll((imgs) => imgs.map((i) => (i as HTMLImageElement).alt)), ['revenue-chart.png']);
  assert.equal(await page.locator('.turn .thumbs img').evaluate((i) => (i as HTMLImageElement).naturalWidth), 64, 'the thumbnail loads under the policy');
  assert.equal(await page.locator('#send').isDisabled(), false);
  assert.equal(await page.locator('#stop').isDisabled(), true);
  const saved = await savedState<AskState>(page);
  assert.equal(saved.turns[0].answer, pieces.join(''), 'the finished conversation is persisted');
  assert.deepEqual(errors, [], 'no script error, no blocked script or image');
  await page.close();
});

test('a follow-up sends only the new question and images; the host makes it a multi-turn request', chromium.options, async () => {
  const { page, errors } = await openAsk();
  const host = new StandInHost(page);
  await page.focus('#question');
  await paste(page, [pngs[0], pngs[1]]);
  await page.waitForFunction(() => document.querySelectorAll('#attachments li').length === 2);
  await page.locator('#question').fill('Compare these two charts.');
  await page.locator('#question').press('Enter');
  await host.answer((await asks(page))[0], ['Revenue grows ', 'while costs stay flat.']);

  // A follow-up without a new image is fine once the conversation has images.
  await page.locator('#question').fill('Which month is highest?');
  await page.locator('#question').press('Enter');
  await host.answer((await asks(page))[1], ['February.']);

  await paste(page, [pngs[2]]);
  await page.waitForFunction(() => document.querySelectorAll('#attachments li').length === 1);
  await page.locator('#question').fill('And what does this legend add?');
  await page.locator('#question').press('Enter');
  const sent = await asks(page);
  assert.deepEqual(
    sent.map((m) => [m.question, m.images.map((i) => i.name)]),
    [
      ['Compare these two charts.', ['revenue-chart.png', 'costs-chart.png']],
      ['Which month is highest?', []],
      ['And what does this legend add?', ['legend.png']],
    ],
    'each question carries only its own images; earlier turns stay with the host',
  );
  assert.deepEqual(await page.locator('.turn .question').allInnerTexts(), ['Compare these two charts.', 'Which month is highest?']);
  assert.deepEqual(await page.locator('.turn .answer').allInnerTexts(), ['Revenue grows while costs stay flat.', 'February.']);

  // What the host builds from the conversation it holds and the new message (as AskPanel.ask does).
  const toRefs = (images: AskImage[]) => images.map((i) => ({ data: decodeImageDataUrl(i.dataUrl) }));
  const history: Exchange[] = host.state.turns.map((t) => ({ question: t.question, images: toRefs(t.images), answer: t.answer, stopped: t.stopped }));
  const last = sent[2];
  const request = askRequest(history, { question: last.question.trim(), images: toRefs(last.images) }, { maxTokens: undefined, temperature: undefined, imageTokenBudget: 4160 });
  const kinds = (content: string | ContentPart[]) => (typeof content === 'string' ? 'text' : content.map((p) => p.type).join('+'));
  assert.deepEqual(
    request.messages.map((m) => `${m.role}:${kinds(m.content)}`),
    ['user:image+image+text', 'assistant:text', 'user:text', 'assistant:text', 'user:image+text'],
  );
  assert.equal(request.messages[1].content, 'Revenue grows while costs stay flat.');
  assert.equal(request.messages[3].content, 'February.');
  assert.deepEqual(errors, []);
  await page.close();
});

test('keyboard: Enter sends, Shift+Enter breaks the line, Tab walks the controls in order', chromium.options, async () => {
  const { page, errors } = await openAsk();
  const host = new StandInHost(page);
  await page.focus('#question');
  await paste(page, [pngs[0]]);
  await page.waitForFunction(() => document.querySelectorAll('#attachments li').length === 1);

  // The image's remove button, the question, then the buttons; Stop is skipped while there is
  // nothing to stop.
  const focused = () => page.evaluate(() => document.activeElement?.id || document.activeElement?.getAttribute('aria-label') || document.activeElement?.tagName);
  await page.keyboard.press('Shift+Tab');
  const order = [await focused()];
  for (let i = 0; i < 4; i++) {
    await page.keyboard.press('Tab');
    order.push(await focused());
  }
  assert.deepEqual(order, ['Remove revenue-chart.png', 'question', 'attach', 'send', 'new']);

  await page.focus('#question');
  await page.keyboard.type('What is on the x axis?');
  await page.keyboard.press('Shift+Enter');
  await page.keyboard.type('And the y axis?');
  assert.deepEqual(await asks(page), [], 'Shift+Enter does not send');
  await page.keyboard.press('Enter');
  const [ask] = await asks(page);
  assert.equal(ask.question, 'What is on the x axis?\nAnd the y axis?');

  // While the answer streams, Enter keeps the next question in the box.
  await hostSends(page, { type: 'state', state: { turns: [{ question: ask.question, images: ask.images, answer: '' }], busy: true, stage: 'starting', error: undefined } });
  await page.keyboard.type('Follow-up');
  await page.keyboard.press('Enter');
  assert.equal((await asks(page)).length, 1);
  assert.equal(await page.inputValue('#question'), 'Follow-up');
  await page.keyboard.press('Enter'); // still busy
  host.state = { turns: [{ question: ask.question, images: ask.images, answer: 'Months; revenue.', stopped: false }], busy: false, stage: '', error: undefined };
  await hostSends(page, { type: 'state', state: host.state });
  await page.keyboard.press('Enter');
  assert.deepEqual((await asks(page)).at(-1), { type: 'ask', question: 'Follow-up', images: [] });

  // An empty question is not sent; Ctrl+Enter sends as Enter does.
  await page.keyboard.press('Enter');
  assert.equal((await asks(page)).length, 2);
  await page.keyboard.type('Thanks');
  await page.keyboard.press('Control+Enter');
  assert.equal((await asks(page)).length, 3);

  await page.click('#new');
  assert.deepEqual((await posted(page)).at(-1), { type: 'newConversation' });
  assert.deepEqual(errors, []);
  await page.close();
});

test('the conversation survives a reload; an answer cut off by the restart is marked stopped', chromium.options, async () => {
  const { page } = await openAsk();
  const host = new StandInHost(page);
  await page.focus('#question');
  await paste(page, [pngs[1]]);
  await page.waitForFunction(() => document.querySelectorAll('#attachments li').length === 1);
  await page.locator('#question').fill('Summarise the costs.');
  await page.locator('#question').press('Enter');
  await host.answer((await asks(page))[0], ['Costs are **flat**.']);
  // VS Code closes while the second answer streams: the state saved then is mid-answer.
  await page.locator('#question').fill('Why?');
  await page.locator('#question').press('Enter');
  const why: AskTurn = { question: 'Why?', images: [], answer: 'Because the' };
  await hostSends(page, { type: 'state', state: { turns: [...host.state.turns, why], busy: true, stage: 'Answering', error: undefined } });
  await hostSends(page, { type: 'answer', text: ' contracts' });
  const saved = await savedState<AskState>(page);
  assert.equal(saved.busy, true);
  await page.close();

  // VS Code reopens the webview with that state; the host revives the conversation from it.
  const { page: restored, errors } = await openAsk(saved);
  assert.deepEqual(await restored.locator('.turn .question').allInnerTexts(), ['Summarise the costs.', 'Why?']);
  assert.equal(await restored.locator('.turn .answer strong').innerText(), 'flat');
  assert.deepEqual(await restored.locator('.turn .thumbs img').evaluateAll((imgs) => imgs.map((i) => (i as HTMLImageElement).alt)), ['costs-chart.png']);
  const turns = restoredTurns(saved);
  assert.deepEqual(turns.map((t) => t.stopped), [false, true], 'the unfinished answer is stopped');
  await hostSends(restored, { type: 'state', state: { turns, busy: false, stage: '', error: undefined } });
  assert.equal(await restored.locator('.turn .answer.stopped').innerText(), 'Because the');
  assert.equal(await restored.locator('#send').isDisabled(), false);

  // The next question's context: the finished exchange only.
  const history = turns.map((t) => ({ question: t.question, images: t.images.map((i) => ({ data: decodeImageDataUrl(i.dataUrl) })), answer: t.answer, stopped: t.stopped }));
  const request = askRequest(history, { question: 'Go on.', images: [] }, { maxTokens: undefined, temperature: undefined, imageTokenBudget: 4160 });
  assert.deepEqual(request.messages.map((m) => m.role), ['user', 'assistant', 'user']);
  assert.equal(request.messages[1].content, 'Costs are **flat**.');
  assert.deepEqual(errors, []);
  await restored.close();
});
