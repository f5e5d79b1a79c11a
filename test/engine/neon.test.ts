// The NEON kernels (the arm64 default: Apple silicon, Linux arm64) cannot run on an x86-64 test
// machine through the addon, so the op harness program (native/test/op_harness_main.cc, with the
// engine core) is cross-compiled for aarch64 and run under qemu-user: every op against float64 on
// fresh random inputs, through both NEON kernel sets (qemu's default processor has the ARMv8.2
// dot-product instructions that neon-dotprod uses for block weights).
// npm run setup installs the cross compiler and qemu (requirements.ts: what their absence means).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { requires } from '../support/requirements';
import { reportCases, runHarness } from './harness-report';
import { testSeed } from './random';

const root = path.resolve(__dirname, '..', '..');
const compiler = 'aarch64-linux-gnu-g++';
const emulator = 'qemu-aarch64';
const tools = requires(compiler, emulator);
const native = os.arch() === 'arm64';

describe('op harness on the NEON kernels (arm64 build, run under qemu-user)', () => {
  if (native) {
    test('this machine is arm64: op-harness.test.ts runs the NEON kernels directly', () => assert.equal(os.arch(), 'arm64'));
    return;
  }
  if (!tools.met()) {
    test('cross-compiled op harness under qemu-user', tools.options, () => {});
    return;
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pixtral-neon-'));
  try {
    const exe = path.join(dir, 'op_harness');
    const native = path.join(root, 'native');
    const sources = JSON.parse(readFileSync(path.join(native, 'sources.json'), 'utf8')) as { core: string[]; harness: string[]; x86_kernels: Record<string, string[]> };
    // The x86 kernel files compile to their empty stubs on arm64.
    const files = [...sources.core, ...Object.keys(sources.x86_kernels), ...sources.harness].map((f) => path.join(native, f));
    // -w: the static link warns that dlopen needs glibc at run time; the harness loads no library here.
    execFileSync(compiler, ['-std=c++17', '-O2', '-static', '-w', ...files, '-o', exe, '-lpthread']);
    for (const kernels of ['neon', 'neon-dotprod'])
      describe(`kernel set ${kernels}`, () => {
        const lines = runHarness(emulator, [exe, '--kernels', kernels, '--seed', String(testSeed)]);
        test(`the ${kernels} kernel set ran`, () => assert.equal(lines.at(-1)?.backend, `cpu-${kernels}`));
        reportCases(lines);
      });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
