// A user's session in the packaged extension: the VSIX installed into a fresh code-server with the
// given settings and workspace files, a real Chromium on it, and the moves the end-to-end tests make
// there (palette commands, webviews, editors' text through the clipboard, hovers, the log), each
// failure leaving a screenshot. Screenshots go to test/e2e/screenshots/ (not committed).
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FrameLocator, Locator, Page } from 'playwright-core';
import sharp from 'sharp';
import { chartExplain } from '../../src/prompts';
import { samplingFor, toGenerationRequest } from '../../src/service/task-request';
import type { WorkerClient } from '../../src/service/worker-client';
import type { GenerationRequest } from '../../src/worker/protocol';
import { launchChromium } from '../support/chromium';
import { installExtension, startCodeServer, writeUserSettings, type CodeServer } from './code-server';
import { packageVsix } from './vsix';

export const SHOTS = path.join(__dirname, 'screenshots');

/** What every session's settings hold besides the test's own: no start page, tips, trust prompt or telemetry. */
const QUIET = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'security.workspace.trust.enabled': false,
  'extensions.ignoreRecommendations': true,
  'telemetry.telemetryLevel': 'off',
};

/** A bar chart as a real PNG (what a notebook or a report would reference). */
export async function chartPng(): Promise<Buffer> {
  const bars = [40, 90, 65, 120, 150];
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="320" height="200"><rect width="320" height="200" fill="white"/>
${bars.map((h, i) => `<rect x="${30 + i * 56}" y="${180 - h}" width="40" height="${h}" fill="#1976d2"/>`).join('')}
<line x1="20" y1="180" x2="310" y2="180" stroke="black"/><text x="100" y="16" font-size="14">Sales 2024</text></svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}

/** The generation settings a test runs with, beside what each test's requests are built from. */
export interface RunSettings {
  maxTokens: number;
  temperature: number;
  imageTokenBudget: number;
  hoverTokenBudget: number;
}

/** The user settings that run `model` on `backend` with `s`. */
export function modelSettings(model: string, backend: string, s: RunSettings): Record<string, unknown> {
  return {
    'pixtral.model.folder': model,
    'pixtral.backend': backend,
    'pixtral.generation.maxTokens': s.maxTokens,
    'pixtral.generation.temperature': s.temperature,
    'pixtral.image.tokenBudget': s.imageTokenBudget,
    'pixtral.hovers.tokenBudget': s.hoverTokenBudget,
  };
}

/** The hover's "Explain this chart" request, as the extension builds it with these settings. */
export function explainRequest(chart: Buffer, settings: RunSettings): GenerationRequest {
  return toGenerationRequest(chartExplain.build({ image: { data: chart } }), samplingFor(chartExplain, settings), settings.hoverTokenBudget);
}

/** The whole text a worker writes for a request: what the extension must show for it. */
export async function writtenBy(worker: WorkerClient, request: GenerationRequest): Promise<string> {
  let text = '';
  for await (const event of worker.generate(request)) if (event.type === 'text') text += event.text;
  return text;
}

export class Workbench {
  private constructor(
    readonly page: Page,
    private readonly close: () => Promise<void>,
    /** Screenshot names are prefixed with this (one set per test file). */
    private readonly prefix: string,
  ) {}

  /** Packages and installs the VSIX, writes `files` into a new workspace, starts code-server with
   *  `settings` and opens the workbench in Chromium. The extension host and the worker it forks
   *  inherit this process's environment. */
  static async open(options: { prefix: string; settings: Record<string, unknown>; files: Record<string, string | Buffer> }): Promise<Workbench> {
    await mkdir(SHOTS, { recursive: true });
    const tmp = await mkdtemp(path.join(tmpdir(), 'pixtral-e2e-'));
    let server: CodeServer | undefined;
    let browser: Awaited<ReturnType<typeof launchChromium>> | undefined;
    const close = async () => {
      await browser?.close();
      await server?.stop();
      await rm(tmp, { recursive: true, force: true });
    };
    try {
      const vsix = packageVsix(path.join(tmp, 'pixtral.vsix'));
      const extensionsDir = path.join(tmp, 'extensions');
      const userDataDir = path.join(tmp, 'user-data');
      const workspace = path.join(tmp, 'workspace');
      await mkdir(workspace, { recursive: true });
      for (const [name, content] of Object.entries(options.files)) await writeFile(path.join(workspace, name), content);
      await installExtension(vsix, extensionsDir);
      await writeUserSettings(userDataDir, { ...options.settings, ...QUIET });
      server = await startCodeServer({ workspace, extensionsDir, userDataDir });
      browser = await launchChromium({ viewport: { width: 1600, height: 1000 } });
      // The editors' text is read the way a user takes it: select all, copy, read the clipboard.
      await browser.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(server.url).origin });
      const page = await browser.context.newPage();
      await page.goto(server.url);
      await page.locator('.monaco-workbench').waitFor({ timeout: 90_000 });
      await page.locator('.explorer-folders-view, .explorer-viewlet').first().waitFor({ timeout: 60_000 });
      return new Workbench(page, close, options.prefix);
    } catch (err) {
      await close();
      throw err;
    }
  }

  dispose(): Promise<void> {
    return this.close();
  }

  async shot(name: string): Promise<void> {
    await this.page.screenshot({ path: path.join(SHOTS, `${this.prefix}${name}.png`) });
  }

  /** Runs a step; on failure leaves a screenshot named after it. */
  async step<T>(name: string, body: () => Promise<T>): Promise<T> {
    try {
      return await body();
    } catch (err) {
      await this.shot(`failed-${name}`).catch(() => undefined);
      throw err;
    }
  }

  /** Polls `read` until `done` holds for its value (or fails with the last value seen). */
  async until<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 60_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await read();
      if (done(value)) return value;
      if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(value)} after ${timeoutMs} ms`);
      await this.page.waitForTimeout(300);
    }
  }

  /** Waits until the extension host has registered the Pixtral commands (the palette lists them). */
  async paletteRows(): Promise<string[]> {
    const { page } = this;
    for (let attempt = 0; ; attempt++) {
      await page.keyboard.press('F1');
      await page.locator('.quick-input-widget input').fill('>Pixtral:');
      const row = page.locator('.quick-input-list .monaco-list-row', { hasText: 'Pixtral: Open Sketch Panel' });
      if (await row.waitFor({ timeout: 5000 }).then(() => true, () => false)) break;
      if (attempt === 12) throw new Error('the Pixtral commands never appeared in the palette');
      await page.keyboard.press('Escape');
    }
    return page.locator('.quick-input-list .monaco-list-row').allTextContents();
  }

  async runCommand(title: string, screenshot?: string): Promise<void> {
    const { page } = this;
    await page.keyboard.press('F1');
    const input = page.locator('.quick-input-widget input');
    await input.waitFor();
    await input.fill(`>${title}`);
    await page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first().waitFor();
    if (screenshot) await this.shot(screenshot);
    await page.keyboard.press('Enter');
  }

  /** The content frame of the webview whose tab has `title` (code-server nests two iframes); its tab
   *  is brought forward, since a webview behind another tab of its group is not rendered. */
  async webview(title: string): Promise<FrameLocator> {
    const { page } = this;
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
  async copyAll(lines: Locator): Promise<string> {
    await lines.click();
    await this.page.keyboard.press('Control+A');
    await this.page.keyboard.press('Control+C');
    return this.page.evaluate(() => navigator.clipboard.readText());
  }

  /** The text of the editor in the tab titled `tab`. */
  async editorText(tab: string): Promise<string> {
    await this.page.locator('.tab', { hasText: tab }).first().click();
    return this.copyAll(this.page.locator('.editor-group-container.active .monaco-editor .view-lines').first());
  }

  async statusText(): Promise<string> {
    return (await this.page.locator('.statusbar-item', { hasText: 'Pixtral' }).first().textContent()) ?? '';
  }

  /** Opens a workspace file by name through Quick Open. */
  async openFile(name: string): Promise<void> {
    const { page } = this;
    await page.keyboard.press('Control+P');
    await page.locator('.quick-input-widget input').fill(name);
    await page.locator('.quick-input-list .monaco-list-row', { hasText: name }).first().waitFor();
    await page.keyboard.press('Enter');
  }

  /** Hovers a token until `hover` shows. Monaco re-renders token spans and may drop a hover that
   *  began while the editor was still settling, so the mouse is moved off and back between tries. */
  async hoverUntil(token: Locator, dx: number, hover: Locator): Promise<void> {
    const { page } = this;
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

  /** The token span of a link target in the open editor (Monaco renders each token as a span.mtkN). */
  linkToken(target: string): Locator {
    return this.page.locator('.view-line span[class^="mtk"]', { hasText: new RegExp(`^${target.replace(/\./g, '\\.')}$`) }).first();
  }

  /** Hovers the chart link `target` in the open Markdown file (screenshot `hoverShot`), takes
   *  "Explain this chart", and returns the explanation document in the editor tab `untitled` once
   *  its text satisfies `done`. */
  async explainChart(target: string, untitled: string, hoverShot: string, done: (text: string) => boolean): Promise<string> {
    const { page } = this;
    const link = this.linkToken(target);
    await link.waitFor({ timeout: 30_000 });
    const hover = page.locator('.monaco-hover', { hasText: 'Explain this chart' });
    await this.step('hover', () => this.hoverUntil(link, 6, hover));
    await this.shot(hoverShot);
    await hover.locator('a', { hasText: 'Explain this chart' }).click();
    await page.locator('.tab', { hasText: untitled }).waitFor({ timeout: 60_000 });
    return this.step('explanation', () => this.until('the explanation document', () => this.editorText(untitled), done, 180_000));
  }

  /** The lines of the Pixtral log, from the Output panel; `editor` takes the focus first (keys
   *  typed while a webview has it stay there). */
  async logLines(editor: string): Promise<string[]> {
    await this.editorText(editor);
    await this.runCommand('Pixtral: Show Log');
    const output = this.page.locator('.panel .monaco-editor .view-lines').first();
    await output.locator('.view-line').first().waitFor();
    return (await this.copyAll(output)).split('\n');
  }
}
