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
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { FrameLocator, Locator, Page } from 'playwright-core';
import sharp from 'sharp';
import { askRequest } from '../../src/extension/ask/ask-conversation';
import { chartExplain } from '../../src/prompts';
import { samplingFor, toGenerationRequest } from '../../src/service/task-request';
import { WorkerClient } from '../../src/service/worker-client';
import type { GenerationRequest } from '../../src/worker/protocol';
import { launchChromium } from '../support/chromium';
import { fixtureDir } from '../support/fixtures';
import { requires } from '../support/requirements';
import { installExtension, startCodeServer, writeUserSettings, type CodeServer } from './code-server';
import { packageVsix } from './vsix';

const SHOTS = path.join(__dirname, 'screenshots');
const tools = requires('chromium', 'code-server');
const SETTINGS = { maxTokens: 48, temperature: 0, imageTokenBudget: 256, hoverTokenBudget: 64 };
const QUESTION = 'What is the tallest bar?';

let tmp: string;
let server: CodeServer;
let browser: Awaited<ReturnType<typeof launchChromium>>;
let page: Page;
let chart: Buffer;
/** What the fixture model writes, greedy, for the explanation and for the chat question. */
const expected = { explanation: '', answer: '' };

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
}

/** A bar chart as a real PNG (what a notebook or a report would reference). */
async function chartPng(): Promise<Buffer> {
  const bars = [40, 90, 65, 120, 150];
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="320" height="200"><rect width="320" height="200" fill="white"/>
${bars.map((h, i) => `<rect x="${30 + i * 56}" y="${180 - h}" width="40" height="${h}" fill="#1976d2"/>`).join('')}
<line x1="20" y1="180" x2="310" y2="180" stroke="black"/><text x="100" y="16" font-size="14">Sales 2024</text></svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}

/** The answers the extension must show, from the same model and requests, through the worker. */
async function expectedAnswers(): Promise<void> {
  const worker = new WorkerClient({ model: fixtureDir });
  const answer = async (request: GenerationRequest) => {
    let text = '';
    for await (const event of worker.generate(request)) if (event.type === 'text') text += event.text;
    return text;
  };
  try {
    expected.explanation = await answer(toGenerationRequest(chartExplain.build({ image: { data: chart } }), samplingFor(chartExplain, SETTINGS), SETTINGS.hoverTokenBudget));
    expected.answer = await answer(askRequest([], { question: QUESTION, images: [{ data: chart }] }, SETTINGS));
  } finally {
    await worker.dispose();
  }
  assert.ok(expected.explanation && expected.answer, 'the model writes something for both');
}

before(async () => {
  if (!tools.met()) return;
  await mkdir(SHOTS, { recursive: true });
  tmp = await mkdtemp(path.join(tmpdir(), 'pixtral-e2e-'));
  chart = await chartPng();
  await expectedAnswers();
  const vsix = packageVsix(path.join(tmp, 'pixtral.vsix'));
  const extensionsDir = path.join(tmp, 'extensions');
  const userDataDir = path.join(tmp, 'user-data');
  const workspace = path.join(tmp, 'workspace');
  await mkdir(workspace, { recursive: true });
  await writeFile(path.join(workspace, 'chart.png'), chart);
  await writeFile(path.join(workspace, 'README.md'), '# Report\n\nSales per month:\n\n![Sales 2024](chart.png)\n');
  await installExtension(vsix, extensionsDir);
  await writeUserSettings(userDataDir, {
    'pixtral.model.folder': fixtureDir,
    'pixtral.backend': 'cuda',
    'pixtral.generation.maxTokens': SETTINGS.maxTokens,
    'pixtral.generation.temperature': SETTINGS.temperature,
    'pixtral.generation.contextLength': 4096,
    'pixtral.image.tokenBudget': SETTINGS.imageTokenBudget,
    'pixtral.hovers.tokenBudget': SETTINGS.hoverTokenBudget,
    'workbench.startupEditor': 'none',
    'workbench.tips.enabled': false,
    'security.workspace.trust.enabled': false,
    'extensions.ignoreRecommendations': true,
    'telemetry.telemetryLevel': 'off',
  });
  server = await startCodeServer({ workspace, extensionsDir, userDataDir });
  browser = await launchChromium({ viewport: { width: 1600, height: 1000 } });
  // The editors' text is read the way a user takes it: select all, copy, read the clipboard.
  await browser.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(server.url).origin });
  page = await browser.context.newPage();
  await page.goto(server.url);
  await page.locator('.monaco-workbench').waitFor({ timeout: 90_000 });
  await page.locator('.explorer-folders-view, .explorer-viewlet').first().waitFor({ timeout: 60_000 });
});

after(async () => {
  await browser?.close();
  await server?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

/** Runs a step; on failure leaves a screenshot named after it. */
async function step<T>(name: string, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (err) {
    await shot(`failed-${name}`).catch(() => undefined);
    throw err;
  }
}

/** Polls `read` until `done` holds for its value (or fails with the last value seen). */
async function until<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(value)} after ${timeoutMs} ms`);
    await page.waitForTimeout(300);
  }
}

async function runCommand(title: string, screenshot?: string): Promise<void> {
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor();
  await input.fill(`>${title}`);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first().waitFor();
  if (screenshot) await shot(screenshot);
  await page.keyboard.press('Enter');
}

/** The content frame of the webview whose tab has `title` (code-server nests two iframes); its tab
 *  is brought forward, since a webview behind another tab of its group is not rendered. */
async function webview(title: string): Promise<FrameLocator> {
  const tab = page.locator('.tab', { hasText: title }).first();
  await tab.waitFor({ timeout: 30_000 });
  await tab.click();
  for (let i = 0; i < 100; i++) {
    const frames = page.locator('iframe.webview.ready');
    for (let n = 0; n < (await frames.count()); n++) {
      const inner = page.frameLocator('iframe.webview.ready').nth(n).frameLocator('#active-frame');
      if ((await inner.locator('title').textContent().catch(() => null)) === title) return inner;
    }
    await page.waitForTimeout(200);
  }
  throw new Error(`no webview titled ${title}`);
}

/** The whole text of a Monaco editor (its `.view-lines`), copied through the clipboard. */
async function copyAll(lines: Locator): Promise<string> {
  await lines.click();
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Control+C');
  return page.evaluate(() => navigator.clipboard.readText());
}

/** The text of the editor in the tab titled `tab`. */
async function editorText(tab: string): Promise<string> {
  await page.locator('.tab', { hasText: tab }).first().click();
  return copyAll(page.locator('.editor-group-container.active .monaco-editor .view-lines').first());
}

const statusText = async () => (await page.locator('.statusbar-item', { hasText: 'Pixtral' }).first().textContent()) ?? '';

test('the palette lists every Pixtral command', tools.options, async () => {
  await shot('01-workbench');
  await step('palette', async () => {
    // Contributed commands appear once the extension host has read the installed extensions.
    for (let attempt = 0; ; attempt++) {
      await page.keyboard.press('F1');
      await page.locator('.quick-input-widget input').fill('>Pixtral:');
      const row = page.locator('.quick-input-list .monaco-list-row', { hasText: 'Pixtral: Open Sketch Panel' });
      if (await row.waitFor({ timeout: 5000 }).then(() => true, () => false)) break;
      if (attempt === 12) throw new Error('the Pixtral commands never appeared in the palette');
      await page.keyboard.press('Escape');
    }
  });
  const rows = await page.locator('.quick-input-list .monaco-list-row').allTextContents();
  await shot('02-palette');
  await page.keyboard.press('Escape');
  for (const title of ['Open Sketch Panel', 'Explain Chart Image', 'Ask About This Image', 'Select Model', 'Download Model', 'Switch Local/Remote Backend']) {
    assert.ok(rows.some((r) => r.includes(title)), `${title} in ${rows.join(' | ')}`);
  }
});

test('a sketch generates: CUDA falls back to the CPU visibly, the text fills an editor, the preview shows its page', tools.options, async () => {
  await runCommand('Pixtral: Open Sketch Panel', '03-palette-sketch');
  const sketch = await webview('Pixtral Sketch');
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
  await shot('04-sketch-drawn');
  await sketch.locator('#generate').click();

  // Loading the model on the requested backend fails here; the one-time notice says what runs.
  const notice = page.locator('.notifications-toasts .notification-toast', { hasText: 'The cuda backend cannot run because' });
  await step('fallback-notice', () => notice.waitFor({ timeout: 120_000 }));
  assert.match((await notice.textContent()) ?? '', /running on cpu-[\w-]+ instead\./);
  await shot('05-backend-fallback');

  // The answer streams into a new untitled HTML editor and the preview opens beside it.
  await step('generate', async () => {
    await page.locator('.tab', { hasText: 'Untitled-1' }).waitFor({ timeout: 120_000 });
    await page.locator('.tab', { hasText: 'Pixtral Preview' }).waitFor({ timeout: 60_000 });
    await sketch.locator('#status', { hasText: 'Done.' }).waitFor({ timeout: 180_000 });
  });
  const status = await until('the status bar after the run', statusText, (t) => /tok\/s/.test(t));
  assert.match(status, /Pixtral: pixtral-tiny · bf16 · cpu-[\w-]+ instead of cuda · [\d.]+ tok\/s/, 'model, its weight precision, the backend that runs, and its speed');

  const html = await step('editor', () => editorText('Untitled-1'));
  assert.ok(html.trim().length > 0, 'the editor holds the generated text');
  // The visible frame of the preview holds the page parsed from exactly that text.
  const previewPage = (await webview('Pixtral Preview')).frameLocator('iframe.page:not([hidden])').locator('body');
  const expectedBody = await page.evaluate((source) => new DOMParser().parseFromString(source, 'text/html').body.textContent ?? '', html);
  const squash = (text: string) => text.replace(/\s+/g, ' ').trim();
  await step('preview', () => until('the preview page', async () => squash((await previewPage.textContent()) ?? ''), (t) => t === squash(expectedBody)));
  await shot('06-generated');
});

/** Hovers a token until `hover` shows. Monaco re-renders token spans and may drop a hover that
 * began while the editor was still settling, so the mouse is moved off and back between tries. */
async function hoverUntil(token: Locator, dx: number, hover: Locator): Promise<void> {
  for (let attempt = 0; attempt < 4; attempt++) {
    await page.mouse.move(10, 10);
    const box = await token.boundingBox();
    if (box) {
      await page.mouse.move(box.x + dx, box.y + 6);
      if (await hover.waitFor({ timeout: 10_000 }).then(() => true, () => false)) return;
    } else {
      await page.waitForTimeout(250);
    }
  }
  throw new Error('the hover never appeared over the token');
}

/** The lines of the Pixtral log, from the Output panel. */
async function logLines(): Promise<string[]> {
  // Keys typed while a webview has the focus stay in it: give the focus back to an editor first.
  await editorText('README.md');
  await runCommand('Pixtral: Show Log');
  const output = page.locator('.panel .monaco-editor .view-lines').first();
  await output.locator('.view-line').first().waitFor();
  return (await copyAll(output)).split('\n');
}

test('hover a chart: its explanation is the model\'s, the next hover comes from the cache, and the chat answers about it', tools.options, async () => {
  await page.keyboard.press('Control+P');
  await page.locator('.quick-input-widget input').fill('README.md');
  await page.locator('.quick-input-list .monaco-list-row', { hasText: 'README.md' }).first().waitFor();
  await page.keyboard.press('Enter');
  // The token span of the link target (Monaco renders each token as a span.mtkN).
  const link = page.locator('.view-line span[class^="mtk"]', { hasText: /^chart\.png$/ }).first();
  await link.waitFor({ timeout: 30_000 });
  const hover = page.locator('.monaco-hover', { hasText: 'Explain this chart' });
  await step('hover', () => hoverUntil(link, 6, hover));
  await shot('07-hover');
  await hover.locator('a', { hasText: 'Explain this chart' }).click();
  await page.locator('.tab', { hasText: 'Untitled-2' }).waitFor({ timeout: 60_000 });
  const document = `# chart.png\n\n${expected.explanation}`;
  await step('explanation', () => until('the explanation document', () => editorText('Untitled-2'), (text) => text === document, 120_000));
  await shot('08-explanation');

  await page.locator('.tab', { hasText: 'README.md' }).click();
  await page.waitForTimeout(500);
  const cached = page.locator('.monaco-hover', { hasText: 'Open explanation' });
  await step('cached-hover', () => hoverUntil(link, 8, cached));
  await shot('09-hover-cached');
  await cached.locator('a', { hasText: 'Ask about this image' }).click();
  await page.mouse.move(10, 10);

  // The chat opened with the chart attached: ask, and the answer streams in.
  const ask = await step('ask-panel', () => webview('Pixtral: Ask'));
  await ask.locator('#attachments img[alt="chart.png"]').waitFor();
  await ask.locator('#question').fill(QUESTION);
  await ask.locator('#question').press('Enter');
  const answer = ask.locator('#turns .turn .answer').last();
  await step('answer', () => until('the chat answer', async () => (await answer.getAttribute('data-raw')) ?? '', (raw) => raw === expected.answer, 120_000));
  await until('the chat after its answer', () => ask.locator('#send').isEnabled(), Boolean);
  assert.equal(await ask.locator('#turns .turn .question').last().textContent(), QUESTION);
  assert.ok(((await answer.textContent()) ?? '').trim().length > 0, 'the answer is rendered');
  await shot('10-ask');

  // The log counts the explanation cache's hits: the second hover was served from it.
  const log = await step('log', logLines);
  const hit = log.map((line) => /hover \S*\/chart\.png: explanation served from the cache \(explanation cache: hits (\d+), misses \d+\)$/.exec(line)).find(Boolean);
  assert.ok(hit && Number(hit[1]) >= 1, `a cache hit in the log:\n${log.join('\n')}`);
  assert.ok(log.some((line) => /model loaded on cpu-[\w-]+: The cuda backend cannot run because/.test(line)), 'the log says which backend runs, and why');
  await shot('11-log');
});
