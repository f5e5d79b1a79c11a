// The NEON kernels (the arm64 default: Apple silicon, Linux arm64) cannot run on an x86-64 test
// machine through the addon, so the standalone kernel check (native/test/kernel_check.cc) is
// cross-compiled for aarch64 and run under qemu-user against float64 on fresh random inputs.
// .ci/run installs the cross compiler and qemu; elsewhere the test is skipped and says why.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { testSeed } from './random';

const root = path.resolve(__dirname, '..', '..');
const compiler = 'aarch64-linux-gnu-g++';
const emulator = 'qemu-aarch64';
const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const missing = [compiler, emulator].filter((c) => !has(c));
const native = os.arch() === 'arm64';

test(
  'NEON kernels match float64 (arm64 build, run under qemu-user)',
  { skip: native ? 'this machine is arm64: the addon tests run the NEON kernels directly' : missing.length ? `needs ${missing.join(' and ')} (apt: g++-aarch64-linux-gnu qemu-user)` : false },
  () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pixtral-neon-'));
    try {
      const exe = path.join(dir, 'kernel_check');
      const src = (f: string) => path.join(root, 'native', f);
      execFileSync(compiler, ['-std=c++17', '-O2', '-static', src('test/kernel_check.cc'), src('src/kernels.cc'), src('src/kernels_neon.cc'), src('src/kernels_avx2.cc'), '-o', exe]);
      const run = spawnSync(emulator, [exe, String(testSeed)], { encoding: 'utf8' });
      console.log(run.stdout.replace(/^/gm, '    '));
      assert.equal(run.status, 0, run.stderr || 'a kernel exceeded its tolerance');
      assert.match(run.stdout, /^neon .* ok$/m, 'the NEON kernel set did not run');
      assert.match(run.stdout, /^neon +attention_tile .* ok$/m, 'the NEON attention tile did not run');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
