// What every `pixtral` command does the same way, checked on the built CLI (dist/cli.js) as a real
// process for each command its own --help lists: --help and -h print the usage; an unknown flag or
// a wrong number of arguments is one line naming the command, then the usage, exit 2. Also: a model
// folder given as an argument is the one used, `models list` shows the built-in model and marks
// the one in use, and a backend that cannot run falls back to the CPU with a warning (the webgpu
// one is chosen by name only: never a software adapter unless the environment allows it).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fixtureDir } from '../support/fixtures';
import { requires } from '../support/requirements';
import { WorkerClient } from '../../src/service/worker-client';

const ROOT = path.resolve(__dirname, '..', '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const CHART = path.join(fixtureDir, 'images', 'vision_single.png');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

let home: string;

/** Runs dist/cli.js in a HOME of its own, so no model cache of this machine is seen; `extra` is
 *  added to its environment. */
function pixtral(args: string[], extra: NodeJS.ProcessEnv = {}): Promise<Run> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(HF_|HUGGING|PIXTRAL_)/.test(k)));
  const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env: { ...env, ...extra, HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (t: string) => (stdout += t));
  child.stderr.setEncoding('utf8').on('data', (t: string) => (stderr += t));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

/** The command names a group's usage lists under "commands:". */
function listedCommands(usage: string): string[] {
  const section = usage.split('\ncommands:\n')[1]?.split('\n\n')[0] ?? '';
  return section.split('\n').map((line) => line.trim().split(/\s+/)[0]);
}

before(async () => {
  home = await mkdtemp(path.join(tmpdir(), 'pixtral-cli-home-'));
});
after(() => rm(home, { recursive: true, force: true }));

describe('every command', () => {
  test('--help and -h print its usage; an unknown flag is one line and the usage, exit 2', async () => {
    const top = await pixtral(['--help']);
    assert.equal(top.code, 0);
    const models = await pixtral(['models', '--help']);
    assert.equal(models.code, 0);
    assert.match(models.stdout, /^usage: pixtral models <command>/);
    const leaves = [
      ...listedCommands(top.stdout).filter((name) => name !== 'models').map((name) => [name]),
      ...listedCommands(models.stdout).map((name) => ['models', name]),
    ];
    assert.deepEqual(leaves.map((l) => l.join(' ')).sort(), ['ask', 'explain', 'html', 'models download', 'models list', 'models rm', 'models tokenizer', 'models verify', 'serve', 'table', 'tokenize']);
    for (const words of leaves) {
      const name = `pixtral ${words.join(' ')}`;
      const help = await pixtral([...words, '--help']);
      assert.equal(help.code, 0, name);
      assert.ok(help.stdout.startsWith(`usage: ${name}`), `${name} --help: ${help.stdout}`);
      assert.equal((await pixtral([...words, '-h'])).stdout, help.stdout, `${name} -h`);
      const unknown = await pixtral([...words, '--no-such-flag']);
      assert.equal(unknown.code, 2, name);
      assert.equal(unknown.stderr, `${name}: unknown option '--no-such-flag'\n\n${help.stdout}`);
      assert.equal(unknown.stdout, '');
    }
  });

  test('a wrong number of arguments is refused before anything runs, naming what the command takes', async () => {
    const cases: [string[], string][] = [
      [['html', 'a.png', 'b.png'], 'pixtral html: takes exactly one image, got "a.png" "b.png"'],
      [['explain'], 'pixtral explain: takes exactly one chart image, got none'],
      [['table', 'a.png', 'b.png'], 'pixtral table: takes exactly one image, got "a.png" "b.png"'],
      [['ask', '--prompt', 'Why?'], 'pixtral ask: needs at least one image'],
      [['serve', 'now'], 'pixtral serve: takes no arguments, got "now"'],
      [['tokenize', 'text'], 'pixtral tokenize: takes no arguments, got "text"'],
      [['models', 'list', 'everything'], 'pixtral models list: takes no arguments, got "everything"'],
      [['models', 'verify', 'a', 'b'], 'pixtral models verify: takes at most one model folder, got "a" "b"'],
      [['models', 'download', 'org/a', 'org/b'], 'pixtral models download: takes at most one repository id, got "org/a" "org/b"'],
      [['models', 'rm'], 'pixtral models rm: takes exactly one repository id or model folder, got none'],
      [['models', 'tokenizer'], 'pixtral models tokenizer: takes exactly one model folder, got none'],
      [['models', 'explode'], 'pixtral models: unknown command "explode"'],
      [[], 'pixtral: missing command'],
    ];
    for (const [args, line] of cases) {
      const run = await pixtral(args);
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
      assert.equal(run.stderr.split('\n')[0], line);
      assert.match(run.stderr, /\n\nusage: pixtral/, 'the usage follows');
    }
  });
});

describe('model folders', () => {
  test('models verify DIR checks DIR, not the default model', async () => {
    const ok = await pixtral(['models', 'verify', fixtureDir, '--quick']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, new RegExp(`^Model folder: ${fixtureDir}\n`));
    assert.match(ok.stdout, /\nOK\n$/);
    const missing = path.join(home, 'no-model-here');
    const bad = await pixtral(['models', 'verify', missing, '--quick']);
    assert.equal(bad.code, 1);
    assert.match(bad.stdout, new RegExp(`^Model folder: ${missing}\n`));
    assert.match(bad.stdout, /PROBLEMS FOUND\n$/);
  });

  test('models list shows the built-in model the other commands use, and marks what --model picks', async () => {
    const plain = await pixtral(['models', 'list', '--json']);
    assert.equal(plain.code, 0, plain.stderr);
    const json = JSON.parse(plain.stdout) as { used: string | null; candidates: Array<{ dir: string; source: string }> };
    assert.deepEqual(json.candidates.map((c) => c.source), ['embedded'], 'an empty HOME: only the built-in model');
    assert.equal(json.used, json.candidates[0].dir);
    // The same model the task commands run on (they print it in their first progress line).
    const explain = await pixtral(['explain', CHART, '--max-tokens', '2']);
    assert.equal(explain.code, 0, explain.stderr);
    assert.match(explain.stderr, new RegExp(`^Explain a chart · local worker, model ${json.used}$`, 'm'));

    const text = await pixtral(['models', 'list']);
    // No model of the user's: the small built-in sketch model shipped in the repository answers.
    assert.match(text.stdout, /^\* ok +\S+\/models\/pixtral-sketch-small +\[built-in\] Mistral layout, [\d.]+ MB, the small built-in sketch model\n/);
    const chosen = await pixtral(['models', 'list', '--model', home]);
    assert.match(chosen.stdout, new RegExp(`^\\* PROBLEM +${home} +\\[--model\\] no model\\n`), 'the folder given is the one used, even broken');
    assert.match(chosen.stdout, /\n {2}ok +\S+ +\[built-in\]/);
  });
});

test('--backend cuda where it cannot run: the answer comes from the CPU, and stderr says why', async () => {
  const run = await pixtral(['explain', CHART, '--model', fixtureDir, '--backend', 'cuda', '--max-tokens', '4', '--temperature', '0']);
  assert.equal(run.code, 0, run.stderr);
  assert.ok(run.stdout.length > 0, 'the answer');
  const warning = run.stderr.split('\n').find((line) => line.startsWith('warning: '));
  // A build with a CUDA backend on a machine with a GPU runs it, and has nothing to warn about.
  if (warning) assert.match(warning, /^warning: The cuda backend cannot run because .*cuda.*; running on cpu-[\w-]+ instead\.$/);
  else assert.doesNotMatch(run.stderr, /cannot run/);
  const plain = await pixtral(['explain', CHART, '--model', fixtureDir, '--max-tokens', '4', '--temperature', '0']);
  assert.equal(plain.stdout, run.stdout, 'the same answer as the default backend');
  const refused = await pixtral(['explain', CHART, '--backend', 'tpu']);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /^pixtral explain: --backend must be one of auto, cpu, cuda, webgpu, got "tpu"\n/);
});

const mesa = requires('mesa-egl');

test('--backend webgpu: a software adapter only when PIXTRAL_WEBGPU_SOFTWARE=1, else the CPU and a warning; auto never takes it', mesa.options, async () => {
  if (!mesa.met()) return; // the only adapter here is Mesa's llvmpipe
  const args = ['explain', CHART, '--model', fixtureDir, '--max-tokens', '4', '--temperature', '0'];
  // Loaded on webgpu: a requested GPU backend that does not load falls back with a warning.
  const allowed = await pixtral([...args, '--backend', 'webgpu'], { PIXTRAL_WEBGPU_SOFTWARE: '1' });
  assert.equal(allowed.code, 0, allowed.stderr);
  assert.ok(allowed.stdout.length > 0, 'the answer');
  assert.doesNotMatch(allowed.stderr, /^warning: /m);
  const refused = await pixtral([...args, '--backend', 'webgpu']);
  assert.equal(refused.code, 0, refused.stderr);
  assert.match(refused.stderr, /^warning: The webgpu backend cannot run because the webgpu package \(Dawn\) found (no GPU adapter|only a software renderer).*; running on cpu-[\w-]+ instead\.$/m);
  const auto = await pixtral([...args, '--backend', 'auto'], { PIXTRAL_WEBGPU_SOFTWARE: '1' });
  assert.equal(auto.code, 0, auto.stderr);
  assert.doesNotMatch(auto.stderr, /^warning: /m);
  assert.equal(auto.stdout, refused.stdout, 'auto ran on the CPU, as the refused webgpu did');
  // What the worker (the CLI's and the extension's, given pixtral.backend) reports it runs on.
  process.env.PIXTRAL_WEBGPU_SOFTWARE = '1'; // the forked worker inherits it
  const client = new WorkerClient({ model: fixtureDir, load: { backend: 'webgpu' } });
  try {
    const loaded = await client.load();
    assert.match(loaded.backend, /^webgpu llvmpipe.*\(OpenGL ES, software\)$/);
    assert.equal(loaded.backendFallback, undefined);
  } finally {
    delete process.env.PIXTRAL_WEBGPU_SOFTWARE;
    await client.dispose();
  }
});
