#!/usr/bin/env node
// `npm run setup`: installs what the build and the tests need outside npm (test/requirements.json),
// once per machine, before `npm ci` and `npm test`. On Debian and Ubuntu it installs the packages
// with apt-get (through sudo when not root) and builds code-server with the shared recipe; on other
// systems it lists what is missing and what each is for, and exits 1 until it is all there.
// Plain Node with no dependencies: it runs before `npm ci`, which itself needs the compiler.
import { execFileSync, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const { tools } = JSON.parse(readFileSync(path.join(root, 'test', 'requirements.json'), 'utf8'));

const onPath = (program) =>
  (process.env.PATH ?? '').split(path.delimiter).some((dir) => {
    try {
      accessSync(path.join(dir, program), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
// A library: in the dynamic loader's cache (ldconfig -p).
const loaderKnows = (library) =>
  spawnSync(onPath('ldconfig') ? 'ldconfig' : '/sbin/ldconfig', ['-p'], { encoding: 'utf8' })
    .stdout?.split('\n')
    .some((line) => line.trim().startsWith(`${library} `)) ?? false;
const present = (tool) =>
  tool.program ? onPath(tool.program) : tool.library ? loaderKnows(tool.library) : existsSync(path.join(root, tool.file));
const say = (line) => process.stdout.write(`setup: ${line}\n`);

function run(command, args) {
  say(`${command} ${args.join(' ')}`);
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (result.status !== 0) throw new Error(`${command} ${args[0]} failed (exit ${result.status ?? result.signal})`);
}

/** Debian packages of `tools` that dpkg does not report as installed. */
function missingPackages() {
  const wanted = [...new Set(tools.flatMap((t) => t.debian))];
  return wanted.filter((pkg) => {
    const status = spawnSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8' });
    return !status.stdout?.includes('install ok installed');
  });
}

function installPackages(packages) {
  const asRoot = process.getuid?.() === 0;
  if (!asRoot && !onPath('sudo')) {
    say(`as root, run: apt-get update && apt-get install -y ${packages.join(' ')}`);
    throw new Error('not root and no sudo: install the packages above, then run npm run setup again');
  }
  const apt = (args) => (asRoot ? run('apt-get', args) : run('sudo', ['apt-get', ...args]));
  apt(['update', '-qq']);
  apt(['install', '-y', '-qq', ...packages]);
}

function installCodeServer(tool) {
  const recipe = path.resolve(root, tool.recipe);
  if (!existsSync(recipe)) throw new Error(`${tool.name} is not installed and its recipe ${recipe} is missing`);
  // The recipe builds code-server's native modules from the npm registry: a few minutes, once.
  run('bash', [recipe, path.join(root, tool.recipeDir)]);
}

function main() {
  if (process.platform === 'linux' && onPath('apt-get') && onPath('dpkg-query')) {
    const packages = missingPackages();
    if (packages.length > 0) installPackages(packages);
    for (const tool of tools.filter((t) => t.recipe && !present(t))) installCodeServer(tool);
  }
  const missing = tools.filter((t) => !present(t));
  if (missing.length === 0) {
    say('everything the build and the tests need is installed; now run: npm ci && npm test');
    return 0;
  }
  say('not Debian or Ubuntu, or the install left these missing; install them with your system\'s tools:');
  for (const t of missing) say(`  ${t.name.padEnd(22)} for ${t.for} (Debian: ${t.debian.join(' ')}${t.recipe ? `, then bash ${t.recipe}` : ''})`);
  return 1;
}

try {
  process.exitCode = main();
} catch (err) {
  say(err.message);
  process.exitCode = 1;
}
