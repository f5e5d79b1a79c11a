// Collects streamed text and hands it on in batches: at most one flush per interval, and never a
// second flush while the previous one is still being applied. A model emits one token every few
// milliseconds; one editor edit per token would flood the extension host and the renderer.
// Pure (timers only) so the batching rules are unit-tested.

export class TextBatcher {
  private pending = '';
  private timer: ReturnType<typeof setTimeout> | undefined;
  private applying: Promise<void> = Promise.resolve();
  private failure: unknown;

  /** `apply` receives each batch in order; batches never overlap. */
  constructor(
    private readonly apply: (text: string) => Promise<void>,
    private readonly intervalMs = 50,
  ) {}

  push(text: string): void {
    if (!text) return;
    this.pending += text;
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.flushNow();
    }, this.intervalMs);
  }

  /** Applies everything pushed so far; resolves once it is applied. Raises an `apply` failure. */
  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.flushNow();
    await this.applying;
    if (this.failure) throw this.failure;
  }

  private flushNow(): void {
    if (!this.pending) return;
    const batch = this.pending;
    this.pending = '';
    this.applying = this.applying.then(() =>
      this.failure ? undefined : this.apply(batch).catch((err: unknown) => void (this.failure = err)),
    );
  }
}
