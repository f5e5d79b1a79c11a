// Stage 0 (weights on disk) through the addon's inspectModel: both fixture layouts validate with
// the values of their config files, a sharded transformers folder validates, and every kind of
// broken model folder fails with an Error naming the file and the tensor or key, never a crash.
// Broken folders are real files written by ./model-folder; sizes come from the fixture params.json.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, test } from 'node:test';
import { loadNative } from '../../src/engine/native';
import { fixtureDir } from '../support/fixtures';
import { ModelFolder, type TensorEntry, encodeSafetensors, rawSafetensors, readSafetensors } from './model-folder';

const { inspectModel } = loadNative();
const hfDir = path.join(fixtureDir, 'hf');
const MISTRAL_FILES = ['params.json', 'consolidated.safetensors'];
const HF_FILES = ['config.json', 'model.safetensors'];

interface Params {
  dim: number;
  n_layers: number;
  head_dim?: number;
  hidden_dim: number;
  n_heads: number;
  n_kv_heads: number;
  vocab_size: number;
  rope_theta?: number;
  norm_eps: number;
  max_seq_len?: number;
  vision_encoder?: Record<string, number | boolean | undefined>;
}
const params = JSON.parse(readFileSync(path.join(fixtureDir, 'params.json'), 'utf8')) as Params;
const vision = params.vision_encoder;
const D = params.dim;
const headDim = params.head_dim ?? D / params.n_heads;
const qRows = params.n_heads * headDim;

/** Tensors the engine requires (spec a.2): decoder always; vision + adapter when configured. */
function requiredCount(p: Params): number {
  const v = p.vision_encoder;
  const visionCount = v ? 2 + 9 * Number(v.num_hidden_layers) + 2 + (v.adapter_bias === false ? 0 : 2) : 0;
  return 3 + 9 * p.n_layers + visionCount;
}

const fixtureTensors = readSafetensors(path.join(fixtureDir, 'consolidated.safetensors'));
const hfTensors = readSafetensors(path.join(hfDir, 'model.safetensors'));
const fixtureBytes = fixtureTensors.reduce((sum, t) => sum + t.bytes.length, 0);

let folders: ModelFolder[] = [];
afterEach(() => {
  for (const f of folders) f.dispose();
  folders = [];
});
function copy(source: string, files: string[]): ModelFolder {
  const f = ModelFolder.copyOf(source, files);
  folders.push(f);
  return f;
}
const mistralCopy = () => copy(fixtureDir, MISTRAL_FILES);
const hfCopy = () => copy(hfDir, HF_FILES);

function escape(s: string): RegExp {
  return new RegExp(s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
}

/** inspectModel(dir) must throw an Error whose message contains every fragment. */
function expectError(dir: string, ...fragments: (string | RegExp)[]): void {
  assert.throws(
    () => inspectModel(dir),
    (err: Error) => {
      for (const f of fragments) assert.match(err.message, typeof f === 'string' ? escape(f) : f);
      return true;
    },
  );
}

/** Replaces one tensor of a list (by name) with what `change` returns. */
function replace(entries: TensorEntry[], name: string, change: (e: TensorEntry) => TensorEntry): TensorEntry[] {
  assert.ok(entries.some((e) => e.name === name), `fixture lacks ${name}`);
  return entries.map((e) => (e.name === name ? change(e) : e));
}

/** A file of an 8-byte length prefix (by default the true length of `header`) and `header`. */
function headerOnly(header: string, declaredLength = BigInt(Buffer.byteLength(header))): Buffer {
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(declaredLength);
  return Buffer.concat([len, Buffer.from(header)]);
}

describe('fixture folders', () => {
  test('Mistral layout: config from params.json, every tensor validated', () => {
    const info = inspectModel(fixtureDir);
    assert.equal(info.layout, 'mistral');
    assert.deepEqual(info.files, [path.join(fixtureDir, 'consolidated.safetensors')]);
    const c = info.config;
    assert.equal(c.dim, D);
    assert.equal(c.nLayers, params.n_layers);
    assert.equal(c.headDim, headDim);
    assert.equal(c.hiddenDim, params.hidden_dim);
    assert.equal(c.nHeads, params.n_heads);
    assert.equal(c.nKvHeads, params.n_kv_heads);
    assert.equal(c.vocabSize, params.vocab_size);
    assert.equal(c.ropeTheta, params.rope_theta ?? 1e4);
    assert.equal(c.normEps, Math.fround(params.norm_eps));
    assert.equal(c.maxSeqLen, params.max_seq_len ?? 131072);
    assert.ok(vision && c.vision, 'the fixture has a vision encoder');
    assert.equal(c.vision.hidden, vision.hidden_size);
    assert.equal(c.vision.layers, vision.num_hidden_layers);
    assert.equal(c.vision.heads, vision.num_attention_heads);
    assert.equal(c.vision.headDim, Number(vision.hidden_size) / Number(vision.num_attention_heads));
    assert.equal(c.vision.intermediate, vision.intermediate_size);
    assert.equal(c.vision.patchSize, vision.patch_size);
    assert.equal(c.vision.imageSize, vision.image_size);
    assert.equal(c.vision.ropeTheta, vision.rope_theta ?? 1e4);
    assert.equal(c.vision.imageTokenId, vision.image_token_id ?? 10);
    assert.equal(c.vision.imageBreakTokenId, vision.image_break_token_id ?? 12);
    assert.equal(c.vision.imageEndTokenId, vision.image_end_token_id ?? 13);
    // The fixture holds exactly the required tensors, so their bytes are the weight bytes.
    assert.equal(fixtureTensors.length, requiredCount(params));
    assert.equal(info.tensorCount, requiredCount(params));
    assert.equal(info.weightBytes, fixtureBytes);
  });

  test('transformers layout: the same model from config.json and model.safetensors', () => {
    const mistral = inspectModel(fixtureDir);
    const info = inspectModel(hfDir);
    assert.equal(info.layout, 'hf');
    assert.deepEqual(info.files, [path.join(hfDir, 'model.safetensors')]);
    assert.deepEqual(info.config, mistral.config);
    assert.equal(info.tensorCount, mistral.tensorCount);
    assert.equal(info.weightBytes, mistral.weightBytes);
  });

  test('transformers layout sharded in two files with model.safetensors.index.json', () => {
    const folder = copy(hfDir, ['config.json']);
    const half = Math.floor(hfTensors.length / 2);
    const shards = { 'model-00001-of-00002.safetensors': hfTensors.slice(0, half), 'model-00002-of-00002.safetensors': hfTensors.slice(half) };
    const weightMap: Record<string, string> = {};
    for (const [file, entries] of Object.entries(shards)) {
      folder.write(file, encodeSafetensors(entries));
      for (const e of entries) weightMap[e.name] = file;
    }
    folder.write('model.safetensors.index.json', JSON.stringify({ metadata: { total_size: fixtureBytes }, weight_map: weightMap }));
    const info = inspectModel(folder.dir);
    assert.equal(info.layout, 'hf');
    assert.deepEqual([...info.files].sort(), Object.keys(shards).map((f) => folder.path(f)));
    assert.equal(info.tensorCount, requiredCount(params));
    assert.equal(info.weightBytes, fixtureBytes);
  });

  test('extra tensors are ignored; vision and adapter biases follow the config', () => {
    const extra = mistralCopy();
    extra.editTensors('consolidated.safetensors', (es) => [...es, { name: 'extra.scale', dtype: 'F32', shape: [3], bytes: new Uint8Array(12) }]);
    assert.equal(inspectModel(extra.dir).tensorCount, requiredCount(params));

    const noBias = mistralCopy();
    noBias.editJson<Params>('params.json', (p) => {
      p.vision_encoder = { ...p.vision_encoder, adapter_bias: false };
    });
    noBias.editTensors('consolidated.safetensors', (es) => es.filter((e) => !e.name.startsWith('vision_language_adapter.') || !e.name.endsWith('.bias')));
    assert.equal(inspectModel(noBias.dir).tensorCount, requiredCount(params) - 2);

    const textOnly = mistralCopy();
    textOnly.editJson<Params>('params.json', (p) => {
      delete p.vision_encoder;
    });
    textOnly.editTensors('consolidated.safetensors', (es) => es.filter((e) => !e.name.startsWith('vision_')));
    const info = inspectModel(textOnly.dir);
    assert.equal(info.config.vision, null);
    assert.equal(info.tensorCount, 3 + 9 * params.n_layers);
  });
});

describe('broken safetensors files', () => {
  const file = 'consolidated.safetensors';

  test('a truncated file names the file and a tensor past the end', () => {
    const folder = mistralCopy();
    const bytes = readFileSync(folder.path(file));
    folder.write(file, bytes.subarray(0, bytes.length - 100));
    expectError(folder.dir, `${file}: tensor `, /has data_offsets end \d+ past the end of the data section/);
  });

  test('a file shorter than its 8-byte length prefix', () => {
    const folder = mistralCopy();
    folder.write(file, Buffer.from([1, 2, 3]));
    expectError(folder.dir, `${file}: file is 3 bytes, too short`);
  });

  test('a header length that overflows', () => {
    const folder = mistralCopy();
    folder.write(file, headerOnly('{}', 1n << 63n));
    expectError(folder.dir, `${file}: header length 9223372036854775808 exceeds the 100 MiB limit`);
    folder.write(file, headerOnly('{}', 0xffffffffffffffffn));
    expectError(folder.dir, 'header length 18446744073709551615 exceeds');
  });

  test('a header length past the end of the file', () => {
    const folder = mistralCopy();
    folder.write(file, headerOnly('{}', 1000n));
    expectError(folder.dir, `${file}: header length 1000 runs past the end of the file`);
  });

  test('a header that is not JSON, or not an object', () => {
    const folder = mistralCopy();
    folder.write(file, headerOnly('{"a": tru}'));
    expectError(folder.dir, `${file} (header): invalid JSON at byte 6`);
    folder.write(file, headerOnly('[{}]'));
    expectError(folder.dir, `${file}: header does not start with '{'`);
    folder.write(file, headerOnly('{"a":1,"a":2}'));
    expectError(folder.dir, 'duplicate key "a"');
  });

  test('an unknown dtype', () => {
    const folder = mistralCopy();
    folder.editTensors(file, (es) => replace(es, 'norm.weight', (e) => ({ ...e, dtype: 'F8_E4M3' })));
    expectError(folder.dir, `${file}: tensor norm.weight has unsupported dtype "F8_E4M3"`);
  });

  test('data offsets past the end of the data section', () => {
    const folder = mistralCopy();
    folder.write(file, rawSafetensors({ t: { dtype: 'BF16', shape: [4], data_offsets: [0, 8] } }, new Uint8Array(6)));
    expectError(folder.dir, `${file}: tensor t has data_offsets end 8 past the end of the data section (6 bytes`);
  });

  test('overlapping tensors', () => {
    const folder = mistralCopy();
    const header = {
      t: { dtype: 'BF16', shape: [4], data_offsets: [0, 8] },
      u: { dtype: 'BF16', shape: [2], data_offsets: [6, 10] },
    };
    folder.write(file, rawSafetensors(header, new Uint8Array(10)));
    expectError(folder.dir, `${file}: tensor u overlaps tensor t`);
  });

  test('a byte size that does not match the shape', () => {
    const folder = mistralCopy();
    folder.editTensors(file, (es) => replace(es, 'norm.weight', (e) => ({ ...e, shape: [D + 1] })));
    expectError(folder.dir, `${file}: tensor norm.weight occupies ${2 * D} bytes but shape [${D + 1}] of BF16 needs ${2 * (D + 1)}`);
  });
});

describe('tensors checked against the config', () => {
  const file = 'consolidated.safetensors';

  test('a missing tensor names the file and the tensor', () => {
    const folder = mistralCopy();
    const name = `layers.${params.n_layers - 1}.attention.wk.weight`;
    folder.editTensors(file, (es) => es.filter((e) => e.name !== name));
    expectError(folder.dir, `${file}: missing tensor ${name}`);
  });

  test('a missing adapter bias when adapter_bias is true', () => {
    const folder = mistralCopy();
    folder.editTensors(file, (es) => es.filter((e) => e.name !== 'vision_language_adapter.w_out.bias'));
    expectError(folder.dir, 'missing tensor vision_language_adapter.w_out.bias');
  });

  test('a tensor with the wrong shape names expected and actual shapes', () => {
    const folder = mistralCopy();
    folder.editTensors(file, (es) =>
      replace(es, 'layers.0.attention.wq.weight', (e) => ({ ...e, shape: [qRows / 2, D], bytes: e.bytes.subarray(0, e.bytes.length / 2) })),
    );
    expectError(folder.dir, `${file}: tensor layers.0.attention.wq.weight has shape [${qRows / 2}, ${D}], expected [${qRows}, ${D}]`);
  });

  test('a tensor stored as F32', () => {
    const folder = mistralCopy();
    folder.editTensors(file, (es) => replace(es, 'norm.weight', (e) => ({ ...e, dtype: 'F32', shape: [D / 2] })));
    expectError(folder.dir, `${file}: tensor norm.weight has dtype F32, expected BF16`);
  });

  test('a vocabulary size that disagrees with the embeddings', () => {
    const folder = mistralCopy();
    folder.editJson<Params>('params.json', (p) => {
      p.vocab_size = 1000;
    });
    expectError(folder.dir, `tensor tok_embeddings.weight has shape [${params.vocab_size}, ${D}], expected [1000, ${D}]`);
  });

  test('transformers layout: a missing tensor gives both names', () => {
    const folder = hfCopy();
    folder.editTensors('model.safetensors', (es) => es.filter((e) => e.name !== 'vision_tower.transformer.layers.0.attention.q_proj.weight'));
    expectError(
      folder.dir,
      'model.safetensors: missing tensor vision_tower.transformer.layers.0.attention.q_proj.weight',
      '(Mistral name vision_encoder.transformer.layers.0.attention.wq.weight)',
    );
  });
});

describe('config files', () => {
  /** Sets (or, with undefined, deletes) the key at `keyPath` of a parsed JSON object. */
  function setKey(root: Record<string, unknown>, keyPath: string[], value: unknown): void {
    let obj = root;
    for (const k of keyPath.slice(0, -1)) obj = obj[k] as Record<string, unknown>;
    const last = keyPath[keyPath.length - 1];
    if (value === undefined) delete obj[last];
    else obj[last] = value;
  }

  const badParams: [what: string, keyPath: string[], value: unknown, fragment: string][] = [
    ['negative size', ['dim'], -D, `params.json: key "dim" must be a positive integer, got -${D}`],
    ['size as a string', ['n_heads'], String(params.n_heads), `key "n_heads" must be a positive integer, got "${params.n_heads}"`],
    ['fractional size', ['hidden_dim'], params.hidden_dim + 0.5, 'key "hidden_dim" must be a positive integer'],
    ['missing key', ['n_layers'], undefined, 'params.json: key "n_layers" is missing'],
    ['kv heads not dividing heads', ['n_kv_heads'], params.n_heads + 1, `key "n_kv_heads" (${params.n_heads + 1}) must divide n_heads`],
    ['odd head_dim', ['head_dim'], headDim + 1, `key "head_dim" (${headDim + 1}) must be even`],
    ['non-positive eps', ['norm_eps'], 0, 'key "norm_eps" must be a positive number, got 0'],
    ['vision heads not dividing hidden', ['vision_encoder', 'num_attention_heads'], 3, 'key "vision_encoder.num_attention_heads" (3) must divide hidden_size'],
    ['image size not a multiple of the patch', ['vision_encoder', 'image_size'], Number(vision?.patch_size) * 4 + 1, 'key "vision_encoder.image_size"'],
    ['patch merging', ['vision_encoder', 'spatial_merge_size'], 2, 'key "vision_encoder.spatial_merge_size" > 1'],
    ['patch-merge projector', ['vision_encoder', 'mm_projector_id'], 'patch_merge', 'key "vision_encoder.mm_projector_id" is "patch_merge"'],
    ['pre-adapter norm', ['vision_encoder', 'add_pre_mm_projector_layer_norm'], true, 'key "vision_encoder.add_pre_mm_projector_layer_norm" is true'],
    ['image token outside the vocabulary', ['vision_encoder', 'image_token_id'], params.vocab_size, `key "vision_encoder.image_token_id" must be a token id in [0, ${params.vocab_size})`],
  ];
  for (const [what, keyPath, value, fragment] of badParams) {
    test(`params.json: ${what}`, () => {
      const folder = mistralCopy();
      folder.editJson('params.json', (p) => setKey(p, keyPath, value));
      expectError(folder.dir, fragment);
    });
  }

  test('params.json that is not JSON', () => {
    const folder = mistralCopy();
    folder.write('params.json', '{"dim": 128,}');
    expectError(folder.dir, 'params.json: invalid JSON at byte 12');
  });

  const badConfig: [what: string, keyPath: string[], value: unknown, fragment: string][] = [
    ['vision activation', ['vision_config', 'hidden_act'], 'gelu', 'config.json: key "vision_config.hidden_act" is "gelu"'],
    ['projector activation', ['projector_hidden_act'], 'relu', 'key "projector_hidden_act" is "relu"'],
    ['feature layer', ['vision_feature_layer'], -2, 'key "vision_feature_layer" must be -1'],
    ['channels', ['vision_config', 'num_channels'], 4, 'key "vision_config.num_channels" is 4'],
    ['no text_config', ['text_config'], undefined, 'config.json: key "text_config" is missing'],
  ];
  for (const [what, keyPath, value, fragment] of badConfig) {
    test(`config.json: ${what}`, () => {
      const folder = hfCopy();
      folder.editJson('config.json', (c) => setKey(c, keyPath, value));
      expectError(folder.dir, fragment);
    });
  }
});

describe('folders and shard indexes', () => {
  /** The fixture's model.safetensors as the one shard "model-1.safetensors", plus an empty "a.safetensors". */
  function sharded(edit: (weightMap: Record<string, string>) => void): ModelFolder {
    const folder = copy(hfDir, ['config.json']);
    folder.link('model-1.safetensors', path.join(hfDir, 'model.safetensors'));
    folder.write('a.safetensors', encodeSafetensors([]));
    const weightMap: Record<string, string> = {};
    for (const e of hfTensors) weightMap[e.name] = 'model-1.safetensors';
    edit(weightMap);
    folder.write('model.safetensors.index.json', JSON.stringify({ weight_map: weightMap }));
    return folder;
  }

  test('a folder without a model names what it looked for', () => {
    const folder = copy(fixtureDir, []);
    expectError(folder.dir, folder.dir, 'no model found', 'params.json + consolidated.safetensors', 'config.json');
  });

  test('an index naming a missing shard', () => {
    const folder = sharded((m) => {
      m['language_model.lm_head.weight'] = 'model-2.safetensors';
    });
    expectError(folder.dir, 'model.safetensors.index.json: shard model-2.safetensors (for tensor language_model.lm_head.weight) does not exist');
  });

  test('an index naming a shard outside the folder', () => {
    const folder = sharded((m) => {
      m['language_model.lm_head.weight'] = '../model-1.safetensors';
    });
    expectError(folder.dir, 'shard "../model-1.safetensors" (for tensor language_model.lm_head.weight) is not a file name inside the model folder');
  });

  test('an index putting a tensor in a shard that lacks it', () => {
    const folder = sharded((m) => {
      m['language_model.lm_head.weight'] = 'a.safetensors';
    });
    expectError(folder.dir, 'weight_map puts tensor language_model.lm_head.weight in', 'a.safetensors, which does not contain it');
  });

  test('an index that does not list a required tensor', () => {
    const folder = sharded((m) => {
      delete m['language_model.model.norm.weight'];
    });
    expectError(folder.dir, 'model.safetensors.index.json: missing tensor language_model.model.norm.weight (Mistral name norm.weight)');
  });
});
