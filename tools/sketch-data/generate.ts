// Writes a split of the sketch/screenshot/chart data set:
//   node --import tsx tools/sketch-data/generate.ts --out DIR --split train|eval|eval-unseen \
//     --count N [--seed S] [--tasks sketch,screenshot,chart] [--concurrency 2]
// DIR/<split>/<id>.png, <id>.target.txt (pages also <id>.tailwind.txt) and index.jsonl (one line
// per example, in id order).
// Example <task>-<n> depends only on (seed, split, task, n): a rerun with a larger --count keeps
// what is there and adds the rest, and the same arguments give the same bytes.
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Renderer } from './browser';
import { makeExample, TASKS, type ExampleInfo, type Task } from './examples';
import { hashSeed, Rng } from './random';

export const SPLITS = ['train', 'eval', 'eval-unseen'] as const;
export type Split = (typeof SPLITS)[number];

/** Share of each task in a mixed split. */
export const TASK_MIX: Record<Task, number> = { sketch: 0.55, screenshot: 0.15, chart: 0.3 };

/** Bumped whenever a change to the generator changes its output for the same seed. */
export const GENERATOR_VERSION = 9;

export interface IndexLine extends ExampleInfo {
  id: string;
  /** GENERATOR_VERSION of the code that wrote the example. */
  version: number;
  /** File names, in the split's folder. */
  image: string;
  target: string;
  /** Pages: the Tailwind form of the target. */
  tailwind?: string;
}

/** The generator of example <task>-<n> of a split. */
export function exampleRng(seed: number, split: Split, task: Task, n: number): Rng {
  return new Rng(hashSeed(seed, split, task, n));
}

export function tailwindFile(id: string): string {
  return `${id}.tailwind.txt`;
}

export function exampleId(task: Task, n: number): string {
  return `${task}-${String(n).padStart(6, '0')}`;
}

/** How many examples of each task a split of `count` holds. */
export function taskCounts(count: number, tasks: readonly Task[]): [Task, number][] {
  const total = tasks.reduce((s, t) => s + TASK_MIX[t], 0);
  let left = count;
  return tasks.map((t, i) => {
    const n = i === tasks.length - 1 ? left : Math.round((count * TASK_MIX[t]) / total);
    left -= n;
    return [t, n];
  });
}

export function readIndex(dir: string): IndexLine[] {
  const file = path.join(dir, 'index.jsonl');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as IndexLine);
}

export interface GenerateOptions {
  out: string;
  split: Split;
  count: number;
  seed: number;
  tasks: readonly Task[];
  concurrency?: number;
  /** A browser to reuse (left open); by default one is started and closed. */
  renderer?: Renderer;
  log?: (line: string) => void;
}

export async function generate(options: GenerateOptions): Promise<number> {
  const dir = path.join(options.out, options.split);
  mkdirSync(dir, { recursive: true });
  const have = new Set(readIndex(dir).map((l) => l.id));
  // Tasks interleaved in proportion, so that a split read while it grows is already mixed.
  const todo: [Task, number][] = taskCounts(options.count, options.tasks)
    .flatMap(([task, n]) => Array.from({ length: n }, (_, i): [Task, number, number] => [task, i, (i + 0.5) / n]))
    .sort((a, b) => a[2] - b[2])
    .filter(([task, i]) => !have.has(exampleId(task, i)))
    .map(([task, i]) => [task, i]);
  if (todo.length === 0) return 0;
  const own = !options.renderer && todo.some(([t]) => t !== 'chart');
  const renderer = options.renderer ?? (own ? await Renderer.start(options.concurrency ?? 2) : undefined);
  const unseen = options.split === 'eval-unseen';
  const done = new Map<number, IndexLine>();
  let flushed = 0;
  let next = 0;
  const started = performance.now();
  // Lines are appended in id order whatever order the examples finish in.
  const flush = () => {
    while (done.has(flushed)) {
      appendFileSync(path.join(dir, 'index.jsonl'), `${JSON.stringify(done.get(flushed))}\n`);
      done.delete(flushed++);
      if (flushed % 200 === 0) options.log?.(`${options.split}: ${flushed}/${todo.length} (${((performance.now() - started) / flushed).toFixed(0)} ms each)`);
    }
  };
  const worker = async () => {
    while (next < todo.length) {
      const k = next++;
      const [task, n] = todo[k];
      const id = exampleId(task, n);
      const rng = exampleRng(options.seed, options.split, task, n);
      const ex = await makeExample(task, rng, renderer, unseen);
      writeFileSync(path.join(dir, `${id}.png`), ex.png);
      writeFileSync(path.join(dir, `${id}.target.txt`), ex.target);
      if (ex.tailwind !== undefined) writeFileSync(path.join(dir, tailwindFile(id)), ex.tailwind);
      done.set(k, { id, version: GENERATOR_VERSION, task, image: `${id}.png`, target: `${id}.target.txt`, tailwind: ex.tailwind === undefined ? undefined : tailwindFile(id), width: ex.width, height: ex.height, viewport: ex.viewport, lang: ex.lang, style: ex.style, words: ex.words, chart: ex.chart, summary: ex.summary });
      flush();
    }
  };
  try {
    await Promise.all(Array.from({ length: options.concurrency ?? 2 }, worker));
  } finally {
    if (own) await renderer?.close();
  }
  return todo.length;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { out: { type: 'string' }, split: { type: 'string' }, count: { type: 'string' }, seed: { type: 'string', default: '1' }, tasks: { type: 'string', default: TASKS.join(',') }, concurrency: { type: 'string', default: '2' } },
  });
  const split = values.split as Split;
  if (!values.out || !SPLITS.includes(split) || !values.count) {
    process.stderr.write('usage: generate.ts --out DIR --split train|eval|eval-unseen --count N [--seed S] [--tasks sketch,screenshot,chart] [--concurrency N]\n');
    process.exit(2);
  }
  const tasks = values.tasks.split(',') as Task[];
  for (const t of tasks) if (!TASKS.includes(t)) throw new Error(`unknown task "${t}"`);
  const made = await generate({ out: values.out, split, count: Number(values.count), seed: Number(values.seed), tasks, concurrency: Number(values.concurrency), log: (l) => process.stderr.write(`${l}\n`) });
  process.stderr.write(`${split}: ${made} new examples in ${path.join(values.out, split)}\n`);
}

if (require.main === module) {
  main().catch((err) => {
    process.stderr.write(`${(err as Error).stack ?? err}\n`);
    process.exit(1);
  });
}
