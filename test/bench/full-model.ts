// The whole Pixtral 12B, not a stack of layers: all 40 decoder layers, the 24-layer vision encoder,
// the adapter and the 131072-row head at their real shapes, random bf16 weights
// (test/bench/synthetic-model.ts), loaded at each precision (the first load quantizes and writes
// pixtral-<precision>.safetensors, timed apart) and run end to end on one image + text prompt:
// time to the first token (vision encoder, adapter, prefill), decode tok/s, peak RSS. Each precision
// runs in a child process of its own, so its peak RSS is its own. Shows what fits this machine.
//
// Run:  npm run bench:full [-- --precisions q8_0,q4_0 --image 256 --text 32 --tokens 8
//                             --threads T=all cores --dir D --keep]
// The weights (24.5 GB bf16, plus 13.0 GB at q8_0 and 7.3 GB at q4_0) go under --dir (default
// /work/scratch, else the OS temp folder) and are deleted at the end unless --keep.
import { fork } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadNative, type WeightPrecision } from '../../src/engine/native';
import { mulberry32 } from '../support/random';
import { ensureSyntheticModel, PIXTRAL_12B } from './synthetic-model';

interface Job {
  dir: string;
  precision: WeightPrecision;
  threads: number;
  /** Image side in pixels (a multiple of the patch size). */
  image: number;
  text: number;
  tokens: number;
}

interface Measured {
  loadSeconds: number;
  promptTokens: number;
  firstTokenSeconds: number;
  stepSeconds: number;
  peakRssBytes: number;
  mappedBytes: number;
}

const GB = 1e9;
const now = (): number => performance.now() / 1000;
const log = (line: string): void => void process.stderr.write(`# ${line}\n`);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1];

function peakRss(): number {
  const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return kb ? Number(kb[1]) * 1024 : NaN;
}

/** Child: one precision, one image + text prompt, then greedy decode. */
async function runJob(job: Job): Promise<Measured> {
  const engine = new (loadNative().Engine)();
  let t = now();
  const info = await engine.load(job.dir, { precision: job.precision, threads: job.threads, contextLength: 2048 });
  const loadSeconds = now() - t;
  const v = info.config.vision!;
  const grid = job.image / v.patchSize;
  const rand = mulberry32(7);
  const pixels = Float32Array.from({ length: 3 * job.image * job.image }, () => rand() * 4 - 2);
  // [BOS][INST] image rows, each ending in [IMG_BREAK] (the last in [IMG_END]), text [/INST].
  const ids = [1, 3];
  for (let r = 0; r < grid; r++) ids.push(...Array<number>(grid).fill(v.imageTokenId), r === grid - 1 ? v.imageEndTokenId : v.imageBreakTokenId);
  for (let i = 0; i < job.text; i++) ids.push(1000 + Math.floor(rand() * (info.config.vocabSize - 1000)));
  ids.push(4);
  const stamps: number[] = [];
  t = now();
  await engine.prefill(Int32Array.from(ids), { images: [{ pixels, height: job.image, width: job.image }], reserve: job.tokens + 1 });
  await engine.generate({ maxTokens: job.tokens + 1, temperature: 0, stopIds: [] }, () => void stamps.push(now()));
  const steps = stamps.slice(1).map((x, k) => x - stamps[k]);
  const mappedBytes = engine.memory().weightBytes;
  engine.unload();
  return { loadSeconds, promptTokens: ids.length, firstTokenSeconds: stamps[0] - t, stepSeconds: median(steps), peakRssBytes: peakRss(), mappedBytes };
}

function runChild(job: Job): Promise<Measured> {
  return new Promise((resolve, reject) => {
    const child = fork(__filename, ['--child', JSON.stringify(job)], { execArgv: ['--import', 'tsx'], stdio: 'inherit' });
    child.once('message', (m: Measured | { error: string }) => ('error' in m ? reject(new Error(`${job.precision}: ${m.error}`)) : resolve(m)));
    child.once('exit', (code) => code !== 0 && reject(new Error(`${job.precision}: child exited with ${code}`)));
  });
}

async function main(): Promise<void> {
  const text = { type: 'string' } as const;
  const { values } = parseArgs({ options: { precisions: text, image: text, text, tokens: text, threads: text, dir: text, keep: { type: 'boolean' } } });
  const int = (raw: string | undefined, fallback: number): number => (raw === undefined ? fallback : Number.parseInt(raw, 10));
  const precisions = (values.precisions ?? 'q8_0,q4_0').split(',') as WeightPrecision[];
  const threads = int(values.threads, os.cpus().length);
  const image = int(values.image, 256);
  if (image % PIXTRAL_12B.vision.patchSize !== 0) throw new Error(`--image must be a multiple of ${PIXTRAL_12B.vision.patchSize}`);
  const dir = path.resolve(values.dir ?? (existsSync('/work/scratch') ? '/work/scratch' : os.tmpdir()));
  const cpu = os.cpus()[0]?.model.trim() ?? 'unknown CPU';
  const native = loadNative();
  log(`${cpu}, ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ${threads} threads, kernels ${native.cpuKernels()}`);
  const model = ensureSyntheticModel(dir, 'pixtral-bench-full', PIXTRAL_12B, [{ name: 'full', layers: 40, visionLayers: 24 }], log);
  const rows: { precision: WeightPrecision; quantizeSeconds: number; m: Measured }[] = [];
  try {
    for (const precision of precisions) {
      // The first load at a precision quantizes; timed apart so the measured load maps the file.
      const engine = new native.Engine();
      const t = now();
      await engine.load(model.dirs.full, { precision, threads, contextLength: 64 });
      engine.unload();
      const quantizeSeconds = now() - t;
      log(`${precision}: first load (quantizing) ${quantizeSeconds.toFixed(0)} s`);
      const m = await runChild({ dir: model.dirs.full, precision, threads, image, text: int(values.text, 32), tokens: int(values.tokens, 8) });
      log(`${precision}: first token ${m.firstTokenSeconds.toFixed(1)} s, decode ${(1 / m.stepSeconds).toFixed(2)} tok/s, peak RSS ${(m.peakRssBytes / GB).toFixed(2)} GB`);
      rows.push({ precision, quantizeSeconds, m });
    }
  } finally {
    if (!values.keep) rmSync(model.root, { recursive: true, force: true });
  }
  const f = (x: number, d = 2): string => x.toFixed(d);
  const out = [
    `Hardware: ${cpu}, ${os.cpus().length} cores, ${f(os.totalmem() / 2 ** 30, 1)} GiB RAM; ${threads} threads; kernels ${native.cpuKernels()}.`,
    `Model: Pixtral 12B, all 40 decoder and 24 vision layers, random weights. Prompt: one ${image}×${image} image and text, greedy decode; KV cache f16.`,
    '',
    '| weights | first load (quantize) s | load s | weights mapped GB | prompt tokens | time to first token s | decode tok/s | peak RSS GB |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map(({ precision, quantizeSeconds, m }) =>
      `| ${precision} | ${f(quantizeSeconds, 0)} | ${f(m.loadSeconds, 1)} | ${f(m.mappedBytes / GB)} | ${m.promptTokens} | ${f(m.firstTokenSeconds, 1)} | ${f(1 / m.stepSeconds)} | ${f(m.peakRssBytes / GB)} |`),
  ];
  console.log(out.join('\n'));
}

if (process.argv[2] === '--child') {
  runJob(JSON.parse(process.argv[3]) as Job).then(
    (m) => process.send?.(m, () => process.exit(0)),
    (err: Error) => process.send?.({ error: err.stack ?? err.message }, () => process.exit(1)),
  );
} else {
  main().catch((err: Error) => {
    console.error(err);
    process.exit(1);
  });
}
