// Evaluation of a sketch/chart model on the held-out splits (npm run eval:sketch):
//   node --import tsx tools/sketch-data/evaluate.ts [--data DIR] [--splits eval,eval-unseen]
//     [--model DIR | --predictions FILE] [--precision P] [--limit N] [--out DIR] [--pictures N]
// Prints one table (rows: split × task) with the model's scores beside the best constant
// answer's, writes report.json, the model's answers (predictions.jsonl, which --predictions
// reads back) and side-by-side pictures (input | target | output) to --out.
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { PRECISIONS } from '../../src/models/fit';
import { Renderer } from './browser';
import { TASKS, type Task } from './examples';
import { readIndex, SPLITS, type Split } from './generate';
import { startModel } from './model-runner';
import { sideBySide } from './pictures';
import { hashSeed, Rng } from './random';
import { formatTable, summarize, type Row } from './report';
import { Scorer, targetText, type Example, type ExampleScore } from './scoring';

export interface EvaluateOptions {
  data: string;
  splits: readonly Split[];
  /** At most this many examples per split and task. */
  limit?: number;
  model?: string;
  /** Weight precision of the model's load (default: the best that fits, as the product picks). */
  precision?: (typeof PRECISIONS)[number];
  /** JSONL of {"split","id","output"}: score these answers instead of running a model. */
  predictions?: string;
  out: string;
  pictures: number;
  /** Training targets tried as the constant answer, and training examples they are tried on. */
  constantCandidates: number;
  constantPool: number;
  /** A browser to reuse (left open); by default one is started and closed. */
  renderer?: Renderer;
  log?: (line: string) => void;
}

export interface Evaluation {
  rows: Row[];
  table: string;
}

export function predictionKey(split: string, id: string): string {
  return `${split}/${id}`;
}

function readPredictions(file: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of readFileSync(file, 'utf8').split('\n').filter(Boolean)) {
    const p = JSON.parse(line) as { split: string; id: string; output: string };
    map.set(predictionKey(p.split, p.id), p.output);
  }
  return map;
}

/** Examples per (split, task), the first `limit` of each in id order. */
function examplesOf(data: string, split: Split, limit?: number): Map<Task, Example[]> {
  const dir = path.join(data, split);
  const byTask = new Map<Task, Example[]>();
  for (const line of readIndex(dir)) {
    const list = byTask.get(line.task) ?? [];
    if (limit === undefined || list.length < limit) list.push({ dir, line });
    byTask.set(line.task, list);
  }
  return byTask;
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: limit }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  }));
  return out;
}

export async function evaluate(options: EvaluateOptions): Promise<Evaluation> {
  const log = options.log ?? (() => undefined);
  mkdirSync(path.join(options.out, 'pictures'), { recursive: true });
  const splits = options.splits.map((split) => ({ split, byTask: examplesOf(options.data, split, options.limit) }));
  const tasks = TASKS.filter((t) => splits.some((s) => s.byTask.has(t)));
  const own = !options.renderer && tasks.some((t) => t !== 'chart');
  const renderer = options.renderer ?? (own ? await Renderer.start(2) : undefined);
  const scorer = new Scorer(renderer);
  try {
    const predictions = options.predictions ? readPredictions(options.predictions) : new Map<string, string>();
    if (!options.predictions) {
      const model = await startModel(options.model, options.precision);
      log(`model: ${model.model}`);
      const file = path.join(options.out, 'predictions.jsonl');
      writeFileSync(file, '');
      const answered: number[] = [];
      try {
        for (const { split, byTask } of splits) {
          for (const ex of [...byTask.values()].flat()) {
            const started = performance.now();
            const output = await model.answer(ex.line.task, path.join(ex.dir, ex.line.image));
            const seconds = Number(((performance.now() - started) / 1000).toFixed(2));
            predictions.set(predictionKey(split, ex.line.id), output);
            appendFileSync(file, `${JSON.stringify({ split, id: ex.line.id, seconds, output })}\n`);
            answered.push(seconds);
          }
        }
      } finally {
        await model.close();
      }
      const sorted = [...answered].sort((a, b) => a - b);
      log(`model answered ${sorted.length} examples, median ${sorted[Math.floor(sorted.length / 2)] ?? 0} s, slowest ${sorted[sorted.length - 1] ?? 0} s (first answer includes loading)`);
    }
    const constants = new Map<Task, string>();
    const train = readIndex(path.join(options.data, 'train'));
    for (const task of tasks) {
      const examples = train.filter((l) => l.task === task).map((line) => ({ dir: path.join(options.data, 'train'), line }));
      if (examples.length === 0) {
        log(`no ${task} examples in the training split: the constant answer for ${task} is empty`);
        constants.set(task, '');
        continue;
      }
      constants.set(task, await scorer.bestConstant(examples, new Rng(hashSeed('constant', task)), options.constantCandidates, options.constantPool));
      log(`constant answer for ${task} chosen from ${Math.min(examples.length, options.constantCandidates)} training targets`);
    }
    const rows: Row[] = [];
    for (const { split, byTask } of splits) {
      for (const task of tasks) {
        const examples = byTask.get(task);
        if (!examples?.length) continue;
        const constant = constants.get(task)!;
        const scored = await mapLimit(examples, 4, async (ex, i): Promise<[ExampleScore, ExampleScore]> => {
          const output = predictions.get(predictionKey(split, ex.line.id)) ?? '';
          if (i < options.pictures) {
            const input = readFileSync(path.join(ex.dir, ex.line.image));
            const page = renderer && task !== 'chart' ? { renderer, width: ex.line.viewport! } : undefined;
            await sideBySide(path.join(options.out, 'pictures', `${split}-${ex.line.id}.png`), input, targetText(ex), output, page);
          }
          return Promise.all([scorer.score(ex, output), scorer.score(ex, constant)]);
        });
        rows.push({ split, task, n: examples.length, model: summarize(scored.map((s) => s[0])), constant: summarize(scored.map((s) => s[1])) });
        log(`scored ${split}/${task}: ${examples.length} examples`);
      }
    }
    const table = formatTable(rows);
    writeFileSync(path.join(options.out, 'report.json'), `${JSON.stringify({ rows, constants: Object.fromEntries(constants) }, null, 1)}\n`);
    writeFileSync(path.join(options.out, 'report.txt'), `${table}\n`);
    return { rows, table };
  } finally {
    if (own) await renderer?.close();
  }
}

const USAGE = `usage: npm run eval:sketch -- [--data DIR] [--splits eval,eval-unseen] [--model DIR | --predictions FILE]
                                [--precision P] [--limit N] [--out DIR] [--pictures N] [--constant-candidates K] [--constant-pool M]

  --data DIR               the data set (default /work/data/sketch): DIR/<split>/index.jsonl, DIR/train for the constant
  --model DIR              the model to answer with (default: the one the pixtral command would use: the first usable model found, else the built-in one)
  --predictions FILE       score these answers instead: JSONL lines {"split","id","output"}
  --precision P            load the model at bf16, q8_0 or q4_0 (the first load at a quantized
                           precision writes its weights file beside the model: point --model at a copy
                           of the built-in model, whose folder ships in the VSIX)
  --limit N                at most N examples per split and task
  --out DIR                report.txt, report.json, predictions.jsonl, pictures/ (default DIR/eval-out)
  --pictures N             side-by-side pictures per split and task (default 12)
  --constant-candidates K  training targets tried as the constant answer (default 24)
  --constant-pool M        training examples each is tried on (default 48)`;

function precisionFlag(raw: string | undefined): EvaluateOptions['precision'] {
  if (raw === undefined) return undefined;
  const precision = PRECISIONS.find((p) => p === raw);
  if (!precision) throw new Error(`--precision must be one of ${PRECISIONS.join(', ')}, got "${raw}"`);
  return precision;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      data: { type: 'string', default: '/work/data/sketch' },
      splits: { type: 'string', default: 'eval,eval-unseen' },
      model: { type: 'string' },
      precision: { type: 'string' },
      predictions: { type: 'string' },
      limit: { type: 'string' },
      out: { type: 'string' },
      pictures: { type: 'string', default: '12' },
      'constant-candidates': { type: 'string', default: '24' },
      'constant-pool': { type: 'string', default: '48' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const splits = values.splits.split(',') as Split[];
  for (const s of splits) if (!SPLITS.includes(s) || !existsSync(path.join(values.data, s, 'index.jsonl'))) throw new Error(`no split "${s}" in ${values.data}`);
  const result = await evaluate({
    data: values.data,
    splits,
    model: values.model,
    precision: precisionFlag(values.precision),
    predictions: values.predictions,
    limit: values.limit === undefined ? undefined : Number(values.limit),
    out: values.out ?? path.join(values.data, 'eval-out'),
    pictures: Number(values.pictures),
    constantCandidates: Number(values['constant-candidates']),
    constantPool: Number(values['constant-pool']),
    log: (l) => process.stderr.write(`${l}\n`),
  });
  process.stdout.write(`${result.table}\n`);
}

if (require.main === module) {
  main().catch((err) => {
    process.stderr.write(`${(err as Error).stack ?? err}\n`);
    process.exit(1);
  });
}
