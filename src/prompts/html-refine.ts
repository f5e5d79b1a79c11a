// Task prompt: refining a generated page as a real multi-turn conversation. The original sketch
// request with its images stays the first turn, each earlier answer is an assistant turn, and the
// new instruction is the last user turn (which, in Pixtral's format, also carries the system prompt).
import type { ChatMessage } from '../worker/chat-format';
import { type HtmlFromSketchInput, htmlSystemPrompt, sketchRequest } from './html-from-sketch';
import { type TaskConversation, type TaskInfo, WRITING_TEMPERATURE } from './task';

export interface HtmlRefineInput<I> extends HtmlFromSketchInput<I> {
  /** The page that answered the sketch request. */
  initialHtml: string;
  /** Later rounds, oldest first: each change request and the page it produced. Pass the editor's
   * current code as the last page if the user edited it by hand. */
  followUps?: { instruction: string; html: string }[];
  /** The new change request. */
  instruction: string;
}

const REFINE = 'You are now changing a page you wrote earlier. Apply the requested change and keep everything else exactly as it is. Always reply with the whole updated file, never with a diff or an excerpt.';

export const htmlRefine = {
  id: 'html-refine',
  version: 1,
  title: 'Refine generated HTML',
  sampling: { temperature: WRITING_TEMPERATURE, maxTokens: 4096 },
  build<I>(input: HtmlRefineInput<I>): TaskConversation<I> {
    const messages: ChatMessage<I>[] = [sketchRequest(input), { role: 'assistant', content: input.initialHtml }];
    for (const round of input.followUps ?? []) {
      messages.push({ role: 'user', content: round.instruction }, { role: 'assistant', content: round.html });
    }
    messages.push({ role: 'user', content: input.instruction });
    return { systemPrompt: `${htmlSystemPrompt(input.target)}\n\n${REFINE}`, messages };
  },
} satisfies TaskInfo;
