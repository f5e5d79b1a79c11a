// One training example of each task, from its own seeded generator:
// - sketch: a random page, rendered in Chromium with the neutral theme, drawn by hand;
// - screenshot: a random page with a random theme, captured by Chromium;
// - chart: random data drawn as an SVG chart, with its CSV as the target.
import sharp from 'sharp';
import type { Renderer } from './browser';
import { CHART_KINDS, chartCsv, chartSummary, randomChart, type ChartData, type ChartKind } from './chart-data';
import { randomChartStyle } from './chart-style';
import { chartSvg } from './chart-svg';
import type { PageMeasure } from './page-boxes';
import { randomPage, type PageContent } from './page';
import { pageHtml, pageTailwind } from './page-html';
import type { Rng } from './random';
import { CAP_PER_EM, LEGIBLE } from './legibility';
import { renderSketch } from './sketch-render';
import { randomSketchStyle } from './sketch-style';
import { NEUTRAL_THEME, randomTheme, type Theme } from './stylesheet';

export type Task = 'sketch' | 'screenshot' | 'chart';
export const TASKS: readonly Task[] = ['sketch', 'screenshot', 'chart'];

/** What the index says about an example besides its two files. */
export interface ExampleInfo {
  task: Task;
  /** Size of the input image. */
  width: number;
  height: number;
  /** Viewport width the target page is laid out at (pages only): render outputs at this width. */
  viewport?: number;
  lang: string;
  style: object;
  /** Words legible in the input image. */
  words: string[];
  chart?: ChartData;
  /** One line on what a chart shows (charts only; not part of the target). */
  summary?: string;
}

export interface Example extends ExampleInfo {
  png: Buffer;
  /** The exact text the model must produce. */
  target: string;
  /** Pages: the same page styled with Tailwind, the target of the product's html-tailwind mode. */
  tailwind?: string;
}

/** Viewport widths of the pages: phones, tablets, laptops, desktops. */
export const VIEWPORTS = [360, 390, 414, 768, 1024, 1280];

/** Tallest page per width: phones scroll, desktop sketches fit on a sheet. */
function maxHeight(width: number): number {
  return width < 600 ? width * 2.2 : width < 900 ? width * 1.6 : width * 1.25;
}

/** Every word of a page's visible text that is legible in its screenshot (the screenshot's own scale cancels out). */
export function visibleWords(measure: PageMeasure): string[] {
  const minFont = (LEGIBLE.capHeight / CAP_PER_EM) * (Math.max(measure.width, measure.height) / LEGIBLE.longestSide);
  const controlFont = 16;
  return measure.boxes
    .flatMap((b) => [...b.runs.filter((r) => r.fontSize >= minFont).map((r) => r.text), controlFont >= minFont ? (b.control?.text ?? '') : ''])
    .flatMap((t) => t.split(' ').filter(Boolean));
}

/** The first draws of a page example: its width, content and colours (backfill.ts redraws them). */
export function pagePlan(task: 'sketch' | 'screenshot', rng: Rng): { viewport: number; page: PageContent; theme: Theme } {
  const viewport = rng.pick(VIEWPORTS);
  const page = randomPage(rng.fork('page'), viewport);
  const theme = task === 'screenshot' ? randomTheme(rng.fork('theme')) : NEUTRAL_THEME;
  return { viewport, page, theme };
}

async function pageExample(task: 'sketch' | 'screenshot', rng: Rng, renderer: Renderer, unseen: boolean): Promise<Example> {
  const { viewport, page, theme } = pagePlan(task, rng);
  // Drop trailing sections until the page fits its sheet.
  let sections = page.sections.length;
  let html = pageHtml(page, theme, sections);
  let measure = await renderer.render(html, viewport, { screenshot: task === 'screenshot' });
  while (measure.height > maxHeight(viewport) && sections > 1) {
    html = pageHtml(page, theme, --sections);
    measure = await renderer.render(html, viewport, { screenshot: task === 'screenshot' });
  }
  if (task === 'sketch') {
    const style = randomSketchStyle(rng.fork('style'), unseen);
    const outWidth = Math.round(Math.max(320, Math.min(1280, viewport * rng.range(0.55, 1.4))));
    const sketch = await renderSketch(measure, style, outWidth, rng.fork('sketch'));
    return { task, png: sketch.png, target: html, tailwind: pageTailwind(page, theme, sections), width: sketch.width, height: sketch.height, viewport, lang: page.lang, style, words: sketch.words };
  }
  // Screenshots come at their own size or scaled down, as people paste them.
  const scale = rng.chance(0.5) ? 1 : rng.range(0.5, 1);
  const width = Math.max(320, Math.round(viewport * scale));
  const image = sharp(measure.png!).resize({ width, kernel: 'lanczos3' });
  const png = await image.png({ compressionLevel: 9 }).toBuffer();
  const { height } = await sharp(png).metadata();
  return { task, png, target: html, tailwind: pageTailwind(page, theme, sections), width, height: height!, viewport, lang: page.lang, style: { scale: Number((width / viewport).toFixed(3)), font: theme.font, accent: theme.accent, background: theme.background }, words: visibleWords(measure) };
}

async function chartExample(rng: Rng, unseen: boolean): Promise<Example> {
  const kind = rng.weighted<ChartKind>({ bar: 1.2, 'grouped-bar': 1, line: 1.1, pie: 0.8, scatter: 0.7 });
  if (!CHART_KINDS.includes(kind)) throw new Error(`unknown chart kind ${kind}`);
  const chart = randomChart(rng.fork('data'), kind);
  const style = randomChartStyle(rng.fork('style'), unseen, kind);
  const png = await sharp(Buffer.from(chartSvg(chart, style))).png({ compressionLevel: 9 }).toBuffer();
  const { colors: _colors, ...shown } = style;
  const words = [chart.title, chart.xLabel, chart.measure, ...chart.categories, ...chart.series.map((s) => s.name)].flatMap((t) => t.split(' '));
  return { task: 'chart', png, target: chartCsv(chart), width: style.width, height: style.height, lang: chart.lang, style: shown, words, chart, summary: chartSummary(chart) };
}

export function makeExample(task: Task, rng: Rng, renderer: Renderer | undefined, unseen: boolean): Promise<Example> {
  if (task === 'chart') return chartExample(rng, unseen);
  if (!renderer) throw new Error(`${task} examples need Chromium`);
  return pageExample(task, rng, renderer, unseen);
}
