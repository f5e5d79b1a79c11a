// Quantized weights against llama.cpp at Pixtral 12B's real decoder shapes (dim 5120, 32 query and
// 8 KV heads of 128, hidden 14336, vocabulary 131072): random bf16 weights for N decoder layers
// (test/bench/synthetic-model.ts), quantized by our engine's first load (q8_0, q4_0), and the same
// weights written as a GGUF of the same quant types (test/support/gguf-model.ts: our blocks, byte for
// byte). Each engine runs alone in a child process (quant-child.ts) with the same threads, token ids
// and counts: decode tok/s and the GB/s of weights it streams against a read bandwidth measured in
// the same run, prefill tok/s, peak RSS. The 40-layer figures are implied from the N-layer run:
// decode at the GB/s achieved over the full model's streamed bytes, prefill at the ratio of matrix
// parameters (FLOPs), peak RSS plus the weights of the missing layers.
//
// Run:  npm run bench:quant [-- --layers N=4 --tokens M=16 --prompt P=128 --threads T=all cores
//                              --precisions bf16,q8_0,q4_0 --kernels K1,K2 --dir D --repeat R=2
//                              --rounds N=1 --keep]
// --kernels: our engine once per CPU kernel set named (PIXTRAL_KERNELS), default the one runtime
// dispatch picks; each gets its own rows and ratio against llama.cpp.
// --rounds: the engines' children take turns N times and each figure is its engine's best round. On
// a shared VM whose bandwidth swings 2x within minutes, one child each lets a slow spell land on
// one engine only; in turns, both see it.
// The files (several GB) go under --dir (default /work/scratch, else the OS temp folder) and are
// deleted at the end unless --keep. Prints a markdown table; progress goes to stderr.
import { fork } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadNative, type WeightPrecision } from '../../src/engine/native';
import { readSafetensorsHeader, writeTextGguf, type SafetensorsHeader } from '../support/gguf-model';
import { BandwidthProbe } from './bandwidth-probe';
import type { Job, Measured } from './quant-child';
import { ensureSyntheticModel, PIXTRAL_12B, type ModelShape } from './synthetic-model';

interface Options {
  layers: number;
  tokens: number;
  prompt: number;
  threads: number;
  precisions: WeightPrecision[];
  kernels: string[] | undefined;
  dir: string;
  repeat: number;
  rounds: number;
  keep: boolean;
}

const PRECISIONS: WeightPrecision[] = ['bf16', 'q8_0', 'q4_0'];
const FULL_LAYERS = PIXTRAL_12B.nLayers;

const USAGE = `usage: npm run bench:quant -- [--layers N=4] [--tokens M=16] [--prompt P=128] [--threads T=all cores]
                            [--precisions bf16,q8_0,q4_0] [--kernels K1,K2] [--dir D] [--repeat R=2]
                            [--rounds N=1] [--keep]`;

function readOptions(argv: string[]): Options {
  const text = { type: 'string' } as const;
  const { values } = parseArgs({
    args: argv,
    options: { layers: text, tokens: text, prompt: text, threads: text, repeat: text, rounds: text, precisions: text, kernels: text, dir: text, keep: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const int = (raw: string | undefined, flag: string, fallback: number): number => {
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`--${flag} needs a positive integer, got ${raw}`);
    return n;
  };
  const precisions = (values.precisions ?? PRECISIONS.join(',')).split(',').map((p: string) => {
    const known = PRECISIONS.find((k) => k === p);
    if (!known) throw new Error(`--precisions takes ${PRECISIONS.join(', ')}, got ${p}`);
    return known;
  });
  return {
    layers: int(values.layers, 'layers', 4),
    tokens: int(values.tokens, 'tokens', 16),
    prompt: int(values.prompt, 'prompt', 128),
    threads: int(values.threads, 'threads', os.cpus().length),
    repeat: int(values.repeat, 'repeat', 2),
    rounds: int(values.rounds, 'rounds', 1),
    precisions,
    kernels: values.kernels?.split(','),
    dir: path.resolve(values.dir ?? (existsSync('/work/scratch') ? '/work/scratch' : os.tmpdir())),
    keep: values.keep ?? false,
  };
}

const log = (line: string): void => void process.stderr.write(`# ${line}\n`);
const GB = 1e9;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1];

/** The best figure of each kind over an engine's rounds (the highest peak RSS: it is not noise). */
function bestRound(rounds: Measured[]): Measured {
  const least = (f: (m: Measured) => number) => Math.min(...rounds.map(f));
  return {
    ...rounds[0],
    loadSeconds: least((m) => m.loadSeconds),
    prefillSeconds: least((m) => m.prefillSeconds),
    stepSeconds: least((m) => m.stepSeconds),
    peakRssBytes: Math.max(...rounds.map((m) => m.peakRssBytes)),
  };
}

/** Bytes of the tensors whose Mistral names match, as stored in `header`. */
function bytesOf(header: SafetensorsHeader, re: RegExp): number {
  let n = 0;
  for (const [name, e] of header.entries) if (re.test(name)) n += e.end - e.begin;
  return n;
}

/** What a decode step streams at this precision, for N layers and for the full model, from the
 *  file the engine maps: every layer matrix, the final norm and the output head (one row of the
 *  embeddings, negligible, is left out); and all weights, for the RSS estimate. */
function streamed(header: SafetensorsHeader, layers: number) {
  const layer = bytesOf(header, /^layers\.0\./);
  const fixed = bytesOf(header, /^(norm|output)\.weight$/);
  const all = bytesOf(header, /./);
  return { small: fixed + layers * layer, full: fixed + FULL_LAYERS * layer, missingLayers: (FULL_LAYERS - layers) * layer, all };
}

function runChild(job: Job, kernels?: string): Promise<Measured> {
  return new Promise((resolve, reject) => {
    const env = kernels ? { ...process.env, PIXTRAL_KERNELS: kernels } : process.env;
    const child = fork(path.join(__dirname, 'quant-child.ts'), [JSON.stringify(job)], { execArgv: ['--import', 'tsx'], stdio: 'inherit', env });
    child.once('message', (m: Measured | { error: string }) => ('error' in m ? reject(new Error(`${job.engine} ${job.precision}: ${m.error}`)) : resolve(m)));
    child.once('exit', (code) => code !== 0 && reject(new Error(`${job.engine} ${job.precision}: child exited with ${code}`)));
  });
}

interface Row {
  precision: WeightPrecision;
  /** One run per kernel set. */
  ours: { kernels: string; m: Measured }[];
  llama: Measured;
  bytes: ReturnType<typeof streamed>;
  quantizeSeconds: number;
}

async function main(): Promise<void> {
  const o = readOptions(process.argv.slice(2));
  const native = loadNative();
  const cpu = os.cpus()[0]?.model.trim() ?? 'unknown CPU';
  const kernelSets = o.kernels ?? [native.cpuKernels()];
  log(`${cpu}, ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ${o.threads} threads, kernels ${kernelSets.join(', ')}`);
  // The decoder is measured; one vision layer (25 MB) is the least a loadable folder has.
  const shape: ModelShape = { ...PIXTRAL_12B, nLayers: o.layers, vision: { ...PIXTRAL_12B.vision, layers: 1 } };
  const variant = `L${o.layers}`;
  const model = ensureSyntheticModel(o.dir, 'pixtral-bench-quant', shape, [{ name: variant, layers: o.layers, visionLayers: 1 }], log);
  const dir = model.dirs[variant];
  const probe = new BandwidthProbe({ bytes: 1 << 30, threads: o.threads, iters: 4 }, log);
  const rows: Row[] = [];
  try {
    await probe.sample();
    for (const precision of o.precisions) {
      // Quantize now (the first load at a precision writes pixtral-<precision>.safetensors), so that
      // the measured load maps the file as every later load does.
      const engine = new native.Engine();
      let t = performance.now();
      await engine.load(dir, { precision, threads: o.threads, contextLength: 64 });
      engine.unload();
      const quantizeSeconds = (performance.now() - t) / 1000;
      const checkpoint = readSafetensorsHeader(path.join(dir, 'consolidated.safetensors'));
      const quantized = precision === 'bf16' ? undefined : readSafetensorsHeader(path.join(dir, `pixtral-${precision}.safetensors`));
      const gguf = path.join(model.root, `${variant}-${precision}.gguf`);
      t = performance.now();
      writeTextGguf(gguf, dir, { checkpoint, quantized }, { contextLength: 4096 });
      log(`${precision}: quantized in ${quantizeSeconds.toFixed(1)} s, GGUF written in ${((performance.now() - t) / 1000).toFixed(1)} s`);
      const job = { precision, threads: o.threads, prompt: o.prompt, tokens: o.tokens, repeat: o.repeat, vocab: shape.vocabSize };
      const oursRounds: Measured[][] = kernelSets.map(() => []);
      const llamaRounds: Measured[] = [];
      for (let round = 0; round < o.rounds; round++) {
        for (const [i, kernels] of kernelSets.entries()) {
          const m = await runChild({ ...job, engine: 'ours', path: dir }, kernels);
          // An unknown or unsupported PIXTRAL_KERNELS falls back to the best set: say so, not mislabel.
          if (m.kernels !== kernels) throw new Error(`kernel set ${kernels} does not run here (the engine chose ${m.kernels})`);
          oursRounds[i].push(m);
          await probe.sample();
        }
        llamaRounds.push(await runChild({ ...job, engine: 'llama', path: gguf }));
        await probe.sample();
      }
      const ours: Row['ours'] = kernelSets.map((kernels, i) => ({ kernels, m: bestRound(oursRounds[i]) }));
      const llama = bestRound(llamaRounds);
      if (!o.keep) rmSync(gguf, { force: true });
      const bytes = streamed(quantized ?? checkpoint, o.layers);
      for (const [name, m] of [...ours.map((r) => [`ours (${r.kernels})`, r.m] as const), ['llama.cpp', llama] as const])
        log(`${precision} ${name}: decode ${(1 / m.stepSeconds).toFixed(2)} tok/s (${(bytes.small / m.stepSeconds / GB).toFixed(1)} GB/s), prefill ${(o.prompt / m.prefillSeconds).toFixed(1)} tok/s, peak RSS ${(m.peakRssBytes / GB).toFixed(2)} GB`);
      rows.push({ precision, ours, llama, bytes, quantizeSeconds });
    }
  } finally {
    probe.close();
    if (!o.keep) rmSync(model.root, { recursive: true, force: true });
  }
  report(o, rows, probe.read, cpu);
}

function report(o: Options, rows: Row[], reads: number[], cpu: string): void {
  const readBw = median(reads);
  const bf16Bytes = rows.find((r) => r.precision === 'bf16')?.bytes;
  const f = (x: number, d = 2): string => x.toFixed(d);
  const out: string[] = [];
  out.push(`Hardware: ${cpu}, ${os.cpus().length} cores, ${f(os.totalmem() / 2 ** 30, 1)} GiB RAM; ${o.threads} threads for both engines; batch 1.`);
  out.push(`Model: Pixtral 12B decoder shapes, random weights, ${o.layers} of ${FULL_LAYERS} layers measured; "40 layers" columns are implied, not measured.`);
  const rounds = o.rounds > 1 ? `; the best of ${o.rounds} rounds, the engines taking turns` : '';
  out.push(`Decode: median of ${o.tokens} steps after a 16-token prompt; prefill: ${o.prompt} tokens in one batch, best of ${o.repeat}; KV cache f16 in both${rounds}.`);
  out.push(`Read bandwidth measured in the same run (memcmp, 1 GiB, ${o.threads} threads, median of ${reads.length} samples): ${f(readBw / GB)} GB/s.`);
  out.push('');
  out.push(`| weights | engine | decode tok/s (${o.layers} of ${FULL_LAYERS} layers) | GB/s | % of read | prefill tok/s | peak RSS GB | 40 layers: decode tok/s | prefill tok/s | peak RSS GB |`);
  out.push('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    // Prefill is compute-bound: it scales with the matrix parameters, which the bf16 bytes count.
    const paramRatio = bf16Bytes ? bf16Bytes.small / bf16Bytes.full : r.bytes.small / r.bytes.full;
    const figures = (m: Measured) => {
      const gbs = r.bytes.small / m.stepSeconds;
      return {
        decode: 1 / m.stepSeconds,
        gbs,
        prefill: o.prompt / m.prefillSeconds,
        rss: m.peakRssBytes,
        fullDecode: gbs / r.bytes.full,
        fullPrefill: (o.prompt / m.prefillSeconds) * paramRatio,
        fullRss: m.peakRssBytes + r.bytes.missingLayers,
      };
    };
    const llama = figures(r.llama);
    const ours = r.ours.map(({ kernels, m }) => ({ name: `ours (${kernels})`, x: figures(m) }));
    for (const { name, x } of [...ours, { name: 'llama.cpp', x: llama }])
      out.push(`| ${r.precision} | ${name} | ${f(x.decode)} | ${f(x.gbs / GB, 1)} | ${f((100 * x.gbs) / readBw, 0)}% | ${f(x.prefill, 1)} | ${f(x.rss / GB)} | ${f(x.fullDecode)} | ${f(x.fullPrefill)} | ${f(x.fullRss / GB, 1)} |`);
    const ratio = (a: number, b: number): string => `**${f(a / b)}×**`;
    for (const { name, x } of ours)
      out.push(`| ${r.precision} | ${name} / llama.cpp | ${ratio(x.decode, llama.decode)} | ${ratio(x.gbs, llama.gbs)} | | ${ratio(x.prefill, llama.prefill)} | ${ratio(x.rss, llama.rss)} | ${ratio(x.fullDecode, llama.fullDecode)} | ${ratio(x.fullPrefill, llama.fullPrefill)} | ${ratio(x.fullRss, llama.fullRss)} |`);
  }
  out.push('');
  out.push(`Streamed per decode token (${o.layers} layers → 40): ` + rows.map((r) => `${r.precision} ${f(r.bytes.small / GB)} → ${f(r.bytes.full / GB)} GB`).join(', ') +
    '. Quantizing at first load (ours, ' + o.layers + ' layers): ' + rows.filter((r) => r.precision !== 'bf16').map((r) => `${r.precision} ${f(r.quantizeSeconds, 1)} s`).join(', ') + '.');
  console.log(out.join('\n'));
}

main().catch((err: Error) => {
  console.error(err);
  process.exit(1);
});
