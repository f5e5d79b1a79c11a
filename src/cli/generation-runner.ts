// What `pixtral html|explain|table|ask` share: the backend flags (local model or remote
// endpoint), sampling overrides, streaming the answer to stdout through an optional filter,
// progress and tokens/s on stderr, and Ctrl-C as a clean cancel.
import path from 'node:path';
import { planPrecisions } from '../models/engine-check';
import {
  assertFits,
  assessFit,
  BUILT_IN_MODEL_NAME,
  checkModelFolder,
  describePrecision,
  FitError,
  isBuiltInSketchModel,
  isRandomWeightTestModel,
  KV_CACHE_TYPES,
  PRECISION_SETTINGS,
  TWELVE_B_ADVANTAGE,
  type PrecisionSetting,
} from '../models/index';
import type { TaskConversation, TaskInfo } from '../prompts/task';
import { GenerationError, type GenerationBackend } from '../service/generation-backend';
import { DEFAULT_REMOTE_MODEL, RemoteBackend } from '../service/remote-backend';
import { samplingFor, toGenerationRequest } from '../service/task-request';
import { WorkerClient } from '../service/worker-client';
import type { ImageRef, LoadOptions, ProgressInfo, StopReason, Timings, Usage } from '../worker/protocol';
import { CliError, integerFlag, type CliCommand, type CliIo } from './command';
import { chooseModel } from './model-choice';

export const BACKEND_OPTIONS = {
  model: { type: 'string' },
  'context-length': { type: 'string' },
  'kv-cache': { type: 'string' },
  precision: { type: 'string' },
  threads: { type: 'string' },
  backend: { type: 'string' },
  endpoint: { type: 'string' },
  'remote-model': { type: 'string' },
  verbose: { type: 'boolean' },
} satisfies CliCommand['options'];

export const BACKEND_USAGE = `model options:
  --model DIR            model folder (default: the first usable model "pixtral models list" shows)
  --context-length N     KV cache size in tokens (default: the engine's, 8192 at most)
  --kv-cache TYPE        KV cache element type: f16 (default), bf16, f32 (twice the memory) or
                         q8_0 (about half)
  --precision P          weights: auto (default: the best that fits in memory), bf16, q8_0 (8-bit)
                         or q4_0 (4-bit); the first load at q8_0/q4_0 quantizes into a file beside
                         the model, later loads map it
  --threads N            CPU threads for the engine
  --backend NAME         auto (default: the first of cuda, webgpu, cpu that runs here), cpu, cuda or
                         webgpu; a backend that cannot run here falls back to the CPU with a warning
  --endpoint URL         use an OpenAI-compatible server instead of the local model, e.g.
                         https://api.mistral.ai/v1; the key comes from PIXTRAL_API_KEY or MISTRAL_API_KEY
  --remote-model NAME    model name at --endpoint (default ${DEFAULT_REMOTE_MODEL})
  --verbose              show the worker's own log lines on stderr`;

export const TASK_OPTIONS = {
  ...BACKEND_OPTIONS,
  'max-tokens': { type: 'string' },
  temperature: { type: 'string' },
  seed: { type: 'string' },
  'image-tokens': { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
} satisfies CliCommand['options'];

export const TASK_USAGE = `generation options:
  --max-tokens N         stop after N tokens (default: the task's)
  --temperature T        0 = greedy (default: the task's)
  --seed N               sampling seed, for repeatable answers
  --image-tokens N       at most N prompt tokens per image (the image is scaled down to fit)
  -q, --quiet            no progress or speed on stderr

${BACKEND_USAGE}`;

type Values = Record<string, unknown>;

function numberFlag(values: Values, name: string): number | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new CliError(`--${name} must be a number >= 0, got "${String(raw)}"`, 2);
  return value;
}

const BACKENDS: readonly NonNullable<LoadOptions['backend']>[] = ['auto', 'cpu', 'cuda', 'webgpu'];

function kvCacheFlag(values: Values): LoadOptions['kvCache'] {
  const raw = values['kv-cache'];
  if (raw === undefined) return undefined;
  const type = KV_CACHE_TYPES.find((t) => t === raw);
  if (!type) throw new CliError(`--kv-cache must be one of ${KV_CACHE_TYPES.join(', ')}, got "${String(raw)}"`, 2);
  return type;
}

function precisionFlag(values: Values): PrecisionSetting {
  const raw = values.precision ?? 'auto';
  const precision = PRECISION_SETTINGS.find((p) => p === raw);
  if (!precision) throw new CliError(`--precision must be one of ${PRECISION_SETTINGS.join(', ')}, got "${String(raw)}"`, 2);
  return precision;
}

function backendFlag(values: Values): LoadOptions['backend'] {
  const raw = values.backend;
  if (raw === undefined) return undefined;
  const backend = BACKENDS.find((b) => b === raw);
  if (!backend) throw new CliError(`--backend must be one of ${BACKENDS.join(', ')}, got "${String(raw)}"`, 2);
  return backend;
}

/** The engine's default KV cache size (native/src/engine.cc), for the memory check. */
export const DEFAULT_CONTEXT_LENGTH = 8192;

/** Never start a load that cannot succeed: a broken folder or a model that does not fit in memory.
 *  Returns the weight precision to load at (the best that fits when the setting is auto). */
async function checkBeforeLoading(model: string, load: LoadOptions & { contextLength: number }, precision: PrecisionSetting): Promise<LoadOptions['precision']> {
  const check = await checkModelFolder(model);
  if (!check.ok) throw new CliError(`${model} cannot be loaded:\n  ${check.problems.join('\n  ')}`);
  if (!check.dims) return precision === 'auto' ? undefined : precision;
  try {
    let plans;
    try {
      // auto and cuda try CUDA first: the plan then carries its free VRAM for the fit check.
      const backend = !load.backend || load.backend === 'auto' ? 'cuda' : load.backend;
      plans = planPrecisions(model, { contextLength: load.contextLength, kvCache: load.kvCache, backend });
    } catch (err) {
      throw new CliError(`${model} cannot be loaded: ${(err as Error).message}`);
    }
    return assertFits(assessFit({ dims: check.dims, plans, contextLength: load.contextLength, precision })).precision;
  } catch (err) {
    if (err instanceof FitError) throw new CliError(err.message);
    throw err;
  }
}

export interface ChosenBackend {
  backend: GenerationBackend;
  /** The model is a random-weight test model (the embedded default until a trained one ships). */
  randomWeights: boolean;
}

/** The local worker for the chosen model, or a remote endpoint with --endpoint. */
export async function createBackend(values: Values, io: CliIo): Promise<ChosenBackend> {
  if (typeof values.endpoint === 'string') {
    if (values.model !== undefined || values.backend !== undefined || values.precision !== undefined)
      throw new CliError('give either --model/--backend/--precision (the local model) or --endpoint (remote), not both', 2);
    const backend = new RemoteBackend({ baseUrl: values.endpoint, model: (values['remote-model'] as string | undefined) ?? DEFAULT_REMOTE_MODEL });
    return { backend, randomWeights: false };
  }
  const load: LoadOptions = {
    contextLength: integerFlag(values, 'context-length'),
    threads: integerFlag(values, 'threads'),
    backend: backendFlag(values),
    kvCache: kvCacheFlag(values),
  };
  const precision = precisionFlag(values);
  const model = await chooseModel(values.model as string | undefined);
  if (!model) throw new CliError('no usable Pixtral model found: run "pixtral models download", or pass --model DIR');
  load.precision = await checkBeforeLoading(model, { ...load, contextLength: load.contextLength ?? DEFAULT_CONTEXT_LENGTH }, precision);
  if (precision === 'auto' && load.precision && load.precision !== 'bf16' && !values.quiet)
    io.stderr.write(`note: weights at ${describePrecision(load.precision)}, the best precision that fits in memory (--precision to choose).\n`);
  const randomWeights = isRandomWeightTestModel(model);
  if (randomWeights) {
    io.stderr.write(`note: ${model} is a test model with random weights: the pipeline is real, its text is meaningless.\n`);
  } else if (isBuiltInSketchModel(model) && !values.quiet) {
    io.stderr.write(`note: answering with ${BUILT_IN_MODEL_NAME}. ${TWELVE_B_ADVANTAGE}\n`);
  }
  const backend = new WorkerClient({
    model,
    load,
    onLog: values.verbose ? (text) => io.stderr.write(text.replace(/^(?=.)/gm, 'worker: ')) : undefined,
    onLoaded: ({ backendFallback }) => {
      if (backendFallback) io.stderr.write(`warning: ${backendFallback}\n`);
    },
  });
  return { backend, randomWeights };
}

/** Image arguments as image references (absolute paths: the worker may not share our cwd). */
export function imageArguments(paths: string[]): ImageRef[] {
  return paths.map((file) => ({ path: path.resolve(file) }));
}

/** Receives the streamed answer and decides what reaches stdout. */
export interface OutputFilter {
  push(text: string): string;
  end(): string;
  /** A message when the whole answer turned out unusable (printed as the error). */
  problem?(): string | undefined;
}

export interface TaskRun {
  task: TaskInfo;
  conversation: TaskConversation<ImageRef>;
  imageTokenBudget?: number;
  filter?: OutputFilter;
}

/** Runs one task to completion; returns the exit code (130 when cancelled). */
export async function runTask(values: Values, io: CliIo, run: TaskRun): Promise<number> {
  const sampling = {
    ...samplingFor(run.task, { maxTokens: integerFlag(values, 'max-tokens'), temperature: numberFlag(values, 'temperature') }),
    seed: integerFlag(values, 'seed', 0),
  };
  const request = toGenerationRequest(run.conversation, sampling, integerFlag(values, 'image-tokens', 2) ?? run.imageTokenBudget);
  const progress = values.quiet ? () => undefined : (line: string) => io.stderr.write(`${line}\n`);
  // A closed stdout (`| head`) ends the generation like Ctrl-C does.
  const stdoutClosed = new AbortController();
  io.stdout.on('error', () => stdoutClosed.abort());
  const signal = AbortSignal.any([io.signal, stdoutClosed.signal]);

  const { backend, randomWeights } = await createBackend(values, io);
  // A random model writes no code or table to extract: show its raw text instead of an error.
  const filter = randomWeights ? undefined : run.filter;
  if (randomWeights && run.filter) progress('note: output filtering is off for the test model; its raw text follows.');
  const started = performance.now();
  let answer = '';
  let output = '';
  let firstTextAt = 0;
  const write = (text: string) => {
    if (text) io.stdout.write(text);
    output = text || output;
  };
  let done: { stopReason: StopReason; usage: Usage; timings?: Timings } | undefined;
  try {
    progress(`${run.task.title} · ${backend.description}`);
    for await (const event of backend.generate(request, { signal })) {
      if (event.type === 'progress') progress(describeProgress(event.progress));
      else if (event.type === 'text') {
        firstTextAt ||= performance.now();
        answer += event.text;
        write(filter ? filter.push(event.text) : event.text);
      } else done = event;
    }
  } catch (err) {
    if (err instanceof GenerationError) throw new CliError(err.message);
    throw err;
  } finally {
    await backend.dispose();
  }
  write(filter ? filter.end() : '');
  // Start the speed line on a line of its own when stdout and stderr share a terminal.
  const newline = output && !output.endsWith('\n') ? '\n' : '';
  if (done) progress(newline + describeSpeed(done, firstTextAt, started));
  if (done?.stopReason === 'cancelled') {
    progress('cancelled');
    return 130;
  }
  const problem = filter?.problem?.();
  if (problem) throw new CliError(`${problem}; the model's answer was:\n${answer}`);
  return 0;
}

function describeProgress(progress: ProgressInfo): string {
  switch (progress.stage) {
    case 'image':
      return `image ${progress.index + 1}/${progress.count}: ${progress.gridH}×${progress.gridW} patches, ${progress.tokens} tokens`;
    case 'prefill':
      return `prefill: ${progress.promptTokens} prompt tokens (context ${progress.contextLength})`;
    case 'decode':
      return 'generating…';
  }
}

function describeSpeed(done: { stopReason: StopReason; usage: Usage; timings?: Timings }, firstTextAt: number, started: number): string {
  const { usage, timings } = done;
  const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  // Local: the worker's own decode time. Remote: from the first streamed text to the end.
  const decodeMs = timings?.decodeMs ?? (firstTextAt ? performance.now() - firstTextAt : 0);
  const rate = decodeMs > 0 ? `${((usage.completionTokens * 1000) / decodeMs).toFixed(1)} tok/s` : 'n/a tok/s';
  const prefill = timings ? `, prefill ${seconds(timings.prefillMs)}` : '';
  return `${usage.completionTokens} tokens in ${seconds(decodeMs)} (${rate}); prompt ${usage.promptTokens} tokens${prefill}; total ${seconds(performance.now() - started)}; ${done.stopReason}`;
}
