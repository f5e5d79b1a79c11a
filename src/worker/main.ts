// Entry point of the worker process (dist/worker.js; src/worker/main.ts under tsx). Owns the
// native engine and the tokenizer so that a crash or a hang in native code never reaches the
// extension host, the CLI or the HTTP server. Speaks src/worker/protocol.ts over the IPC channel
// child_process.fork opens; exits when that channel closes (its parent went away).
// Requests run one after another; `cancel` and `stats` are answered at once, even mid-generation.
import path from 'node:path';
import { loadNative, type ModelInfo, type NativeEngine } from '../engine/native';
import { createWebGpuExecutor, type WebGpuExecutor } from '../engine/webgpu/executor';
import { planPrecisions } from '../models/engine-check';
import { engineFailure, RequestFailure, runGeneration, type ModelSession } from './generation';
import {
  checkMessage,
  REQUEST_TYPES,
  versioned,
  type EngineBackendName,
  type GenerationRequest,
  type LoadOptions,
  type WorkerEventBody,
  type WorkerRequest,
  type WorkerStats,
} from './protocol';
import { TekkenTokenizer } from './tokenizer';

let session: ModelSession | undefined;
/** The GPU work of a model loaded on the webgpu backend; released with the model. */
let webgpu: WebGpuExecutor | undefined;
/** Folder and options of the loaded model, to make a repeated `load` a no-op. */
let sessionKey = '';
let requestsServed = 0;
/** Generate requests received and not finished, with their cancel flags. */
const generations = new Map<number, { cancelled: boolean }>();
let running: number | undefined;
let queue: Promise<void> = Promise.resolve();

function send(body: WorkerEventBody): void {
  process.send?.(versioned(body));
}

function onMessage(message: unknown): void {
  const problem = checkMessage(message, REQUEST_TYPES);
  if (problem) {
    const id = (message as { id?: unknown })?.id;
    send({ type: 'error', id: typeof id === 'number' ? id : 0, error: { code: 'protocol', message: problem } });
    return;
  }
  const request = message as WorkerRequest;
  switch (request.type) {
    case 'cancel':
      return cancel(request.target);
    case 'stats':
      return send({ type: 'stats', id: request.id, stats: stats() });
    case 'generate':
      generations.set(request.id, { cancelled: false });
  }
  queue = queue.then(() => handle(request));
}

async function handle(request: Exclude<WorkerRequest, { type: 'cancel' | 'stats' }>): Promise<void> {
  try {
    switch (request.type) {
      case 'load':
        return await load(request.id, request.model, request.options);
      case 'generate':
        return await generate(request.id, request.request);
      case 'unload':
        unload();
        return send({ type: 'unloaded', id: request.id });
      case 'plan':
        return send({ type: 'planned', id: request.id, plans: plan(request.model, request.options) });
    }
  } catch (err) {
    const code = err instanceof RequestFailure ? err.code : 'engine';
    send({ type: 'error', id: request.id, error: { code, message: (err as Error).message } });
  }
}

/** The engine's own memory accounting for a load at each precision (headers only: nothing is
 *  loaded), with the free memory of the GPU the load would try first (auto and cuda try CUDA first). */
function plan(dir: string, options: LoadOptions) {
  const requested = options.backend ?? 'auto';
  const backend = requested === 'auto' ? TRIED_BEFORE_CPU.auto[0] : requested;
  try {
    return planPrecisions(dir, { contextLength: options.contextLength, kvCache: options.kvCache, backend });
  } catch (err) {
    throw engineFailure(err, `cannot plan loading ${dir}`);
  }
}

async function load(id: number, dir: string, options: LoadOptions): Promise<void> {
  const key = JSON.stringify([dir, options]);
  if (session && key === sessionKey) return send({ type: 'loaded', id, model: session.model });
  unload();
  try {
    const tokenizer = TekkenTokenizer.fromFile(path.join(dir, 'tekken.json'));
    const engine = new (loadNative().Engine)();
    const { info, backendFallback } = await loadOnBackend(engine, dir, options);
    const { config } = info;
    // The vision encoder's own image size bounds the grid (its RoPE table), whatever tekken.json says.
    const vision = config.vision && { maxImageSize: config.vision.imageSize, patchSize: config.vision.patchSize };
    const model = {
      dir,
      contextLength: engine.contextLength,
      layers: config.nLayers,
      dim: config.dim,
      weightBytes: info.weightBytes,
      precision: info.precision,
      backend: engine.backend ?? 'unknown',
      backendFallback,
    };
    session = { engine, tokenizer, model, vision };
    sessionKey = key;
    send({ type: 'loaded', id, model });
  } catch (err) {
    throw new RequestFailure('load_failed', `could not load the model in ${dir}: ${(err as Error).message}`);
  }
}

/** The GPU backends tried before the CPU for each request: 'auto' silently takes the first that
 *  runs; a GPU backend named in the request that cannot run falls back to the CPU and says so. */
const TRIED_BEFORE_CPU: Record<NonNullable<LoadOptions['backend']>, EngineBackendName[]> = {
  auto: ['cuda', 'webgpu'],
  cpu: [],
  cuda: ['cuda'],
  webgpu: ['webgpu'],
};

async function loadOnBackend(engine: NativeEngine, dir: string, options: LoadOptions): Promise<{ info: ModelInfo; backendFallback?: string }> {
  const requested = options.backend ?? 'auto';
  const load = async (backend: EngineBackendName) => {
    const engineOptions = { backend, contextLength: options.contextLength, threads: options.threads, kvCache: options.kvCache, precision: options.precision };
    if (backend !== 'webgpu') return engine.load(dir, engineOptions);
    // A software adapter is slower than the CPU: only for webgpu by name with PIXTRAL_WEBGPU_SOFTWARE=1 (tests).
    const executor = await createWebGpuExecutor({ allowSoftwareAdapter: requested === 'webgpu' && process.env.PIXTRAL_WEBGPU_SOFTWARE === '1' });
    try {
      const info = await engine.load(dir, { ...engineOptions, webgpu: executor });
      webgpu = executor;
      return info;
    } catch (err) {
      executor.destroy();
      throw err;
    }
  };
  let refusal: Error | undefined;
  for (const backend of TRIED_BEFORE_CPU[requested]) {
    try {
      return { info: await load(backend) };
    } catch (err) {
      refusal ??= err as Error;
    }
  }
  // The CPU's error, if any, is the load's: then the model itself is at fault, not the device.
  const info = await load('cpu');
  if (!refusal || requested === 'auto') return { info };
  return { info, backendFallback: `The ${requested} backend cannot run because ${refusal.message}; running on ${engine.backend} instead.` };
}

async function generate(id: number, request: GenerationRequest): Promise<void> {
  const flags = generations.get(id) ?? { cancelled: false };
  try {
    if (!session) throw new RequestFailure('not_loaded', 'no model is loaded: send "load" before "generate"');
    running = id;
    const outcome = await runGeneration(session, request, {
      progress: (progress) => send({ type: 'progress', id, progress }),
      text: (text) => send({ type: 'token', id, text }),
      cancelled: () => flags.cancelled,
    });
    requestsServed++;
    send({ type: 'done', id, ...outcome });
  } finally {
    running = undefined;
    generations.delete(id);
  }
}

function cancel(target: number): void {
  const flags = generations.get(target);
  if (!flags) return; // already finished: nothing to stop
  flags.cancelled = true;
  if (running === target) session?.engine.cancel();
}

function unload(): void {
  if (!session) return;
  session.engine.unload();
  webgpu?.destroy();
  webgpu = undefined;
  session.tokenizer.dispose();
  session = undefined;
  sessionKey = '';
}

function stats(): WorkerStats {
  const memory = session?.engine.memory();
  return {
    pid: process.pid,
    model: session?.model ?? null,
    requestsServed,
    rssBytes: process.memoryUsage().rss,
    kvCacheBytes: memory?.kvCacheBytes ?? 0,
    scratchBytes: memory?.scratchBytes ?? 0,
  };
}

if (!process.send) {
  process.stderr.write('pixtral worker: start me with child_process.fork (I talk over its IPC channel)\n');
  process.exit(2);
}
process.on('message', onMessage);
process.on('disconnect', () => process.exit(0));
send({ type: 'ready', pid: process.pid });
