// The chat as a real multi-turn conversation (src/prompts/free-question.ts): each earlier question
// with its images is a user turn and its answer an assistant turn; the new question, with any new
// images, is the last user turn. Stopped answers are left out with their question, since the
// model would otherwise continue from half an answer. Pure, so the layout is unit-tested.
import { freeQuestion } from '../../prompts';
import { samplingFor, toGenerationRequest } from '../../service/task-request';
import type { ChatMessage, GenerationRequest, ImageRef } from '../../worker/protocol';
import type { PixtralSettings } from '../settings-values';

export interface Exchange {
  question: string;
  images: ImageRef[];
  /** Undefined for the question being asked now. */
  answer?: string;
  stopped?: boolean;
}

export function askRequest(history: readonly Exchange[], next: Exchange, settings: Pick<PixtralSettings, 'maxTokens' | 'temperature' | 'imageTokenBudget'>): GenerationRequest {
  const messages: ChatMessage[] = [];
  for (const turn of history) {
    if (turn.stopped || !turn.answer) continue;
    messages.push(...freeQuestion.build(turn).messages, { role: 'assistant', content: turn.answer });
  }
  const last = freeQuestion.build(next);
  messages.push(...last.messages);
  return toGenerationRequest({ systemPrompt: last.systemPrompt, messages }, samplingFor(freeQuestion, settings), settings.imageTokenBudget);
}
