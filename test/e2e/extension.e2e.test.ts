// End to end in a real VS Code (code-server 4.100.3) driven through a real Chromium: the VSIX is
// packaged and installed, and a user's session is played through the UI, each step checking in the
// DOM what its screenshot shows. The backend setting asks for CUDA, which cannot run here: the
// status bar and a notification say the CPU runs instead. A sketch drawn in the panel is generated
// with the fixture model (random weights: the text is meaningless, the pipeline real); its text
// fills an editor and the preview frame shows the page parsed from that text. Hovering a chart
// image offers "Explain this chart"; the explanation in the Markdown document is exactly what the
// same model writes for that chart (computed here through the worker, greedy), and the next hover
// is served from the cache, as the log's hit counter shows. The image chat answers a question
// about the chart with exactly the text the model writes for it.
// Screenshots of every step go to test/e2e/screenshots/ (not committed).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { askRequest } from '../../src/extension/ask/ask-conversation';
import { WorkerClient } from '../../src/service/worker-client';
import { fixtureDir } from '../support/fixtures';
import { requires } from '../support/requirements';
import { chartPng, explainRequest, modelSettings, Workbench, writtenBy } from './workbench';

const tools = requires('chromium', 'code-server');
const SETTINGS = { maxTokens: 48, temperature: 0, imageTokenBudget: 256, hoverTokenBudget: 64 };
const QUESTION = 'What is the tallest bar?';

let wb: Workbench;
let page: Workbench['page'];
let chart: Buffer;
/** What the fixture model writes, greedy, for the explanation and for the chat question. */
const expected = { explanation: '', answer: '' };

/** The answers the extension must show, from the same model and requests, through the worker. */
async function expectedAnswers(): Promise<void> {
  const worker = new WorkerClient({ model: fixtureDir });
  try {
    expected.explanation = await writtenBy(worker, explainRequest(chart, SETTINGS));
    expected.answer = await writtenBy(worker, askRequest([], { question: QUESTION, images: [{ data: chart }] }, SETTINGS));
  } finally {
    await worker.dispose();
  }
  assert.ok(expected.explanation && expected.answer, 'the model writes something for both');
}

before(async () => {
  if (!tools.met()) return;
  chart = await chartPng();
  await expectedAnswers();
  wb = await Workbench.open({
    prefix: '',
    files: { 'chart.png': chart, 'README.md': '# Report\n\nSales per month:\n\n![Sales 2024](chart.png)\n' },
    settings: { ...modelSettings(fixtureDir, 'cuda', SETTINGS), 'pixtral.generation.contextLength': 4096 },
  });
  page = wb.page;
});

after(async () => {
  await wb?.dispose();
});

test('the palette lists every Pixtral command', tools.options, async () => {
  await wb.shot('01-workbench');
  // Contributed commands appear once the extension host has read the installed extensions.
  const rows = await wb.step('palette', () => wb.paletteRows());
  await wb.shot('02-palette');
  await page.keyboard.press('Escape');
  for (const title of ['Open Sketch Panel', 'Explain Chart Image', 'Ask About This Image', 'Select Model', 'Download Model', 'Switch Local/Remote Backend']) {
    assert.ok(rows.some((r) => r.includes(title)), `${title} in ${rows.join(' | ')}`);
  }
});

test('a sketch generates: CUDA falls back to the CPU visibly, the text fills an editor, the preview shows its page', tools.options, async () => {
  await wb.runCommand('Pixtral: Open Sketch Panel', '03-palette-sketch');
  const sketch = await wb.webview('Pixtral Sketch');
  const canvas = sketch.locator('#canvas');
  await canvas.waitFor();
  const box = (await canvas.boundingBox())!;
  const drag = async (x0: number, y0: number, x1: number, y1: number) => {
    await page.mouse.move(box.x + x0 * box.width, box.y + y0 * box.height);
    await page.mouse.down();
    for (let i = 1; i <= 6; i++) await page.mouse.move(box.x + (x0 + ((x1 - x0) * i) / 6) * box.width, box.y + (y0 + ((y1 - y0) * i) / 6) * box.height);
    await page.mouse.up();
  };
  await sketch.locator('.tool[data-tool="rect"]').click();
  await drag(0.05, 0.05, 0.95, 0.18); // header
  await drag(0.05, 0.25, 0.3, 0.9); // sidebar
  await sketch.locator('.tool[data-tool="pen"]').click();
  await drag(0.4, 0.3, 0.9, 0.32); // a line of text
  await sketch.locator('#instruction').fill('A dashboard with a header and a sidebar');
  await wb.shot('04-sketch-drawn');
  await sketch.locator('#generate').click();

  // Loading the model on the requested backend fails here; the one-time notice says what runs.
  const notice = page.locator('.notifications-toasts .notification-toast', { hasText: 'The cuda backend cannot run because' });
  await wb.step('fallback-notice', () => notice.waitFor({ timeout: 120_000 }));
  assert.match((await notice.textContent()) ?? '', /running on cpu-[\w-]+ instead\./);
  await wb.shot('05-backend-fallback');

  // The answer streams into a new untitled HTML editor and the preview opens beside it.
  await wb.step('generate', async () => {
    await page.locator('.tab', { hasText: 'Untitled-1' }).waitFor({ timeout: 120_000 });
    await page.locator('.tab', { hasText: 'Pixtral Preview' }).waitFor({ timeout: 60_000 });
    await sketch.locator('#status', { hasText: 'Done.' }).waitFor({ timeout: 180_000 });
  });
  const status = await wb.until('the status bar after the run', () => wb.statusText(), (t) => /tok\/s/.test(t));
  assert.match(status, /Pixtral: pixtral-tiny · bf16 · cpu-[\w-]+ instead of cuda · [\d.]+ tok\/s/, 'model, its weight precision, the backend that runs, and its speed');

  const html = await wb.step('editor', () => wb.editorText('Untitled-1'));
  assert.ok(html.trim().length > 0, 'the editor holds the generated text');
  // The visible frame of the preview holds the page parsed from exactly that text.
  const previewPage = (await wb.webview('Pixtral Preview')).frameLocator('iframe.page:not([hidden])').locator('body');
  const expectedBody = await page.evaluate((source) => new DOMParser().parseFromString(source, 'text/html').body.textContent ?? '', html);
  const squash = (text: string) => text.replace(/\s+/g, ' ').trim();
  await wb.step('preview', () => wb.until('the preview page', async () => squash((await previewPage.textContent()) ?? ''), (t) => t === squash(expectedBody)));
  await wb.shot('06-generated');
});

test('hover a chart: its explanation is the model\'s, the next hover comes from the cache, and the chat answers about it', tools.options, async () => {
  await wb.openFile('README.md');
  const document = `# chart.png\n\n${expected.explanation}`;
  await wb.explainChart('chart.png', 'Untitled-2', '07-hover', (text) => text === document);
  await wb.shot('08-explanation');

  await page.locator('.tab', { hasText: 'README.md' }).click();
  await page.waitForTimeout(500);
  const cached = page.locator('.monaco-hover', { hasText: 'Open explanation' });
  await wb.step('cached-hover', () => wb.hoverUntil(wb.linkToken('chart.png'), 8, cached));
  await wb.shot('09-hover-cached');
  await cached.locator('a', { hasText: 'Ask about this image' }).click();
  await page.mouse.move(10, 10);

  // The chat opened with the chart attached: ask, and the answer streams in.
  const ask = await wb.step('ask-panel', () => wb.webview('Pixtral: Ask'));
  await ask.locator('#attachments img[alt="chart.png"]').waitFor();
  await ask.locator('#question').fill(QUESTION);
  await ask.locator('#question').press('Enter');
  const answer = ask.locator('#turns .turn .answer').last();
  await wb.step('answer', () => wb.until('the chat answer', async () => (await answer.getAttribute('data-raw')) ?? '', (raw) => raw === expected.answer, 120_000));
  await wb.until('the chat after its answer', () => ask.locator('#send').isEnabled(), Boolean);
  assert.equal(await ask.locator('#turns .turn .question').last().textContent(), QUESTION);
  assert.ok(((await answer.textContent()) ?? '').trim().length > 0, 'the answer is rendered');
  await wb.shot('10-ask');

  // The log counts the explanation cache's hits: the second hover was served from it.
  const log = await wb.step('log', () => wb.logLines('README.md'));
  const hit = log.map((line) => /hover \S*\/chart\.png: explanation served from the cache \(explanation cache: hits (\d+), misses \d+\)$/.exec(line)).find(Boolean);
  assert.ok(hit && Number(hit[1]) >= 1, `a cache hit in the log:\n${log.join('\n')}`);
  assert.ok(log.some((line) => /model loaded on cpu-[\w-]+: The cuda backend cannot run because/.test(line)), 'the log says which backend runs, and why');
  await wb.shot('11-log');
});
