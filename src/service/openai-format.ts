// The OpenAI chat-completions wire format and its mapping to our GenerationRequest, both ways:
// `pixtral serve` reads requests in it, the remote backend writes them. Only what a vision chat
// needs is mapped; options we cannot honour (n > 1, stop strings, tools) are refused, not ignored.
import type { ChatMessage, ContentPart, GenerationRequest, StopReason, Usage } from '../worker/protocol';
import { GenerationError } from './generation-backend';
import { imageFromUrl, imageToDataUrl, type ImageUrlPolicy } from './image-url';

export type OpenAiContentPart = { type: 'text'; text: string } | { type: 'image_url'; image_url: { url: string } | string };

export interface OpenAiMessage {
  role: 'system' | 'developer' | 'user' | 'assistant';
  content: string | OpenAiContentPart[];
}

export interface OpenAiChatRequest {
  model: string;
  messages: OpenAiMessage[];
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
  max_tokens?: number;
  temperature?: number;
  top_p?: number;
  seed?: number;
  /** Mistral's API name for `seed`. */
  random_seed?: number;
}

/**
 * Request dialects. 'mistral': Mistral's API refuses fields it does not know (HTTP 422) such as
 * stream_options (it sends usage anyway) and calls the seed random_seed.
 */
export type ChatDialect = 'openai' | 'mistral';

export interface OpenAiUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export type OpenAiFinishReason = 'stop' | 'length';

export interface OpenAiChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  choices: { index: number; delta: { role?: 'assistant'; content?: string }; finish_reason: OpenAiFinishReason | null }[];
  usage?: OpenAiUsage | null;
}

export interface OpenAiCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: { index: number; message: { role: 'assistant'; content: string }; finish_reason: OpenAiFinishReason }[];
  usage: OpenAiUsage;
}

export interface ParsedChatRequest {
  request: GenerationRequest;
  stream: boolean;
  /** stream_options.include_usage: send a last chunk with the token counts. */
  includeUsage: boolean;
}

export interface ChatRequestDefaults {
  images: ImageUrlPolicy;
  maxTokens: number;
  temperature: number;
}

/** Reads a POST /v1/chat/completions body; throws GenerationError('bad_request') naming the field. */
export async function parseChatRequest(body: unknown, defaults: ChatRequestDefaults): Promise<ParsedChatRequest> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalid('the request body must be a JSON object');
  const b = body as Record<string, unknown>;
  refuseUnsupported(b);
  if (!Array.isArray(b.messages) || b.messages.length === 0) throw invalid('messages must be a non-empty array');
  const system: string[] = [];
  const messages: ChatMessage[] = [];
  for (const [index, raw] of (b.messages as unknown[]).entries()) {
    const where = `messages[${index}]`;
    const message = raw as Partial<OpenAiMessage> | null;
    switch (message?.role) {
      case 'system':
      case 'developer':
        system.push(textOnly(message.content, where));
        break;
      case 'assistant':
        messages.push({ role: 'assistant', content: textOnly(message.content, where) });
        break;
      case 'user':
        messages.push({ role: 'user', content: await userContent(message.content, where, defaults.images) });
        break;
      default:
        throw invalid(`${where}.role must be "system", "user" or "assistant"`);
    }
  }
  const stream = optional(b.stream, 'stream', isBoolean) ?? false;
  const streamOptions = optional(b.stream_options, 'stream_options', isObject);
  const request: GenerationRequest = {
    messages,
    sampling: {
      maxTokens: optional(b.max_completion_tokens ?? b.max_tokens, 'max_tokens', isPositiveInteger) ?? defaults.maxTokens,
      temperature: optional(b.temperature, 'temperature', isTemperature) ?? defaults.temperature,
      topP: optional(b.top_p, 'top_p', isProbability),
      seed: optional(b.seed ?? b.random_seed, 'seed', isInteger),
    },
  };
  if (system.length > 0) request.systemPrompt = system.join('\n\n');
  return { request, stream, includeUsage: stream && streamOptions?.include_usage === true };
}

function refuseUnsupported(b: Record<string, unknown>): void {
  if (b.n !== undefined && b.n !== null && b.n !== 1) throw invalid('n must be 1: one answer per request');
  const stop = b.stop;
  if (stop !== undefined && stop !== null && !(Array.isArray(stop) && stop.length === 0)) throw invalid('stop sequences are not supported');
  if (Array.isArray(b.tools) && b.tools.length > 0) throw invalid('tools are not supported');
}

/** `value` if present and valid, undefined if absent or null; a clear error otherwise. */
function optional<T>(value: unknown, name: string, valid: (v: unknown) => v is T): T | undefined {
  if (value === undefined || value === null) return undefined;
  if (!valid(value)) throw invalid(`${name} has an invalid value: ${JSON.stringify(value)}`);
  return value;
}

const isBoolean = (v: unknown): v is boolean => typeof v === 'boolean';
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
const isInteger = (v: unknown): v is number => Number.isSafeInteger(v);
const isPositiveInteger = (v: unknown): v is number => isInteger(v) && v > 0;
const isTemperature = (v: unknown): v is number => typeof v === 'number' && v >= 0 && v <= 2;
const isProbability = (v: unknown): v is number => typeof v === 'number' && v > 0 && v <= 1;

function textOnly(content: unknown, where: string): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) throw invalid(`${where}.content must be a string or an array of parts`);
  return content
    .map((part: Partial<OpenAiContentPart> | null, i) => {
      if (part?.type !== 'text' || typeof part.text !== 'string') throw invalid(`${where}.content[${i}] must be a text part here`);
      return part.text;
    })
    .join('');
}

async function userContent(content: unknown, where: string, images: ImageUrlPolicy): Promise<string | ContentPart[]> {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) throw invalid(`${where}.content must be a string or an array of parts`);
  const parts: ContentPart[] = [];
  for (const [i, raw] of content.entries()) {
    const part = raw as Partial<OpenAiContentPart> | null;
    if (part?.type === 'text' && typeof part.text === 'string') {
      parts.push({ type: 'text', text: part.text });
    } else if (part?.type === 'image_url') {
      // OpenAI sends {url}; Mistral's API also takes the URL as a plain string.
      const url = typeof part.image_url === 'string' ? part.image_url : part.image_url?.url;
      try {
        parts.push({ type: 'image', image: await imageFromUrl(url as string, images) });
      } catch (err) {
        throw invalid(`${where}.content[${i}].image_url: ${(err as Error).message}`);
      }
    } else {
      throw invalid(`${where}.content[${i}] must be {type: "text", text} or {type: "image_url", image_url: {url}}`);
    }
  }
  return parts;
}

function invalid(message: string): GenerationError {
  return new GenerationError('bad_request', message);
}

/** The request a remote endpoint receives: images inlined as data: URIs, streaming with usage. */
export async function toChatRequest(request: GenerationRequest, model: string, dialect: ChatDialect): Promise<OpenAiChatRequest> {
  const messages: OpenAiMessage[] = request.systemPrompt ? [{ role: 'system', content: request.systemPrompt }] : [];
  for (const message of request.messages) {
    if (message.role === 'assistant' || typeof message.content === 'string') {
      messages.push({ role: message.role, content: message.content as string });
      continue;
    }
    const content: OpenAiContentPart[] = [];
    for (const part of message.content) {
      content.push(part.type === 'text' ? part : { type: 'image_url', image_url: { url: await imageToDataUrl(part.image) } });
    }
    messages.push({ role: 'user', content });
  }
  const { maxTokens, temperature, topP, seed } = request.sampling;
  const common = { model, messages, stream: true, max_tokens: maxTokens, temperature, top_p: topP };
  return dialect === 'mistral' ? { ...common, random_seed: seed } : { ...common, stream_options: { include_usage: true }, seed };
}

export function toOpenAiUsage(usage: Usage): OpenAiUsage {
  return { prompt_tokens: usage.promptTokens, completion_tokens: usage.completionTokens, total_tokens: usage.promptTokens + usage.completionTokens };
}

/** Remote endpoints do not say how many prompt tokens were image tokens. */
export function fromOpenAiUsage(usage: OpenAiUsage): Usage {
  return { promptTokens: usage.prompt_tokens ?? 0, completionTokens: usage.completion_tokens ?? 0, imageTokens: 0 };
}

/** A cancelled answer only reaches a client that is gone; 'stop' is the closest OpenAI value. */
export function toFinishReason(stopReason: StopReason): OpenAiFinishReason {
  return stopReason === 'length' ? 'length' : 'stop';
}

export function fromFinishReason(reason: string | null | undefined): StopReason {
  return reason === 'length' ? 'length' : 'stop';
}
