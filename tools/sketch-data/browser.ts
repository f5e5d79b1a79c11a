// Renders HTML in one headless Chromium with a few reused tabs: the generator measures every page
// (and screenshots some) here, and the evaluation renders targets and answers here. Starting a
// browser costs about a second and a tab some tens of milliseconds, so both are kept for the run.
import type { Page } from 'playwright-core';
import { launchChromium } from '../../test/support/chromium';
import { MEASURE_SCRIPT, type PageMeasure } from './page-boxes';

export interface Rendered extends PageMeasure {
  /** Full-page PNG, when asked for. */
  png?: Buffer;
}

/** The height of the window a page is laid out in; the full page is measured below it too. */
const VIEWPORT_HEIGHT = 800;
/** Longest page a screenshot covers. */
const MAX_SCREENSHOT_HEIGHT = 4000;

export class Renderer {
  private readonly idle: Page[] = [];
  private readonly waiting: ((page: Page) => void)[] = [];

  private constructor(private readonly closeBrowser: () => Promise<void>) {}

  static async start(tabs = 2): Promise<Renderer> {
    const { context, close } = await launchChromium({ viewport: { width: 1280, height: VIEWPORT_HEIGHT } });
    // Pages are self-contained; nothing may reach the network (a model's answer could link anywhere).
    await context.route(/^(?!data:|about:)/, (route) => route.abort());
    const renderer = new Renderer(close);
    for (let i = 0; i < tabs; i++) {
      const page = await context.newPage();
      // An answer may carry scripts: they must neither change nor hang the page that is measured.
      // (Playwright's own evaluate still runs.)
      const cdp = await context.newCDPSession(page);
      await cdp.send('Emulation.setScriptExecutionDisabled', { value: true });
      renderer.idle.push(page);
    }
    return renderer;
  }

  async render(html: string, width: number, options: { screenshot?: boolean } = {}): Promise<Rendered> {
    const page = await this.acquire();
    try {
      await page.setViewportSize({ width, height: VIEWPORT_HEIGHT });
      await page.setContent(html, { waitUntil: 'load', timeout: 20_000 });
      const measure = (await page.evaluate(MEASURE_SCRIPT)) as PageMeasure;
      if (!options.screenshot) return measure;
      const height = Math.min(Math.max(measure.height, 1), MAX_SCREENSHOT_HEIGHT);
      const png = await page.screenshot({ clip: { x: 0, y: 0, width, height }, fullPage: true, animations: 'disabled', caret: 'hide' });
      return { ...measure, png };
    } finally {
      this.release(page);
    }
  }

  async close(): Promise<void> {
    await this.closeBrowser();
  }

  private acquire(): Promise<Page> {
    const page = this.idle.pop();
    return page ? Promise.resolve(page) : new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(page: Page): void {
    const next = this.waiting.shift();
    if (next) next(page);
    else this.idle.push(page);
  }
}
