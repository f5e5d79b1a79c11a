// Layout score of a page against its target, both rendered in Chromium at the same width
// (page-boxes.ts measures them). The metric:
//   1. Take every element that paints something, typed by what it is (heading, text, link,
//      button, field, choice, image, table cell, other box). Text-like elements count by the box
//      of their text lines, so <p>, <div> or <span> with the same words measure the same.
//   2. Within each type, match target and output boxes one to one, greedily by highest
//      intersection-over-union (IoU) first; pairs that do not overlap stay unmatched.
//   3. Score = sum of the matched IoUs / sum over types of max(#target, #output) boxes.
// So 1 means every element is there at the same place and size; a missing or extra element
// costs as much as a matched one with no overlap, and 0 means nothing lines up. Two empty pages
// score 1. The function is pure so that the end-to-end test can score a live preview with it.
import type { Frame, Page } from 'playwright-core';
import { BOX_KINDS, MEASURE_SCRIPT, type PageMeasure, type Rect } from './page-boxes';

export function iou(a: Rect, b: Rect): number {
  const w = Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  return inter / (a.w * a.h + b.w * b.h - inter);
}

export interface LayoutScore {
  score: number;
  matched: number;
  targetBoxes: number;
  outputBoxes: number;
}

export function layoutIou(target: PageMeasure, output: PageMeasure): LayoutScore {
  let sum = 0;
  let denominator = 0;
  let matched = 0;
  for (const kind of BOX_KINDS) {
    const t = target.boxes.filter((b) => b.kind === kind);
    const o = output.boxes.filter((b) => b.kind === kind);
    denominator += Math.max(t.length, o.length);
    const pairs: [number, number, number][] = [];
    t.forEach((tb, i) => o.forEach((ob, j) => {
      const v = iou(tb, ob);
      if (v > 0) pairs.push([v, i, j]);
    }));
    pairs.sort((a, b) => b[0] - a[0]);
    const usedT = new Set<number>();
    const usedO = new Set<number>();
    for (const [v, i, j] of pairs) {
      if (usedT.has(i) || usedO.has(j)) continue;
      usedT.add(i);
      usedO.add(j);
      sum += v;
      matched++;
    }
  }
  return { score: denominator === 0 ? 1 : sum / denominator, matched, targetBoxes: target.boxes.length, outputBoxes: output.boxes.length };
}

/**
 * Measures what a Playwright tab or frame shows now, e.g. the extension's preview iframe. Score it
 * against the target rendered at the same width: `layoutIou(await renderer.render(target,
 * shown.width), shown)` with a Renderer from browser.ts.
 */
export async function measurePage(page: Page | Frame): Promise<PageMeasure> {
  return (await page.evaluate(MEASURE_SCRIPT)) as PageMeasure;
}
