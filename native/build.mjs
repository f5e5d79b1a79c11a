// Builds the engine addon with node-gyp, incrementally (configure once, then make rebuilds only
// what changed; `--clean` forces a full rebuild). Offline: when the running Node ships its headers
// (Debian's nodejs puts them under /usr/include/node), point node-gyp at them instead of letting
// it download a tarball.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const nodeGyp = require.resolve('node-gyp/bin/node-gyp.js');

const common = ['--directory', here];
const prefix = path.resolve(path.dirname(process.execPath), '..');
if (existsSync(path.join(prefix, 'include', 'node', 'node_api.h'))) common.push(`--nodedir=${prefix}`);
if (process.argv.includes('--debug')) common.push('--debug');

function gyp(...args) {
  const result = spawnSync(process.execPath, [nodeGyp, ...args, ...common], { stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

const configured = existsSync(path.join(here, 'build', 'Makefile')) || existsSync(path.join(here, 'build', 'binding.sln'));
if (process.argv.includes('--clean') || !configured) gyp('configure');
gyp('build', `--jobs=${process.env.JOBS ?? 'max'}`);
