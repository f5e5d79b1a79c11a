// Builds the engine addon with node-gyp. Offline: when the running Node ships its headers
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

const args = [nodeGyp, 'rebuild', '--directory', here, `--jobs=${process.env.JOBS ?? 'max'}`];
const prefix = path.resolve(path.dirname(process.execPath), '..');
if (existsSync(path.join(prefix, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${prefix}`);
if (process.argv.includes('--debug')) args.push('--debug');

const result = spawnSync(process.execPath, args, { stdio: 'inherit' });
process.exit(result.status ?? 1);
