// Runs one generation for any feature: takes the backend from the factory, streams text to the
// caller, shows a cancellable progress notification, keeps the status bar (state, tok/s) and the
// log up to date, and lets "Pixtral: Cancel Generation" stop everything in flight.
import * as vscode from 'vscode';
import type { GenerationRequest, StopReason, Usage } from '../worker/protocol';
import type { BackendFactory } from './backend-factory';
import { describeStage, TokenRate } from './generation-progress';
import type { StatusBar } from './status-bar';

export interface RunOptions {
  /** What is being made, e.g. "Generating HTML" (notification title and log). */
  title: string;
  request: GenerationRequest;
  /** Receives the answer piece by piece. */
  onText(text: string): void;
  /** Stops this run (a panel's Stop button); the notification's Cancel does the same. */
  signal?: AbortSignal;
  /** Each stage line, for panels that show their own progress. */
  onStage?(stage: string): void;
}

export interface RunResult {
  text: string;
  stopReason: StopReason;
  usage: Usage;
}

export class GenerationRunner {
  private readonly running = new Set<AbortController>();

  constructor(
    private readonly backends: BackendFactory,
    private readonly status: StatusBar,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  get busy(): boolean {
    return this.running.size > 0;
  }

  /** Stops every generation in flight; false when there was none. */
  cancelAll(): boolean {
    const any = this.running.size > 0;
    for (const controller of this.running) controller.abort();
    return any;
  }

  async run(options: RunOptions): Promise<RunResult> {
    const controller = new AbortController();
    const signal = options.signal ? AbortSignal.any([controller.signal, options.signal]) : controller.signal;
    this.running.add(controller);
    this.status.setState({ kind: 'busy', detail: 'starting' });
    try {
      const result = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Pixtral: ${options.title}`, cancellable: true },
        async (progress, token) => {
          token.onCancellationRequested(() => controller.abort());
          return this.stream(options, signal, (stage) => {
            progress.report({ message: stage });
            this.status.setState({ kind: 'busy', detail: stage });
            options.onStage?.(stage);
          });
        },
      );
      this.status.setState({ kind: 'idle' });
      return result;
    } catch (err) {
      this.status.setState({ kind: 'error', detail: err instanceof Error ? err.message : String(err) });
      throw err;
    } finally {
      this.running.delete(controller);
    }
  }

  private async stream(options: RunOptions, signal: AbortSignal, report: (stage: string) => void): Promise<RunResult> {
    report('loading the model');
    const { backend, identity } = await this.backends.get();
    this.status.setModel(identity.label);
    this.log.info(`${options.title}: ${backend.description}, max ${options.request.sampling.maxTokens} tokens`);
    const rate = new TokenRate();
    let text = '';
    let lastSpeedUpdate = 0;
    for await (const event of backend.generate(options.request, { signal })) {
      rate.observe(event);
      if (event.type === 'progress') {
        report(describeStage(event.progress));
      } else if (event.type === 'text') {
        text += event.text;
        options.onText(event.text);
        const now = performance.now();
        if (now - lastSpeedUpdate > 500) {
          lastSpeedUpdate = now;
          this.status.setSpeed(rate.tokensPerSecond);
        }
      } else {
        this.status.setSpeed(rate.tokensPerSecond);
        const speed = rate.tokensPerSecond === undefined ? '' : `, ${rate.tokensPerSecond.toFixed(1)} tok/s`;
        this.log.info(`${options.title}: ${event.stopReason}, ${event.usage.promptTokens} prompt + ${event.usage.completionTokens} generated tokens${speed}`);
        return { text, stopReason: event.stopReason, usage: event.usage };
      }
    }
    // Every stream that does not fail ends with `done` (generation-backend.ts).
    throw new Error(`${backend.description} ended its answer without a "done" event`);
  }
}
