// The engine under AddressSanitizer and UndefinedBehaviorSanitizer: a build with
// -fsanitize=address,undefined (native/build.mjs --sanitize), then the op harness program and the
// engine's own test files (bad weights, the session with its engine-dropped-mid-call child,
// consistency, parity) against it. Any sanitizer report fails: ASan aborts the process, UBSan is
// built not to recover.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { testSeed } from './random';

const root = path.resolve(__dirname, '..', '..');
const build = path.join(root, 'native', '.sanitize', 'build', 'Release');
const REPORT = /ERROR: AddressSanitizer|runtime error:|ERROR: LeakSanitizer/;

describe('engine under ASan and UBSan', { timeout: 40 * 60_000 }, () => {
  test('the sanitized build', () => {
    const run = spawnSync(process.execPath, [path.join(root, 'native', 'build.mjs'), '--sanitize'], { encoding: 'utf8', stdio: 'pipe' });
    assert.equal(run.status, 0, run.stderr.slice(-4000));
    assert.ok(existsSync(path.join(build, 'pixtral_native.node')) && existsSync(path.join(build, 'op_harness')));
  });

  // g++ ships its runtime (Debian: libasan8 comes with g++); node itself is not instrumented, so
  // the runtime must be loaded first.
  const asan = execFileSync('g++', ['-print-file-name=libasan.so'], { encoding: 'utf8' }).trim();
  // Without NODE_TEST_CONTEXT: the nested test run must report as a top-level one (TAP), not in
  // the binary protocol node:test uses towards its parent.
  const { NODE_TEST_CONTEXT: _, ...outer } = process.env;
  const env = {
    ...outer,
    ASAN_OPTIONS: 'detect_leaks=0:abort_on_error=1',
    UBSAN_OPTIONS: 'halt_on_error=1:print_stacktrace=1',
  };

  test('op harness, every case', () => {
    const run = spawnSync(path.join(build, 'op_harness'), ['--seed', String(testSeed)], { encoding: 'utf8', env, maxBuffer: 1 << 26 });
    assert.doesNotMatch(run.stderr, REPORT);
    assert.equal(run.status, 0, run.stderr.slice(-4000) || run.stdout.slice(-2000));
    assert.match(run.stdout, /"failed": 0\}\s*$/);
  });

  test('engine test files with the sanitized addon', () => {
    assert.ok(path.isAbsolute(asan), `g++ has no AddressSanitizer runtime (${asan}): install libasan8`);
    const files = ['weights', 'session', 'consistency', 'parity'].map((f) => path.join(root, 'test', 'engine', `${f}.test.ts`));
    const run = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', ...files], {
      cwd: root,
      encoding: 'utf8',
      env: { ...env, LD_PRELOAD: asan, PIXTRAL_NATIVE_ADDON: path.join(build, 'pixtral_native.node'), PIXTRAL_TEST_SEED: String(testSeed) },
      maxBuffer: 1 << 28,
    });
    assert.doesNotMatch(run.stdout + run.stderr, REPORT);
    assert.equal(run.status, 0, run.stdout.split('\n').filter((l) => /not ok|error/.test(l)).join('\n') + run.stderr.slice(-4000));
    const passed = Number(/^# pass (\d+)/m.exec(run.stdout)?.[1] ?? 0);
    assert.ok(passed >= 30, `only ${passed} tests ran under the sanitizers`);
    console.log(`    ${passed} engine tests passed under ASan/UBSan`);
  });
});
