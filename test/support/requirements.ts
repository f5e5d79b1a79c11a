// One policy for a test that needs a program outside npm (test/requirements.json): under CI
// (CI=true) a missing program fails the test with the command that installs it, since CI must
// never pass by skipping; elsewhere the test is skipped, and the run's last line (the reporter in
// skip-summary.ts) names every missing program and that command, once.
//
//   const browser = requires('chromium');
//   before(async () => { if (!browser.met()) return; ... });   // or first thing in a test body
//   test('...', browser.options, async () => { ... });
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

interface Tool {
  name: string;
  /** Looked up on PATH... */
  program?: string;
  /** ...or a file relative to the repository root... */
  file?: string;
  /** ...or a shared library the dynamic loader knows (ldconfig -p). */
  library?: string;
  debian: string[];
  for: string;
}

const ROOT = path.resolve(__dirname, '..', '..');
const requirements = JSON.parse(readFileSync(path.join(ROOT, 'test', 'requirements.json'), 'utf8')) as { install: string; tools: Tool[] };

/** True when the environment says this is a CI run (CI=true, as CI services and .ci/run set it). */
export function inCi(env: NodeJS.ProcessEnv = process.env): boolean {
  const value = (env.CI ?? '').trim().toLowerCase();
  return value !== '' && value !== 'false' && value !== '0';
}

/** Full path of an executable on PATH, or undefined. */
function onPath(program: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    const candidate = path.join(dir, program);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this folder
    }
  }
  return undefined;
}

function tool(name: string): Tool {
  const found = requirements.tools.find((t) => t.name === name);
  if (!found) throw new Error(`test/requirements.json lists no tool named ${name}`);
  return found;
}

/** Full path of a shared library in the dynamic loader's cache, or undefined. */
function inLoaderCache(library: string): string | undefined {
  const ldconfig = onPath('ldconfig') ?? ['/sbin/ldconfig', '/usr/sbin/ldconfig'].find((p) => existsSync(p));
  if (!ldconfig) return undefined;
  const listing = spawnSync(ldconfig, ['-p'], { encoding: 'utf8' }).stdout ?? '';
  return listing.split('\n').find((line) => line.trim().startsWith(`${library} `))?.split(' => ')[1]?.trim();
}

/** Where a required tool is installed (a program's or library's full path, or the file), or undefined. */
export function locate(name: string): string | undefined {
  const t = tool(name);
  if (t.program) return onPath(t.program);
  if (t.library) return inLoaderCache(t.library);
  const file = path.join(ROOT, t.file!);
  return existsSync(file) ? file : undefined;
}

// The skip reason is what the run's summary (skip-summary.mjs) reads: "not installed: a, b".
const SKIP_PREFIX = 'not installed: ';

export class Requirement {
  /** Names of the required tools that are not installed. */
  readonly missing: string[];
  /** node:test options for every test that needs the tools: skipped when one is missing, outside CI. */
  readonly options: { skip?: string };

  constructor(
    names: string[],
    private readonly ci = inCi(),
  ) {
    this.missing = names.filter((name) => !locate(name));
    this.options = this.missing.length > 0 && !ci ? { skip: `${SKIP_PREFIX}${this.missing.join(', ')}` } : {};
  }

  /** True when every tool is there. A missing one returns false outside CI (the tests are skipped
   *  through `options`), and throws in CI, failing the hook or test that asked. */
  met(): boolean {
    if (this.missing.length === 0) return true;
    if (!this.ci) return false;
    const what = this.missing.map((name) => `${name}, for ${tool(name).for} (Debian: ${tool(name).debian.join(' ')})`).join('; ');
    throw new Error(`not installed: ${what}. Run "${requirements.install}"; under CI=true a missing tool fails instead of skipping.`);
  }
}

export function requires(...names: string[]): Requirement {
  return new Requirement(names);
}
