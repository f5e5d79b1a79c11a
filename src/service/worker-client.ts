// Client end of the worker protocol (src/worker/protocol.ts): starts the worker process, loads the
// model on first use, serves requests one at a time in call order, cancels on abort, and turns a
// dead worker into a clear error for the request in flight (keeping the text already streamed);
// the next request starts a fresh process. Nothing the worker does can throw in the caller.
import { fork, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  checkMessage,
  EVENT_TYPES,
  versioned,
  type GenerationRequest,
  type LoadedModel,
  type LoadOptions,
  type WorkerEvent,
  type WorkerRequestBody,
  type WorkerStats,
} from '../worker/protocol';
import type { WeightPrecision } from '../engine/native';
import type { PrecisionPlan } from '../models/fit';
import { AsyncChannel } from './async-channel';
import { cancelledBeforeStart, GenerationError, type GenerateOptions, type GenerationBackend, type GenerationEvent } from './generation-backend';

export interface WorkerClientOptions {
  /** Model folder (params.json, consolidated.safetensors, tekken.json). */
  model: string;
  load?: LoadOptions;
  /** Receives the worker's stdout/stderr (native logs); it never goes to our stdout. */
  onLog?: (text: string) => void;
  /** Called after each load of the model, with what runs it (and why, if not what was asked). */
  onLoaded?: (model: LoadedModel) => void;
  /** How long the process may take to report `ready` (default 60 s). */
  startTimeoutMs?: number;
}

/**
 * How to start the worker. From source (tests, development) this module is a .ts file: run
 * src/worker/main.ts under tsx. Bundled by esbuild, this code sits in dist/extension.js or
 * dist/cli.js next to dist/worker.js.
 */
export function workerEntry(): { script: string; execArgv: string[] } {
  if (__filename.endsWith('.ts')) {
    const tsx = createRequire(__filename).resolve('tsx');
    return { script: path.join(__dirname, '..', 'worker', 'main.ts'), execArgv: ['--import', pathToFileURL(tsx).href] };
  }
  return { script: path.join(__dirname, 'worker.js'), execArgv: [] };
}

/** Receives the events of one request id; `onExit` when the worker died before answering. */
interface Pending {
  onEvent(event: WorkerEvent): void;
  onExit(exit: WorkerExit): void;
}

/** How the worker ended: one sentence, and the tail of what it printed (may be empty). */
interface WorkerExit {
  reason: string;
  log: string;
}

/** `reason` and `detail` as one message, the worker's last output at the end. */
function exitMessage(exit: WorkerExit, detail = ''): string {
  const log = exit.log ? `\nLast worker output:\n${exit.log}` : '';
  return `${exit.reason}.${detail}${log}`;
}

/** `ready` carries no request id; its waiter is registered under this one. */
const READY_ID = 0;
const LOG_TAIL_CHARS = 4000;

export class WorkerClient implements GenerationBackend {
  readonly description: string;
  private child: ChildProcess | undefined;
  private started: Promise<ChildProcess> | undefined;
  /** Settles once the running worker has exited and everything it sent has been read. */
  private gone: Promise<void> = Promise.resolve();
  private loaded: LoadedModel | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private queue: Promise<unknown> = Promise.resolve();
  private logTail = '';
  private lastExit: WorkerExit = { reason: 'the Pixtral worker process is not running', log: '' };
  private stopping = false;
  private loadOptions: LoadOptions;

  constructor(private readonly options: WorkerClientOptions) {
    this.description = `local worker, model ${options.model}`;
    this.loadOptions = options.load ?? {};
  }

  /** Process id of the running worker, if any (tests kill it for real). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  generate(request: GenerationRequest, options: GenerateOptions = {}): AsyncIterable<GenerationEvent> {
    const abandoned = new AbortController();
    const channel = new AsyncChannel<GenerationEvent>(() => abandoned.abort());
    const signal = options.signal ? AbortSignal.any([options.signal, abandoned.signal]) : abandoned.signal;
    void this.enqueue(() => this.runGeneration(request, channel, signal));
    return channel;
  }

  /** Starts the worker and loads the model now instead of on the first request. */
  load(): Promise<LoadedModel> {
    return this.enqueue(async () => (await this.ensureLoaded()).model);
  }

  /** What loading the model would take in memory at each precision it loads at, as the engine
   *  accounts for it; loads nothing. */
  plan(): Promise<PrecisionPlan[]> {
    return this.enqueue(async () => {
      const child = await this.start();
      const event = await this.call(child, { type: 'plan', id: this.nextId++, model: path.resolve(this.options.model), options: this.loadOptions });
      if (event.type !== 'planned') throw this.errorFrom(event, '');
      return event.plans;
    });
  }

  /** The precision the fit check chose from plan(), for every later load. */
  usePrecision(precision: WeightPrecision): void {
    this.loadOptions = { ...this.loadOptions, precision };
  }

  /** Frees the model's memory; the process stays up and the next request loads it again. */
  unload(): Promise<void> {
    return this.enqueue(async () => {
      const child = this.child;
      if (!child || !this.loaded) return;
      await this.call(child, { type: 'unload', id: this.nextId++ });
      this.loaded = undefined;
    });
  }

  /** Memory and model of the running worker (answered even mid-generation); null when none runs. */
  async stats(): Promise<WorkerStats | null> {
    const child = this.child;
    if (!child) return null;
    const event = await this.call(child, { type: 'stats', id: this.nextId++ });
    return event.type === 'stats' ? event.stats : null;
  }

  async dispose(): Promise<void> {
    this.stopping = true;
    const child = this.child;
    if (!child) return;
    // The worker exits when its IPC channel closes; a hung native call is killed after a grace period.
    if (child.connected) child.disconnect();
    const kill = setTimeout(() => child.kill('SIGKILL'), 3000);
    await this.gone;
    clearTimeout(kill);
  }

  private enqueue<T>(job: () => Promise<T>): Promise<T> {
    const result = this.queue.then(job);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private async runGeneration(request: GenerationRequest, channel: AsyncChannel<GenerationEvent>, signal: AbortSignal): Promise<void> {
    if (this.stopping) return channel.fail(new GenerationError('worker_start', 'the local worker was shut down'));
    if (signal.aborted) return this.endCancelled(channel);
    let child: ChildProcess;
    try {
      ({ child } = await this.ensureLoaded());
    } catch (err) {
      return channel.fail(err);
    }
    if (signal.aborted) return this.endCancelled(channel);
    const id = this.nextId++;
    let streamed = '';
    await new Promise<void>((resolve) => {
      const cancel = () => this.send(child, { type: 'cancel', id: this.nextId++, target: id });
      signal.addEventListener('abort', cancel, { once: true });
      const finish = () => {
        signal.removeEventListener('abort', cancel);
        resolve();
      };
      this.register(child, id, { type: 'generate', id, request }, {
        onEvent: (event) => {
          if (event.type === 'token') {
            streamed += event.text;
            channel.push({ type: 'text', text: event.text });
          } else if (event.type === 'progress') {
            channel.push({ type: 'progress', progress: event.progress });
          } else {
            if (event.type === 'done') {
              channel.push({ type: 'done', stopReason: event.stopReason, usage: event.usage, timings: event.timings });
              channel.close();
            } else {
              channel.fail(this.errorFrom(event, streamed));
            }
            finish();
          }
        },
        onExit: (exit) => {
          const kept = streamed ? ` The ${streamed.length} characters streamed before are kept.` : '';
          channel.fail(new GenerationError('worker_crashed', exitMessage(exit, `${kept} It restarts on the next request.`), streamed));
          finish();
        },
      });
    });
  }

  private endCancelled(channel: AsyncChannel<GenerationEvent>): void {
    channel.push(cancelledBeforeStart());
    channel.close();
  }

  private async ensureLoaded(): Promise<{ child: ChildProcess; model: LoadedModel }> {
    const child = await this.start();
    if (this.loaded) return { child, model: this.loaded };
    const dir = path.resolve(this.options.model);
    const event = await this.call(child, { type: 'load', id: this.nextId++, model: dir, options: this.loadOptions });
    if (event.type !== 'loaded') throw this.errorFrom(event, '');
    this.loaded = event.model;
    this.options.onLoaded?.(event.model);
    return { child, model: event.model };
  }

  /** A request answered by exactly one event; an `error` event or the worker's death rejects. */
  private call(child: ChildProcess, body: WorkerRequestBody): Promise<WorkerEvent> {
    return new Promise((resolve, reject) => {
      this.register(child, body.id, body, {
        onEvent: (event) => (event.type === 'error' ? reject(this.errorFrom(event, '')) : resolve(event)),
        onExit: (exit) => reject(new GenerationError('worker_crashed', exitMessage(exit))),
      });
    });
  }

  private register(child: ChildProcess, id: number, body: WorkerRequestBody, pending: Pending): void {
    if (this.child !== child) return pending.onExit(this.lastExit);
    this.pending.set(id, pending);
    this.send(child, body);
  }

  private send(child: ChildProcess, body: WorkerRequestBody): void {
    // A failed send means the process is going away; workerGone() reports that to the waiters.
    if (child.connected) child.send(versioned(body), () => undefined);
  }

  private errorFrom(event: WorkerEvent, streamed: string): GenerationError {
    if (event.type === 'error') return new GenerationError(event.error.code, event.error.message, streamed);
    return new GenerationError('protocol', `unexpected "${event.type}" message from the worker`, streamed);
  }

  private start(): Promise<ChildProcess> {
    if (this.started) return this.started;
    const { script, execArgv } = workerEntry();
    const child = fork(script, [], { execArgv, serialization: 'advanced', stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    this.child = child;
    this.logTail = '';
    for (const stream of [child.stdout, child.stderr]) stream?.setEncoding('utf8').on('data', (text: string) => this.log(text));
    child.on('message', (message) => this.dispatch(child, message));
    child.on('error', (err) => {
      this.log(`${err.message}\n`);
      // A process that never spawned emits no 'exit'.
      if (child.pid === undefined) this.workerGone(child, null, null);
    });
    // 'close' never comes after our own disconnect() (a Node quirk), so wait for its parts: the
    // exit, the IPC channel (every message read) and both pipes (the last log lines read).
    const ended = (emitter: NodeJS.EventEmitter | null, event: string) => new Promise<void>((resolve) => (emitter ? emitter.once(event, () => resolve()) : resolve()));
    const exit = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once('exit', (code, signal) => resolve([code, signal])));
    this.gone = Promise.all([exit, ended(child, 'disconnect'), ended(child.stdout, 'close'), ended(child.stderr, 'close')]).then(([[code, signal]]) =>
      this.workerGone(child, code, signal),
    );
    const timeoutMs = this.options.startTimeoutMs ?? 60_000;
    this.started = new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.log(`no "ready" message within ${timeoutMs} ms\n`);
        child.kill('SIGKILL');
      }, timeoutMs);
      this.pending.set(READY_ID, {
        onEvent: () => {
          clearTimeout(timer);
          resolve(child);
        },
        onExit: (exit) => {
          clearTimeout(timer);
          reject(new GenerationError('worker_start', exitMessage({ ...exit, reason: `the Pixtral worker could not start: ${exit.reason}` })));
        },
      });
    });
    return this.started;
  }

  private dispatch(child: ChildProcess, message: unknown): void {
    const problem = checkMessage(message, EVENT_TYPES);
    if (problem) {
      // Both ends come from one build; a stranger on the channel is not worth trusting further.
      this.log(`protocol error: ${problem}\n`);
      child.kill('SIGKILL');
      return;
    }
    const event = message as WorkerEvent;
    const id = event.type === 'ready' ? READY_ID : event.id;
    const pending = this.pending.get(id);
    if (event.type !== 'token' && event.type !== 'progress') this.pending.delete(id);
    pending?.onEvent(event);
  }

  private workerGone(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.child !== child) return;
    this.child = undefined;
    this.started = undefined;
    this.loaded = undefined;
    const how = this.stopping ? 'was shut down' : signal ? `was killed by ${signal}` : `exited with code ${code}`;
    this.lastExit = { reason: `the Pixtral worker process (pid ${child.pid}) ${how}`, log: this.logTail.trim() };
    const waiting = [...this.pending.values()];
    this.pending.clear();
    for (const pending of waiting) pending.onExit(this.lastExit);
  }

  private log(text: string): void {
    this.logTail = (this.logTail + text).slice(-LOG_TAIL_CHARS);
    this.options.onLog?.(text);
  }
}
