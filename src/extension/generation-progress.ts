// What a running generation tells the user: a line per pipeline stage and the decode speed.
// Pure (no `vscode`), shared by the progress notification, the status bar and the panels.
import type { GenerationEvent } from '../service/generation-backend';
import type { ProgressInfo } from '../worker/protocol';

export function describeStage(progress: ProgressInfo): string {
  switch (progress.stage) {
    case 'image':
      return `reading image ${progress.index + 1} of ${progress.count} (${progress.tokens} tokens)`;
    case 'prefill':
      return `reading the prompt (${progress.promptTokens} tokens)`;
    case 'decode':
      return 'writing';
  }
}

/**
 * Tokens per second while streaming. The worker sends about one text event per token, so events
 * over time since the first one is the live estimate; the `done` event's usage and timings
 * replace it with the exact figure when the backend reports them.
 */
export class TokenRate {
  private first: number | undefined;
  private events = 0;
  private exact: number | undefined;

  constructor(private readonly now: () => number = () => performance.now()) {}

  observe(event: GenerationEvent): void {
    if (event.type === 'text') {
      this.first ??= this.now();
      this.events++;
    } else if (event.type === 'done' && event.timings && event.timings.decodeMs > 0 && event.usage.completionTokens > 0) {
      this.exact = (event.usage.completionTokens * 1000) / event.timings.decodeMs;
    }
  }

  /** undefined until two tokens have arrived over a measurable time. */
  get tokensPerSecond(): number | undefined {
    if (this.exact !== undefined) return this.exact;
    if (this.first === undefined || this.events < 2) return undefined;
    const seconds = (this.now() - this.first) / 1000;
    return seconds > 0 ? (this.events - 1) / seconds : undefined;
  }
}
