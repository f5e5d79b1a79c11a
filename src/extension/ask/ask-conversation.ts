// The chat as a real multi-turn conversation (src/prompts/free-question.ts): each earlier question
// with its images is a user turn and its answer an assistant turn; the new question, with any new
// images, is the last user turn. Stopped answers are left out with their question, since the
// model would otherwise continue from half an answer. Also the conversation a chat restored after
// a restart resumes from. Pure, so both are unit-tested.
import { freeQuestion } from '../../prompts';
import { samplingFor, toGenerationRequest } from '../../service/task-request';
import type { ChatMessage, GenerationRequest, ImageRef } from '../../worker/protocol';
import type { PixtralSettings } from '../settings-values';
import type { AskState, AskTurn } from './protocol';

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

/**
 * The conversation of a chat VS Code restored after a restart, from the state its webview saved.
 * A state saved while busy ends with an answer that never finished: it is marked stopped, so it
 * shows as such and is not sent as context.
 */
export function restoredTurns(saved: unknown): AskTurn[] {
  const state = (saved ?? {}) as Partial<AskState>;
  const turns = Array.isArray(state.turns) ? state.turns : [];
  return turns.map((turn, i) => ({ ...turn, stopped: !!turn.stopped || (state.busy === true && i === turns.length - 1) }));
}
