// Cache discovery and the folder check on real folder trees: hub caches laid out as
// huggingface_hub lays them out (blobs, relative symlinks, refs/), symlinked cache roots, dangling
// links, plain folders, the environment variables that move the cache.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { PIXTRAL_HF_REPO, PIXTRAL_MISTRAL_REPO } from '../../src/models/catalog';
import { modelEnv } from '../../src/models/env';
import { chooseModelDir, findModels, pickModel } from '../../src/models/find';
import { checkModelFolder } from '../../src/models/model-folder';
import { commitHash, FIXTURE, hfRepoFiles, mistralRepoFiles, tempDir, writeCacheRepo, writeFolder } from './model-files';

function envFor(home: string, extra: Record<string, string> = {}) {
  return modelEnv({ HOME: home, PIXTRAL_MODELS_DIR: path.join(home, 'store'), ...extra }, 'linux');
}

describe('modelEnv', () => {
  test('follows huggingface_hub: HF_HUB_CACHE, then HF_HOME/hub, then XDG_CACHE_HOME, then ~/.cache', () => {
    assert.equal(modelEnv({ HOME: '/h' }, 'linux').hubCache, '/h/.cache/huggingface/hub');
    assert.equal(modelEnv({ HOME: '/h', XDG_CACHE_HOME: '/x' }, 'linux').hubCache, '/x/huggingface/hub');
    assert.equal(modelEnv({ HOME: '/h', HF_HOME: '/hf' }, 'linux').hubCache, '/hf/hub');
    assert.equal(modelEnv({ HOME: '/h', HF_HOME: '/hf', HF_HUB_CACHE: '/c' }, 'linux').hubCache, '/c');
    assert.equal(modelEnv({ HOME: '/h', HUGGINGFACE_HUB_CACHE: '~/legacy' }, 'linux').hubCache, '/h/legacy');
    assert.deepEqual(modelEnv({ HOME: '/h', HF_HUB_CACHE: '/c' }, 'linux').hubCaches, ['/c', '/h/.cache/huggingface/hub']);
    assert.equal(modelEnv({ HOME: '/h', HF_HOME: '/hf' }, 'linux').tokenFile, '/hf/token');
  });

  test('Windows and macOS paths, endpoint, token and offline switches', () => {
    const win = modelEnv({ USERPROFILE: 'C:\\Users\\ann', LOCALAPPDATA: 'C:\\Users\\ann\\AppData\\Local' }, 'win32');
    assert.equal(win.hubCache, 'C:\\Users\\ann\\.cache\\huggingface\\hub');
    assert.equal(win.storageDir, 'C:\\Users\\ann\\AppData\\Local\\Pixtral\\models');
    assert.equal(modelEnv({ HOME: '/Users/ann' }, 'darwin').storageDir, '/Users/ann/Library/Application Support/Pixtral/models');
    assert.equal(modelEnv({ HOME: '/h' }, 'linux').storageDir, '/h/.local/share/pixtral/models');
    assert.equal(modelEnv({ HOME: '/h', PIXTRAL_MODELS_DIR: '/m' }, 'linux').storageDir, '/m');
    const env = modelEnv({ HOME: '/h', HF_ENDPOINT: 'https://mirror.example/', HF_TOKEN: ' hf_x ', HF_HUB_OFFLINE: '1' }, 'linux');
    assert.equal(env.endpoint, 'https://mirror.example');
    assert.equal(env.envToken, 'hf_x');
    assert.equal(env.offline, true);
    assert.equal(modelEnv({ HOME: '/h' }, 'linux').endpoint, 'https://huggingface.co');
  });
});

describe('findModels', () => {
  test('finds a snapshot through refs/main in HF_HUB_CACHE, lists an incomplete older one after it, ignores other models', async () => {
    const home = tempDir('find');
    const cache = path.join(home, 'cache');
    const good = writeCacheRepo(cache, PIXTRAL_MISTRAL_REPO, commitHash('new'), mistralRepoFiles(4000));
    writeCacheRepo(cache, PIXTRAL_MISTRAL_REPO, commitHash('old'), mistralRepoFiles(4000).filter((f) => f.path !== 'consolidated.safetensors'), []);
    const llamaConfig = { architectures: ['LlamaForCausalLM'], model_type: 'llama' };
    writeCacheRepo(cache, 'meta-llama/Llama-3.2-1B', commitHash('llama'), [{ path: 'config.json', content: Buffer.from(JSON.stringify(llamaConfig)) }]);

    const candidates = await findModels({ env: envFor(home, { HF_HUB_CACHE: cache }) });
    assert.deepEqual(candidates.map((c) => [c.repo, c.commit, c.refs, c.check.ok]), [
      [PIXTRAL_MISTRAL_REPO, commitHash('new'), ['main'], true],
      [PIXTRAL_MISTRAL_REPO, commitHash('old'), [], false],
    ]);
    assert.equal(candidates[0].dir, good);
    assert.equal(candidates[0].source, 'hf-cache');
    assert.deepEqual(candidates[1].check.missing, ['consolidated.safetensors']);
    assert.equal(pickModel(candidates)?.dir, good);
  });

  test('looks in HF_HOME/hub, the default ~/.cache path and the storage folder, in that order', async () => {
    const home = tempDir('order');
    const hfHome = path.join(home, 'hfhome');
    writeCacheRepo(path.join(hfHome, 'hub'), PIXTRAL_HF_REPO, commitHash('a'), hfRepoFiles(2, 3000));
    writeCacheRepo(path.join(home, '.cache', 'huggingface', 'hub'), PIXTRAL_MISTRAL_REPO, commitHash('b'), mistralRepoFiles(3000));
    writeCacheRepo(path.join(home, 'store'), 'someone/pixtral-finetune', commitHash('c'), mistralRepoFiles(3000));
    writeFolder(path.join(home, 'store', 'my-pixtral'), mistralRepoFiles(3000));
    mkdirSync(path.join(home, 'store', 'not-a-model'));

    const candidates = await findModels({ env: envFor(home, { HF_HOME: hfHome }) });
    assert.deepEqual(candidates.map((c) => [c.source, c.repo ?? path.basename(c.dir)]), [
      ['hf-cache', PIXTRAL_HF_REPO],
      ['hf-cache', PIXTRAL_MISTRAL_REPO],
      ['storage', 'someone/pixtral-finetune'],
      ['storage', 'my-pixtral'],
    ]);
    // The transformers snapshot lacks tekken.json, so the first usable one is the Mistral one.
    assert.deepEqual(candidates[0].check.missing, ['tekken.json']);
    assert.equal(pickModel(candidates)?.repo, PIXTRAL_MISTRAL_REPO);
  });

  test('the folder from the setting comes first, even broken, with what is missing', async () => {
    const home = tempDir('setting');
    writeCacheRepo(path.join(home, '.cache', 'huggingface', 'hub'), PIXTRAL_MISTRAL_REPO, commitHash('x'), mistralRepoFiles(3000));
    const mine = writeFolder(path.join(home, 'mine'), mistralRepoFiles(3000).filter((f) => f.path !== 'tekken.json'));
    const candidates = await findModels({ env: envFor(home), settingDir: mine });
    assert.equal(candidates[0].source, 'setting');
    assert.equal(candidates[0].dir, mine);
    assert.deepEqual(candidates[0].check.missing, ['tekken.json']);
    assert.match(candidates[0].check.problems[0], /tekken\.json \(the tokenizer\) is missing/);
    assert.equal(pickModel(candidates)?.source, 'hf-cache');

    const missing = await findModels({ env: envFor(home), settingDir: path.join(home, 'nowhere') });
    assert.match(missing[0].check.problems[0], /is not a folder or does not exist/);
  });

  test('a setting may name a cache root or a repository folder of a cache', async () => {
    const home = tempDir('setting-cache');
    const root = path.join(home, 'elsewhere');
    const snapshot = writeCacheRepo(root, PIXTRAL_MISTRAL_REPO, commitHash('y'), mistralRepoFiles(3000));
    for (const setting of [root, path.dirname(path.dirname(snapshot))]) {
      const [first] = await findModels({ env: envFor(home), settingDir: setting });
      assert.equal(first.source, 'setting');
      assert.equal(first.dir, snapshot);
      assert.equal(first.repo, PIXTRAL_MISTRAL_REPO);
      assert.ok(first.check.ok);
    }
  });

  test('a symlinked cache root is searched once; a dangling blob link counts as missing', async () => {
    const home = tempDir('links');
    const real = path.join(home, 'real-cache');
    const snapshot = writeCacheRepo(real, PIXTRAL_MISTRAL_REPO, commitHash('z'), mistralRepoFiles(3000));
    mkdirSync(path.join(home, '.cache', 'huggingface'), { recursive: true });
    symlinkSync(real, path.join(home, '.cache', 'huggingface', 'hub'));
    const env = envFor(home, { HF_HUB_CACHE: real });
    const candidates = await findModels({ env });
    assert.equal(candidates.length, 1);
    assert.ok(candidates[0].check.ok);

    const link = path.join(snapshot, 'consolidated.safetensors');
    rmSync(path.resolve(snapshot, readlinkSync(link)));
    const [dangling] = await findModels({ env });
    assert.deepEqual(dangling.check.missing, ['consolidated.safetensors']);
    assert.match(dangling.check.problems.join(' '), /consolidated\.safetensors is missing; the download is incomplete/);
    assert.equal(pickModel([dangling]), undefined);
  });
});

describe('chooseModelDir', () => {
  test('--model as given, else the first usable model; a broken one only when asked for', async () => {
    const home = tempDir('choose');
    const env = envFor(home);
    assert.equal(await chooseModelDir('rel/dir', { env }), 'rel/dir');
    assert.equal(await chooseModelDir(undefined, { env }), undefined);
    const broken = writeFolder(path.join(home, 'store', 'broken'), mistralRepoFiles(3000).filter((f) => f.path !== 'tekken.json'));
    assert.equal(await chooseModelDir(undefined, { env }), undefined);
    assert.equal(await chooseModelDir(undefined, { env, orBroken: true }), broken);
    const good = writeFolder(path.join(home, 'store', 'good'), mistralRepoFiles(3000));
    assert.equal(await chooseModelDir(undefined, { env, orBroken: true }), good);
  });
});

describe('checkModelFolder', () => {
  test('a truncated or padded safetensors file is reported with its sizes', async () => {
    const dir = writeFolder(tempDir('trunc'), mistralRepoFiles(5000));
    const file = path.join(dir, 'consolidated.safetensors');
    const size = readFileSync(file).length;
    truncateSync(file, size - 1000);
    const check = await checkModelFolder(dir);
    assert.equal(check.ok, false);
    assert.ok(check.problems.join(' ').includes(`consolidated.safetensors is truncated: ${size - 1000} bytes where its header describes ${size}`));
    truncateSync(file, size + 10);
    assert.match((await checkModelFolder(dir)).problems.join(' '), /has 10 bytes more than its header describes/);
  });

  test('transformers layout: every shard of the index must be there; tekken.json is required, tokenizer.json is not used', async () => {
    const dir = writeFolder(tempDir('hf'), hfRepoFiles(3, 2000));
    rmSync(path.join(dir, 'model-00002-of-00003.safetensors'));
    const check = await checkModelFolder(dir);
    assert.equal(check.layout, 'hf');
    assert.deepEqual(check.missing, ['model-00002-of-00003.safetensors', 'tekken.json']);
    assert.match(check.problems.join(' '), /tokenizer\.json, whose split regex is wrong for Pixtral/);
    assert.match(check.problems.join(' '), /pixtral models tokenizer --model/);
  });

  test('configurations the engine does not implement are refused before loading', async () => {
    const dir = writeFolder(tempDir('unsupported'), mistralRepoFiles(3000));
    const params = JSON.parse(readFileSync(path.join(dir, 'params.json'), 'utf8'));
    params.vision_encoder.spatial_merge_size = 2;
    writeFileSync(path.join(dir, 'params.json'), JSON.stringify(params));
    assert.match((await checkModelFolder(dir)).problems.join(' '), /spatial_merge_size 2 \(patch merging/);
    delete params.vision_encoder;
    writeFileSync(path.join(dir, 'params.json'), JSON.stringify(params));
    const textOnly = await checkModelFolder(dir);
    assert.equal(textOnly.pixtral, false);
    assert.match(textOnly.problems.join(' '), /text-only model/);
    writeFileSync(path.join(dir, 'params.json'), '{"dim": 128,');
    assert.match((await checkModelFolder(dir)).problems.join(' '), /params\.json is not valid JSON/);
  });

  test('a folder without params.json or config.json is no model', async () => {
    const check = await checkModelFolder(tempDir('empty'));
    assert.equal(check.layout, undefined);
    assert.match(check.problems[0], /holds no model: expected params\.json \+ consolidated\.safetensors/);
  });

  test('the tiny fixture, a real model folder, passes', async () => {
    const check = await checkModelFolder(FIXTURE);
    assert.deepEqual(check.problems, []);
    assert.equal(check.dims?.nLayers, 2);
  });
});
