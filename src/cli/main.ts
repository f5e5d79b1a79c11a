#!/usr/bin/env node
// Entry point of the `pixtral` command. Every command, top-level or in a group (`pixtral models
// list`), goes through the same steps here: --help/-h prints its usage; flags are parsed strictly
// (an unknown one is refused) and the number of arguments checked; then it runs. A usage error is
// one line naming the command, then its usage, exit 2.
import { parseArgs } from 'node:util';
import { ModelError } from '../models/errors';
import { CliError, type CliCommand, type CliGroup, type CliIo, type Operands } from './command';
import { askCommand } from './commands/ask';
import { explainCommand } from './commands/explain';
import { htmlCommand } from './commands/html';
import { modelsGroup } from './commands/models/index';
import { serveCommand } from './commands/serve';
import { tableCommand } from './commands/table';
import { tokenizeCommand } from './commands/tokenize';

const pixtral: CliGroup = {
  name: 'pixtral',
  summary: '',
  description: 'Pixtral 12B on this machine: sketches and screenshots to HTML, charts explained, tables extracted.',
  commands: [htmlCommand, explainCommand, tableCommand, askCommand, serveCommand, modelsGroup, tokenizeCommand],
};

function isGroup(entry: CliCommand | CliGroup): entry is CliGroup {
  return 'commands' in entry;
}

function groupUsage(group: CliGroup, path: string): string {
  const width = Math.max(...group.commands.map((c) => c.name.length));
  const lines = group.commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  const footer = group.footer ? `\n\n${group.footer}` : '';
  return `usage: ${path} <command> [options]\n\n${group.description}\n\ncommands:\n${lines.join('\n')}\n\nRun "${path} <command> --help" for a command's options.${footer}\n`;
}

/** --help or -h before any `--` (after it, arguments are the command's own). */
function wantsHelp(args: string[]): boolean {
  const end = args.indexOf('--');
  return (end < 0 ? args : args.slice(0, end)).some((a) => a === '--help' || a === '-h');
}

const count = (n: number) => (n === 1 ? 'one' : String(n));

/** Why `given` does not fit `operands`, or undefined when it does. */
function operandProblem(operands: Operands, given: string[]): string | undefined {
  const { name, min, max } = operands;
  if (given.length >= min && given.length <= max) return undefined;
  const got = given.length === 0 ? 'got none' : `got ${given.map((g) => JSON.stringify(g)).join(' ')}`;
  if (max === 0) return `takes no arguments, ${got}`;
  if (min === max) return `takes exactly ${count(min)} ${name}, ${got}`;
  if (max === Infinity) return `needs at least ${count(min)} ${name}`;
  return `takes at most ${count(max)} ${name}, ${got}`;
}

/** A usage error of the command `path` ("pixtral models list"), printed with its usage. */
class UsageError extends Error {
  constructor(
    readonly path: string,
    message: string,
    readonly usage: string,
  ) {
    super(message);
  }
}

async function dispatch(entry: CliCommand | CliGroup, path: string, args: string[], io: CliIo): Promise<number> {
  if (isGroup(entry)) {
    const usage = groupUsage(entry, path);
    const [name, ...rest] = args;
    if (name === '--help' || name === '-h') {
      io.stdout.write(usage);
      return 0;
    }
    if (name === undefined) throw new UsageError(path, 'missing command', usage);
    const next = entry.commands.find((c) => c.name === name);
    if (!next) throw new UsageError(path, `unknown command "${name}"`, usage);
    return dispatch(next, `${path} ${name}`, rest, io);
  }
  const usage = entry.usage.endsWith('\n') ? entry.usage : `${entry.usage}\n`;
  if (wantsHelp(args)) {
    io.stdout.write(usage);
    return 0;
  }
  try {
    const parsed = parseArgs({ args, options: entry.options, allowPositionals: true, strict: true });
    const problem = operandProblem(entry.operands, parsed.positionals);
    if (problem) throw new UsageError(path, problem, usage);
    return await entry.run(parsed as { values: Record<string, unknown>; positionals: string[] }, io);
  } catch (err) {
    const { code, message } = err as { code?: string; message: string };
    // parseArgs adds advice about `--` to an unknown option; the usage that follows is the better help.
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') throw new UsageError(path, message.split('. ')[0].replace(/^Unknown/, 'unknown'), usage);
    if (code?.startsWith('ERR_PARSE_ARGS') || (err instanceof CliError && err.exitCode === 2)) throw new UsageError(path, message, usage);
    throw err;
  }
}

export async function main(argv: string[], io: CliIo): Promise<number> {
  try {
    return await dispatch(pixtral, 'pixtral', argv, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`${err.path}: ${err.message}\n\n${err.usage}`);
      return 2;
    }
    // Failures written for the user: the message alone, no stack trace.
    if (err instanceof CliError || err instanceof ModelError) {
      io.stderr.write(`pixtral: ${err.message}\n`);
      return err instanceof CliError ? err.exitCode : 1;
    }
    const e = err as Error;
    io.stderr.write(`pixtral: ${e.stack ?? e.message}\n`);
    return 1;
  }
}

if (require.main === module) {
  const controller = new AbortController();
  let interrupted = false;
  process.on('SIGINT', () => {
    // First Ctrl-C cancels cleanly; a second one exits at once.
    if (interrupted) process.exit(130);
    interrupted = true;
    controller.abort();
  });
  main(process.argv.slice(2), { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, signal: controller.signal })
    .then((code) => {
      process.exitCode = interrupted && code === 0 ? 130 : code;
    })
    .catch((err) => {
      process.stderr.write(`pixtral: ${(err as Error).stack ?? err}\n`);
      process.exitCode = 1;
    });
}
