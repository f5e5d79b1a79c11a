// `pixtral tokenize` as a real process: JSON strings in on stdin, id arrays out, one per line.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fixtureDir } from '../support/fixtures';
import { REPO_ROOT, TEST_TOKENIZER, expected } from './support/tokenizer-data';

function pixtral(args: string[], stdin: string) {
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: REPO_ROOT, input: stdin, encoding: 'utf8' });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

const input = expected.encode_cases.map((c) => JSON.stringify(c.text)).join('\n') + '\n';
const wanted = expected.encode_cases.map((c) => JSON.stringify(c.ids)).join('\n') + '\n';

test('--tokenizer FILE: every encode case, one line each', () => {
  const { code, stdout, stderr } = pixtral(['tokenize', '--tokenizer', TEST_TOKENIZER], input);
  assert.equal(stderr, '');
  assert.equal(code, 0);
  assert.equal(stdout, wanted);
});

test('--model DIR reads DIR/tekken.json (the padded 131072-id file gives the same ids)', () => {
  const { code, stdout } = pixtral(['tokenize', '--model', fixtureDir], input);
  assert.equal(code, 0);
  assert.equal(stdout, wanted);
});

test('a bad line is an error naming its line number', () => {
  const { code, stdout, stderr } = pixtral(['tokenize', '--tokenizer', TEST_TOKENIZER], '"ok"\n"fine"\n{"text": 1}\n"never"\n');
  assert.equal(code, 1);
  assert.equal(stdout.split('\n').length, 3, 'the two good lines were answered before the error');
  assert.match(stderr, /^pixtral: stdin line 3 holds a JSON object, not a string/);
  assert.match(pixtral(['tokenize', '--tokenizer', TEST_TOKENIZER], 'plain text\n').stderr, /stdin line 1 is not valid JSON/);
});

test('missing or broken tokenizer arguments are usage errors', () => {
  const none = pixtral(['tokenize'], '');
  assert.equal(none.code, 2);
  assert.match(none.stderr, /missing --tokenizer FILE/);
  const absent = pixtral(['tokenize', '--model', '/nonexistent-model'], '"x"\n');
  assert.equal(absent.code, 1);
  assert.match(absent.stderr, /tokenizer file \/nonexistent-model\/tekken\.json does not exist/);
});
