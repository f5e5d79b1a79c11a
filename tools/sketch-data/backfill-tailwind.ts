// Writes the Tailwind form of the target of every page example of a split, for examples written
// before the generator made it (version < 8) or with an older Tailwind mapping: the page is redrawn
// from its seed, and the section count is the one whose CSS form equals the target on disk, so no
// browser is needed. Rewrites index.jsonl in place (stop generate.ts on the split first).
//   node --import tsx tools/sketch-data/backfill-tailwind.ts --out DIR --split S --seed N
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pagePlan } from './examples';
import { exampleRng, readIndex, tailwindFile, type IndexLine, type Split } from './generate';
import { pageHtml, pageTailwind } from './page-html';

/** Returns how many examples have their Tailwind form written. */
export function backfillTailwind(dir: string, split: Split, seed: number): number {
  let added = 0;
  const lines = readIndex(dir).map((line): IndexLine => {
    if (line.task === 'chart') return line;
    const task = line.task;
    const n = Number(line.id.slice(line.id.lastIndexOf('-') + 1));
    const { page, theme } = pagePlan(task, exampleRng(seed, split, task, n));
    const target = readFileSync(path.join(dir, line.target), 'utf8');
    const sections = Array.from({ length: page.sections.length }, (_, i) => page.sections.length - i).find((k) => pageHtml(page, theme, k) === target);
    // Only an example written by older page code can fail to match; it keeps no Tailwind form.
    if (sections === undefined) return line;
    writeFileSync(path.join(dir, tailwindFile(line.id)), pageTailwind(page, theme, sections));
    added++;
    // The same key order as generate.ts writes.
    const { id, version, task: _task, image, target: targetFile, ...rest } = line;
    return { id, version, task, image, target: targetFile, tailwind: tailwindFile(line.id), ...rest };
  });
  const file = path.join(dir, 'index.jsonl');
  writeFileSync(`${file}.tmp`, lines.map((l) => `${JSON.stringify(l)}\n`).join(''));
  renameSync(`${file}.tmp`, file);
  return added;
}

if (require.main === module) {
  const { values } = parseArgs({ options: { out: { type: 'string' }, split: { type: 'string' }, seed: { type: 'string' } } });
  if (!values.out || !values.split || !values.seed) {
    process.stderr.write('usage: backfill-tailwind.ts --out DIR --split S --seed N\n');
    process.exit(2);
  }
  const added = backfillTailwind(path.join(values.out, values.split), values.split as Split, Number(values.seed));
  process.stderr.write(`${values.split}: ${added} Tailwind targets written\n`);
}
