// `removeModel` on real cache trees: a repository from every cache, one snapshot with the blobs
// only it used, our storage folder's plain folders; never a user's own folder or a download in progress.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { PIXTRAL_MISTRAL_REPO } from '../../src/models/catalog';
import { modelEnv } from '../../src/models/env';
import { removeModel } from '../../src/models/remove';
import { commitHash, mistralRepoFiles, sha256, tempDir, writeCacheRepo, writeFolder } from './model-files';

function setup() {
  const home = tempDir('rm');
  const env = modelEnv({ HOME: home, HF_HUB_CACHE: path.join(home, 'hub'), PIXTRAL_MODELS_DIR: path.join(home, 'store') }, 'linux');
  const repoDir = path.join(env.hubCache, `models--${PIXTRAL_MISTRAL_REPO.replace('/', '--')}`);
  return { home, env, repoDir };
}

describe('removeModel', () => {
  test('one snapshot: its folder, its refs and the blobs no other snapshot uses', async () => {
    const { env, repoDir } = setup();
    const files = mistralRepoFiles(5000);
    const newer = mistralRepoFiles(6000).map((f) => (f.path === 'consolidated.safetensors' ? f : files.find((g) => g.path === f.path)!));
    const oldSnapshot = writeCacheRepo(env.hubCache, PIXTRAL_MISTRAL_REPO, commitHash('old'), files, ['v1']);
    writeCacheRepo(env.hubCache, PIXTRAL_MISTRAL_REPO, commitHash('new'), newer, ['main']);
    const oldWeights = sha256(files.find((f) => f.path === 'consolidated.safetensors')!.content);

    const result = await removeModel(oldSnapshot, { env });
    assert.equal(existsSync(oldSnapshot), false);
    assert.deepEqual(readdirSync(path.join(repoDir, 'refs')), ['main']);
    const blobs = readdirSync(path.join(repoDir, 'blobs'));
    assert.equal(blobs.includes(oldWeights), false);
    assert.equal(blobs.length, 4, 'params, tekken, README shared; the new weights kept');
    assert.ok(result.freedBytes > 4000, `freed ${result.freedBytes}`);
    assert.ok(result.removed.includes(path.join(repoDir, 'blobs', oldWeights)));
  });

  test('a repository id removes it from every cache searched; the last snapshot takes the repository folder with it', async () => {
    const { env, repoDir } = setup();
    writeCacheRepo(env.hubCache, PIXTRAL_MISTRAL_REPO, commitHash('a'), mistralRepoFiles(3000));
    const inStorage = writeCacheRepo(env.storageDir, PIXTRAL_MISTRAL_REPO, commitHash('a'), mistralRepoFiles(3000));
    const result = await removeModel(PIXTRAL_MISTRAL_REPO, { env });
    assert.deepEqual(result.removed, [repoDir, path.dirname(path.dirname(inStorage))]);
    assert.equal(existsSync(repoDir), false);
    await assert.rejects(removeModel(PIXTRAL_MISTRAL_REPO, { env }), /is not in any cache searched/);
  });

  test("refuses a user's own folder and a repository being downloaded; removes a plain folder of the storage folder", async () => {
    const { home, env, repoDir } = setup();
    const mine = writeFolder(path.join(home, 'mine'), mistralRepoFiles(1000));
    await assert.rejects(removeModel(mine, { env }), /it is yours: delete it yourself/);
    assert.ok(existsSync(mine));

    writeCacheRepo(env.hubCache, PIXTRAL_MISTRAL_REPO, commitHash('b'), mistralRepoFiles(1000));
    writeFileSync(path.join(repoDir, 'blobs', 'f00d.incomplete.lock'), JSON.stringify({ pid: process.pid, host: hostname() }));
    await assert.rejects(removeModel(PIXTRAL_MISTRAL_REPO, { env }), /is being downloaded right now/);
    assert.ok(existsSync(repoDir));

    const stored = writeFolder(path.join(env.storageDir, 'converted'), mistralRepoFiles(1000));
    assert.deepEqual((await removeModel(stored, { env })).removed, [stored]);
    assert.equal(existsSync(stored), false);
  });
});
