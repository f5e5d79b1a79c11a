// Prompt stage: turns a conversation into the token ids the model is prefilled with, in the Pixtral
// instruct format (tekken v3, spec g) with each image expanded to its block of image tokens (spec d).
// The tokenizer supplies text ids; the images travel alongside in the order their tokens appear,
// which is the order the engine must fill the [IMG] positions in.
// The message types are generic over the image: task prompts (src/prompts) and clients carry
// image references (src/worker/protocol.ts); only buildChatPrompt needs the preprocessed grid.

/** An image as the prompt sees it: its patch grid after preprocessing (rows × columns). */
export interface ImageGrid {
  gridH: number;
  gridW: number;
}

export type UserChunk<I = ImageGrid> =
  | { type: 'text'; text: string }
  | { type: 'image'; image: I };

export type ChatMessage<I = ImageGrid> =
  | { role: 'user'; content: string | UserChunk<I>[] }
  | { role: 'assistant'; content: string };

export interface ChatPrompt<I extends ImageGrid = ImageGrid> {
  /** From BOS up to and including the final [/INST]. */
  ids: number[];
  /** Every image of the conversation, in the order of its tokens in `ids`. */
  images: I[];
}

/** The part of the tokenizer the prompt builder needs. */
export interface PromptTokens extends ImageTokenIds {
  bos: number;
  eos: number;
  inst: number;
  endInst: number;
  encode(text: string): number[];
}

export interface ImageTokenIds {
  img: number;
  imgBreak: number;
  imgEnd: number;
}

export class ChatFormatError extends Error {
  override name = 'ChatFormatError';
}

/**
 * Builds `[BOS] ([INST] user [/INST] assistant [EOS])* [INST] user [/INST]`. The system prompt has
 * no token of its own in v3: it goes, followed by a blank line, in front of the last user message
 * (mistral-common), or of the first with placement 'first-user' (a prefix that stays put as the
 * conversation grows, so follow-ups reuse the KV cache).
 */
export function buildChatPrompt<I extends ImageGrid>(
  tokens: PromptTokens,
  messages: readonly ChatMessage<I>[],
  options: { systemPrompt?: string | null; placement?: 'last-user' | 'first-user' } = {},
): ChatPrompt<I> {
  checkTurnOrder(messages);
  const systemPrompt = options.systemPrompt || null;
  const systemAt = options.placement === 'first-user' ? 0 : messages.length - 1;
  const ids = [tokens.bos];
  const images: I[] = [];
  messages.forEach((message, index) => {
    if (message.role === 'assistant') {
      if (typeof message.content !== 'string') fail(index, 'content', 'must be a string in an assistant message');
      ids.push(...tokens.encode(message.content), tokens.eos);
      return;
    }
    const system = index === systemAt ? systemPrompt : null;
    ids.push(tokens.inst);
    if (typeof message.content === 'string') {
      ids.push(...tokens.encode(system ? `${system}\n\n${message.content}` : message.content));
    } else {
      if (system) ids.push(...tokens.encode(`${system}\n\n`));
      for (const chunk of imageFirst(checkChunks(message.content, index))) {
        if (chunk.type === 'text') {
          ids.push(...tokens.encode(chunk.text));
        } else {
          ids.push(...imageTokenIds(chunk.image.gridH, chunk.image.gridW, tokens));
          images.push(chunk.image);
        }
      }
    }
    ids.push(tokens.endInst);
  });
  return { ids, images };
}

/** Rows of `[IMG]`×gridW each closed by `[IMG_BREAK]`, the last row closed by `[IMG_END]` instead. */
export function imageTokenIds(gridH: number, gridW: number, ids: ImageTokenIds): number[] {
  const row = new Array<number>(gridW).fill(ids.img);
  const out: number[] = [];
  for (let r = 0; r < gridH; r++) out.push(...row, r === gridH - 1 ? ids.imgEnd : ids.imgBreak);
  return out;
}

// mistral-common's force_img_first: text chunk(s) followed by exactly one image are encoded with the
// image first, the way the model was trained ("image, then question").
function imageFirst<I>(chunks: readonly UserChunk<I>[]): readonly UserChunk<I>[] {
  const last = chunks.length - 1;
  const textThenOneImage = last >= 1 && chunks[last].type === 'image' && chunks.slice(0, last).every((c) => c.type === 'text');
  return textThenOneImage ? [chunks[last], ...chunks.slice(0, last)] : chunks;
}

function checkTurnOrder(messages: readonly ChatMessage<unknown>[]): void {
  if (messages.length === 0) throw new ChatFormatError('the conversation is empty: give at least one user message');
  messages.forEach((message, index) => {
    const expected = index % 2 === 0 ? 'user' : 'assistant';
    if (message?.role !== expected) {
      fail(index, 'role', `is ${JSON.stringify(message?.role)} but must be "${expected}": turns alternate user, assistant, user, … starting with the user`);
    }
  });
  if (messages.length % 2 === 0) {
    throw new ChatFormatError('the conversation ends with an assistant message: the prompt must end with a user message for the model to answer');
  }
}

function checkChunks<I extends ImageGrid>(content: readonly UserChunk<I>[], index: number): readonly UserChunk<I>[] {
  if (!Array.isArray(content)) fail(index, 'content', 'must be a string or an array of text/image chunks');
  content.forEach((chunk, position) => {
    const ok = (chunk?.type === 'text' && typeof chunk.text === 'string') || (chunk?.type === 'image' && typeof chunk.image === 'object' && chunk.image !== null);
    if (!ok) fail(index, `content[${position}]`, 'must be {type: "text", text: string} or {type: "image", image: {gridH, gridW}}');
    if (chunk.type === 'image') {
      const { gridH, gridW } = chunk.image;
      if (!Number.isSafeInteger(gridH) || !Number.isSafeInteger(gridW) || gridH < 1 || gridW < 1) {
        fail(index, `content[${position}].image`, `has a patch grid of ${gridH}×${gridW}; both must be positive integers (preprocess the image first)`);
      }
    }
  });
  return content;
}

function fail(index: number, field: string, problem: string): never {
  throw new ChatFormatError(`messages[${index}].${field} ${problem}`);
}
