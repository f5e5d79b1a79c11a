// CPU speed of the native engine at Pixtral 12B's real shapes, from one process run:
// decode tok/s and the weight GB/s it streams against memcpy (and read-only) bandwidth measured in
// the same run, prefill tok/s, vision encoder ms for a 512x512 image, and peak RSS. The weights are
// random bf16 (test/bench/synthetic-model.ts) in stacks of N and 2N decoder layers with NV vision
// layers, one file for both. Decode runs on both stacks in alternating rounds; the full 40-layer
// figure is the full model's bytes at the GB/s they achieved, with the two-stack solve
// t(n) = fixed + n·layer beside it as a check. Prefill and vision scale from the small stack.
// The machine may be shared: every timed span also reports how long our threads waited for a CPU.
//
// Run:  npm run bench:cpu [-- --layers N --vision-layers NV --tokens M --prompts 128,512
//                            --threads T --vocab V --repeat R --quick]
// Prints a markdown table (gpt-fast style: hardware, batch 1, prompt length, tok/s and GB/s) and
// writes the same figures as JSON to .bench/cpu-<date>.json. Progress goes to stderr.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadNative, type MemoryReport, type ModelInfo, type NativeEngine } from '../../src/engine/native';
import { loadNativeTesting } from '../support/native-testing';
import { BandwidthProbe } from './bandwidth-probe';
import { mulberry32 } from '../support/random';
import {
  ensureSyntheticModel,
  PIXTRAL_12B,
  randomBf16Pattern,
  tensorList,
  tensorBytes,
  weightBytes,
  type ModelShape,
  type SyntheticModel,
  type WeightBytes,
} from './synthetic-model';

// ---- options ----------------------------------------------------------------------------------

interface Options {
  layers: number;
  visionLayers: number;
  tokens: number;
  prompts: number[];
  threads: number;
  vocab: number;
  quick: boolean;
  memcpyBytes: number;
  /** Runs of each prefill / vision / adapter measurement; the best is reported. */
  repeat: number;
}

function parseArgs(argv: string[]): Options {
  const quick = argv.includes('--quick');
  const o: Options = quick
    ? { layers: 2, visionLayers: 1, tokens: 8, prompts: [32, 128], threads: 0, vocab: 8192, quick, memcpyBytes: 64 << 20, repeat: 2 }
    : { layers: 4, visionLayers: 4, tokens: 16, prompts: [128, 512], threads: 0, vocab: PIXTRAL_12B.vocabSize, quick, memcpyBytes: 1 << 30, repeat: 2 };
  const int = (flag: string, v: string | undefined): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`${flag} needs a positive integer, got ${v}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = (): string | undefined => argv[++i];
    if (a === '--quick') continue;
    else if (a === '--layers') o.layers = int(a, next());
    else if (a === '--vision-layers') o.visionLayers = int(a, next());
    else if (a === '--tokens') o.tokens = Math.max(3, int(a, next()));
    else if (a === '--threads') o.threads = int(a, next());
    else if (a === '--vocab') o.vocab = int(a, next());
    else if (a === '--repeat') o.repeat = int(a, next());
    else if (a === '--prompts') o.prompts = (next() ?? '').split(',').map((p) => int(a, p));
    else if (a === '--help' || a === '-h') {
      console.log(
        'usage: npm run bench:cpu -- [--layers N=4] [--vision-layers NV=4] [--tokens M=16] [--prompts 128,512]\n' +
          '                          [--threads T=all cores] [--vocab V=131072] [--repeat R=2] [--quick]',
      );
      process.exit(0);
    } else throw new Error(`unknown flag ${a} (try --help)`);
  }
  if (!o.threads) o.threads = os.cpus().length;
  return o;
}

/** New tokens of a follow-up question (its text and the turn markers). */
const FOLLOW_UP_TOKENS = 40;

/** A tiny model for a smoke run in seconds; same code paths, same table. */
const QUICK_SHAPE: ModelShape = {
  dim: 256,
  nLayers: 0,
  headDim: 32,
  hiddenDim: 768,
  nHeads: 8,
  nKvHeads: 2,
  vocabSize: 8192,
  vision: { hidden: 64, layers: 0, heads: 4, intermediate: 256, patchSize: 16, imageSize: 1024 },
};

// ---- the addon, with the parts of its API that src/engine/native.ts does not type yet -----------

type MemoryWithPeak = MemoryReport & { peakRssBytes?: number };

const addon = loadNative();
const testing = loadNativeTesting();

// ---- helpers ----------------------------------------------------------------------------------

const log = (line: string): void => void process.stderr.write(`# ${line}\n`);
const now = (): number => performance.now();
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const GB = 1e9;
const GiB = 2 ** 30;
/** The stacks' decode rate below this share of the matvec kernel alone is flagged as a gap. */
const GAP_FLAG = 0.85;

/** Ordinary text ids: above the control / image ids (0..999 in tekken), inside the vocabulary. */
function randomIds(n: number, vocab: number, seed: number): Int32Array {
  const r = mulberry32(seed);
  const lo = Math.min(1000, vocab >> 1);
  return Int32Array.from({ length: n }, () => lo + Math.floor(r() * (vocab - lo)));
}

/** A 512x512 image, already normalised (CHW float32, values like CLIP-normalised pixels). */
function randomImage(size: number): { pixels: Float32Array; height: number; width: number } {
  const r = mulberry32(7); // seeded: the same image on every run
  const pixels = new Float32Array(3 * size * size);
  for (let i = 0; i < pixels.length; i++) pixels[i] = r() * 3.6 - 1.8;
  return { pixels, height: size, width: size };
}

// ---- measurements -----------------------------------------------------------------------------

/**
 * CPU time and run-queue wait of all of this process's threads (Linux /proc/self/task/N/schedstat:
 * ns on a CPU, ns runnable but waiting for one). The wait is how much other processes took from us.
 */
function schedstat(): { cpuNs: number; waitNs: number } | undefined {
  try {
    let cpuNs = 0, waitNs = 0;
    for (const tid of readdirSync('/proc/self/task')) {
      try {
        const [cpu, wait] = readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ').map(Number);
        cpuNs += cpu;
        waitNs += wait;
      } catch {
        // the thread exited between the listing and the read
      }
    }
    return { cpuNs, waitNs };
  } catch {
    return undefined;
  }
}

/** A timed span: wall seconds and the share of (wall x threads) our threads spent waiting for a CPU. */
interface Span {
  seconds: number;
  cpuWait: number;
}

async function span(threads: number, fn: () => Promise<unknown> | unknown): Promise<Span> {
  const s0 = schedstat();
  const t = now();
  await fn();
  const seconds = (now() - t) / 1000;
  const s1 = schedstat();
  const cpuWait = s0 && s1 ? (s1.waitNs - s0.waitNs) / 1e9 / (seconds * threads) : NaN;
  return { seconds, cpuWait };
}

/** `o.repeat` timed runs of fn. */
async function repeat(o: Options, what: string, fn: () => Promise<unknown>): Promise<Span[]> {
  const spans: Span[] = [];
  for (let i = 0; i < o.repeat; i++) spans.push(await span(o.threads, fn));
  log(`${what}: ${spans.map((x) => `${(x.seconds * 1000).toFixed(0)} ms (CPU wait ${(100 * x.cpuWait).toFixed(0)}%)`).join(', ')}`);
  return spans;
}

/** The fastest run: interference from other processes only ever adds time (STREAM reports the best too). */
const best = (spans: Span[]): Span => spans.reduce((a, b) => (b.seconds < a.seconds ? b : a));

interface DecodeRun {
  promptTokens: number;
  /** Seconds between consecutive tokens: one forward pass of one token plus sampling. */
  intervals: number[];
  stepSeconds: number; // median
  /** Mean step of the fastest round. */
  bestRoundSeconds: number;
  cpuWait: number;
}

interface Model {
  name: string;
  layers: number;
  visionLayers: number;
  engine: NativeEngine;
  info: ModelInfo;
  loadMs: number;
  warmupMs: number;
}

async function openModel(dir: string, name: string, layers: number, visionLayers: number, o: Options): Promise<Model> {
  const engine: NativeEngine = new addon.Engine();
  const contextLength = Math.max(1024, ...o.prompts.map((p) => p + 8), 16 + 2 * o.tokens + 16);
  let t = now();
  const info = await engine.load(dir, { threads: o.threads, contextLength });
  const loadMs = now() - t;
  // Warm-up: the weights are mmapped, so a first pass faults every page in. A short prefill reads
  // every decoder matrix and the head; a few decode steps settle the caches and the thread pool.
  t = now();
  await engine.prefill(randomIds(16, info.config.vocabSize, 1));
  await engine.generate({ maxTokens: 3, temperature: 0, stopIds: [] }, () => {});
  const warmupMs = now() - t;
  log(`${name}: loaded in ${loadMs.toFixed(0)} ms, warm-up (fault-in) ${warmupMs.toFixed(0)} ms`);
  return { name, layers, visionLayers, engine, info, loadMs, warmupMs };
}

/**
 * Decode on both stacks in alternating rounds, so that load from other processes hits both alike
 * (the difference between them is the per-layer cost). Greedy, no stop ids: every step runs.
 * The bandwidth yardsticks are sampled before each round and at the end.
 */
async function measureDecode(models: Model[], o: Options, probe: BandwidthProbe): Promise<DecodeRun[]> {
  const rounds = o.quick ? 2 : 4;
  const perRound = Math.max(2, Math.ceil(o.tokens / rounds));
  const promptTokens = 16;
  const runs = models.map(() => ({ intervals: [] as number[], roundMeans: [] as number[], wait: 0, wall: 0 }));
  for (const m of models) {
    m.engine.reset();
    await m.engine.prefill(randomIds(promptTokens, m.info.config.vocabSize, 2));
  }
  for (let r = 0; r < rounds; r++) {
    await probe.sample();
    for (const [i, m] of models.entries()) {
      const stamps: number[] = [];
      // The first token comes from the previous logits; each later one costs one forward pass.
      const s = await span(o.threads, () =>
        m.engine.generate({ maxTokens: perRound + 1, temperature: 0, stopIds: [] }, () => void stamps.push(now())),
      );
      runs[i].intervals.push(...stamps.slice(1).map((x, k) => (x - stamps[k]) / 1000));
      runs[i].roundMeans.push((stamps[perRound] - stamps[0]) / 1000 / perRound);
      runs[i].wait += s.cpuWait * s.seconds;
      runs[i].wall += s.seconds;
    }
    log(`decode round ${r + 1}/${rounds}: ` + models.map((m, i) => `${m.name} ${(median(runs[i].intervals) * 1000).toFixed(1)} ms`).join(', '));
  }
  await probe.sample();
  return runs.map((r) => ({
    promptTokens,
    intervals: r.intervals,
    stepSeconds: median(r.intervals),
    // Best round, not best interval: token callbacks can arrive in bursts when steps are very short.
    bestRoundSeconds: Math.min(...r.roundMeans),
    cpuWait: r.wait / r.wall,
  }));
}

/** The decode matvec alone (the CPU backend's matmul alone, T = 1, same kernels and thread count as load). */
function matvecKernel(rows: number, cols: number, threads: number): { seconds: number; bytes: number } {
  const w = new Uint16Array(rows * cols);
  const pat = randomBf16Pattern(Math.min(w.length, 1 << 20), 99);
  for (let i = 0; i < w.length; i += pat.length) w.set(pat.subarray(0, Math.min(pat.length, w.length - i)), i);
  const x = new Float32Array(cols).fill(0.01);
  // The first run is the warm-up (first touch of the weight, thread start).
  const { seconds } = testing.matmulBf16(x, w, 1, cols, rows, threads, 8);
  return { seconds: median(seconds.slice(1)), bytes: w.byteLength };
}

// ---- report -----------------------------------------------------------------------------------

/** Solves t(n) = fixed + n * perLayer from two stack sizes. */
function solve(nA: number, tA: number, nB: number, tB: number): { perLayer: number; fixed: number } {
  const perLayer = (tB - tA) / (nB - nA);
  return { perLayer, fixed: tA - nA * perLayer };
}

const f = (x: number, digits = 1): string => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');
const pct = (x: number): string => `${f(100 * x, 0)}%`;
const ms = (s: number): string => `${f(s * 1000, s < 0.1 ? 2 : 1)} ms`;
const gb = (b: number): string => `${f(b / GB, 2)} GB`;

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const base: ModelShape = o.quick ? QUICK_SHAPE : { ...PIXTRAL_12B, vocabSize: o.vocab };
  // The implied full model: the measured shapes with 12B's layer counts (40 decoder, 24 vision).
  const full: ModelShape = { ...base, nLayers: PIXTRAL_12B.nLayers, vision: { ...base.vision, layers: PIXTRAL_12B.vision.layers } };
  const small = { name: `L${o.layers}-V${o.visionLayers}`, layers: o.layers, visionLayers: o.visionLayers };
  const big = { name: `L${2 * o.layers}-V${o.visionLayers}`, layers: 2 * o.layers, visionLayers: o.visionLayers };
  const largest: ModelShape = { ...base, nLayers: big.layers, vision: { ...base.vision, layers: o.visionLayers } };
  const wb = weightBytes(base);
  const fullWb = weightBytes(full);
  const started = new Date();
  const loadBefore = os.loadavg()[0];
  const cpu = os.cpus()[0]?.model.trim() ?? 'unknown CPU';
  log(`${cpu}, ${os.cpus().length} cores, ${(os.totalmem() / GiB).toFixed(1)} GiB RAM, ${o.threads} threads, kernels ${addon.cpuKernels()}`);
  if (loadBefore > 0.5 * os.cpus().length)
    log(`WARNING: load average ${loadBefore.toFixed(2)} on ${os.cpus().length} cores: other processes compete, figures will be low and noisy`);

  const cacheDir = path.resolve(__dirname, '..', '..', '.bench');
  const model = ensureSyntheticModel(cacheDir, o.quick ? 'synthetic-quick' : 'synthetic', largest, [small, big], log);
  log(
    `weights ${model.root}: ${gb(model.fileBytes)} ` +
      (model.reused ? '(reused)' : `(written in ${f(model.writeSeconds)} s, ${f(model.fileBytes / GB / model.writeSeconds, 2)} GB/s)`),
  );

  const probe = new BandwidthProbe({ bytes: o.memcpyBytes, threads: o.threads, iters: o.quick ? 3 : 4 }, log);
  try {
    await probe.sample();

    // The small stack alone first, so that its peak RSS is its own: prefill, vision, adapter.
    const A = await openModel(model.dirs[small.name], small.name, small.layers, small.visionLayers, o);
    const V = A.info.config.vocabSize;
    const prefillRuns: { tokens: number; span: Span; all: Span[] }[] = [];
    for (const T of o.prompts) {
      const ids = randomIds(T, V, 100 + T);
      const all = await repeat(o, `prefill ${T} tokens on ${A.name}`, () => {
        A.engine.reset();
        return A.engine.prefill(ids);
      });
      prefillRuns.push({ tokens: T, span: best(all), all });
    }
    // A follow-up turn: the last prompt stays in the KV cache (rewind keeps it), only the new
    // tokens run.
    const cachedTokens = o.prompts.at(-1)!;
    const followUpIds = randomIds(FOLLOW_UP_TOKENS, V, 999);
    const followUpAll = await repeat(o, `follow-up: ${FOLLOW_UP_TOKENS} new tokens after ${cachedTokens} cached`, () => {
      A.engine.rewind(cachedTokens);
      return A.engine.prefill(followUpIds);
    });
    // Vision: one 512x512 image, 32x32 patches at patch 16. Its weights (NV x 34 MB) fault in
    // within a few ms, on the first of the repeats.
    const image = randomImage(512);
    let encoded: Awaited<ReturnType<NativeEngine['encodeImages']>> | undefined;
    const visionAll = await repeat(o, `vision encoder, ${o.visionLayers} layers`, async () => void (encoded = await A.engine.encodeImages([image])));
    const S = encoded!.tokensPerImage[0];
    const adapterAll = await repeat(o, `adapter, ${S} rows`, () => A.engine.project(encoded!.out, S));
    const visionSpan = best(visionAll), adapterSpan = best(adapterAll);
    const memoryA = A.engine.memory() as MemoryWithPeak;

    // Decode on both stacks, alternating. Both map the same file (page cache shared), but RSS
    // counts resident pages per mapping, so the large stack's own RSS is the difference.
    const B = await openModel(model.dirs[big.name], big.name, big.layers, big.visionLayers, o);
    const [decA, decB] = await measureDecode([A, B], o, probe);
    const memoryBoth = B.engine.memory() as MemoryWithPeak;
    B.engine.unload();
    A.engine.unload();

    log('decode matvec kernel alone');
    const F = base.hiddenDim, D = base.dim, Q = base.nHeads * base.headDim, KV = base.nKvHeads * base.headDim;
    const kernelShapes: [string, number, number, number][] = [
      ['wq', Q, D, 1],
      ['wk, wv', KV, D, 2],
      ['wo', D, Q, 1],
      ['w1, w3', F, D, 2],
      ['w2', D, F, 1],
    ];
    const kernels = kernelShapes.map(([name, rows, cols, count]) => ({ name, rows, cols, count, ...matvecKernel(rows, cols, o.threads) }));
    const kernelLayerSeconds = kernels.reduce((a, k) => a + k.count * k.seconds, 0);
    await probe.sample();
    // The compute-bound stages' yardstick, sampled after them as the bandwidth is around them.
    const peaks = [0, 1, 2].map(() => testing.fmaPeak(o.threads));
    report({ o, base, full, wb, fullWb, started, loadBefore, cpu, cacheDir, model, A, B, decA, decB, memoryA, memoryBoth,
      prefillRuns, followUp: { cachedTokens, span: best(followUpAll), all: followUpAll }, visionSpan, visionAll, S, adapterSpan,
      adapterAll, kernels, kernelLayerSeconds, memcpySamples: probe.memcpy, readSamples: probe.read,
      fmaPeakSamples: peaks.map((p) => p.flops), fmaBits: peaks[0].bits });
  } finally {
    probe.close();
  }
}

interface Results {
  o: Options;
  base: ModelShape;
  full: ModelShape;
  wb: WeightBytes;
  fullWb: WeightBytes;
  started: Date;
  loadBefore: number;
  cpu: string;
  cacheDir: string;
  model: SyntheticModel;
  A: Model;
  B: Model;
  decA: DecodeRun;
  decB: DecodeRun;
  memoryA: MemoryWithPeak;
  memoryBoth: MemoryWithPeak;
  prefillRuns: { tokens: number; span: Span; all: Span[] }[];
  followUp: { cachedTokens: number; span: Span; all: Span[] };
  visionAll: Span[];
  adapterAll: Span[];
  visionSpan: Span;
  S: number;
  adapterSpan: Span;
  kernels: { name: string; rows: number; cols: number; count: number; seconds: number; bytes: number }[];
  kernelLayerSeconds: number;
  memcpySamples: number[];
  readSamples: number[];
  /** fp32 FLOP/s of the widest vector FMA on all threads (testing.fmaPeak); not used where fmaBits is 0 (no probe). */
  fmaPeakSamples: number[];
  fmaBits: number;
}

function report(r: Results): void {
  const { o, base, full, wb, fullWb, started, loadBefore, cpu, cacheDir, model, A, B, decA, decB, memoryA, memoryBoth } = r;
  const { prefillRuns, followUp, visionSpan, S, adapterSpan, kernels, kernelLayerSeconds } = r;
  const memcpy = r.memcpySamples;
  const memcpyBw = median(memcpy);
  const readBw = median(r.readSamples);
  const fmaPeak = r.fmaBits ? median(r.fmaPeakSamples) : NaN;
  const Q = base.nHeads * base.headDim;

  // ---- derived figures ----
  const bytesPerToken = (n: number): number => n * wb.decoderLayer + wb.decodeFixed;
  const flopPerToken = (n: number): number => 2 * (n * wb.decoderLayerParams + wb.headParams);
  const fullBytesPerToken = full.nLayers * fullWb.decoderLayer + fullWb.decodeFixed;
  const fullFlopPerToken = 2 * (full.nLayers * fullWb.decoderLayerParams + fullWb.headParams);
  // Decode is one bf16 matvec stream (≈99% of a step in a perf profile; the head streams at the
  // layers' rate), so the full model's step is its bytes at the rate the two stacks achieved.
  const pooledRate = (bytesPerToken(A.layers) + bytesPerToken(B.layers)) / (decA.stepSeconds + decB.stepSeconds);
  const fullDecode = fullBytesPerToken / pooledRate;
  const headSeconds = wb.decodeFixed / pooledRate;
  // The issue's method: t(n) = fixed + n·layer from the two stacks. Sensitive to noise (it is a
  // difference of two timings), so it is checked against the read rates it implies.
  const dec = solve(A.layers, decA.stepSeconds, B.layers, decB.stepSeconds);
  const fullDecodeSolved = full.nLayers * dec.perLayer + dec.fixed;
  const layerRate = wb.decoderLayer / dec.perLayer, fixedRate = wb.decodeFixed / dec.fixed;
  const solveConsistent = dec.fixed > 0 && dec.perLayer > 0 && Math.max(layerRate, fixedRate) / Math.min(layerRate, fixedRate) < 1.5;
  const Dv = base.vision.hidden;
  const visionLayerFlop = 2 * wb.visionLayerParams * S + 4 * S * S * Dv; // matmuls + QK^T and PV
  const fullVision = (visionSpan.seconds * full.vision.layers) / o.visionLayers;
  const attnFlop = (T: number): number => 2 * T * T * Q; // causal QK^T and PV, per layer
  const prefill = prefillRuns.map(({ tokens, span: s }) => {
    const perLayer = (s.seconds - headSeconds) / A.layers; // the head runs on the last row only
    const fullSeconds = full.nLayers * perLayer + headSeconds;
    const flop = (n: number): number => n * (2 * wb.decoderLayerParams * tokens + attnFlop(tokens)) + 2 * wb.headParams;
    return { tokens, seconds: s.seconds, cpuWait: s.cpuWait, perLayer, fullSeconds, flop: flop(A.layers), fullFlop: flop(full.nLayers) };
  });
  const fullModelBytes = tensorList(full).reduce((a, t) => a + tensorBytes(t), 0);
  const kvPerLayer = memoryA.kvCacheBytes / A.layers;

  // Image prompt of a 512x512 image: 32 rows of 32 [IMG] + one [IMG_BREAK]/[IMG_END] each (spec d).
  const imageTokens = S + Math.sqrt(S);
  const last = prefill.at(-1);
  const imageTtft = last ? fullVision + adapterSpan.seconds + (imageTokens * last.fullSeconds) / last.tokens : NaN;
  const followUpFull = (full.nLayers * (followUp.span.seconds - headSeconds)) / A.layers + headSeconds;

  // ---- table ----
  const vs = (bytesPerSecond: number): string[] => [pct(bytesPerSecond / memcpyBw), pct(bytesPerSecond / readBw)];
  // GFLOP/s of a compute-bound stage, with its share of the FMA peak where the peak is known.
  const gflops = (flopPerSecond: number): string =>
    `${f(flopPerSecond / GB, 1)}${Number.isFinite(fmaPeak) ? ` (${pct(flopPerSecond / fmaPeak)} of peak)` : ''}`;
  const lines: string[] = [];
  const row = (...cells: string[]): void => void lines.push(`| ${cells.join(' | ')} |`);
  const date = started.toISOString().replace('T', ' ').slice(0, 16) + ' UTC';
  const loadAfter = os.loadavg()[0];
  const range = (xs: number[]): string => `median of ${xs.length}, ${f(Math.min(...xs) / GB, 1)}–${f(Math.max(...xs) / GB, 1)}`;
  lines.push(`### CPU benchmark, ${date}${o.quick ? ' (--quick: tiny shapes, smoke run only)' : ''}`);
  lines.push('');
  lines.push(
    `Hardware: ${cpu}, ${os.cpus().length} cores, ${f(os.totalmem() / GiB)} GiB RAM, ${os.platform()} ${os.release()}; ` +
      `${o.threads} threads, CPU kernels \`${addon.cpuKernels()}\`; node ${process.version}; ` +
      `load average ${f(loadBefore, 2)} before, ${f(loadAfter, 2)} after.`,
  );
  lines.push(
    `Model: random bf16 weights at ${o.quick ? 'tiny' : 'Pixtral 12B'} shapes (dim ${base.dim}, ${base.nHeads} heads / ` +
      `${base.nKvHeads} kv, head_dim ${base.headDim}, FFN ${base.hiddenDim}, vocab ${base.vocabSize}; vision ${Dv}, ` +
      `${base.vision.heads} heads, FFN ${base.vision.intermediate}), stacks of ${A.layers} and ${B.layers} decoder layers ` +
      `and ${o.visionLayers} vision layers (weights file ${gb(model.fileBytes)}, mmapped, resident). Batch 1. ` +
      `Decode: ${decA.promptTokens}-token prompt, ${decA.intervals.length} greedy steps per stack.`,
  );
  lines.push('');
  row('what', 'setting', 'time', 'tok/s', 'GB/s', 'of memcpy ⁰', 'of read ⁰', 'GFLOP/s', 'CPU wait ⁷');
  row('---', '---', '---:', '---:', '---:', '---:', '---:', '---:', '---:');
  row('memcpy bandwidth', `bytes copied/s, ${f(o.memcpyBytes / GiB, 2)} GiB, ${o.threads} threads, ${range(memcpy)}`, '', '', f(memcpyBw / GB, 2), '100%', '', '', '');
  row('read bandwidth', `memcmp, ${f(o.memcpyBytes / GiB, 2)} GiB, ${o.threads} threads, ${range(r.readSamples)}`, '', '', f(readBw / GB, 2), '', '100%', '', '');
  row(
    'fp32 FMA peak',
    r.fmaBits ? `${r.fmaBits}-bit FMA chains, ${o.threads} threads, ${range(r.fmaPeakSamples)} GFLOP/s` : 'no probe for this processor',
    '', '', '', '', '',
    r.fmaBits ? f(fmaPeak / GB, 1) : 'n/a',
    '',
  );
  for (const [m, d] of [[A, decA], [B, decB]] as const) {
    const t = d.stepSeconds;
    row(
      `decode, ${m.layers} layers + head`,
      `${gb(bytesPerToken(m.layers))}/token, median of ${d.intervals.length} steps`,
      ms(t),
      f(1 / t, 2),
      f(bytesPerToken(m.layers) / t / GB, 2),
      ...vs(bytesPerToken(m.layers) / t),
      f(flopPerToken(m.layers) / t / GB, 1),
      pct(d.cpuWait),
    );
  }
  row(
    `**decode, full ${full.nLayers}-layer model (implied)** ¹`,
    `${gb(fullBytesPerToken)}/token at the stacks' ${f(pooledRate / GB, 2)} GB/s`,
    `**${ms(fullDecode)}**`,
    `**${f(1 / fullDecode, 2)}**`,
    `**${f(pooledRate / GB, 2)}**`,
    ...vs(pooledRate).map((c) => `**${c}**`),
    f(fullFlopPerToken / fullDecode / GB, 1),
    '',
  );
  row(
    'decode, one layer (two-stack solve) ²',
    `${gb(wb.decoderLayer)}/layer`,
    ms(dec.perLayer),
    '',
    f(layerRate / GB, 2),
    ...vs(layerRate),
    f((2 * wb.decoderLayerParams) / dec.perLayer / GB, 1),
    '',
  );
  row(
    'decode, fixed part (two-stack solve) ²',
    `head ${base.vocabSize}×${base.dim} (${gb(wb.decodeFixed)}), sampling`,
    ms(dec.fixed),
    '',
    f(fixedRate / GB, 2),
    ...vs(fixedRate),
    '',
    '',
  );
  row(
    `decode, full model (two-stack solve) ²`,
    solveConsistent ? `${full.nLayers}·layer + fixed` : `${full.nLayers}·layer + fixed: **inconsistent, noise** (layer and head rates differ > 1.5×)`,
    ms(fullDecodeSolved),
    f(1 / fullDecodeSolved, 2),
    f(fullBytesPerToken / fullDecodeSolved / GB, 2),
    ...vs(fullBytesPerToken / fullDecodeSolved),
    '',
    '',
  );
  row(
    'decode matvecs of one layer, kernel alone ³',
    kernels.map((k) => `${k.rows}×${k.cols}: ${f(k.bytes / k.seconds / GB, 1)} GB/s`).join('; '),
    ms(kernelLayerSeconds),
    '',
    f(wb.decoderLayer / kernelLayerSeconds / GB, 2),
    ...vs(wb.decoderLayer / kernelLayerSeconds),
    '',
    '',
  );
  for (const p of prefill)
    row(
      `prefill, ${A.layers} layers + head`,
      `prompt ${p.tokens}, one chunk, best of ${o.repeat}`,
      ms(p.seconds),
      f(p.tokens / p.seconds, 1),
      f(bytesPerToken(A.layers) / p.seconds / GB, 2),
      '',
      '',
      gflops(p.flop / p.seconds),
      pct(p.cpuWait),
    );
  for (const p of prefill)
    row(
      `**prefill, full model (implied)** ⁴`,
      `prompt ${p.tokens}`,
      `${f(p.fullSeconds, 1)} s`,
      `**${f(p.tokens / p.fullSeconds, 1)}**`,
      f(fullBytesPerToken / p.fullSeconds / GB, 2),
      '',
      '',
      gflops(p.fullFlop / p.fullSeconds),
      '',
    );
  row(
    `vision encoder, ${o.visionLayers} layers`,
    `512×512 image, ${S} patches, best of ${o.repeat}`,
    ms(visionSpan.seconds),
    `${f(S / visionSpan.seconds, 0)} patch/s`,
    '',
    '',
    '',
    gflops((o.visionLayers * visionLayerFlop) / visionSpan.seconds),
    pct(visionSpan.cpuWait),
  );
  row(
    `**vision encoder, ${full.vision.layers} layers (implied)** ⁵`,
    `512×512 image`,
    `**${f(fullVision, 1)} s**`,
    `${f(S / fullVision, 0)} patch/s`,
    '',
    '',
    '',
    gflops((full.vision.layers * visionLayerFlop) / fullVision),
    '',
  );
  row(
    'vision adapter',
    `${S} rows, ${Dv}→${base.dim}→${base.dim}, best of ${o.repeat}`,
    ms(adapterSpan.seconds),
    '',
    '',
    '',
    '',
    gflops((2 * wb.adapterParams * S) / adapterSpan.seconds),
    pct(adapterSpan.cpuWait),
  );
  row('image prompt to first token (implied) ⁶', `512×512 image = ${imageTokens} tokens, full model`, `${f(imageTtft, 0)} s`, '', '', '', '', '', '');
  row(
    `follow-up, ${A.layers} layers + head`,
    `${FOLLOW_UP_TOKENS} new tokens, ${followUp.cachedTokens} reused from the cache, best of ${o.repeat}`,
    ms(followUp.span.seconds),
    f(FOLLOW_UP_TOKENS / followUp.span.seconds, 1),
    '',
    '',
    '',
    '',
    pct(followUp.span.cpuWait),
  );
  row(
    '**follow-up to first token (implied)** ¹⁰',
    `full model, ${FOLLOW_UP_TOKENS} new tokens after a turn with the image`,
    `**${f(followUpFull, 1)} s**`,
    '',
    '',
    '',
    '',
    '',
    `${f(imageTtft / followUpFull, 0)}× sooner than the first turn`,
  );
  // The stacks against the same matvecs on anonymous memory: a gap is time outside the kernel
  // (file-backed 4 KiB pages and their TLB misses, page faults, threads waiting, the rest of a step).
  const kernelRate = wb.decoderLayer / kernelLayerSeconds;
  const stackShare = pooledRate / kernelRate;
  lines.push('');
  lines.push(
    stackShare < GAP_FLAG
      ? `**Gap: the stacks stream ${f(pooledRate / GB, 2)} GB/s, ${pct(stackShare)} of the kernel alone (${f(kernelRate / GB, 2)} GB/s); ` +
          `below ${pct(GAP_FLAG)} is flagged. CPU wait of the stacks ${pct(decA.cpuWait)} / ${pct(decB.cpuWait)}.**`
      : `No gap: the stacks stream ${f(pooledRate / GB, 2)} GB/s, ${pct(stackShare)} of the kernel alone (${f(kernelRate / GB, 2)} GB/s).`,
  );
  lines.push('');
  row('memory', 'weights mapped', 'KV cache', 'scratch', 'RSS', 'peak RSS (process)');
  row('---', '---:', '---:', '---:', '---:', '---:');
  const peak = (m: MemoryWithPeak): string => (m.peakRssBytes === undefined ? 'n/a' : gb(m.peakRssBytes));
  row(
    `${A.layers} decoder + ${o.visionLayers} vision layers, alone (after prefill ${Math.max(...o.prompts)}, vision, adapter)`,
    gb(memoryA.weightBytes),
    gb(memoryA.kvCacheBytes),
    gb(memoryA.scratchBytes),
    gb(memoryA.rssBytes),
    peak(memoryA),
  );
  row(
    `${B.layers} decoder + ${o.visionLayers} vision layers (after decode) ⁹`,
    gb(memoryBoth.weightBytes),
    gb(memoryBoth.kvCacheBytes),
    gb(memoryBoth.scratchBytes),
    `≈ ${gb(memoryBoth.rssBytes - memoryA.rssBytes)}`,
    '',
  );
  const fullResident = fullModelBytes - fullWb.embedding + kvPerLayer * full.nLayers + memoryA.scratchBytes;
  row(
    `full model (implied) ⁸`,
    gb(fullModelBytes),
    gb(kvPerLayer * full.nLayers),
    gb(memoryA.scratchBytes),
    gb(fullResident),
    `${pct(fullResident / os.totalmem())} of this machine's RAM${fullResident > 0.8 * os.totalmem() ? ' (**too big to stay resident beside the OS and editor**)' : ''}`,
  );
  lines.push('');
  lines.push(
    `⁰ Weight bytes read per second as a share of the memcpy copy rate (the issue's yardstick; memcpy reads and writes ` +
      `every byte, so its memory traffic is twice that) and of a read-only stream (memcmp of two equal buffers), which is ` +
      `what a matvec does. Both are measured in a child process between the decode rounds.`,
  );
  lines.push(
    `¹ Bytes per token of the full model ÷ the GB/s the two stacks achieved together (their bytes ÷ their median step ` +
      `times; a step = the time between two tokens, one forward pass incl. sampling, the stacks run in alternating rounds). ` +
      `Valid because decode is one bf16 matvec stream: a perf profile puts ≈99% of a step in the matvec and the head streams ` +
      `at the layers' rate. KV-cache reads (≤ ${decA.promptTokens + 2 * o.tokens} positions) are < 0.1% and not counted.`,
  );
  lines.push(
    `² t(n) = fixed + n·layer solved from the two stacks' median steps; full = ${full.nLayers}·layer + fixed. A difference ` +
      `of two timings, so contention (CPU wait) easily makes it inconsistent; it is flagged when the rates it implies for a ` +
      `layer and for the head differ by more than 1.5×.`,
  );
  lines.push(
    `³ testing.matmulBf16 on a JS-allocated bf16 matrix taken once as a checkpoint weight is (the kernel set's layout), T = 1, the op alone, median of 7 runs after a warm-up, same CPU backend and thread count; ` +
      `time = one layer's 7 matrices (wq, wk, wv, wo, w1, w3, w2) added up.`,
  );
  lines.push(
    `⁴ ${full.nLayers}·(t_prefill − head)/${A.layers} + head, head time from ¹ (only the last row goes through the head). ` +
      `Prefill is compute-bound: GFLOP/s counts 2 FLOP per weight per token plus causal attention; "of peak" is its share of ` +
        `the fp32 FMA peak measured in the same run (independent FMA chains on every thread, nothing loaded).`,
  );
  lines.push(
    `⁵ ${full.vision.layers}/${o.visionLayers} × the measured time; counts the fixed part (patch conv, ln_pre: ` +
      `${f((2 * (wb.visionFixed / 2) * S) / GB, 1)} GFLOP) ${full.vision.layers / o.visionLayers} times, a small overestimate. ` +
      `GFLOP/s counts the matmuls and the (unmasked, per image) attention.`,
  );
  lines.push(
    `⁶ vision (${full.vision.layers} layers) + adapter + prefill of ${imageTokens} tokens at the implied full-model ` +
      `prompt-${last?.tokens} rate; an estimate (attention cost grows with position).`,
  );
  lines.push(
    `⁷ Σ run-queue wait of our threads / (wall × ${o.threads} threads), from /proc/self/task/*/schedstat: the share of ` +
      `CPU time other processes took from this run. Figures with a high value are pessimistic.`,
  );
  lines.push(
    `⁸ Weights minus the embedding table (decode reads one row of it) + KV cache at the same context + scratch.`,
  );
  lines.push(
    `⁹ Open beside the small stack for the alternating decode rounds; RSS counts resident pages per mapping, so its ` +
      `own RSS is the process RSS then (${gb(memoryBoth.rssBytes)}) minus the small stack's; process peak ${peak(memoryBoth)}.`,
  );
  lines.push(
    `¹⁰ A follow-up question about the same image keeps the previous turn in the KV cache (Engine.rewind to the shared ` +
      `prefix) and prefills only its new tokens: ${full.nLayers}·(t − head)/${A.layers} + head, against the first turn's ⁶.`,
  );
  const table = lines.join('\n');
  console.log(table);

  const json = {
    date: started.toISOString(),
    loadAverage: { before: loadBefore, after: loadAfter },
    hardware: {
      cpu,
      cores: os.cpus().length,
      totalMemBytes: os.totalmem(),
      platform: `${os.platform()} ${os.release()} ${os.arch()}`,
      node: process.version,
      threads: o.threads,
      kernels: addon.cpuKernels(),
    },
    options: o,
    shape: base,
    weightsFile: { path: model.root, bytes: model.fileBytes, reused: model.reused, writeSeconds: model.writeSeconds },
    weightBytes: wb,
    memcpyBytesPerSecond: { samples: memcpy, median: memcpyBw },
    readBytesPerSecond: { samples: r.readSamples, median: readBw },
    fmaPeakFlops: { samples: r.fmaPeakSamples, median: fmaPeak, bits: r.fmaBits },
    models: [A, B].map((m) => ({ name: m.name, layers: m.layers, visionLayers: m.visionLayers, weightBytes: m.info.weightBytes, loadMs: m.loadMs, warmupMs: m.warmupMs })),
    decode: { [A.name]: decA, [B.name]: decB },
    prefill: prefill.map((p, i) => ({ ...p, runs: prefillRuns[i].all })),
    followUp: { newTokens: FOLLOW_UP_TOKENS, cachedTokens: followUp.cachedTokens, seconds: followUp.span.seconds, fullModelSeconds: followUpFull, runs: followUp.all },
    vision: { layers: o.visionLayers, patches: S, seconds: visionSpan.seconds, cpuWait: visionSpan.cpuWait, runs: r.visionAll },
    adapter: { rows: S, seconds: adapterSpan.seconds, cpuWait: adapterSpan.cpuWait, runs: r.adapterAll },
    memory: { bothStacks: memoryBoth, small: memoryA },
    kernels,
    derived: {
      decode: {
        bytesPerSecond: pooledRate,
        fractionOfMemcpy: pooledRate / memcpyBw,
        fractionOfRead: pooledRate / readBw,
        fullModelBytesPerToken: fullBytesPerToken,
        fullModelSeconds: fullDecode,
        fullModelTokensPerSecond: 1 / fullDecode,
        headSeconds,
        solve: { perLayerSeconds: dec.perLayer, fixedSeconds: dec.fixed, fullModelSeconds: fullDecodeSolved, consistent: solveConsistent },
      },
      visionFullModelSeconds: fullVision,
      imagePromptFirstTokenSeconds: imageTtft,
      fullModelWeightBytes: fullModelBytes,
    },
    table,
  };
  mkdirSync(cacheDir, { recursive: true });
  const out = path.join(cacheDir, `cpu-${started.toISOString().replace(/:/g, '-').slice(0, 19)}.json`);
  writeFileSync(out, `${JSON.stringify(json, null, 2)}\n`);
  log(`wrote ${out}; total ${f((now() - t0) / 1000)} s`);
}

const t0 = now();
main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
