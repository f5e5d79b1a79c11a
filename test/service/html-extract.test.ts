// The HTML filter on recorded answers fed in random chunk sizes: at every step the output so far
// is a prefix of the code, and at the end it is the code byte for byte.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HtmlExtractor } from '../../src/service/html-extract';
import { mulberry32 } from '../support/random';

const CODE = [
  '<!DOCTYPE html>',
  '<html lang="en">',
  '<head>',
  '  <meta charset="utf-8">',
  '  <title>Pricing — “Pro” ✓</title>',
  '  <style>body { font-family: system-ui; } .card { border-radius: 8px; }</style>',
  '</head>',
  '<body>',
  '  <pre>',
  '``',
  '```js',
  '   ``` not a closer either',
  '    ```',
  '  </pre>',
  '  <script>',
  '    const label = `price: ${1 + 2}`; // template literal with backticks',
  '  </script>',
  '</body>',
  '</html>',
  '',
].join('\n');

const PROSE_BEFORE = 'Sure! Here is a single HTML file that reproduces your sketch.\nIt uses `flexbox` and ``inline code``:\n\n';
const PROSE_AFTER = '\n\nThe layout uses a **grid**. Use ```html fences``` in your own answers.\n```\nstray fence\n';

function chunks(text: string, seed: number, maxSize: number): string[] {
  const next = mulberry32(seed);
  const out: string[] = [];
  for (let i = 0; i < text.length; ) {
    const size = 1 + Math.floor(next() * maxSize);
    out.push(text.slice(i, i + size));
    i += size;
  }
  return out;
}

/** Streams `answer` through a fresh extractor, checking after every chunk that only code came out. */
function streamAndCheck(answer: string, expected: string, seed: number, maxSize: number): HtmlExtractor {
  const extractor = new HtmlExtractor();
  let emitted = '';
  for (const chunk of chunks(answer, seed, maxSize)) {
    emitted += extractor.push(chunk);
    assert.ok(expected.startsWith(emitted), `seed ${seed}: emitted text is not a prefix of the code:\n${JSON.stringify(emitted)}`);
  }
  emitted += extractor.end();
  assert.equal(emitted, expected, `seed ${seed}`);
  return extractor;
}

test('prose, a fenced html block and more prose: only the code, byte-identical, for any chunking', () => {
  const answer = `${PROSE_BEFORE}\`\`\`html\n${CODE}\`\`\`${PROSE_AFTER}`;
  for (let seed = 1; seed <= 300; seed++) {
    const extractor = streamAndCheck(answer, CODE, seed, 1 + (seed % 23));
    assert.equal(extractor.found, true);
  }
});

test('code streams before the block is complete', () => {
  const extractor = new HtmlExtractor();
  assert.equal(extractor.push(PROSE_BEFORE), '');
  assert.equal(extractor.push('```html\n<!DOCTYPE html>\n<ht'), '<!DOCTYPE html>\n<ht');
  assert.equal(extractor.found, true);
});

test('CRLF line endings, a tilde fence and an unlabelled fence', () => {
  const crlf = CODE.replace(/\n/g, '\r\n');
  for (let seed = 1; seed <= 50; seed++) {
    streamAndCheck(`Here:\r\n\r\n\`\`\`HTML\r\n${crlf}\`\`\`\r\nDone.\r\n`, crlf, seed, 7);
    streamAndCheck(`Here:\n~~~~\n${CODE}~~~~~\nDone.\n`, CODE, seed, 9);
  }
});

test('a fenced block in another language is skipped, the html block after it is taken', () => {
  const answer = `First the styles:\n\`\`\`css\n.card { color: red; }\n\`\`\`\nThen the page:\n\`\`\`html\n${CODE}\`\`\`\nEnjoy.`;
  for (let seed = 1; seed <= 50; seed++) streamAndCheck(answer, CODE, seed, 11);
});

test('bare html without fences is emitted up to </html>, prose around it dropped', () => {
  const html = CODE.trimEnd();
  const answer = `Here you go:\n${html}\nHope this helps!`;
  for (let seed = 1; seed <= 100; seed++) streamAndCheck(answer, html, seed, 13);
  for (let seed = 1; seed <= 20; seed++) streamAndCheck(html, html, seed, 5);
});

test('an answer cut off inside the block (max tokens) yields everything up to the cut', () => {
  const cut = CODE.slice(0, 200);
  for (let seed = 1; seed <= 50; seed++) streamAndCheck(`Sure:\n\`\`\`html\n${cut}`, cut, seed, 6);
  // ...and a closing fence that arrives without a final newline is still not emitted.
  for (let seed = 1; seed <= 20; seed++) streamAndCheck(`\`\`\`html\n${CODE}\`\`\``, CODE, seed, 4);
});

test('an answer without any html yields nothing and reports it', () => {
  const extractor = new HtmlExtractor();
  assert.equal(extractor.push('I cannot see an image here.\n```python\nprint(1)\n```\n'), '');
  assert.equal(extractor.end(), '');
  assert.equal(extractor.found, false);
});
