// One generation request inside the worker: images -> preprocessing, conversation -> prompt ids,
// the context-window check (before the vision encoder or anything else costly runs), then
// prefill and decoding, streaming text through the tokenizer's UTF-8-safe stream decoder.
// The KV cache of the last conversation stays in the engine: a request that shares a prefix with
// it (a follow-up) prefills only the rest (prompt-cache.ts).
import type { EngineError, GenerateResult, NativeEngine } from '../engine/native';
import { buildChatPrompt, ChatFormatError, type ChatMessage as PromptMessage } from './chat-format';
import { ImageError } from './image/errors';
import { prepareImage, type PreparedImage } from './image/preprocess';
import { type CacheKey, imageHash, imageStarts, keysAfter, promptKeys, reusablePrefix } from './prompt-cache';
import type { ChatMessage, ErrorCode, GenerationRequest, ImageRef, LoadedModel, ProgressInfo, StopReason, Timings, Usage } from './protocol';
import type { TekkenTokenizer } from './tokenizer';

/** A loaded model as the worker holds it. */
export interface ModelSession {
  engine: NativeEngine;
  tokenizer: TekkenTokenizer;
  model: LoadedModel;
  /** Vision input geometry; null for a text-only model. */
  vision: { maxImageSize: number; patchSize: number } | null;
  /** What each position of the engine's KV cache holds (prompt-cache.ts); absent before the first request. */
  cachedKeys?: CacheKey[];
}

/** A request that cannot be served, with the code the client receives. */
export class RequestFailure extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface GenerationHooks {
  progress(progress: ProgressInfo): void;
  text(text: string): void;
  /** True once the client asked to cancel this request. */
  cancelled(): boolean;
}

export interface GenerationOutcome {
  stopReason: StopReason;
  usage: Usage;
  timings: Timings;
}

export async function runGeneration(session: ModelSession, request: GenerationRequest, hooks: GenerationHooks): Promise<GenerationOutcome> {
  const { engine, tokenizer } = session;
  const sampling = checkSampling(request);
  const timings: Timings = { preprocessMs: 0, prefillMs: 0, decodeMs: 0 };
  let started = performance.now();

  const images = await prepareImages(session, request, hooks);
  const prompt = buildPrompt(session, request, images);
  const imageTokens = images.reduce((sum, image) => sum + image.tokenCount, 0);
  const usage: Usage = { promptTokens: prompt.ids.length, completionTokens: 0, imageTokens };
  const needed = prompt.ids.length + sampling.maxTokens;
  if (needed > engine.contextLength) {
    throw new RequestFailure(
      'context_overflow',
      `the request needs ${needed} tokens (prompt ${prompt.ids.length}, of which ${imageTokens} for ${images.length} image(s), plus ${sampling.maxTokens} to generate) but the context window holds ${engine.contextLength}. Use fewer or smaller images, a shorter conversation or fewer max tokens, or load the model with a larger context length.`,
    );
  }
  timings.preprocessMs = performance.now() - started;
  const cancelled = (): GenerationOutcome => ({ stopReason: 'cancelled', usage, timings });
  if (hooks.cancelled()) return cancelled();

  started = performance.now();
  hooks.progress({ stage: 'prefill', promptTokens: prompt.ids.length, contextLength: engine.contextLength });
  const keys = promptKeys(prompt.ids, tokenizer.img, prompt.images.map(imageHash), prompt.images.map((i) => i.gridH * i.gridW));
  const reused = reusablePrefix((session.cachedKeys ?? []).slice(0, engine.position), keys);
  usage.cachedTokens = reused;
  engine.rewind(reused);
  session.cachedKeys = keys.slice(0, reused);
  try {
    // Only the images whose rows lie past the reused prefix run through the vision encoder.
    const starts = imageStarts(keys);
    const pixels = prompt.images.filter((_, k) => starts[k] >= reused).map(({ pixels, height, width }) => ({ pixels, height, width }));
    await engine.prefill(Int32Array.from(prompt.ids.slice(reused)), { images: pixels, reserve: sampling.maxTokens });
    session.cachedKeys = keys;
  } catch (err) {
    // A cancel interrupts prefill at a layer boundary; the engine reports that as an exception.
    if (hooks.cancelled()) return cancelled();
    throw engineFailure(err, 'prefill failed');
  }
  timings.prefillMs = performance.now() - started;
  if (hooks.cancelled()) return cancelled();

  started = performance.now();
  hooks.progress({ stage: 'decode' });
  const decoder = tokenizer.createStreamDecoder();
  const generated: number[] = [];
  let result: GenerateResult;
  try {
    result = await engine.generate({ ...sampling, stopIds: [tokenizer.eos] }, (id) => {
      generated.push(id);
      const text = decoder.push(id);
      if (text) hooks.text(text);
    });
  } catch (err) {
    throw engineFailure(err, 'generation failed');
  } finally {
    session.cachedKeys = keysAfter(keys, generated, engine.position);
  }
  const tail = decoder.flush();
  if (tail) hooks.text(tail);
  timings.decodeMs = performance.now() - started;
  usage.completionTokens = result.tokens.length;
  return { stopReason: hooks.cancelled() ? 'cancelled' : result.stopReason, usage, timings };
}

/** The engine's error kind (its `code`) as the code the client receives. */
const ENGINE_CODES: Record<EngineError['code'], ErrorCode> = {
  ECANCELLED: 'engine',
  EBADINPUT: 'bad_request',
  EBADWEIGHTS: 'bad_weights',
  ENOMEM: 'out_of_memory',
  EUNSUPPORTED: 'unsupported',
  EINTERNAL: 'engine',
};

export function engineFailure(err: unknown, what: string): RequestFailure {
  const code = ENGINE_CODES[(err as Partial<EngineError>).code ?? 'EINTERNAL'] ?? 'engine';
  return new RequestFailure(code, `${what}: ${(err as Error).message}`);
}

function checkSampling(request: GenerationRequest): GenerationRequest['sampling'] {
  const sampling = request.sampling;
  const maxTokens = sampling?.maxTokens;
  if (!Number.isSafeInteger(maxTokens) || maxTokens < 1) {
    throw new RequestFailure('bad_request', `sampling.maxTokens must be a positive integer, got ${String(maxTokens)}`);
  }
  const temperature = sampling.temperature ?? 0;
  if (!(temperature >= 0)) throw new RequestFailure('bad_request', `sampling.temperature must be 0 or more, got ${temperature}`);
  const topP = sampling.topP ?? 1;
  if (!(topP > 0 && topP <= 1)) throw new RequestFailure('bad_request', `sampling.topP must be in (0, 1], got ${topP}`);
  return sampling;
}

/** Every image of the conversation in order, each decoded, sized and normalised. */
async function prepareImages(session: ModelSession, request: GenerationRequest, hooks: GenerationHooks): Promise<PreparedImage[]> {
  const refs = imageRefs(request.messages);
  if (refs.length === 0) return [];
  const vision = session.vision;
  if (!vision) throw new RequestFailure('bad_request', `the model in ${session.model.dir} has no vision encoder, so it cannot read images`);
  const prepared: PreparedImage[] = [];
  for (const [index, ref] of refs.entries()) {
    try {
      const input = 'path' in ref ? ref.path : Buffer.from(ref.data.buffer, ref.data.byteOffset, ref.data.byteLength);
      const image = await prepareImage(input, { ...vision, tokenBudget: request.imageTokenBudget });
      prepared.push(image);
      hooks.progress({ stage: 'image', index, count: refs.length, gridH: image.gridH, gridW: image.gridW, tokens: image.tokenCount });
    } catch (err) {
      if (err instanceof ImageError) throw new RequestFailure('bad_request', `image ${index + 1} of ${refs.length}: ${err.message}`);
      throw err;
    }
  }
  return prepared;
}

function imageRefs(messages: ChatMessage[]): ImageRef[] {
  if (!Array.isArray(messages)) throw new RequestFailure('bad_request', 'messages must be an array');
  const refs = messages.flatMap((message) =>
    message?.role === 'user' && Array.isArray(message.content) ? message.content.flatMap((part) => (part?.type === 'image' ? [part.image] : [])) : [],
  );
  for (const [index, ref] of refs.entries()) {
    const ok = typeof ref === 'object' && ref !== null && (typeof (ref as { path?: unknown }).path === 'string' || (ref as { data?: unknown }).data instanceof Uint8Array);
    if (!ok) throw new RequestFailure('bad_request', `image ${index + 1} must be {path: string} or {data: Uint8Array}`);
  }
  return refs;
}

/** The conversation with each image replaced by its preprocessed form, as prompt ids. */
function buildPrompt(session: ModelSession, request: GenerationRequest, images: PreparedImage[]): { ids: number[]; images: PreparedImage[] } {
  const placement = request.systemPromptPlacement;
  if (placement !== undefined && placement !== 'last-user' && placement !== 'first-user') {
    throw new RequestFailure('bad_request', `systemPromptPlacement must be "last-user" or "first-user", got ${JSON.stringify(placement)}`);
  }
  let next = 0;
  const messages = request.messages.map((message): PromptMessage<PreparedImage> => {
    if (message.role === 'assistant') return message;
    if (typeof message.content === 'string') return { role: 'user', content: message.content };
    return { role: 'user', content: message.content.map((part) => (part.type === 'image' ? { type: 'image', image: images[next++] } : part)) };
  });
  try {
    return buildChatPrompt(session.tokenizer, messages, { systemPrompt: request.systemPrompt, placement: request.systemPromptPlacement });
  } catch (err) {
    if (err instanceof ChatFormatError) throw new RequestFailure('bad_request', err.message);
    throw err;
  }
}
