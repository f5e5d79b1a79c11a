// A GenerationBackend that streams from any OpenAI-compatible chat-completions endpoint: vLLM
// serving Pixtral on a GPU cluster, Mistral's API (https://api.mistral.ai/v1), or another
// `pixtral serve`. Same events as the local worker, so callers cannot tell them apart.
import type { GenerationRequest, StopReason, Usage } from '../worker/protocol';
import { GenerationError, NO_USAGE, type GenerateOptions, type GenerationBackend, type GenerationEvent } from './generation-backend';
import { readLimited, webChunks } from './http-body';
import { fromFinishReason, fromOpenAiUsage, toChatRequest, type ChatDialect, type OpenAiChunk } from './openai-format';
import { parseSse } from './sse';

export interface RemoteBackendOptions {
  /** Base URL up to and including the version, e.g. https://api.mistral.ai/v1. */
  baseUrl: string;
  /** Model name on that endpoint, e.g. pixtral-12b-2409. */
  model: string;
  /** Bearer token; when absent, read from the environment (apiKeyFromEnv). The extension passes
   *  the key it keeps in SecretStorage. */
  apiKey?: string;
  /** Default: 'mistral' for api.mistral.ai, else 'openai' (vLLM, pixtral serve, ...). */
  dialect?: ChatDialect;
}

/** Pixtral 12B's name on Mistral's API; `pixtral serve` reports the same name by default. */
export const DEFAULT_REMOTE_MODEL = 'pixtral-12b-2409';

/** Environment variables that may hold the key, in order of precedence. */
export const API_KEY_VARIABLES = ['PIXTRAL_API_KEY', 'MISTRAL_API_KEY'] as const;

export function apiKeyFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const name of API_KEY_VARIABLES) {
    const value = env[name]?.trim();
    if (value) return value;
  }
  return undefined;
}

/** Error bodies are read for their message only, so a huge one is cut off. */
const MAX_ERROR_BODY = 64 * 1024;

export class RemoteBackend implements GenerationBackend {
  readonly description: string;
  private readonly endpoint: string;
  private readonly apiKey: string | undefined;
  readonly dialect: ChatDialect;

  constructor(private readonly options: RemoteBackendOptions) {
    this.endpoint = `${options.baseUrl.replace(/\/+$/, '')}/chat/completions`;
    this.apiKey = options.apiKey ?? apiKeyFromEnv();
    this.dialect = options.dialect ?? (/^https?:\/\/([^/]+\.)?mistral\.ai(:\d+)?(\/|$)/i.test(options.baseUrl) ? 'mistral' : 'openai');
    this.description = `${options.model} at ${options.baseUrl}`;
  }

  async *generate(request: GenerationRequest, options: GenerateOptions = {}): AsyncGenerator<GenerationEvent> {
    // Aborted by the caller's signal, or here when the consumer stops reading early.
    const stop = new AbortController();
    const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
    let streamed = '';
    let usage: Usage = NO_USAGE;
    let stopReason: StopReason = 'stop';
    try {
      const body = JSON.stringify(await toChatRequest(request, this.options.model, this.dialect));
      const response = await this.post(body, signal);
      if (!response.body) throw new GenerationError('remote', `${this.endpoint} sent an empty response`);
      for await (const data of parseSse(webChunks(response.body))) {
        if (data === '[DONE]') break;
        const chunk = this.parseChunk(data, streamed);
        if (chunk.usage) usage = fromOpenAiUsage(chunk.usage);
        const choice = chunk.choices?.[0];
        if (choice?.finish_reason) stopReason = fromFinishReason(choice.finish_reason);
        const text = choice?.delta?.content;
        if (text) {
          streamed += text;
          yield { type: 'text', text };
        }
      }
      yield { type: 'done', stopReason, usage };
    } catch (err) {
      if (signal.aborted) {
        yield { type: 'done', stopReason: 'cancelled', usage };
        return;
      }
      if (err instanceof GenerationError) throw new GenerationError(err.code, err.message, streamed);
      throw new GenerationError('remote', `the connection to ${this.endpoint} failed: ${describe(err)}`, streamed);
    } finally {
      stop.abort();
    }
  }

  async dispose(): Promise<void> {
    // fetch keeps no per-backend state; nothing to release.
  }

  private async post(body: string, signal: AbortSignal): Promise<Response> {
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'text/event-stream' };
    if (this.apiKey) headers.authorization = `Bearer ${this.apiKey}`;
    const response = await fetch(this.endpoint, { method: 'POST', headers, body, signal });
    if (response.ok) return response;
    const text = response.body ? ((await readLimited(webChunks(response.body), MAX_ERROR_BODY))?.toString('utf8') ?? '') : '';
    const hint = response.status === 401 && !this.apiKey ? ` (no API key: set ${API_KEY_VARIABLES.join(' or ')})` : '';
    const code = response.status >= 400 && response.status < 500 && response.status !== 401 && response.status !== 429 ? 'bad_request' : 'remote';
    throw new GenerationError(code, `${this.endpoint} answered HTTP ${response.status}${hint}: ${errorMessage(text)}`);
  }

  private parseChunk(data: string, streamed: string): Partial<OpenAiChunk> & { error?: { message?: string } } {
    let chunk: Partial<OpenAiChunk> & { error?: { message?: string } };
    try {
      chunk = JSON.parse(data) as typeof chunk;
    } catch {
      throw new GenerationError('remote', `${this.endpoint} sent an event that is not JSON: ${data.slice(0, 200)}`, streamed);
    }
    if (chunk.error) throw new GenerationError('remote', `${this.endpoint} reported an error mid-stream: ${chunk.error.message ?? JSON.stringify(chunk.error)}`, streamed);
    return chunk;
  }
}

/** The `error.message` of an OpenAI-style error body, else the body itself (shortened). */
function errorMessage(body: string): string {
  try {
    const parsed = JSON.parse(body) as { error?: { message?: string } | string; message?: string; detail?: unknown };
    const message = typeof parsed.error === 'string' ? parsed.error : (parsed.error?.message ?? parsed.message ?? parsed.detail);
    if (message) return typeof message === 'string' ? message : JSON.stringify(message);
  } catch {
    // not JSON: show the text
  }
  return body.trim().slice(0, 500) || '(empty body)';
}

function describe(err: unknown): string {
  const e = err as Error & { cause?: { message?: string; code?: string } };
  return e.cause?.code ?? e.cause?.message ?? e.message;
}
