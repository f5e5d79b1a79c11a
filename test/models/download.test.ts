// Downloads over real HTTP from the fake hub (hub-server.ts): parallel ranges through a 302 to a
// second server, resume, retries, refusal of corrupt bytes, gated repositories, the disk-space
// check, tekken.json for the transformers layout. After every failure, nothing a loader would pick
// up is left: no snapshot entry, no final blob.
import assert from 'node:assert/strict';
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PIXTRAL_HF_REPO, PIXTRAL_MISTRAL_REPO } from '../../src/models/catalog';
import { downloadModel, fetchTekken, type DownloadModelOptions } from '../../src/models/download-model';
import { modelEnv } from '../../src/models/env';
import { checkModelFolder } from '../../src/models/model-folder';
import type { DownloadProgress } from '../../src/models/progress';
import { startFakeHub, type FakeHub, type FakeRepo } from './hub-server';
import { commitHash, hfRepoFiles, mistralRepoFiles, sha256, tekkenRepoFiles, tempDir } from './model-files';

const WEIGHTS = 'consolidated.safetensors';
const PART = 64 << 10;

const official: FakeRepo = { id: PIXTRAL_MISTRAL_REPO, commit: commitHash('official'), gated: true, files: tekkenRepoFiles() };
const open: FakeRepo = { id: 'test-org/pixtral-open', commit: commitHash('open'), files: mistralRepoFiles(1 << 20) };
const community: FakeRepo = { id: PIXTRAL_HF_REPO, commit: commitHash('community'), files: hfRepoFiles(3, 200_000) };
const huge: FakeRepo = { id: 'test-org/pixtral-huge', commit: commitHash('huge'), files: mistralRepoFiles(10_000), claimedSizes: { [WEIGHTS]: 1e15 } };
const TOKEN = 'hf_valid_token';

let hub: FakeHub;

before(async () => {
  hub = await startFakeHub({ repos: [official, open, community, huge], tokens: [TOKEN] });
});
after(() => hub.close());

function setup(extra: Partial<DownloadModelOptions> = {}) {
  const home = tempDir('dl');
  const env = modelEnv({ HOME: home, HF_ENDPOINT: hub.endpoint, HF_HUB_CACHE: path.join(home, 'hub'), PIXTRAL_MODELS_DIR: path.join(home, 'store') }, 'linux');
  const events: DownloadProgress[] = [];
  const options: DownloadModelOptions = {
    env,
    repo: open.id,
    token: () => undefined,
    onProgress: (p) => events.push(p),
    tuning: { partSize: PART, connections: 4, retryBaseMs: 5, stallTimeoutMs: 10_000 },
    ...extra,
  };
  const repoDir = path.join(env.hubCache, `models--${(options.repo ?? '').replace('/', '--')}`);
  return { env, options, events, repoDir };
}

function fileOf(repo: FakeRepo, name: string): Buffer {
  return repo.files.find((f) => f.path === name)!.content;
}

/** Asserts that no snapshot entry and no final blob exist for `name`: only partial files, if any. */
function assertNothingLoadable(repoDir: string, repo: FakeRepo, name: string): void {
  const snapshot = path.join(repoDir, 'snapshots', repo.commit, name);
  assert.equal(existsSync(snapshot), false, `${snapshot} must not exist`);
  assert.equal(existsSync(path.join(repoDir, 'blobs', sha256(fileOf(repo, name)))), false);
  assert.equal(existsSync(path.join(repoDir, 'refs', 'main')), false);
}

const newRequests = (since: number) => hub.requests.slice(since);

describe('downloadModel', () => {
  test('downloads in parallel ranges through the CDN redirect into the HF cache layout', async () => {
    const { options, events, repoDir } = setup();
    const since = hub.requests.length;
    const result = await downloadModel(options);

    assert.equal(result.alreadyPresent, false);
    assert.equal(result.commit, open.commit);
    assert.deepEqual(result.check.problems, []);
    assert.equal(result.dir, path.join(repoDir, 'snapshots', open.commit));
    assert.equal(readFileSync(path.join(repoDir, 'refs', 'main'), 'utf8'), open.commit);
    // Snapshot entries are relative links to blobs named by their hash; README is not fetched.
    const weights = fileOf(open, WEIGHTS);
    const link = path.join(result.dir, WEIGHTS);
    assert.ok(lstatSync(link).isSymbolicLink());
    assert.equal(readlinkSync(link), `../../blobs/${sha256(weights)}`);
    assert.deepEqual(readFileSync(link), weights);
    assert.deepEqual(readdirSync(result.dir).sort(), [WEIGHTS, 'params.json', 'tekken.json']);
    assert.deepEqual(readdirSync(path.join(repoDir, 'blobs')).filter((n) => n.includes('.')), []);

    const cdn = newRequests(since).filter((r) => r.server === 'cdn');
    assert.equal(cdn.length, Math.ceil(weights.length / PART), 'one range request per part');
    assert.ok(cdn.every((r) => r.range?.startsWith('bytes=') && r.authorization === undefined));
    assert.ok(newRequests(since).some((r) => r.url.includes(`/api/models/${open.id}/revision/main?blobs=true`)));
    assert.equal(result.downloadedBytes, weights.length + fileOf(open, 'params.json').length + fileOf(open, 'tekken.json').length);

    const downloading = events.filter((e) => e.phase === 'downloading');
    assert.ok(downloading.length > 0 && events.some((e) => e.phase === 'verifying' && e.file === WEIGHTS));
    for (let i = 1; i < downloading.length; i++) assert.ok(downloading[i].bytesDone >= downloading[i - 1].bytesDone);
    assert.ok(downloading.every((e) => e.bytesTotal === result.downloadedBytes));
  });

  test('never downloads twice: a complete copy is found without touching the network', async () => {
    const { options } = setup();
    await downloadModel(options);
    const since = hub.requests.length;
    const again = await downloadModel(options);
    assert.equal(again.alreadyPresent, true);
    assert.equal(again.downloadedBytes, 0);
    assert.equal(newRequests(since).length, 0);
  });

  test('survives a connection dropped mid-part, a 503 and a stall, resuming within the part', async () => {
    const { options } = setup();
    hub.addFault(WEIGHTS, { kind: 'drop', afterBytes: 10_000 });
    hub.addFault(WEIGHTS, { kind: 'status', status: 503 });
    hub.addFault(WEIGHTS, { kind: 'stall' });
    const since = hub.requests.length;
    const result = await downloadModel({ ...options, tuning: { ...options.tuning, connections: 1, stallTimeoutMs: 500 } });
    assert.deepEqual(readFileSync(path.join(result.dir, WEIGHTS)), fileOf(open, WEIGHTS));
    const ranges = newRequests(since).filter((r) => r.server === 'cdn').map((r) => r.range);
    assert.ok(ranges.includes(`bytes=10000-${PART - 1}`), `resumed after the dropped bytes: ${ranges.join(' ')}`);
    assert.equal(result.downloadedBytes, result.check.weightBytes + fileOf(open, 'params.json').length + fileOf(open, 'tekken.json').length);
  });

  test('refuses a corrupted byte: nothing published, the partial file deleted; the next try succeeds', async () => {
    const { options, repoDir } = setup();
    hub.addFault(WEIGHTS, { kind: 'corrupt', offset: 300_000 });
    await assert.rejects(downloadModel(options), (err: Error) => {
      assert.equal(err.name, 'IntegrityError');
      assert.match(err.message, /consolidated\.safetensors is corrupt: its sha256 is [0-9a-f]{64}, the hub announced/);
      return true;
    });
    assertNothingLoadable(repoDir, open, WEIGHTS);
    assert.deepEqual(readdirSync(path.join(repoDir, 'blobs')).filter((n) => n.includes('.incomplete')), []);
    const result = await downloadModel(options);
    assert.ok(result.check.ok);
  });

  test('cancel keeps the partial download, which the next run resumes', async () => {
    const { options, repoDir } = setup();
    const weights = fileOf(open, WEIGHTS);
    hub.addFault(WEIGHTS, { kind: 'slow', chunkBytes: 8192, delayMs: 20 }, 4);
    const controller = new AbortController();
    const run = downloadModel({
      ...options,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.file === WEIGHTS && p.bytesDone > 150_000) controller.abort();
      },
    });
    await assert.rejects(run, (err: Error) => err.name === 'AbortError');
    assertNothingLoadable(repoDir, open, WEIGHTS);
    const partial = path.join(repoDir, 'blobs', `${sha256(weights)}.incomplete`);
    assert.ok(existsSync(partial) && existsSync(`${partial}.parts`));
    assert.equal(existsSync(`${partial}.lock`), false, 'the lock is released');

    const resumed = await downloadModel(options);
    assert.ok(resumed.check.ok);
    assert.ok(resumed.downloadedBytes < weights.length, `resumed: ${resumed.downloadedBytes} of ${weights.length} fetched`);
    assert.deepEqual(readFileSync(path.join(resumed.dir, WEIGHTS)), weights);
  });

  test("adopts a partial file left by huggingface_hub (a finished prefix, no parts file)", async () => {
    const { options, repoDir } = setup();
    const weights = fileOf(open, WEIGHTS);
    mkdirSync(path.join(repoDir, 'blobs'), { recursive: true });
    writeFileSync(path.join(repoDir, 'blobs', `${sha256(weights)}.incomplete`), weights.subarray(0, 100_000));
    const since = hub.requests.length;
    const result = await downloadModel(options);
    assert.ok(result.check.ok);
    const ranges = newRequests(since).filter((r) => r.server === 'cdn').map((r) => r.range);
    assert.ok(ranges.includes(`bytes=100000-${2 * PART - 1}`), ranges.join(' '));
    assert.ok(!ranges.includes(`bytes=0-${PART - 1}`));
  });

  test('a gated repository without a token or with a token lacking access says how to get access', async () => {
    const { options, repoDir } = setup({ repo: official.id });
    await assert.rejects(downloadModel(options), (err: Error & { kind?: string; status?: number }) => {
      assert.equal(err.name, 'HubError');
      assert.equal(err.kind, 'gated');
      assert.equal(err.status, 401);
      assert.match(err.message, /gated repository/);
      assert.match(err.message, /accept the licence/);
      assert.match(err.message, /HF_TOKEN/);
      assert.ok(err.message.includes(`${hub.endpoint}/${official.id}`));
      return true;
    });
    await assert.rejects(downloadModel({ ...options, token: () => 'hf_other' }), (err: Error & { status?: number }) => {
      assert.equal(err.status, 403);
      assert.match(err.message, /no access/);
      return true;
    });
    assertNothingLoadable(repoDir, official, WEIGHTS);
  });

  test('a gated repository with a valid token: the token goes to the hub, never to the CDN', async () => {
    const { options } = setup({ repo: official.id, token: async () => TOKEN });
    const since = hub.requests.length;
    const result = await downloadModel(options);
    assert.ok(result.check.ok);
    const requests = newRequests(since);
    assert.ok(requests.filter((r) => r.server === 'hub' && r.url.includes('/resolve/')).every((r) => r.authorization === `Bearer ${TOKEN}`));
    assert.ok(requests.filter((r) => r.server === 'cdn').every((r) => r.authorization === undefined));
  });

  test('the disk-space check refuses before any byte is fetched', async () => {
    const { options, repoDir } = setup({ repo: huge.id });
    const since = hub.requests.length;
    await assert.rejects(downloadModel(options), (err: Error) => {
      assert.equal(err.name, 'DiskSpaceError');
      assert.match(err.message, /not enough disk space in .*: the download needs 1\d*\.\d+ PB more and .* is free/);
      return true;
    });
    assert.equal(newRequests(since).filter((r) => r.url.includes('/resolve/') || r.server === 'cdn').length, 0);
    assert.equal(existsSync(path.join(repoDir, 'snapshots')), false);
  });

  test('a transformers-layout repository gets tekken.json from the official repository', async () => {
    const { options } = setup({ repo: community.id, token: () => TOKEN });
    const result = await downloadModel(options);
    assert.deepEqual(result.check.problems, []);
    assert.equal(result.check.layout, 'hf');
    const names = readdirSync(result.dir).sort();
    assert.deepEqual(names, ['config.json', 'model-00001-of-00003.safetensors', 'model-00002-of-00003.safetensors', 'model-00003-of-00003.safetensors', 'model.safetensors.index.json', 'tekken.json']);
    assert.deepEqual(readFileSync(path.join(result.dir, 'tekken.json')), fileOf(official, 'tekken.json'));
  });

  test('without access to the official repository, the weights still arrive and the missing tekken.json is explained', async () => {
    const { options } = setup({ repo: community.id });
    const result = await downloadModel(options);
    assert.equal(result.check.ok, false);
    assert.deepEqual(result.check.missing, ['tekken.json']);
    assert.match(result.warnings.join('\n'), /tekken\.json could not be fetched from mistralai\/Pixtral-12B-2409: .*gated/);
    assert.match(result.check.problems.join('\n'), /tokenizer\.json, whose split regex is wrong/);
    assert.match(result.check.problems.join('\n'), /pixtral models tokenizer --model/);
  });

  test('fetchTekken completes a cached transformers-layout snapshot later, once a token is there', async () => {
    const { options } = setup({ repo: community.id });
    const first = await downloadModel(options);
    assert.deepEqual(first.check.missing, ['tekken.json']);
    const file = await fetchTekken(first.dir, { env: options.env, token: () => TOKEN });
    assert.equal(file, path.join(first.dir, 'tekken.json'));
    assert.match(readlinkSync(file), /^\.\.\/\.\.\/blobs\/[0-9a-f]{40}$/, 'a small file: its blob is named by the git sha1');
    assert.deepEqual(readFileSync(file), fileOf(official, 'tekken.json'));
    assert.ok((await checkModelFolder(first.dir)).ok);
  });

  test('HF_HUB_OFFLINE: a cached model is still found, a missing one is a clear error', async () => {
    const { options, env } = setup();
    await downloadModel(options);
    const offline = { ...env, offline: true };
    assert.equal((await downloadModel({ ...options, env: offline })).alreadyPresent, true);
    await assert.rejects(downloadModel({ ...options, env: offline, repo: community.id }), (err: Error & { kind?: string }) => {
      assert.equal(err.kind, 'offline');
      assert.match(err.message, /HF_HUB_OFFLINE is set, so mistral-community\/pixtral-12b cannot be downloaded/);
      return true;
    });
  });

  test('a download locked by a live process is refused; a stale lock is taken over', async () => {
    const { options, repoDir } = setup();
    const lock = path.join(repoDir, 'blobs', `${sha256(fileOf(open, WEIGHTS))}.incomplete.lock`);
    mkdirSync(path.dirname(lock), { recursive: true });
    writeFileSync(lock, JSON.stringify({ pid: process.pid, host: hostname() }));
    await assert.rejects(downloadModel(options), (err: Error) => err.name === 'LockedError' && /already being downloaded by process/.test(err.message));
    writeFileSync(lock, JSON.stringify({ pid: 2 ** 22 + 12345, host: hostname() }));
    const result = await downloadModel(options);
    assert.ok(result.check.ok);
  });
});
