// Random but plausible chart data, and its target: the CSV the product's chart-to-table prompt
// asks for (src/prompts/chart-to-table.ts): a header row, the categories or x values in the first
// column, one column per series named as in the legend with the unit in parentheses, one row per
// category in chart order, plain numbers with "." and no thousands separators, fields with a comma
// quoted, empty cells where a series has no value. Rows end with "\n", and the last row has none.
import type { Rng } from './random';
import { Lexicon, type Language } from './words';

export type ChartKind = 'bar' | 'grouped-bar' | 'line' | 'pie' | 'scatter';
export const CHART_KINDS: readonly ChartKind[] = ['bar', 'grouped-bar', 'line', 'pie', 'scatter'];

export interface Series {
  name: string;
  /** One value per category; null where the series has no point (scatter). */
  values: (number | null)[];
}

export interface ChartData {
  kind: ChartKind;
  lang: Language;
  title: string;
  /** Header of the first column: the category axis (or x axis) name. */
  xLabel: string;
  /** What the values measure (the value axis title). */
  measure: string;
  /** Unit of the values ('' for plain counts), shown on the axis title and in the header. */
  unit: string;
  /** Unit of the x values of a scatter chart. */
  xUnit: string;
  categories: string[];
  series: Series[];
  /** Digits after the decimal point, as the chart's labels print them. */
  decimals: number;
}

/** The measures of words/*.txt ("measure:"), in file order, with their units and value ranges. */
const MEASURES: { units: string[]; range: [number, number]; decimals: number[] }[] = [
  { units: ['€', '$', 'k€', 'M$'], range: [20, 900], decimals: [0, 1] }, // revenue
  { units: ['', 'k€', 'units'], range: [50, 2000], decimals: [0] }, // sales
  { units: ['', 'k'], range: [100, 9000], decimals: [0] }, // visitors
  { units: ['', 'k'], range: [20, 5000], decimals: [0] }, // users
  { units: [''], range: [10, 800], decimals: [0] }, // orders
  { units: ['€', '$', 'k€'], range: [10, 500], decimals: [0, 1] }, // costs
  { units: ['k€', 'M$', '%'], range: [5, 120], decimals: [0, 1] }, // profit
  { units: ['°C'], range: [-5, 32], decimals: [0, 1] }, // temperature
  { units: ['mm'], range: [5, 180], decimals: [0] }, // rainfall
  { units: ['k', ''], range: [1, 400], decimals: [0, 1] }, // downloads
];
const SHARE = 10;

function round(value: number, decimals: number): number {
  const f = 10 ** decimals;
  return Math.round(value * f) / f;
}

/** Category labels of one of the usual kinds: months, years, quarters, cities, things. */
function categories(rng: Rng, lex: Lexicon, count: number, ordered: boolean): { label: string; values: string[] } {
  const kind = ordered ? rng.pick(['month', 'year', 'quarter'] as const) : rng.pick(['city', 'noun', 'name', 'option'] as const);
  if (kind === 'month') {
    const start = rng.int(0, 12 - count);
    return { label: lex.list('axis')[0], values: lex.list('month').slice(start, start + count) };
  }
  if (kind === 'year') {
    const start = rng.int(2005, 2025 - count);
    return { label: lex.list('axis')[1], values: Array.from({ length: count }, (_, i) => String(start + i)) };
  }
  if (kind === 'quarter') {
    const year = rng.int(2018, 2025);
    return { label: lex.list('axis')[2], values: Array.from({ length: count }, (_, i) => `Q${(i % 4) + 1} ${year + Math.floor(i / 4)}`) };
  }
  const words = lex.distinct(kind, count).map((w) => w.charAt(0).toLocaleUpperCase() + w.slice(1));
  return { label: lex.list('axis')[3 + ['city', 'noun', 'name', 'option'].indexOf(kind)], values: words };
}

/** A plausible series: a level, a trend and noise, never below zero unless the measure allows it. */
function seriesValues(rng: Rng, count: number, range: [number, number], decimals: number, smooth: boolean): number[] {
  const level = rng.range(range[0] + (range[1] - range[0]) * 0.2, range[1] * 0.8);
  const trend = rng.range(-0.08, 0.12) * level;
  let walk = 0;
  return Array.from({ length: count }, (_, i) => {
    walk = smooth ? walk + rng.normal() * 0.06 * level : rng.normal() * 0.25 * level;
    const v = Math.min(range[1], Math.max(range[0], level + trend * (i - count / 2) + walk));
    return round(v, decimals);
  });
}

export function randomChart(rng: Rng, kind: ChartKind): ChartData {
  const lang = rng.weighted<Language>({ en: 5, fr: 1, de: 1, es: 1, pt: 0.6, it: 0.6, nl: 0.6, pl: 0.5, cs: 0.5 });
  const lex = new Lexicon(lang, rng.fork('words'));
  const measureNames = lex.list('measure');
  if (kind === 'pie') {
    const count = rng.int(3, 6);
    const decimals = rng.pick([0, 0, 1]);
    const weights = Array.from({ length: count }, () => rng.range(0.3, 1) ** 2);
    const total = weights.reduce((a, b) => a + b, 0);
    const values = weights.map((w) => round((100 * w) / total, decimals));
    // Shares must add up to 100 exactly, as a pie's labels do.
    values[0] = round(100 - values.slice(1).reduce((a, b) => a + b, 0), decimals);
    const cats = categories(rng, lex, count, false);
    return { kind, lang, title: lex.title(3), xLabel: cats.label, measure: measureNames[SHARE], unit: '%', xUnit: '', categories: cats.values, series: [{ name: measureNames[SHARE], values }], decimals };
  }
  const m = rng.int(0, MEASURES.length - 1);
  const measure = MEASURES[m];
  const decimals = rng.pick(measure.decimals);
  const unit = rng.pick(measure.units);
  const range: [number, number] = unit === '%' ? [1, 60] : measure.range;
  if (kind === 'scatter') {
    const seriesCount = rng.int(1, 2);
    const n = rng.int(5, 12);
    const xMeasure = MEASURES[(m + rng.int(1, MEASURES.length - 1)) % MEASURES.length];
    const xs = new Set<number>();
    while (xs.size < n * seriesCount) xs.add(round(rng.range(...xMeasure.range), 0));
    const sortedX = [...xs].sort((a, b) => a - b);
    const owner = sortedX.map(() => rng.int(0, seriesCount - 1));
    const slope = rng.range(-0.6, 1.2) * (range[1] - range[0]) / (xMeasure.range[1] - xMeasure.range[0]);
    const base = rng.range(range[0], (range[0] + range[1]) / 2);
    const series: Series[] = Array.from({ length: seriesCount }, (_, s) => ({
      name: seriesCount === 1 ? measureNames[m] : lex.word('city'),
      values: sortedX.map((x, i) => (owner[i] === s ? round(Math.min(range[1], Math.max(range[0], base + slope * (x - xMeasure.range[0]) + rng.normal() * 0.1 * (range[1] - range[0]))), decimals) : null)),
    }));
    if (series.length === 2 && series[0].name === series[1].name) series[1].name = `${series[1].name} 2`;
    const xName = measureNames[MEASURES.indexOf(xMeasure)];
    return { kind, lang, title: lex.title(3), xLabel: xName, measure: measureNames[m], unit, xUnit: rng.pick(xMeasure.units), categories: sortedX.map(String), series, decimals };
  }
  const ordered = kind === 'line' || rng.chance(0.4);
  const count = kind === 'line' ? rng.int(4, 12) : kind === 'grouped-bar' ? rng.int(2, 6) : rng.int(2, 8);
  const cats = categories(rng, lex, count, ordered);
  const seriesCount = kind === 'bar' ? 1 : kind === 'grouped-bar' ? rng.int(2, 3) : rng.int(1, 3);
  const seriesNames = seriesCount === 1 ? [measureNames[m]] : rng.chance(0.5) ? Array.from({ length: seriesCount }, (_, i) => String(2025 - seriesCount + i + 1)) : lex.distinct('city', seriesCount);
  const series = seriesNames.map((name) => ({ name, values: seriesValues(rng, count, range, decimals, kind === 'line') }));
  return { kind, lang, title: seriesCount === 1 ? `${measureNames[m]} ${lex.word('filler')} ${lex.word('noun')}` : lex.title(3), xLabel: cats.label, measure: measureNames[m], unit, xUnit: '', categories: cats.values, series, decimals };
}

/** "Name (unit)" as the prompt asks for column headers, or the name alone without a unit. */
export function withUnit(name: string, unit: string): string {
  return unit ? `${name} (${unit})` : name;
}

export function formatNumber(value: number, decimals: number): string {
  return value.toFixed(decimals);
}

function csvField(text: string): string {
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** The chart-to-table target. */
export function chartCsv(chart: ChartData): string {
  const header = [withUnit(chart.xLabel, chart.xUnit), ...chart.series.map((s) => withUnit(s.name, chart.unit))];
  const rows = chart.categories.map((c, i) => [c, ...chart.series.map((s) => (s.values[i] === null ? '' : formatNumber(s.values[i]!, chart.decimals)))]);
  return [header, ...rows].map((row) => row.map(csvField).join(',')).join('\n');
}

/** Parses CSV as chartCsv writes it (and as a model may: quoted fields, \r\n, blank lines). */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      if (row.some((f) => f.trim())) rows.push(row);
      row = [];
      field = '';
    } else field += ch;
  }
  row.push(field);
  if (row.some((f) => f.trim())) rows.push(row);
  return rows;
}

/** One line saying what the chart shows and its largest value (for an explanation task). */
export function chartSummary(chart: ChartData): string {
  let best = { value: -Infinity, category: '', series: '' };
  chart.series.forEach((s) => s.values.forEach((v, i) => {
    if (v !== null && v > best.value) best = { value: v, category: chart.categories[i], series: s.name };
  }));
  const unit = chart.unit ? ` ${chart.unit}` : '';
  return `${chart.title}: ${chart.kind} chart of ${chart.series.map((s) => s.name).join(', ')} by ${chart.xLabel}; highest ${best.series} at ${best.category} (${formatNumber(best.value, chart.decimals)}${unit}).`;
}
