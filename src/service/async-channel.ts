// Turns pushed values (IPC messages, HTTP chunks) into an AsyncIterable for one consumer. Values
// pushed before the consumer asks are kept in order; a failure is raised only after every value
// pushed before it has been read, so nothing received is lost.

export class AsyncChannel<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private closed = false;
  private failure: { error: unknown } | undefined;
  private wake: (() => void) | undefined;

  /** `onAbandon` runs when the consumer stops reading before the channel closed (break, throw). */
  constructor(private readonly onAbandon: () => void = () => {}) {}

  push(item: T): void {
    if (this.closed) return;
    this.items.push(item);
    this.notify();
  }

  /** Ends the stream after the values already pushed. */
  close(): void {
    this.closed = true;
    this.notify();
  }

  /** Ends the stream with `error`, raised after the values already pushed. */
  fail(error: unknown): void {
    if (this.closed) return;
    this.failure = { error };
    this.close();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    let finished = false;
    try {
      for (;;) {
        const item = this.items.shift();
        if (item !== undefined) {
          yield item;
          continue;
        }
        if (this.closed) {
          finished = true;
          if (this.failure) throw this.failure.error;
          return;
        }
        await new Promise<void>((resolve) => (this.wake = resolve));
      }
    } finally {
      if (!finished) this.onAbandon();
    }
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}
