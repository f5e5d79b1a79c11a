// The op harness (native/test/op_harness.cc): every op of the backend boundary, each dtype it
// takes and odd shapes, against float64 on fresh random inputs, for every CPU kernel set this
// machine runs and for the CUDA library when a GPU is here. One subtest per case, so a failure
// names the op, dtype and shape.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { reportCases, runHarness } from './harness-report';
import { testSeed } from './random';

const harness = path.resolve(__dirname, '..', '..', 'native', 'build', 'Release', 'op_harness');

assert.ok(existsSync(harness), `${harness} is missing: run npm run build:native`);
for (const kernels of ['generic', 'avx2', 'avx512-vnni', 'neon']) {
  const lines = runHarness(harness, ['--kernels', kernels, '--seed', String(testSeed)]);
  const unsupported = lines.find((l) => l.unsupported)?.unsupported;
  // A kernel set for another processor (NEON here, AVX2 on arm64) is checked under emulation
  // (neon.test.ts), not skipped silently: this says which ran here.
  if (unsupported) {
    test(`kernel set ${kernels}: not this processor's (${unsupported})`, () => assert.match(unsupported, /does not run here/));
    continue;
  }
  describe(`op harness on ${lines.at(-1)?.backend}`, () => reportCases(lines));
}
