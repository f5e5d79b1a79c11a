// Builds the engine addon with node-gyp, incrementally (configure when the build files are missing
// or older than binding.gyp/sources.json, then make rebuilds only what changed; `--clean` forces a
// full rebuild). Offline: when the running Node ships its headers
// (Debian's nodejs puts them under /usr/include/node), point node-gyp at them instead of letting
// it download a tarball.
//
// `--sanitize`: the same targets built with AddressSanitizer and UndefinedBehaviorSanitizer into
// native/.sanitize/build/Release (its own gyp folder, so the normal build is untouched); the engine
// tests load that addon through PIXTRAL_NATIVE_ADDON (test/engine/sanitizers.test.ts).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const nodeGyp = require.resolve('node-gyp/bin/node-gyp.js');
const sanitize = process.argv.includes('--sanitize');

// gyp builds in <directory>/build: the sanitized build gets a folder of links to the sources.
let dir = here;
if (sanitize) {
  dir = path.join(here, '.sanitize');
  mkdirSync(dir, { recursive: true });
  for (const entry of ['binding.gyp', 'sources.json', 'src', 'test', 'cuda']) {
    const link = path.join(dir, entry);
    if (!existsSync(link) && existsSync(path.join(here, entry))) symlinkSync(path.join(here, entry), link);
  }
}

const common = ['--directory', dir];
const prefix = path.resolve(path.dirname(process.execPath), '..');
if (existsSync(path.join(prefix, 'include', 'node', 'node_api.h'))) common.push(`--nodedir=${prefix}`);
if (process.argv.includes('--debug')) common.push('--debug');

// gyp's Makefiles append CXXFLAGS/LDFLAGS from the environment to every target.
const flags = '-O1 -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g';
const env = sanitize ? { ...process.env, CFLAGS: flags, CXXFLAGS: flags, LDFLAGS: '-fsanitize=address,undefined' } : process.env;

function gyp(...args) {
  const result = spawnSync(process.execPath, [nodeGyp, ...args, ...common], { stdio: 'inherit', env });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

// The source lists live in sources.json, which gyp reads at configure time only: configure again
// whenever it or binding.gyp is newer than the generated build files.
const generated = ['Makefile', 'binding.sln'].map((f) => path.join(dir, 'build', f)).find((f) => existsSync(f));
const stale = generated && ['binding.gyp', 'sources.json'].some((f) => statSync(path.join(here, f)).mtimeMs > statSync(generated).mtimeMs);
if (process.argv.includes('--clean') || !generated || stale) gyp('configure');
gyp('build', `--jobs=${process.env.JOBS ?? 'max'}`);
