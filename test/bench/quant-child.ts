// Child process of bench:quant (quant.ts): one engine on one weights file, alone in its process so
// that the peak RSS it reports is its own. "ours": the native engine on our layout (the folder, at
// a precision whose quantized file already exists); "llama": llama.cpp through node-llama-cpp on the
// GGUF of the same weights. Both get the same threads, token ids and counts: load, warm-up (the
// weights are mmapped: a first pass faults them in), the best of `repeat` prefills of `prompt` ids,
// then `tokens` greedy decode steps after a 16-id prompt, timed one by one.
// Protocol: the job as JSON in argv[2]; one message back, Measured (or { error }).
import { readFileSync } from 'node:fs';
import { loadNative, type WeightPrecision } from '../../src/engine/native';
import { mulberry32 } from '../support/random';

export interface Job {
  engine: 'ours' | 'llama';
  /** ours: the model folder; llama: the .gguf file. */
  path: string;
  precision: WeightPrecision;
  threads: number;
  prompt: number;
  tokens: number;
  repeat: number;
  vocab: number;
}

export interface Measured {
  loadSeconds: number;
  /** Best prefill of `prompt` ids. */
  prefillSeconds: number;
  /** Median seconds between consecutive decoded tokens. */
  stepSeconds: number;
  peakRssBytes: number;
  /** ours: the CPU kernel set that ran. */
  kernels?: string;
}

const now = (): number => performance.now() / 1000;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1];

/** Ordinary text ids (above tekken's 1000 control ids), seeded: both engines get the same. */
function ids(n: number, vocab: number, seed: number): number[] {
  const r = mulberry32(seed);
  return Array.from({ length: n }, () => 1000 + Math.floor(r() * (vocab - 1000)));
}

/** The process's peak resident set (VmHWM): mapped weight pages that were touched count too. */
function peakRss(): number {
  const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return kb ? Number(kb[1]) * 1024 : NaN;
}

/** What each engine must do; measure() times them the same way. */
interface Runner {
  prefill(ids: number[]): Promise<void>;
  /** Prefills `prompt`, then decodes `n` tokens greedily, calling `stamp` as each arrives. */
  decode(prompt: number[], n: number, stamp: () => void): Promise<void>;
}

async function measure(job: Job, runner: Runner, loadSeconds: number): Promise<Measured> {
  await runner.decode(ids(16, job.vocab, 1), 3, () => {}); // warm-up
  let prefillSeconds = Infinity;
  for (let i = 0; i < job.repeat; i++) {
    const t = now();
    await runner.prefill(ids(job.prompt, job.vocab, 2));
    prefillSeconds = Math.min(prefillSeconds, now() - t);
  }
  const stamps: number[] = [];
  await runner.decode(ids(16, job.vocab, 3), job.tokens + 1, () => void stamps.push(now()));
  // The first token comes from the prompt's pass; each later one costs one forward pass of one token.
  const steps = stamps.slice(1).map((x, k) => x - stamps[k]);
  return { loadSeconds, prefillSeconds, stepSeconds: median(steps), peakRssBytes: peakRss() };
}

async function ours(job: Job): Promise<Measured> {
  const native = loadNative();
  const engine = new native.Engine();
  const t = now();
  const info = await engine.load(job.path, { precision: job.precision, threads: job.threads, kvCache: 'f16', contextLength: contextFor(job) });
  if (info.quantizedNow) throw new Error(`${job.path} was quantized by this load: quant.ts quantizes before it measures`);
  const loadSeconds = now() - t;
  const measured = await measure(job, {
    async prefill(prompt) {
      engine.reset();
      await engine.prefill(Int32Array.from(prompt));
    },
    async decode(prompt, n, stamp) {
      engine.reset();
      await engine.prefill(Int32Array.from(prompt));
      await engine.generate({ maxTokens: n, temperature: 0, stopIds: [] }, stamp);
    },
  }, loadSeconds);
  return { ...measured, kernels: native.cpuKernels() };
}

async function llama(job: Job): Promise<Measured> {
  // node-llama-cpp is an ES module (with top-level await): imported, not required.
  const { getLlama, LlamaLogLevel } = await import('node-llama-cpp');
  const lib = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error, maxThreads: 0 });
  const t = now();
  const model = await lib.loadModel({ modelPath: job.path });
  // One batch holds the whole prompt, as our prefill chunk does; an f16 KV cache, as ours.
  const context = await model.createContext({ contextSize: contextFor(job), batchSize: job.prompt, threads: { ideal: job.threads, min: job.threads } });
  const sequence = context.getSequence();
  const loadSeconds = now() - t;
  type Token = Parameters<typeof sequence.evaluateWithoutGeneratingNewTokens>[0][number];
  return measure(job, {
    async prefill(prompt) {
      await sequence.clearHistory();
      await sequence.evaluateWithoutGeneratingNewTokens(prompt as Token[]);
    },
    async decode(prompt, n, stamp) {
      await sequence.clearHistory();
      const steps = sequence.evaluate(prompt as Token[], { temperature: 0 });
      // Each next() evaluates the token it yielded last and yields the next one.
      for (let i = 0; i < n; i++) {
        const { done } = await steps.next();
        if (done) throw new Error(`llama.cpp stopped after ${i} tokens`);
        stamp();
      }
      await steps.return();
    },
  }, loadSeconds);
}

function contextFor(job: Job): number {
  return Math.max(job.prompt, 16 + job.tokens + 8) + 64;
}

const job = JSON.parse(process.argv[2]) as Job;
(job.engine === 'ours' ? ours(job) : llama(job)).then(
  (measured) => process.send?.(measured, () => process.exit(0)),
  (err: Error) => process.send?.({ error: err.stack ?? err.message }, () => process.exit(1)),
);
