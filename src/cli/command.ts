// The shape of one `pixtral` subcommand, and of a group of them (`pixtral models <command>`). Each
// command lives in src/cli/commands/ and is listed in src/cli/main.ts, which parses every one the
// same way (node:util parseArgs, strict): unknown flags, a wrong number of arguments and --help are
// handled there, before `run` is called.
import type { ParseArgsConfig } from 'node:util';

export interface CliIo {
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** Aborted on Ctrl-C (SIGINT); long-running commands stop cleanly when it fires. */
  signal: AbortSignal;
}

/** How many positional arguments a command takes, and what one is called in messages ("image"). */
export interface Operands {
  name: string;
  min: number;
  max: number;
}

export interface CliCommand {
  name: string;
  /** One line for the list of commands. */
  summary: string;
  /** Full usage text for `pixtral <name> --help`. */
  usage: string;
  options: NonNullable<ParseArgsConfig['options']>;
  operands: Operands;
  /** Returns the process exit code. */
  run(args: { values: Record<string, unknown>; positionals: string[] }, io: CliIo): Promise<number>;
}

/** Commands under one name: `pixtral models list`. */
export interface CliGroup {
  name: string;
  summary: string;
  /** What the group is for, shown above its list of commands. */
  description: string;
  /** Shown below the list of commands (environment variables, ...). */
  footer?: string;
  commands: Array<CliCommand | CliGroup>;
}

export const NO_OPERANDS: Operands = { name: 'argument', min: 0, max: 0 };

/** A user-facing failure: printed as "pixtral: <message>" without a stack trace; with exit code 2
 *  (a usage error) the command's usage follows. */
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
