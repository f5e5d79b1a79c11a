// The one policy for tools the tests need outside npm (test/support/requirements.ts), run through the
// real test runner with npm test's reporters on a PATH that lacks the tool: outside CI the tests are
// skipped and the run ends with one line naming the tool and `npm run setup`; under CI=true they
// fail with that command. And `npm run setup` on a system without apt-get lists what is missing.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';

const ROOT = path.resolve(__dirname, '..', '..');
let dir: string;
/** A PATH holding node and nothing else: every required program is missing there. */
let bareBin: string;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'pixtral-requirements-'));
  bareBin = path.join(dir, 'bin');
  await mkdir(bareBin);
  await symlink(process.execPath, path.join(bareBin, 'node'));
});
after(() => rm(dir, { recursive: true, force: true }));

function run(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string }> {
  // NODE_TEST_CONTEXT would make the inner runner report to this one instead of printing.
  const { NODE_TEST_CONTEXT: _, ...outer } = process.env;
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...outer, CI: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (t: string) => (stdout += t));
  child.stderr.resume();
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout })));
}

/** Runs a test file of two tests that need `tool`, as npm test runs its files. */
async function runNeeding(tool: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string }> {
  const file = path.join(dir, `needs-${tool}.test.ts`);
  await writeFile(
    file,
    `import { test } from 'node:test';
import { requires } from ${JSON.stringify(path.join(ROOT, 'test', 'support', 'requirements.ts'))};
const tool = requires(${JSON.stringify(tool)});
test('first', tool.options, () => { tool.met(); });
test('second', tool.options, () => { tool.met(); });
`,
  );
  const reporters = ['--test-reporter=spec', '--test-reporter-destination=stdout', '--test-reporter=./test/support/skip-summary.mjs', '--test-reporter-destination=stdout'];
  return run(['--import', 'tsx', '--test', ...reporters, file], env);
}

const summary = (stdout: string) => stdout.split('\n').filter((line) => /tests? skipped, not installed/.test(line));

test('outside CI a missing tool skips its tests, and the run ends with one line saying how to install it', async () => {
  const { code, stdout } = await runNeeding('unzip', { PATH: bareBin });
  assert.equal(code, 0, stdout);
  assert.match(stdout, /skipped 2/);
  assert.deepEqual(summary(stdout), ['2 tests skipped, not installed: unzip. Install them with: npm run setup']);
  assert.equal(stdout.trimEnd().split('\n').at(-1), summary(stdout)[0], 'the last line of the run');
});

test('under CI=true a missing tool fails its tests with the install command, and nothing is skipped', async () => {
  const { code, stdout } = await runNeeding('unzip', { PATH: bareBin, CI: 'true' });
  assert.equal(code, 1);
  assert.match(stdout, /fail 2/);
  assert.match(stdout, /skipped 0/);
  assert.match(stdout, /not installed: unzip, for the VSIX content test \(Debian: unzip\)\. Run "npm run setup"/);
  assert.deepEqual(summary(stdout), []);
});

test('with the tool installed the tests run and nothing is said', async () => {
  // g++ builds the engine, so every machine that runs the tests has it.
  const { code, stdout } = await runNeeding('g++', { CI: 'true' });
  assert.equal(code, 0, stdout);
  assert.match(stdout, /pass 2/);
  assert.deepEqual(summary(stdout), []);
});

test('npm run setup without apt-get lists each missing tool with what it is for, and fails', async () => {
  const { code, stdout } = await run(['test/setup.mjs'], { PATH: bareBin });
  assert.equal(code, 1);
  assert.match(stdout, /^setup: not Debian or Ubuntu, or the install left these missing/m);
  assert.match(stdout, /^setup: {3}chromium +for the webview tests and the end-to-end run in VS Code \(Debian: chromium\)$/m);
  assert.match(stdout, /^setup: {3}Xvfb +for the screen capture test/m);
  assert.doesNotMatch(stdout, /apt-get/, 'nothing was installed');
});
