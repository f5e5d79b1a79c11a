// The evaluation table: one row per split and task, each metric for the model beside the best
// constant answer, and whether the row meets the targets.
import type { Task } from './examples';
import type { ExampleScore } from './scoring';

export interface Row {
  split: string;
  task: Task;
  n: number;
  model: Summary;
  constant: Summary;
}

export interface Summary {
  valid?: number;
  iou?: number;
  recall?: number;
  values?: number;
  labels?: number;
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : undefined);

export function summarize(scores: ExampleScore[]): Summary {
  const charts = scores.flatMap((s) => (s.chart ? [s.chart] : []));
  const pooled = (k: 'valuesWithin5' | 'labelsExact', n: 'values' | 'labels') => (charts.length ? charts.reduce((a, c) => a + c[k], 0) / Math.max(1, charts.reduce((a, c) => a + c[n], 0)) : undefined);
  return {
    valid: mean(scores.flatMap((s) => (s.valid === undefined ? [] : [s.valid ? 1 : 0]))),
    iou: mean(scores.flatMap((s) => (s.iou === undefined ? [] : [s.iou]))),
    recall: mean(scores.flatMap((s) => (s.recall === undefined ? [] : [s.recall]))),
    values: pooled('valuesWithin5', 'values'),
    labels: pooled('labelsExact', 'labels'),
  };
}

/** The targets for one row. */
export function meetsTargets(row: Row): boolean {
  const m = row.model;
  if (row.task === 'chart') return (m.values ?? 0) >= 0.8;
  return (m.valid ?? 0) >= 0.95 && (m.iou ?? 0) >= 0.6 && (m.iou ?? 0) >= (row.constant.iou ?? 0) + 0.15 && (m.recall ?? 0) >= 0.7;
}

const pct = (v: number | undefined) => (v === undefined ? '–' : `${(100 * v).toFixed(1)}%`);
const num = (v: number | undefined) => (v === undefined ? '–' : v.toFixed(3));

export function formatTable(rows: Row[]): string {
  const metrics: [string, keyof Summary, (v: number | undefined) => string][] = [
    ['valid HTML', 'valid', pct],
    ['layout IoU', 'iou', num],
    ['word recall', 'recall', pct],
    ['values ≤5%', 'values', pct],
    ['labels exact', 'labels', pct],
  ];
  const head1 = ['split', 'task', 'n', ...metrics.flatMap(([name]) => [name, '']), 'targets'];
  const head2 = ['', '', '', ...metrics.flatMap(() => ['model', 'const']), ''];
  const body = rows.map((r) => [r.split, r.task, String(r.n), ...metrics.flatMap(([, key, f]) => [f(r.model[key]), f(r.constant[key])]), meetsTargets(r) ? 'met' : 'not met']);
  const all = [head1, head2, ...body];
  const widths = head1.map((_, i) => Math.max(...all.map((row) => [...row[i]].length)));
  const line = (row: string[]) => row.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [
    line(head1),
    line(head2),
    ...body.map(line),
    '',
    'const = the best constant answer (one fixed training target, chosen on training data).',
    'targets: valid HTML ≥ 95%, layout IoU ≥ 0.6 and ≥ const + 0.15, word recall ≥ 70%; charts: values within 5% ≥ 80%.',
  ].join('\n');
}
