// The one streaming interface every way of running Pixtral implements: the local worker process
// (worker-client.ts) and any OpenAI-compatible endpoint (remote-backend.ts). Commands, the HTTP
// server and the extension consume only this, so they work unchanged with either.
import type { ErrorCode, GenerationRequest, ProgressInfo, StopReason, Timings, Usage } from '../worker/protocol';

export type GenerationEvent =
  | { type: 'progress'; progress: ProgressInfo }
  | { type: 'text'; text: string }
  /** Always the last event of a stream that did not fail; `timings` only from the local worker. */
  | { type: 'done'; stopReason: StopReason; usage: Usage; timings?: Timings };

export interface GenerateOptions {
  /** Aborting stops the generation (or drops it from the queue); the stream then ends with
   *  a `done` event whose stopReason is 'cancelled'. Leaving the loop early does the same. */
  signal?: AbortSignal;
}

export interface GenerationBackend {
  /** Says where generation runs, for progress lines and errors. */
  readonly description: string;
  /** Streams one answer. The local worker serves requests one at a time in call order; a remote
   *  endpoint schedules them itself. Fails with a GenerationError; the text streamed before a
   *  failure has already been yielded (and is in the error's partialText). */
  generate(request: GenerationRequest, options?: GenerateOptions): AsyncIterable<GenerationEvent>;
  /** Releases the process or connections behind the backend. */
  dispose(): Promise<void>;
}

/** A failed generation. `partialText` is everything streamed before the failure. */
export class GenerationError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly partialText = '',
  ) {
    super(message);
    this.name = 'GenerationError';
  }
}

export const NO_USAGE: Usage = { promptTokens: 0, completionTokens: 0, imageTokens: 0 };

/** The `done` event of a request cancelled before it produced anything. */
export function cancelledBeforeStart(): GenerationEvent {
  return { type: 'done', stopReason: 'cancelled', usage: NO_USAGE };
}
