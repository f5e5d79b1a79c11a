// End to end in a real VS Code (code-server 4.100.3) driven through a real Chromium: the VSIX is
// packaged and installed, the palette runs Pixtral's commands, a sketch is drawn in the panel and
// generated with the fixture model (random weights: the text is meaningless, the pipeline real),
// the answer streams into an editor and the live preview, and hovering a chart image offers
// "Explain this chart", whose answer the next hover shows from the cache.
// Screenshots of every step go to test/e2e/screenshots/ (not committed).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { FrameLocator, Locator, Page } from 'playwright-core';
import sharp from 'sharp';
import { browserUnavailable, launchChromium } from '../support/chromium';
import { ensureCodeServer, installExtension, startCodeServer, writeUserSettings, type CodeServer } from './code-server';
import { packageVsix, ROOT } from './vsix';

const FIXTURE_MODEL = path.resolve(ROOT, '..', 'shared', 'fixtures', 'pixtral-tiny');
const SHOTS = path.join(__dirname, 'screenshots');
const skip = browserUnavailable() ?? (existsSync(FIXTURE_MODEL) ? undefined : `${FIXTURE_MODEL} is missing`);

let tmp: string;
let server: CodeServer;
let browser: Awaited<ReturnType<typeof launchChromium>>;
let page: Page;

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

before(async () => {
  if (skip) return;
  const missing = ensureCodeServer();
  if (missing) throw new Error(missing);
  await mkdir(SHOTS, { recursive: true });
  tmp = await mkdtemp(path.join(tmpdir(), 'pixtral-e2e-'));
  const vsix = packageVsix(path.join(tmp, 'pixtral.vsix'));
  const extensionsDir = path.join(tmp, 'extensions');
  const userDataDir = path.join(tmp, 'user-data');
  const workspace = path.join(tmp, 'workspace');
  await mkdir(workspace, { recursive: true });
  await writeFile(path.join(workspace, 'chart.png'), await chartPng());
  await writeFile(path.join(workspace, 'README.md'), '# Report\n\nSales per month:\n\n![Sales 2024](chart.png)\n');
  await installExtension(vsix, extensionsDir);
  await writeUserSettings(userDataDir, {
    'pixtral.model.folder': FIXTURE_MODEL,
    'pixtral.generation.maxTokens': 48,
    'pixtral.generation.contextLength': 4096,
    'pixtral.image.tokenBudget': 256,
    'pixtral.hovers.tokenBudget': 64,
    'workbench.startupEditor': 'none',
    'workbench.tips.enabled': false,
    'security.workspace.trust.enabled': false,
    'extensions.ignoreRecommendations': true,
    'telemetry.telemetryLevel': 'off',
  });
  server = await startCodeServer({ workspace, extensionsDir, userDataDir });
  browser = await launchChromium({ viewport: { width: 1600, height: 1000 } });
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

async function runCommand(title: string, screenshot?: string): Promise<void> {
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor();
  await input.fill(`>${title}`);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first().waitFor();
  if (screenshot) await shot(screenshot);
  await page.keyboard.press('Enter');
}

/** The content frame of the webview whose tab has `title` (code-server nests two iframes). */
async function webview(title: string): Promise<FrameLocator> {
  await page.locator('.tab', { hasText: title }).first().waitFor({ timeout: 30_000 });
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

test('the palette lists every Pixtral command', { skip }, async () => {
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
  for (const title of ['Open Sketch Panel', 'Explain Chart Image', 'Select Model', 'Download Model', 'Switch Local/Remote Backend']) {
    assert.ok(rows.some((r) => r.includes(title)), `${title} in ${rows.join(' | ')}`);
  }
});

test('draw in the sketch panel, generate with the fixture model, see the editor and preview fill', { skip }, async () => {
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

  // The answer streams into a new untitled HTML editor and the preview opens beside it.
  await step('generate', async () => {
    await page.locator('.tab', { hasText: 'Untitled-1' }).waitFor({ timeout: 120_000 });
    await page.locator('.tab', { hasText: 'Pixtral Preview' }).waitFor({ timeout: 60_000 });
    await sketch.locator('#status', { hasText: 'Done.' }).waitFor({ timeout: 180_000 });
  });
  await page.waitForTimeout(800);
  await shot('05-generated');
  const status = await page.locator('.statusbar-item', { hasText: 'Pixtral' }).first().textContent();
  assert.match(status ?? '', /pixtral-tiny/, 'status bar names the model');
  assert.match(status ?? '', /tok\/s/, 'and its speed');
  await page.locator('.tab', { hasText: 'Untitled-1' }).click();
  const text = await page.locator('.editor-instance .view-lines').first().textContent();
  assert.ok((text ?? '').length > 0, 'the editor holds the generated text');
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

test('hovering a chart image offers an explanation, and the next hover shows it from the cache', { skip }, async () => {
  await page.keyboard.press('Control+P');
  await page.locator('.quick-input-widget input').fill('README.md');
  await page.locator('.quick-input-list .monaco-list-row', { hasText: 'README.md' }).first().waitFor();
  await page.keyboard.press('Enter');
  // The token span of the link target (Monaco renders each token as a span.mtkN).
  const link = page.locator('.view-line span[class^="mtk"]', { hasText: /^chart\.png$/ }).first();
  await link.waitFor({ timeout: 30_000 });
  const hover = page.locator('.monaco-hover', { hasText: 'Explain this chart' });
  await step('hover', () => hoverUntil(link, 6, hover));
  await shot('06-hover');
  await hover.locator('a', { hasText: 'Explain this chart' }).click();
  await page.locator('.tab', { hasText: 'Untitled-2' }).waitFor({ timeout: 60_000 });
  await page.locator('.notifications-toasts', { hasText: 'Explaining' }).waitFor({ state: 'detached', timeout: 120_000 }).catch(() => undefined);
  await page.waitForTimeout(1500);
  await shot('07-explanation');

  await page.locator('.tab', { hasText: 'README.md' }).click();
  await page.waitForTimeout(500);
  const cached = page.locator('.monaco-hover', { hasText: 'Open explanation' });
  await hoverUntil(link, 8, cached);
  await shot('08-hover-cached');
});
