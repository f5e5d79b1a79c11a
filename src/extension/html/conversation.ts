// One page's conversation with the model: the images and wishes it started from, the page it got,
// and every refinement round since. Follow-ups are real multi-turn requests (src/prompts/
// html-refine.ts): the images and first request, each earlier page as an assistant turn, then the
// new instruction. Pure, so the turn layout is unit-tested.
import { htmlFromSketch, htmlRefine, type HtmlTarget } from '../../prompts';
import { samplingFor, toGenerationRequest } from '../../service/task-request';
import type { GenerationRequest, ImageRef } from '../../worker/protocol';
import type { PixtralSettings } from '../settings-values';

type RequestSettings = Pick<PixtralSettings, 'maxTokens' | 'temperature' | 'imageTokenBudget'>;

export class HtmlConversation {
  private initialHtml: string | undefined;
  private readonly rounds: { instruction: string; html: string }[] = [];

  constructor(
    readonly images: readonly ImageRef[],
    readonly target: HtmlTarget,
    readonly notes: string,
  ) {
    if (images.length === 0) throw new Error('a page needs at least one image');
  }

  /** A page exists, so instructions can refine it. */
  get started(): boolean {
    return this.initialHtml !== undefined;
  }

  /** The latest page, as the model last wrote it. */
  get lastHtml(): string | undefined {
    return this.rounds.at(-1)?.html ?? this.initialHtml;
  }

  /** The first request: every image, then the request to build the page (with the notes). */
  firstRequest(settings: RequestSettings): GenerationRequest {
    const conversation = htmlFromSketch.build({ images: this.images, target: this.target, notes: this.notes });
    return toGenerationRequest(conversation, samplingFor(htmlFromSketch, settings), settings.imageTokenBudget);
  }

  /**
   * A follow-up. `currentHtml` is the page as it is now in the editor: when the user edited it by
   * hand, that version (not the model's) is the last assistant turn, so the change applies to it.
   */
  refineRequest(instruction: string, settings: RequestSettings, currentHtml?: string): GenerationRequest {
    if (this.initialHtml === undefined) throw new Error('nothing to refine yet: generate a page first');
    const followUps = this.rounds.map((round) => ({ ...round }));
    let initialHtml = this.initialHtml;
    if (currentHtml !== undefined && currentHtml !== this.lastHtml) {
      if (followUps.length > 0) followUps[followUps.length - 1].html = currentHtml;
      else initialHtml = currentHtml;
    }
    const conversation = htmlRefine.build({ images: this.images, target: this.target, notes: this.notes, initialHtml, followUps, instruction });
    return toGenerationRequest(conversation, samplingFor(htmlRefine, settings), settings.imageTokenBudget);
  }

  /** Records the page a request produced: the first one, or the answer to `instruction`. */
  record(html: string, instruction?: string): void {
    if (instruction === undefined || this.initialHtml === undefined) this.initialHtml = html;
    else this.rounds.push({ instruction, html });
  }
}
