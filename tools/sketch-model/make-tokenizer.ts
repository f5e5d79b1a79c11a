// Tokenizer stage: learns the small model's tekken.json from a generated split's targets (HTML,
// CSS, CSV) and the product's prompt texts for the trained tasks, so that prompts and answers both
// tokenize compactly. The vocabulary size is a flag (see README.md for why 4096 ordinary tokens).
//
//   node --import tsx tools/sketch-model/make-tokenizer.ts --data /work/data/sketch --split train \
//     --out DIR/tekken.json [--vocab 4096] [--reference ../shared/fixtures/pixtral-tiny/tekken.json]
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { learnBpe, pieceCounts } from './bpe';
import { readSplitIndex, visionGeometry } from './encode';
import { type ExampleTask, taskRequest } from './example-encoding';
import { readReferenceTekken, tekkenJson } from './tekken-writer';

const TASKS: ExampleTask[] = ['sketch', 'chart'];

/** Every text the prompts of the trained tasks contain (system prompt and user text). */
export function promptTexts(): string[] {
  return TASKS.flatMap((task) => {
    const request = taskRequest(task, { path: 'x.png' });
    const user = request.messages.flatMap((m) => (typeof m.content === 'string' ? [m.content] : m.content.flatMap((c) => (c.type === 'text' ? [c.text] : []))));
    return [`${request.systemPrompt}\n\n`, ...user];
  });
}

function main(): void {
  const { values } = parseArgs({
    options: {
      data: { type: 'string' },
      split: { type: 'string', default: 'train' },
      out: { type: 'string' },
      vocab: { type: 'string', default: '4096' },
      config: { type: 'string', default: path.join(__dirname, 'config.json') },
      reference: { type: 'string', default: path.resolve(__dirname, '..', '..', '..', 'shared', 'fixtures', 'pixtral-tiny', 'tekken.json') },
    },
  });
  if (!values.data || !values.out) throw new Error('usage: make-tokenizer.ts --data DIR --out tekken.json [--split train] [--vocab N]');
  const dir = path.join(values.data, values.split!);
  const targets = readSplitIndex(dir).map((line) => readFileSync(path.join(dir, line.target), 'utf8'));
  const reference = readReferenceTekken(values.reference!);
  const counts = pieceCounts(targets, reference.pattern);
  // The prompts are fixed texts: weight them like text that occurs in 1 % of the examples, enough
  // for their words to become whole tokens without crowding out the answers' vocabulary.
  const promptWeight = Math.max(2, Math.round(targets.length / 100));
  for (const [piece, n] of pieceCounts(promptTexts(), reference.pattern)) counts.set(piece, (counts.get(piece) ?? 0) + n * promptWeight);
  const ranks = learnBpe(counts, { vocabSize: Number(values.vocab) });
  const { imageSize, patchSize } = visionGeometry(values.config!);
  writeFileSync(values.out, tekkenJson(ranks, reference, { patchSize, maxImageSize: imageSize }));
  process.stderr.write(`${values.out}: ${ranks.length} ordinary tokens from ${targets.length} targets (${counts.size} distinct pieces)\n`);
}

if (require.main === module) main();
