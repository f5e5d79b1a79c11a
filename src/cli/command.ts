// The shape of one `pixtral` subcommand. Each lives in src/cli/commands/<name>.ts and is listed in
// src/cli/main.ts; parsing uses node:util parseArgs so every command reads flags the same way.
import type { ParseArgsConfig } from 'node:util';

export interface CliIo {
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** Aborted on Ctrl-C (SIGINT); long-running commands stop cleanly when it fires. */
  signal: AbortSignal;
}

export interface CliCommand {
  name: string;
  /** One line for `pixtral --help`. */
  summary: string;
  /** Full usage text for `pixtral <name> --help`. */
  usage: string;
  options: NonNullable<ParseArgsConfig['options']>;
  /** Returns the process exit code. */
  run(args: { values: Record<string, unknown>; positionals: string[] }, io: CliIo): Promise<number>;
}

/** A user-facing failure: printed as "pixtral: <message>" without a stack trace. */
export class CliError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
  }
}

/** An integer flag, or undefined when absent; a usage error when it is not one. */
export function integerFlag(values: Record<string, unknown>, name: string, min = 1): number | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < min) throw new CliError(`--${name} must be an integer >= ${min}, got "${String(raw)}"`, 2);
  return value;
}
