// A node:test reporter (npm test adds it after the spec reporter): counts the tests skipped
// because a tool is not installed (requirements.ts writes their skip reason as "not installed:
// a, b") and ends the run with one line naming those tools and the command that installs them.
// Prints nothing when no such test was skipped. Plain JavaScript: reporters load without tsx.
import { readFileSync } from 'node:fs';

const PREFIX = 'not installed: ';
const { install } = JSON.parse(readFileSync(new URL('../requirements.json', import.meta.url), 'utf8'));

export default async function* skipSummary(source) {
  const tools = new Set();
  let skipped = 0;
  for await (const event of source) {
    const reason = event.data?.skip;
    if ((event.type !== 'test:pass' && event.type !== 'test:fail') || typeof reason !== 'string' || !reason.startsWith(PREFIX)) continue;
    skipped++;
    for (const name of reason.slice(PREFIX.length).split(', ')) tools.add(name);
  }
  if (skipped > 0) yield `\n${skipped} test${skipped === 1 ? '' : 's'} skipped, not installed: ${[...tools].join(', ')}. Install them with: ${install}\n`;
}
