// npm run build:cuda: builds native/build/Release/libpixtral_cuda.so beside the addon with nvcc,
// through native/cuda/build.py (the same script the GPU machine, which has no Node, runs by hand).
//   node native/cuda/build.mjs            the targets this machine needs: its GPU's architecture,
//                                         or sm_90 when it has none (compile check, H100/H200)
//   node native/cuda/build.mjs --all      every shipped target: sm_80, sm_86, sm_89, sm_90 + PTX
//   node native/cuda/build.mjs --programs also op_harness, fixture_parity, bench_cuda (g++ only)
// Exits 0 with a notice when nvcc is not installed or this is not Linux (the engine works without
// this library), or fails with --require. Prints the build time.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ALL_ARCHS = ['80', '86', '89', '90'];

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);

function has(program) {
  return spawnSync('sh', ['-c', `command -v ${program}`], { stdio: 'ignore' }).status === 0;
}

// The compute capability of the local GPU (e.g. "86"), when nvidia-smi can tell.
function localArch() {
  if (!has('nvidia-smi')) return undefined;
  const r = spawnSync('nvidia-smi', ['--query-gpu=compute_cap', '--format=csv,noheader'], { encoding: 'utf8' });
  const cap = r.status === 0 ? r.stdout.trim().split('\n')[0]?.trim() : '';
  const arch = cap?.replace('.', '');
  return arch && ALL_ARCHS.includes(arch) ? arch : undefined;
}

const missing =
  process.platform !== 'linux'
    ? `the CUDA library build (build.py, libpixtral_cuda.so) runs on Linux; on ${process.platform} build it by hand with nvcc`
    : !has(process.env.NVCC ?? 'nvcc') && 'nvcc not found: the CUDA backend (libpixtral_cuda.so) is not built; the engine runs without it';
if (missing) {
  const message = missing;
  if (args.includes('--require')) {
    console.error(message);
    process.exit(1);
  }
  console.log(message);
  process.exit(0);
}

const archs = args.includes('--all') ? ALL_ARCHS : [localArch() ?? '90'];
const started = Date.now();
const result = spawnSync(
  'python3',
  [path.join(here, 'build.py'), '--archs', archs.join(' '), '-j', process.env.JOBS ?? '2', ...(args.includes('--programs') ? ['--programs'] : [])],
  { stdio: 'inherit' },
);
if (result.status !== 0) process.exit(result.status ?? 1);
console.log(`(build.mjs: ${((Date.now() - started) / 1000).toFixed(0)} s)`);
