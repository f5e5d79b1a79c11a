// Shared shape of the task prompts (src/prompts/*.ts): what every task declares besides the function
// that builds its conversation. A task's text is pinned by a golden token-id test
// (test/service/prompts.test.ts); any change to it must bump `version`.
import type { ChatMessage, ImageGrid } from '../worker/chat-format';

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
  build(input: never): TaskConversation;
}

/** What a task hands to the prompt builder (src/worker/chat-format.ts). */
export interface TaskConversation<I extends ImageGrid = ImageGrid> {
  systemPrompt: string;
  messages: ChatMessage<I>[];
}

// Sampling defaults. Open-ended writing (code, explanations) uses 0.35, the temperature of the
// Pixtral demos: varied enough to avoid repetition loops, low enough to stay on the image.
// Transcription (charts or tables to data) has one right answer, so it decodes greedily.
export const WRITING_TEMPERATURE = 0.35;
export const TRANSCRIPTION_TEMPERATURE = 0;
