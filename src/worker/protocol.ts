// The message protocol between a client (extension host, CLI, `pixtral serve`) and the worker
// process that owns the native engine. Defined once here and imported by both ends. Every message
// carries the protocol version `v` and, except `ready`, the id of the request it belongs to.
// Transport: child_process.fork IPC with `serialization: 'advanced'` (structured clone), so image
// bytes travel as typed arrays without base64 and stdout/stderr stay free for native logs.
import type { KvCacheType, WeightPrecision } from '../engine/native';
import type { PrecisionPlan } from '../models/fit';
import type { ChatMessage as PromptMessage, UserChunk } from './chat-format';

export const PROTOCOL_VERSION = 4;

// ---- Requests: what a client asks for ----------------------------------------------------------

/** An image given by file path (read by the worker) or by its encoded bytes (PNG, JPEG, ...). */
export type ImageRef = { path: string } | { data: Uint8Array };

export type ContentPart = UserChunk<ImageRef>;

/** A turn of the conversation (src/worker/chat-format.ts) with its images not yet preprocessed. */
export type ChatMessage = PromptMessage<ImageRef>;

export type SystemPromptPlacement = 'last-user' | 'first-user';

export interface SamplingParams {
  maxTokens: number;
  /** 0 = greedy. */
  temperature?: number;
  topP?: number;
  topK?: number;
  seed?: number;
}

export interface GenerationRequest {
  /** Pixtral (tekken v3) has no system role: this text goes in front of a user message. */
  systemPrompt?: string;
  /** Which user message the system prompt goes in front of: the last (mistral-common's v3 format,
   *  the default) or the first, which keeps a conversation's prefix, and so its KV cache, the same
   *  from turn to turn (prompt-cache.ts). One user message: both are the same. */
  systemPromptPlacement?: SystemPromptPlacement;
  /** Alternating user / assistant turns, ending with a user turn. */
  messages: ChatMessage[];
  sampling: SamplingParams;
  /** Upper bound of image tokens per image; the image is scaled down to fit. */
  imageTokenBudget?: number;
}

/** Where the engine computes. */
export type EngineBackendName = 'cpu' | 'cuda' | 'webgpu';

export interface LoadOptions {
  /** KV cache capacity in tokens; requests longer than this are refused before any compute. */
  contextLength?: number;
  threads?: number;
  /** 'auto' (default): the first of cuda, webgpu, cpu that runs. A named GPU backend that cannot
   *  run falls back to the CPU, and the loaded model says why (LoadedModel.backendFallback). */
  backend?: 'auto' | EngineBackendName;
  /** Element type of the KV cache (default f16: half of f32's memory, within the bf16 tolerances). */
  kvCache?: KvCacheType;
  /** Weight precision (default bf16: the checkpoint as stored); the client's fit check chooses it
   *  from the `plan` answer. The first load at q8_0/q4_0 quantizes into a file beside the model. */
  precision?: WeightPrecision;
}

export type WorkerRequest =
  | { v: number; type: 'load'; id: number; model: string; options: LoadOptions }
  | { v: number; type: 'generate'; id: number; request: GenerationRequest }
  /** Stops the generation whose request id is `target` within one decode step. */
  | { v: number; type: 'cancel'; id: number; target: number }
  | { v: number; type: 'unload'; id: number }
  /** What loading `model` with `options` would take in memory at each precision it loads at, from
   *  the engine's own accounting (options.precision is not used); loads nothing. */
  | { v: number; type: 'plan'; id: number; model: string; options: LoadOptions }
  | { v: number; type: 'stats'; id: number };

// ---- Events: what the worker answers ------------------------------------------------------------

export type StopReason = 'stop' | 'length' | 'cancelled';

export interface Usage {
  promptTokens: number;
  completionTokens: number;
  /** Of promptTokens, how many are image tokens. */
  imageTokens: number;
  /** Of promptTokens, how many were already in the KV cache from the previous request (not prefilled again). */
  cachedTokens?: number;
}

export interface Timings {
  /** Image decoding and resizing. */
  preprocessMs: number;
  /** Vision encoder and prompt prefill. */
  prefillMs: number;
  decodeMs: number;
}

/** Pipeline stages reported while a request runs (shown as progress by the CLI). */
export type ProgressInfo =
  | { stage: 'image'; index: number; count: number; gridH: number; gridW: number; tokens: number }
  | { stage: 'prefill'; promptTokens: number; contextLength: number }
  | { stage: 'decode' };

export interface LoadedModel {
  dir: string;
  contextLength: number;
  layers: number;
  dim: number;
  weightBytes: number;
  /** Weight precision of the load. */
  precision: WeightPrecision;
  /** What actually computes, as the engine names it, e.g. "cpu-avx2". */
  backend: string;
  /** Set when the requested backend could not run: one sentence saying why and what runs instead. */
  backendFallback?: string;
}

export interface WorkerStats {
  pid: number;
  model: LoadedModel | null;
  requestsServed: number;
  rssBytes: number;
  kvCacheBytes: number;
  scratchBytes: number;
}

export type ErrorCode =
  /** Version mismatch or a malformed message. */
  | 'protocol'
  /** The request itself is wrong (no messages, unreadable image, ...). */
  | 'bad_request'
  /** Prompt plus requested tokens exceed the context window; nothing was computed. */
  | 'context_overflow'
  | 'not_loaded'
  | 'load_failed'
  /** The engine threw while computing (an internal failure). */
  | 'engine'
  /** The model folder's files are broken or not what the engine reads. */
  | 'bad_weights'
  /** Host or GPU memory ran out. */
  | 'out_of_memory'
  /** The backend or feature cannot run on this machine or build. */
  | 'unsupported'
  /** Client side: the worker process could not be started or died mid-request. */
  | 'worker_start'
  | 'worker_crashed'
  /** Client side: a remote endpoint answered with an error or could not be reached. */
  | 'remote';

export interface WireError {
  code: ErrorCode;
  message: string;
}

export type WorkerEvent =
  /** Sent once when the worker is up, before any request is read. */
  | { v: number; type: 'ready'; pid: number }
  | { v: number; type: 'loaded'; id: number; model: LoadedModel }
  | { v: number; type: 'progress'; id: number; progress: ProgressInfo }
  /** A piece of generated text: complete UTF-8 characters only. */
  | { v: number; type: 'token'; id: number; text: string }
  | { v: number; type: 'done'; id: number; stopReason: StopReason; usage: Usage; timings: Timings }
  | { v: number; type: 'unloaded'; id: number }
  | { v: number; type: 'planned'; id: number; plans: PrecisionPlan[] }
  | { v: number; type: 'stats'; id: number; stats: WorkerStats }
  | { v: number; type: 'error'; id: number; error: WireError };

/** Distributes Omit over a union, so each request/event variant keeps its own fields. */
type WithoutVersion<T> = T extends unknown ? Omit<T, 'v'> : never;
export type WorkerRequestBody = WithoutVersion<WorkerRequest>;
export type WorkerEventBody = WithoutVersion<WorkerEvent>;

/** Stamps the protocol version on a message body. */
export function versioned<T extends object>(body: T): T & { v: number } {
  return { v: PROTOCOL_VERSION, ...body };
}

/** Why an incoming message cannot be handled, or null when it has our version and a known type. */
export function checkMessage(message: unknown, knownTypes: readonly string[]): string | null {
  if (typeof message !== 'object' || message === null) return 'message is not an object';
  const { v, type } = message as { v?: unknown; type?: unknown };
  if (v !== PROTOCOL_VERSION) return `protocol version ${String(v)} is not supported (expected ${PROTOCOL_VERSION})`;
  if (typeof type !== 'string' || !knownTypes.includes(type)) return `unknown message type ${JSON.stringify(type)}`;
  return null;
}

export const REQUEST_TYPES = ['load', 'generate', 'cancel', 'unload', 'stats', 'plan'] as const satisfies readonly WorkerRequest['type'][];
export const EVENT_TYPES = ['ready', 'loaded', 'progress', 'token', 'done', 'unloaded', 'stats', 'planned', 'error'] as const satisfies readonly WorkerEvent['type'][];
