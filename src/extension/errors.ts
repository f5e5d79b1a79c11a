// How failures reach the user: every command handler's error ends here and becomes one visible
// message (with buttons that run the command that fixes it) plus the full story in the log.
import * as vscode from 'vscode';
import { GenerationError } from '../service/generation-backend';
import { COMMANDS } from './command-ids';

/** A failure whose message is written for the user, with commands that can fix it. */
export class UserError extends Error {
  override name = 'UserError';
  constructor(
    message: string,
    readonly actions: readonly { title: string; command: string }[] = [],
  ) {
    super(message);
  }
}

/** The message and fix-it actions for any error thrown by a command. */
export function describeError(err: unknown): { message: string; actions: readonly { title: string; command: string }[] } {
  if (err instanceof UserError) return { message: err.message, actions: err.actions };
  if (err instanceof GenerationError) {
    switch (err.code) {
      case 'context_overflow':
        return {
          message: `The conversation no longer fits the model's context window: ${err.message}`,
          actions: [{ title: 'Context Length Setting', command: 'workbench.action.openSettings?pixtral.generation.contextLength' }],
        };
      case 'load_failed':
      case 'not_loaded':
        return { message: `The model could not be loaded: ${err.message}`, actions: [{ title: 'Select Model', command: COMMANDS.selectModel }] };
      case 'remote':
        return { message: `The remote endpoint failed: ${err.message}`, actions: [{ title: 'Switch Backend', command: COMMANDS.switchBackend }] };
      default:
        return { message: `Pixtral failed (${err.code}): ${err.message}`, actions: [{ title: 'Show Log', command: COMMANDS.showLog }] };
    }
  }
  const message = err instanceof Error ? err.message : String(err);
  return { message: `Pixtral: ${message}`, actions: [{ title: 'Show Log', command: COMMANDS.showLog }] };
}

/** Logs the error with its stack and shows it; a chosen button runs its command. */
export async function reportError(log: vscode.LogOutputChannel, err: unknown): Promise<void> {
  log.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  const { message, actions } = describeError(err);
  const chosen = await vscode.window.showErrorMessage(message, ...actions.map((a) => a.title));
  const action = actions.find((a) => a.title === chosen);
  if (!action) return;
  // "command?argument" carries one string argument (used to open a setting by its id).
  const [command, argument] = action.command.split('?');
  await vscode.commands.executeCommand(command, ...(argument ? [argument] : []));
}

/** An abort that the user asked for is not an error worth a message. */
export function isCancellation(err: unknown): boolean {
  return err instanceof vscode.CancellationError || (err instanceof Error && err.name === 'AbortError');
}
