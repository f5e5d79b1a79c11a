// Builds the prebuilt addons that ship inside the per-platform VSIX packages, as
// native/prebuilds/<platform>-<arch>/pixtral_native.node (where src/engine/native.ts looks first).
// The host platform always; linux-arm64 too on a linux-x64 machine that has the aarch64 cross
// compiler (apt: g++-aarch64-linux-gnu). darwin-arm64 and win32-x64 must be built on those systems
// (same command there). Where nvcc is installed (linux-x64, win32-x64), the CUDA backend library is
// built for every shipped GPU target and placed beside the addon, which opens it only when a GPU
// backend is asked for; without it the addon works unchanged (CPU).
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const here = path.dirname(fileURLToPath(import.meta.url));
const nodeGyp = createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js');
const prefix = path.resolve(path.dirname(process.execPath), '..');
const nodedir = existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) ? [`--nodedir=${prefix}`] : [];

function run(cmd, args, env = process.env) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', env });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status})`);
}

function install(from, target, name = 'pixtral_native.node') {
  const dir = path.join(here, 'prebuilds', target);
  mkdirSync(dir, { recursive: true });
  copyFileSync(from, path.join(dir, name));
  console.log(`prebuilt ${target}: ${path.relative(process.cwd(), path.join(dir, name))}`);
}

run(process.execPath, [path.join(here, 'build.mjs')]);
install(path.join(here, 'build', 'Release', 'pixtral_native.node'), `${process.platform}-${process.arch}`);

// The CUDA library: built here on linux-x64 (build.mjs skips it without nvcc); on win32-x64 a
// pixtral_cuda.dll built by hand into build/Release is carried along.
const cudaLibrary = process.platform === 'win32' ? 'pixtral_cuda.dll' : 'libpixtral_cuda.so';
if (process.platform === 'linux' && process.arch === 'x64') run(process.execPath, [path.join(here, 'cuda', 'build.mjs'), '--all']);
const cudaBuilt = path.join(here, 'build', 'Release', cudaLibrary);
if (['linux-x64', 'win32-x64'].includes(`${process.platform}-${process.arch}`) && existsSync(cudaBuilt))
  install(cudaBuilt, `${process.platform}-${process.arch}`, cudaLibrary);

const cross = 'aarch64-linux-gnu';
if (process.platform === 'linux' && process.arch === 'x64' && spawnSync('sh', ['-c', `command -v ${cross}-g++`]).status === 0) {
  // A separate gyp directory so the cross build never touches the host build.
  const dir = path.join(here, '.cross', 'linux-arm64');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  symlinkSync(path.join(here, 'binding.gyp'), path.join(dir, 'binding.gyp'));
  symlinkSync(path.join(here, 'src'), path.join(dir, 'src'));
  const env = { ...process.env, CC: `${cross}-gcc`, CXX: `${cross}-g++`, LINK: `${cross}-g++`, AR: `${cross}-ar` };
  run(process.execPath, [nodeGyp, 'rebuild', '--arch=arm64', '--directory', dir, ...nodedir, `--jobs=max`], env);
  install(path.join(dir, 'build', 'Release', 'pixtral_native.node'), 'linux-arm64');
} else {
  console.log('linux-arm64: skipped (needs a linux-x64 host with g++-aarch64-linux-gnu)');
}
