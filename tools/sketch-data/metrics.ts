// The text metrics of the evaluation: HTML validity (parse5 parse errors), recall of the words
// legible in the input, and for charts the share of values within 5% (ChartQA's relaxed accuracy)
// and of labels exactly right.
import { parse, type DefaultTreeAdapterMap } from 'parse5';
import { parseCsv, withUnit, type ChartData } from './chart-data';

type ParsedNode = DefaultTreeAdapterMap['node'];

/** parse5's parse errors of a document (missing doctype, stray end tags, bad nesting, …). */
export function htmlParseErrors(html: string): string[] {
  const errors: string[] = [];
  parse(html, { onParseError: (e) => errors.push(`${e.code} at ${e.startLine}:${e.startCol}`) });
  return errors;
}

const HIDDEN = new Set(['head', 'style', 'script', 'template', 'noscript', 'title']);

/** The text a reader sees on a page: text nodes outside <head>, placeholders and values. */
export function pageText(html: string): string {
  const parts: string[] = [];
  const walk = (node: ParsedNode) => {
    if ('tagName' in node) {
      if (HIDDEN.has(node.tagName)) return;
      for (const a of node.attrs) if (a.name === 'placeholder' || (a.name === 'value' && node.tagName === 'input')) parts.push(a.value);
    }
    if (node.nodeName === '#text' && 'value' in node) parts.push(node.value);
    if ('childNodes' in node) for (const c of node.childNodes) walk(c as ParsedNode);
  };
  walk(parse(html) as ParsedNode);
  return parts.join(' ');
}

/** Words as the metric compares them: runs of letters and digits, lower-cased. */
export function wordTokens(text: string): string[] {
  return (text.normalize('NFC').toLocaleLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []);
}

/** Share of the target words (with repeats) that the output's visible text contains. */
export function wordRecall(targetWords: readonly string[], outputHtml: string): number {
  const wanted = wordTokens(targetWords.join(' '));
  if (wanted.length === 0) return 1;
  const have = new Map<string, number>();
  for (const w of wordTokens(pageText(outputHtml))) have.set(w, (have.get(w) ?? 0) + 1);
  let found = 0;
  for (const w of wanted) {
    const n = have.get(w) ?? 0;
    if (n > 0) {
      found++;
      have.set(w, n - 1);
    }
  }
  return found / wanted.length;
}

export interface ChartScore {
  valuesWithin5: number;
  values: number;
  labelsExact: number;
  labels: number;
}

/** ChartQA's relaxed accuracy for one number: within 5% of the target (exact for a target of 0). */
export function within5(output: number, target: number): boolean {
  if (!Number.isFinite(output)) return false;
  return target === 0 ? output === 0 : Math.abs(output - target) <= 0.05 * Math.abs(target);
}

function parseNumber(cell: string | undefined): number {
  const text = (cell ?? '').trim().replace(/[%€$]|\s/g, '');
  return text === '' ? NaN : Number(text);
}

/**
 * Scores a CSV answer against the chart's data. Rows are found by their first cell when it
 * names a target category exactly, else by position; series columns by position (legend order).
 * Values: every number of the table (and the x values of a scatter chart). Labels: every header
 * cell and every category name.
 */
export function scoreChart(chart: ChartData, outputCsv: string): ChartScore {
  const rows = parseCsv(outputCsv.trim());
  const header = rows[0] ?? [];
  const body = rows.slice(1);
  const targetHeader = [withUnit(chart.xLabel, chart.xUnit), ...chart.series.map((s) => withUnit(s.name, chart.unit))];
  const scatter = chart.kind === 'scatter';
  let labels = 0;
  let labelsExact = 0;
  targetHeader.forEach((h, j) => {
    labels++;
    if ((header[j] ?? '').trim() === h) labelsExact++;
  });
  let values = 0;
  let valuesWithin5 = 0;
  chart.categories.forEach((category, i) => {
    const row = (!scatter && body.find((r) => (r[0] ?? '').trim() === category)) || body[i] || [];
    if (scatter) {
      values++;
      if (within5(parseNumber(row[0]), Number(category))) valuesWithin5++;
    } else {
      labels++;
      if ((body[i]?.[0] ?? '').trim() === category) labelsExact++;
    }
    chart.series.forEach((s, j) => {
      const v = s.values[i];
      if (v === null) return;
      values++;
      if (within5(parseNumber(row[j + 1]), v)) valuesWithin5++;
    });
  });
  return { valuesWithin5, values, labelsExact, labels };
}
