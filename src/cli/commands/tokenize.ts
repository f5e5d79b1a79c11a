// `pixtral tokenize`: text → token ids through the product's tokenizer, one JSON string per stdin
// line to one JSON array per stdout line, so any set of texts can be checked against another
// implementation (e.g. mistral-common) from outside.
import path from 'node:path';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { TekkenTokenizer, TokenizerFileError } from '../../worker/tokenizer';
import { CliError, NO_OPERANDS, type CliCommand } from '../command';

export const tokenizeCommand: CliCommand = {
  name: 'tokenize',
  summary: 'Encode JSON strings from stdin into token ids (one JSON array per line)',
  usage: `usage: pixtral tokenize (--tokenizer FILE | --model DIR)

Reads one JSON string per line from stdin, e.g. "Hello, world!", and prints the token ids of
each as a JSON array on its own line (no BOS/EOS; text never yields special tokens).

options:
  --tokenizer FILE  the tekken.json to use
  --model DIR       a model folder; uses DIR/tekken.json`,
  options: {
    tokenizer: { type: 'string' },
    model: { type: 'string' },
  },
  operands: NO_OPERANDS,
  async run({ values }, io) {
    const file = tokenizerPath(values.tokenizer, values.model);
    let tokenizer: TekkenTokenizer;
    try {
      tokenizer = TekkenTokenizer.fromFile(file);
    } catch (err) {
      if (err instanceof TokenizerFileError) throw new CliError(err.message);
      throw err;
    }
    try {
      let lineNo = 0;
      for await (const line of createInterface({ input: io.stdin, crlfDelay: Infinity })) {
        lineNo++;
        if (io.signal.aborted) break;
        const ok = io.stdout.write(`${JSON.stringify(tokenizer.encode(parseLine(line, lineNo)))}\n`);
        if (!ok) await once(io.stdout, 'drain');
      }
    } finally {
      tokenizer.dispose();
    }
    return 0;
  },
};

function tokenizerPath(tokenizer: unknown, model: unknown): string {
  if (typeof tokenizer === 'string' && typeof model === 'string') {
    throw new CliError('give either --tokenizer FILE or --model DIR, not both', 2);
  }
  if (typeof tokenizer === 'string') return tokenizer;
  if (typeof model === 'string') return path.join(model, 'tekken.json');
  throw new CliError('missing --tokenizer FILE (a tekken.json) or --model DIR (a folder containing tekken.json)', 2);
}

function parseLine(line: string, lineNo: number): string {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    throw new CliError(`stdin line ${lineNo} is not valid JSON (${(err as Error).message}); each line must be one JSON string such as "Hello"`);
  }
  if (typeof value !== 'string') {
    const kind = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
    throw new CliError(`stdin line ${lineNo} holds a JSON ${kind}, not a string; each line must be one JSON string such as "Hello"`);
  }
  return value;
}
