#!/usr/bin/env node
// Entry point of the `pixtral` command: dispatches to one subcommand per file.
import { parseArgs } from 'node:util';
import { CliError, type CliCommand, type CliIo } from './command';
import { tokenizeCommand } from './commands/tokenize';
import { modelsCommand } from './commands/models';
import { htmlCommand } from './commands/html';
import { explainCommand } from './commands/explain';
import { tableCommand } from './commands/table';
import { askCommand } from './commands/ask';
import { serveCommand } from './commands/serve';

const commands: CliCommand[] = [tokenizeCommand, modelsCommand, htmlCommand, explainCommand, tableCommand, askCommand, serveCommand];

function usage(): string {
  const width = Math.max(...commands.map((c) => c.name.length), 4);
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return `usage: pixtral <command> [options]\n\ncommands:\n${lines.join('\n')}\n\nRun "pixtral <command> --help" for a command's options.\n`;
}

export async function main(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h') {
    io.stdout.write(usage());
    return name ? 0 : 2;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    io.stderr.write(`pixtral: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout.write(command.usage.endsWith('\n') ? command.usage : `${command.usage}\n`);
    return 0;
  }
  try {
    const parsed = parseArgs({ args: rest, options: command.options, allowPositionals: true, strict: true });
    return await command.run(parsed as { values: Record<string, unknown>; positionals: string[] }, io);
  } catch (err) {
    const e = err as Error & { code?: string };
    if (err instanceof CliError) {
      io.stderr.write(`pixtral: ${err.message}\n`);
      return err.exitCode;
    }
    if (e.code?.startsWith('ERR_PARSE_ARGS')) {
      io.stderr.write(`pixtral ${name}: ${e.message}\n\n${command.usage}\n`);
      return 2;
    }
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
