// Runs the op harness program (native/test/op_harness_main.cc) and turns its JSON lines into one
// node:test subtest per case, for op-harness.test.ts (this machine's kernel sets) and
// neon.test.ts (the arm64 build under qemu-user).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';

export interface HarnessLine {
  op?: string;
  case?: string;
  error?: number;
  tolerance?: number;
  measure?: string;
  ok?: boolean;
  failure?: string;
  unsupported?: string;
  backend?: string;
  cases?: number;
  failed?: number;
}

/** Runs the harness program; each line of its output is one JSON object. */
export function runHarness(command: string, args: string[]): HarnessLine[] {
  const run = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (run.error) throw run.error;
  return run.stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as HarnessLine);
}

/** One subtest per case; asserts the summary agrees and that the set of ops is complete. */
export function reportCases(lines: HarnessLine[]): void {
  const cases = lines.filter((l) => l.op !== undefined);
  const summary = lines.find((l) => l.cases !== undefined);
  test('the harness ran every op of the boundary', () => {
    assert.ok(summary, 'the harness printed no summary');
    assert.equal(summary.cases, cases.length);
    const ops = new Set(cases.map((c) => c.op));
    for (const op of ['matmul', 'rmsnorm', 'rope', 'attention', 'silu_mul', 'gelu', 'embed', 'set_rows', 'copy', 'sample', 'add_i32', 'cancel_point'])
      assert.ok(ops.has(op), `no case for ${op}`);
  });
  for (const c of cases)
    test(`${c.op} ${c.case}: ${c.measure} ${c.error} <= ${c.tolerance}`, () => {
      assert.equal(c.failure, undefined, `threw: ${c.failure}`);
      assert.ok(c.ok && c.error! <= c.tolerance!, `error ${c.error} exceeds ${c.tolerance}`);
    });
}

