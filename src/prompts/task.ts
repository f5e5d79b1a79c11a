// Shared shape of the task prompts (src/prompts/*.ts): what every task declares besides the function
// that builds its conversation. A task's text is pinned by a golden token-id test
// (test/service/prompts.test.ts); any change to it must bump `version`.
// Conversations are generic over the image type `I`: a task only places its images, so clients pass
// their image references (src/service/task-request.ts); only the worker's prompt builder
// (src/worker/chat-format.ts) needs each image's patch grid, once it has preprocessed it.
import type { ChatMessage, UserChunk } from '../worker/chat-format';

export interface Sampling {
  /** 0 means greedy decoding. */
  temperature: number;
  /** Default cap on generated tokens; the user may raise it. */
  maxTokens: number;
}

export interface TaskInfo {
  id: string;
  /** Bumped whenever the task's text or message layout changes. */
  version: number;
  title: string;
  sampling: Sampling;
  /** Builds the conversation from the task's own input type (see each task file). */
  build(input: never): TaskConversation<unknown>;
}

/** What a task builds: the system prompt and the turns that src/worker/chat-format.ts encodes. */
export interface TaskConversation<I> {
  systemPrompt: string;
  messages: ChatMessage<I>[];
}

/**
 * A user turn: the images, in the order given, then the text. Every task puts its images first, the
 * way the model was trained ("image, then question"); the chat format's image-first rule would do
 * that only for exactly one image after the text, so it is done here for any number.
 */
export function userTurn<I>(images: readonly I[], text: string): ChatMessage<I> {
  const content: UserChunk<I>[] = images.map((image) => ({ type: 'image', image }));
  content.push({ type: 'text', text });
  return { role: 'user', content };
}

// Sampling defaults. Open-ended writing (code, explanations) uses 0.35, the temperature of the
// Pixtral demos: varied enough to avoid repetition loops, low enough to stay on the image.
// Transcription (charts or tables to data) has one right answer, so it decodes greedily.
export const WRITING_TEMPERATURE = 0.35;
export const TRANSCRIPTION_TEMPERATURE = 0;
