// The object that owns every disposable of the extension (features, panels, providers, the worker
// process) and registers commands so that a failing one always ends in a visible message.
import * as vscode from 'vscode';
import { isCancellation, reportError } from './errors';

export class PixtralContext implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    readonly extension: vscode.ExtensionContext,
    readonly log: vscode.LogOutputChannel,
  ) {}

  /** Takes ownership: `d` is disposed with the extension, last-owned first. */
  own<T extends vscode.Disposable>(d: T): T {
    this.disposables.push(d);
    return d;
  }

  /** Registers a command whose failure is logged and shown, never swallowed or left unhandled. */
  registerCommand(id: string, handler: (...args: unknown[]) => unknown): void {
    this.own(
      vscode.commands.registerCommand(id, async (...args: unknown[]) => {
        try {
          return await handler(...args);
        } catch (err) {
          if (isCancellation(err)) {
            this.log.info(`${id}: cancelled`);
            return undefined;
          }
          await reportError(this.log, err);
          return undefined;
        }
      }),
    );
  }

  dispose(): void {
    for (const d of this.disposables.splice(0).reverse()) {
      try {
        d.dispose();
      } catch (err) {
        this.log.error(`while disposing: ${(err as Error).message}`);
      }
    }
  }
}
