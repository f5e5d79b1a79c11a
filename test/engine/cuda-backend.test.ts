// The CUDA backend as CI can check it without a GPU: the library compiles with nvcc for every
// shipped target (sm_80, sm_86, sm_89, sm_90 + PTX), exports the plugin entry point and nothing of
// the CUDA runtime it links statically, opens on a machine with no NVIDIA driver, and there says
// why it cannot run: loading the engine with backend 'cuda' rejects with EUNSUPPORTED naming the
// missing driver (or GPU), and so does the op harness. Where a driver and GPU are present, the op
// harness runs on the GPU instead and every case must pass.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { loadNative } from '../../src/engine/native';
import { fixtureDir } from '../support/fixtures';
import { requires } from '../support/requirements';
import { reportCases, runHarness } from './harness-report';

const root = path.resolve(__dirname, '..', '..');
const release = path.join(root, 'native', 'build', 'Release');
const library = path.join(release, 'libpixtral_cuda.so');
const nvcc = requires('nvcc');
// A machine that can run CUDA: the driver library loads (checked the way the backend checks it).
const hasDriver = spawnSync('sh', ['-c', 'ldconfig -p | grep -q "libcuda.so.1 "']).status === 0;

describe('CUDA backend library', { skip: process.platform !== 'linux' ? 'the CUDA library is built on Linux' : undefined }, () => {
  before(() => {
    if (!nvcc.met()) return;
    // All shipped targets: the same build the prebuilt VSIX carries (about 10 minutes on 2 cores,
    // incremental after that).
    const build = spawnSync(process.execPath, [path.join(root, 'native', 'cuda', 'build.mjs'), '--all', '--require'], {
      stdio: 'inherit',
      timeout: 40 * 60_000,
    });
    assert.equal(build.status, 0, 'npm run build:cuda -- --all failed');
  });

  test('exports the plugin entry point and hides the CUDA runtime', nvcc.options, () => {
    const nm = spawnSync('nm', ['-D', '--defined-only', library], { encoding: 'utf8' });
    assert.equal(nm.status, 0, nm.stderr);
    const symbols = nm.stdout.split('\n').map((l) => l.trim().split(/\s+/)[2]).filter(Boolean);
    assert.deepEqual(symbols.sort(), ['pixtral_backend_create', 'pixtral_cuda_read_bandwidth']);
    // Statically linked runtime: nothing but the C/C++ runtime is needed to open it.
    const ldd = spawnSync('ldd', [library], { encoding: 'utf8' });
    assert.doesNotMatch(ldd.stdout, /libcudart|libcuda\.so/);
  });

  test('carries machine code for sm_80, sm_86, sm_89, sm_90 and PTX', nvcc.options, () => {
    const dump = spawnSync('cuobjdump', ['--list-elf', '--list-ptx', library], { encoding: 'utf8' });
    if (dump.status !== 0) {
      // cuobjdump ships with the toolkit, but not with every nvcc-only install: the build's own
      // gencode list is then the evidence.
      assert.ok(existsSync(path.join(release, 'obj.cuda-80-86-89-90')), 'no all-target build found');
      return;
    }
    for (const arch of ['sm_80', 'sm_86', 'sm_89', 'sm_90']) assert.match(dump.stdout, new RegExp(`\\.${arch}\\.cubin`), arch);
    assert.match(dump.stdout, /compute_90\.ptx|\.sm_90\.ptx/);
  });

  test('without a GPU: the engine rejects backend cuda with EUNSUPPORTED and says what is missing', { ...nvcc.options, skip: nvcc.options.skip ?? (hasDriver ? 'an NVIDIA driver is installed here' : undefined) }, async () => {
    const native = loadNative();
    await assert.rejects(new native.Engine().load(fixtureDir, { backend: 'cuda' }), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'EUNSUPPORTED');
      // The library opened (no "cannot load"), then found no driver or device.
      assert.doesNotMatch(err.message, /cannot load/);
      assert.match(err.message, /no NVIDIA driver \(libcuda\.so\.1 not found\)|no CUDA device/);
      return true;
    });
    const harness = spawnSync(path.join(release, 'op_harness'), ['--backend', 'cuda'], { encoding: 'utf8' });
    assert.equal(harness.status, 3, harness.stdout + harness.stderr);
    assert.match(JSON.parse(harness.stdout.trim()).unsupported, /the cuda backend cannot run here: no NVIDIA driver|no CUDA device/);
  });

  describe('with a GPU: the op harness on CUDA', { skip: hasDriver ? undefined : 'no NVIDIA driver here' }, () => {
    if (!hasDriver || !existsSync(library)) return;
    reportCases(runHarness(path.join(release, 'op_harness'), ['--backend', 'cuda', '--seed', '1']));
  });
});
