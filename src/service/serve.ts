// `pixtral serve`: an OpenAI-compatible HTTP server in front of any GenerationBackend (normally
// the local worker). GET /v1/models, POST /v1/chat/completions (JSON or SSE streaming, usage
// counts). Safe by default: bound to 127.0.0.1, bodies and queue bounded, remote image URLs
// refused unless allowed, optional bearer key; a client that disconnects cancels its request.
import { timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WRITING_TEMPERATURE } from '../prompts/task';
import type { ErrorCode, StopReason, Usage } from '../worker/protocol';
import { GenerationError, type GenerationBackend } from './generation-backend';
import { readLimited } from './http-body';
import {
  parseChatRequest,
  toFinishReason,
  toOpenAiUsage,
  type OpenAiChunk,
  type OpenAiCompletion,
  type OpenAiFinishReason,
  type ParsedChatRequest,
} from './openai-format';
import { sseComment, sseData } from './sse';

export interface ServeOptions {
  backend: GenerationBackend;
  /** The model name clients see in /v1/models and in answers. */
  modelId: string;
  /** Default 127.0.0.1: only this machine. */
  host?: string;
  /** Default 8080; 0 picks a free port. */
  port?: number;
  /** Largest request body (images arrive base64-encoded inside it); default 32 MiB. */
  maxBodyBytes?: number;
  /** Requests allowed to wait behind the running one; more are answered 429. Default 16. */
  maxQueued?: number;
  /** Fetch http(s) image URLs (off by default). */
  allowRemoteImages?: boolean;
  /** When set, every request must carry `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  /** max_tokens when a request gives none. Default 1024. */
  defaultMaxTokens?: number;
  /** One line per finished request (method, path, status, outcome). */
  log?: (line: string) => void;
}

export interface RunningServer {
  /** Base URL including /v1, e.g. http://127.0.0.1:8080/v1. */
  url: string;
  close(): Promise<void>;
}

const STATUS_FOR: Record<ErrorCode, number> = {
  protocol: 500,
  bad_request: 400,
  context_overflow: 400,
  not_loaded: 503,
  load_failed: 503,
  engine: 500,
  bad_weights: 503,
  out_of_memory: 507,
  unsupported: 501,
  worker_start: 503,
  worker_crashed: 500,
  remote: 502,
};

/** OpenAI's `error.code` for the same conditions, so client libraries recognise them. */
const OPENAI_CODE: Partial<Record<ErrorCode, string>> = { context_overflow: 'context_length_exceeded' };

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type = 'invalid_request_error',
    readonly code: string | null = null,
  ) {
    super(message);
  }
}

export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const maxBodyBytes = options.maxBodyBytes ?? 32 * 1024 * 1024;
  const maxQueued = options.maxQueued ?? 16;
  const defaults = {
    images: { allowRemote: options.allowRemoteImages ?? false, maxBytes: maxBodyBytes },
    maxTokens: options.defaultMaxTokens ?? 1024,
    // A request without temperature gets the product's default for open-ended writing.
    temperature: WRITING_TEMPERATURE,
  };
  const log = options.log ?? (() => undefined);
  let active = 0;
  let nextId = 1;

  const server = http.createServer((req, res) => {
    const started = performance.now();
    handle(req, res)
      .catch((err: unknown) => sendError(res, asHttpError(err)))
      .then((outcome) => log(`${req.method} ${req.url} ${res.statusCode} ${outcome} ${Math.round(performance.now() - started)} ms`));
  });

  /** Answers one request; returns a short outcome for the log line. */
  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<string> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (options.apiKey && !authorized(req.headers.authorization, options.apiKey)) {
      throw new HttpError(401, 'missing or wrong API key: send "Authorization: Bearer <key>"', 'authentication_error', 'invalid_api_key');
    }
    if (url.pathname === '/v1/models') {
      if (req.method !== 'GET') throw new HttpError(405, 'use GET for /v1/models');
      sendJson(res, 200, { object: 'list', data: [{ id: options.modelId, object: 'model', created: 0, owned_by: 'pixtral-local' }] });
      return 'ok';
    }
    if (url.pathname !== '/v1/chat/completions') {
      throw new HttpError(404, `no route ${url.pathname}: this server has /v1/models and /v1/chat/completions`, 'not_found_error');
    }
    if (req.method !== 'POST') throw new HttpError(405, 'use POST for /v1/chat/completions');
    if (active > maxQueued) throw new HttpError(429, `the server is busy: ${active} requests are queued, try again later`, 'rate_limit_error');
    active++;
    try {
      const parsed = await parseChatRequest(await readJsonBody(req, maxBodyBytes), defaults);
      return await complete(res, parsed, `chatcmpl-${Date.now().toString(36)}-${nextId++}`);
    } finally {
      active--;
    }
  }

  /** Runs one chat completion, as SSE or as one JSON answer; returns its outcome. */
  async function complete(res: http.ServerResponse, parsed: ParsedChatRequest, id: string): Promise<string> {
    const disconnected = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) disconnected.abort();
    });
    const created = Math.floor(Date.now() / 1000);
    const chunk = (delta: OpenAiChunk['choices'][0]['delta'], finish: OpenAiFinishReason | null = null): OpenAiChunk => ({
      id,
      object: 'chat.completion.chunk',
      created,
      model: options.modelId,
      choices: [{ index: 0, delta, finish_reason: finish }],
    });
    let text = '';
    let streaming = false;
    // The SSE response starts once the backend accepted the request (prefill began), so a
    // request refused up front (bad image, context overflow) still gets a proper HTTP status.
    const startStream = () => {
      if (streaming || !parsed.stream) return;
      streaming = true;
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
      res.write(sseData(chunk({ role: 'assistant', content: '' })));
    };
    let outcome: { stopReason: StopReason; usage: Usage } | undefined;
    try {
      for await (const event of options.backend.generate(parsed.request, { signal: disconnected.signal })) {
        if (event.type === 'done') {
          outcome = event;
          continue;
        }
        if (res.destroyed) continue; // the client left: the abort is on its way, drain to `done`
        if (event.type === 'progress') {
          if (event.progress.stage !== 'image') startStream();
          if (streaming) res.write(sseComment(event.progress.stage));
        } else {
          text += event.text;
          startStream();
          if (streaming) res.write(sseData(chunk({ content: event.text })));
        }
      }
    } catch (err) {
      if (!streaming) throw err;
      // Mid-stream the status is already sent: report the error as an event, as vLLM does.
      const error = asHttpError(err);
      res.end(sseData({ error: { message: error.message, type: error.type, code: error.code } }));
      return errorOutcome(error);
    }
    if (!outcome) throw new HttpError(500, 'the backend ended without an answer', 'server_error');
    const usage = toOpenAiUsage(outcome.usage);
    const finish = toFinishReason(outcome.stopReason);
    const summary = `${outcome.stopReason} prompt=${usage.prompt_tokens} completion=${usage.completion_tokens}`;
    if (res.destroyed) return `client disconnected, ${summary}`;
    if (!parsed.stream) {
      const completion: OpenAiCompletion = {
        id,
        object: 'chat.completion',
        created,
        model: options.modelId,
        choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: finish }],
        usage,
      };
      sendJson(res, 200, completion);
      return summary;
    }
    startStream();
    res.write(sseData(chunk({}, finish)));
    if (parsed.includeUsage) res.write(sseData({ ...chunk({}), choices: [], usage }));
    res.end(sseData('[DONE]'));
    return summary;
  }

  server.headersTimeout = 30_000;
  server.requestTimeout = 0; // a queued or long generation must not be cut off
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8080, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}/v1`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function authorized(header: string | undefined, apiKey: string): boolean {
  const given = Buffer.from(header?.replace(/^Bearer\s+/i, '') ?? '');
  const expected = Buffer.from(apiKey);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

async function readJsonBody(req: http.IncomingMessage, maxBytes: number): Promise<unknown> {
  const tooLarge = new HttpError(413, `the request body is larger than ${maxBytes} bytes`, 'invalid_request_error', 'request_too_large');
  if (Number(req.headers['content-length'] ?? 0) > maxBytes) throw tooLarge;
  const bytes = await readLimited(req, maxBytes);
  if (!bytes) throw tooLarge;
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new HttpError(400, `the request body is not valid JSON: ${(err as Error).message}`, 'invalid_request_error', 'invalid_json');
  }
}

function asHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof GenerationError) {
    const status = STATUS_FOR[err.code];
    return new HttpError(status, err.message, status < 500 ? 'invalid_request_error' : 'server_error', OPENAI_CODE[err.code] ?? err.code);
  }
  return new HttpError(500, `internal error: ${(err as Error)?.message ?? String(err)}`, 'server_error');
}

function errorOutcome(error: HttpError): string {
  return `error: ${error.message.split('\n')[0]}`;
}

/** Answers with an OpenAI-style error body; returns the outcome for the log line. */
function sendError(res: http.ServerResponse, error: HttpError): string {
  if (res.headersSent) {
    res.end();
  } else {
    // An unread (oversized) body stays on the socket; close it rather than parse it as the next request.
    if (error.status === 413) res.setHeader('connection', 'close');
    sendJson(res, error.status, { error: { message: error.message, type: error.type, param: null, code: error.code } });
  }
  return errorOutcome(error);
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
