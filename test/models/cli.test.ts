// `pixtral models ...` as a real process against the fake hub (HF_ENDPOINT) with a temporary cache
// (HF_HUB_CACHE): download, list, rm, Ctrl-C and resume, a gated repository, verify.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PIXTRAL_HF_REPO, PIXTRAL_MISTRAL_REPO } from '../../src/models/catalog';
import { startFakeHub, type FakeHub, type FakeRepo } from './hub-server';
import { commitHash, FIXTURE, hfRepoFiles, mistralRepoFiles, sha256, tekkenRepoFiles, tempDir, writeFolder } from './model-files';

const REPO_ROOT = path.resolve(__dirname, '..', '..');
const open: FakeRepo = { id: 'test-org/pixtral-open', commit: commitHash('cli-open'), files: mistralRepoFiles(2 << 20) };
const official: FakeRepo = { id: PIXTRAL_MISTRAL_REPO, commit: commitHash('cli-official'), gated: true, files: tekkenRepoFiles() };
const TOKEN = 'hf_cli_token';

let hub: FakeHub;
before(async () => {
  hub = await startFakeHub({ repos: [open, official], tokens: [TOKEN] });
});
after(() => hub.close());

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A fresh HOME with its own cache and storage folder, and no hub variables from the outside. */
function sandbox(): Record<string, string> {
  const home = tempDir('cli');
  const env = Object.fromEntries(Object.entries(process.env).filter(([k, v]) => v !== undefined && !/^(HF_|HUGGING)/.test(k))) as Record<string, string>;
  return { ...env, HOME: home, HF_ENDPOINT: hub.endpoint, HF_HUB_CACHE: path.join(home, 'hub'), PIXTRAL_MODELS_DIR: path.join(home, 'store') };
}

/** Runs the CLI; `onStderr` sees stderr as it arrives and may signal the process. */
function pixtral(args: string[], env: Record<string, string>, onStderr?: (text: string, kill: (signal: NodeJS.Signals) => void) => void): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'models', ...args], { cwd: REPO_ROOT, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      onStderr?.(stderr, (signal) => child.kill(signal));
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const repoDir = (env: Record<string, string>, repo: string) => path.join(env.HF_HUB_CACHE, `models--${repo.replace('/', '--')}`);

describe('pixtral models', () => {
  test('download, list, download again (nothing to do), rm', async () => {
    const env = sandbox();
    const dl = await pixtral(['download', open.id, '--connections', '2'], env);
    assert.equal(dl.code, 0, dl.stderr);
    const snapshot = path.join(repoDir(env, open.id), 'snapshots', open.commit);
    assert.match(dl.stdout, new RegExp(`^Downloaded test-org/pixtral-open \\(2\\.\\d+ MB fetched\\) to ${snapshot}\\n$`));
    assert.match(dl.stderr, /downloading consolidated\.safetensors .* \/ 2\.\d+ MB/);
    assert.match(dl.stderr, /verifying consolidated\.safetensors/);

    const listed = await pixtral(['list', '--json'], env);
    assert.equal(listed.code, 0);
    const json = JSON.parse(listed.stdout) as { used: string; candidates: Array<{ dir: string; source: string; repo?: string; refs: string[]; check: { ok: boolean } }> };
    assert.equal(json.used, snapshot);
    // The download comes first; the built-in model the other commands fall back on is listed last.
    assert.deepEqual(json.candidates.map((c) => [c.source, c.repo, c.refs, c.check.ok]), [['hf-cache', open.id, ['main'], true], ['embedded', undefined, [], true]]);
    const text = await pixtral(['list'], env);
    assert.match(text.stdout, /^\* ok +test-org\/pixtral-open \(main, [0-9a-f]{10}\) +\[hf-cache\] Mistral layout, 2\.\d+ MB\n/);

    const again = await pixtral(['download', open.id], env);
    assert.equal(again.code, 0);
    assert.equal(again.stdout, `${open.id} is already downloaded: ${snapshot}\n`);

    const rm = await pixtral(['rm', open.id], env);
    assert.equal(rm.code, 0, rm.stderr);
    assert.match(rm.stdout, new RegExp(`^removed ${repoDir(env, open.id)}\\nfreed 2\\.\\d+ MB\\n$`));
    assert.equal(existsSync(repoDir(env, open.id)), false);
    assert.match((await pixtral(['list'], env)).stdout, /^\* ok +\S+ +\[built-in\] Mistral layout, [\d.]+ MB, /, 'the built-in model is in use again');
  });

  test('Ctrl-C stops the download cleanly; running it again resumes', async () => {
    const env = sandbox();
    const weights = open.files.find((f) => f.path === 'consolidated.safetensors')!.content;
    hub.addFault('consolidated.safetensors', { kind: 'slow', chunkBytes: 16 << 10, delayMs: 25 });
    let sent = false;
    const stopped = await pixtral(['download', open.id], env, (stderr, kill) => {
      if (!sent && /downloading consolidated\.safetensors/.test(stderr)) {
        sent = true;
        setTimeout(() => kill('SIGINT'), 300);
      }
    });
    assert.equal(stopped.code, 130, stopped.stderr);
    assert.match(stopped.stderr, /Download cancelled; run the same command again to resume\./);
    const blobs = path.join(repoDir(env, open.id), 'blobs');
    assert.ok(existsSync(path.join(blobs, `${sha256(weights)}.incomplete`)));
    assert.equal(existsSync(path.join(repoDir(env, open.id), 'snapshots', open.commit, 'consolidated.safetensors')), false);

    const resumed = await pixtral(['download', open.id], env);
    assert.equal(resumed.code, 0, resumed.stderr);
    const fetched = Number(/\((\d+\.\d+) MB fetched\)/.exec(resumed.stdout)?.[1]);
    assert.ok(fetched * 1e6 < weights.length, `resumed, not restarted: ${resumed.stdout}`);
    assert.deepEqual(readdirSync(blobs).filter((n) => n.includes('.')), []);
  });

  test('a gated repository: a message that says how, no stack trace; HF_TOKEN opens it', async () => {
    const env = sandbox();
    const refused = await pixtral(['download'], env);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^pixtral: mistralai\/Pixtral-12B-2409 is a gated repository \(HTTP 401\)\. Log in at .* and accept the licence, then create a read token at .*\/settings\/tokens and give it to Pixtral: HF_TOKEN=hf_\.\.\. for the CLI/m);
    assert.doesNotMatch(refused.stderr, /\n\s+at /);

    const allowed = await pixtral(['download'], { ...env, HF_TOKEN: TOKEN });
    assert.equal(allowed.code, 0, allowed.stderr);
    assert.match(allowed.stdout, /^Downloaded mistralai\/Pixtral-12B-2409/);
  });

  test('tokenizer: puts tekken.json into a transformers-layout folder', async () => {
    const env = { ...sandbox(), HF_TOKEN: TOKEN };
    const dir = writeFolder(tempDir('hf-plain'), hfRepoFiles(2, 2000));
    const run = await pixtral(['tokenizer', dir], env);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, `${path.join(dir, 'tekken.json')}\n`);
    assert.deepEqual(readFileSync(path.join(dir, 'tekken.json')), official.files.find((f) => f.path === 'tekken.json')!.content);
    assert.deepEqual(readdirSync(dir).filter((n) => n.includes('incomplete')), []);
  });

  test('verify: hashes of a cached copy of the tiny fixture, the engine check, the memory verdict; a flipped byte fails', async () => {
    const env = sandbox();
    const repo = path.join(env.HF_HUB_CACHE, `models--${PIXTRAL_HF_REPO.replace('/', '--')}`);
    const snapshot = path.join(repo, 'snapshots', commitHash('fixture'));
    mkdirSync(path.join(repo, 'blobs'), { recursive: true });
    mkdirSync(snapshot, { recursive: true });
    for (const name of ['params.json', 'consolidated.safetensors', 'tekken.json']) {
      const hash = sha256(readFileSync(path.join(FIXTURE, name)));
      copyFileSync(path.join(FIXTURE, name), path.join(repo, 'blobs', hash));
      symlinkSync(`../../blobs/${hash}`, path.join(snapshot, name));
    }
    const ok = await pixtral(['verify', snapshot], env);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /files: +ok \(mistral layout, weights 68\.0 MB\)/);
    assert.match(ok.stdout, /sha256 consolidated\.safetensors: ok/);
    assert.match(ok.stdout, /engine: (ok \(45 tensors, 68\.0 MB\)|engine not built)/);
    assert.match(ok.stdout, /memory: The model \(0\.03 B parameters\) fits in system memory at bf16/);
    assert.match(ok.stdout, /\nOK\n$/);

    const blob = path.join(repo, 'blobs', sha256(readFileSync(path.join(FIXTURE, 'params.json'))));
    const bytes = readFileSync(blob);
    bytes[bytes.length - 2] ^= 0x01;
    writeFileSync(blob, bytes);
    const bad = await pixtral(['verify', snapshot], env);
    assert.equal(bad.code, 1);
    assert.match(bad.stdout, /sha256 params\.json: MISMATCH \(expected [0-9a-f]{64}, got [0-9a-f]{64}\): download it again/);
    assert.match(bad.stdout, /PROBLEMS FOUND\n$/);
  });

  test('usage errors, and rm refuses a folder that is not in a cache', async () => {
    const env = sandbox();
    const none = await pixtral([], env);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /^pixtral models: missing command\n\nusage: pixtral models <command>/);
    const mine = writeFolder(tempDir('mine'), mistralRepoFiles(1000));
    const rm = await pixtral(['rm', mine], env);
    assert.equal(rm.code, 1);
    assert.match(rm.stderr, /is not in a Hugging Face cache or in Pixtral's storage folder; it is yours/);
    assert.ok(existsSync(path.join(mine, 'params.json')));
  });
});
