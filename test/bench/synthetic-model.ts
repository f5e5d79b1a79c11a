// Synthetic Pixtral model folders for the CPU benchmark (test/bench/cpu.ts): random bf16 weights at
// chosen shapes, written once in the Mistral layout (params.json + consolidated.safetensors, spec
// a.2) and reused by later runs with the same shapes. One weights file holds the largest stack the
// benchmark needs; smaller variants are folders whose params.json asks for fewer layers and whose
// consolidated.safetensors is a hard link to the same file (the engine validates only the tensors
// its config requires and ignores the rest), so N and 2N layers cost one write, not two.
import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fsyncSync,
  ftruncateSync,
  linkSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import type { ModelConfigInfo } from '../../src/engine/native';

/** Sizes of a synthetic model: the part of the engine's config that shapes the weights. */
export type ModelShape = Pick<ModelConfigInfo, 'dim' | 'nLayers' | 'headDim' | 'hiddenDim' | 'nHeads' | 'nKvHeads' | 'vocabSize'> & {
  vision: Pick<NonNullable<ModelConfigInfo['vision']>, 'hidden' | 'layers' | 'heads' | 'intermediate' | 'patchSize' | 'imageSize'>;
};

/** Pixtral 12B (spec a.1). */
export const PIXTRAL_12B: ModelShape = {
  dim: 5120,
  nLayers: 40,
  headDim: 128,
  hiddenDim: 14336,
  nHeads: 32,
  nKvHeads: 8,
  vocabSize: 131072,
  vision: { hidden: 1024, layers: 24, heads: 16, intermediate: 4096, patchSize: 16, imageSize: 1024 },
};

export function paramsJson(s: ModelShape): Record<string, unknown> {
  return {
    dim: s.dim,
    n_layers: s.nLayers,
    head_dim: s.headDim,
    hidden_dim: s.hiddenDim,
    n_heads: s.nHeads,
    n_kv_heads: s.nKvHeads,
    rope_theta: 1000000000.0,
    norm_eps: 1e-5,
    vocab_size: s.vocabSize,
    vision_encoder: {
      hidden_size: s.vision.hidden,
      num_channels: 3,
      image_size: s.vision.imageSize,
      patch_size: s.vision.patchSize,
      rope_theta: 10000.0,
      intermediate_size: s.vision.intermediate,
      num_hidden_layers: s.vision.layers,
      num_attention_heads: s.vision.heads,
      image_token_id: 10,
      image_break_token_id: 12,
      image_end_token_id: 13,
      adapter_bias: true,
    },
  };
}

/** What a tensor holds: norm weights are ones (as trained norms roughly are), the rest random. */
type Fill = 'ones' | 'random';

export interface TensorSpec {
  name: string;
  shape: number[];
  fill: Fill;
}

const numel = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);
export const tensorBytes = (t: TensorSpec): number => 2 * numel(t.shape);

/** Every tensor of spec a.2 (Mistral names), in file order. */
export function tensorList(s: ModelShape): TensorSpec[] {
  const out: TensorSpec[] = [];
  const add = (name: string, shape: number[], fill: Fill = 'random'): void => void out.push({ name, shape, fill });
  const D = s.dim, F = s.hiddenDim, V = s.vocabSize, Q = s.nHeads * s.headDim, KV = s.nKvHeads * s.headDim;
  add('tok_embeddings.weight', [V, D]);
  for (let l = 0; l < s.nLayers; l++) {
    const p = `layers.${l}.`;
    add(p + 'attention_norm.weight', [D], 'ones');
    add(p + 'attention.wq.weight', [Q, D]);
    add(p + 'attention.wk.weight', [KV, D]);
    add(p + 'attention.wv.weight', [KV, D]);
    add(p + 'attention.wo.weight', [D, Q]);
    add(p + 'ffn_norm.weight', [D], 'ones');
    add(p + 'feed_forward.w1.weight', [F, D]);
    add(p + 'feed_forward.w3.weight', [F, D]);
    add(p + 'feed_forward.w2.weight', [D, F]);
  }
  add('norm.weight', [D], 'ones');
  add('output.weight', [V, D]);
  const v = s.vision, Dv = v.hidden, Fv = v.intermediate, P = v.patchSize;
  add('vision_encoder.patch_conv.weight', [Dv, 3, P, P]);
  add('vision_encoder.ln_pre.weight', [Dv], 'ones');
  for (let l = 0; l < v.layers; l++) {
    const p = `vision_encoder.transformer.layers.${l}.`;
    add(p + 'attention_norm.weight', [Dv], 'ones');
    for (const w of ['wq', 'wk', 'wv', 'wo']) add(p + `attention.${w}.weight`, [Dv, Dv]);
    add(p + 'ffn_norm.weight', [Dv], 'ones');
    add(p + 'feed_forward.w1.weight', [Fv, Dv]);
    add(p + 'feed_forward.w3.weight', [Fv, Dv]);
    add(p + 'feed_forward.w2.weight', [Dv, Fv]);
  }
  add('vision_language_adapter.w_in.weight', [D, Dv]);
  add('vision_language_adapter.w_in.bias', [D]);
  add('vision_language_adapter.w_out.weight', [D, D]);
  add('vision_language_adapter.w_out.bias', [D]);
  return out;
}

/** Byte counts of the parts a forward pass streams (bf16). */
export interface WeightBytes {
  /** One decoder layer: 7 matrices and 2 norm vectors. */
  decoderLayer: number;
  /** Per decoded token outside the layers: output head [V, D], final norm, one embedding row. */
  decodeFixed: number;
  /** The embedding table [V, D] (mapped; decode reads one row of it). */
  embedding: number;
  visionLayer: number;
  /** patch_conv + ln_pre. */
  visionFixed: number;
  adapter: number;
  /** Parameter counts, for FLOP estimates (2 FLOP per parameter per token). */
  decoderLayerParams: number;
  visionLayerParams: number;
  adapterParams: number;
  headParams: number;
}

export function weightBytes(s: ModelShape): WeightBytes {
  const one: ModelShape = { ...s, nLayers: 1, vision: { ...s.vision, layers: 1 } };
  const sum = (re: RegExp): number =>
    tensorList(one)
      .filter((t) => re.test(t.name))
      .reduce((a, t) => a + tensorBytes(t), 0);
  const decoderLayer = sum(/^layers\.0\./);
  const visionLayer = sum(/^vision_encoder\.transformer\.layers\.0\./);
  const adapter = sum(/^vision_language_adapter\./);
  const head = sum(/^output\.weight$/);
  return {
    decoderLayer,
    decodeFixed: head + sum(/^norm\.weight$/) + 2 * s.dim,
    embedding: sum(/^tok_embeddings\.weight$/),
    visionLayer,
    visionFixed: sum(/^vision_encoder\.(patch_conv|ln_pre)\./),
    adapter,
    decoderLayerParams: decoderLayer / 2,
    visionLayerParams: visionLayer / 2,
    adapterParams: adapter / 2,
    headParams: head / 2,
  };
}

/**
 * Random bf16 bit patterns of magnitude 2^-8..2^-4 (about 0.004..0.06, like trained weights at
 * these widths), random sign; never zero exponent (no denormals: they would slow the FMA units)
 * and never NaN/Inf. xorshift32, seeded: the file is the same on every machine.
 */
export function randomBf16Pattern(n: number, seed = 0x2545f491): Uint16Array {
  const out = new Uint16Array(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    const sign = (x >>> 31) << 15;
    const exponent = 119 + ((x >>> 7) & 3); // 2^-8 .. 2^-5 times 1.mantissa
    out[i] = sign | (exponent << 7) | (x & 0x7f);
  }
  return out;
}

const PATTERN_ELEMS = 16 << 20; // 32 MiB of random bf16, reused at rotating offsets
let pattern: Buffer | undefined;
function randomPattern(): Buffer {
  if (!pattern) {
    const p = randomBf16Pattern(PATTERN_ELEMS);
    pattern = Buffer.from(p.buffer, p.byteOffset, p.byteLength);
  }
  return pattern;
}

/** Writes `t` to fd from a rotating offset in the shared random pattern (or ones). */
function writeTensor(fd: number, t: TensorSpec, index: number): void {
  const bytes = tensorBytes(t);
  if (t.fill === 'ones') {
    const ones = Buffer.alloc(bytes);
    for (let i = 0; i < bytes; i += 2) ones.writeUInt16LE(0x3f80, i); // bf16 1.0
    writeSync(fd, ones);
    return;
  }
  const src = randomPattern();
  // Odd element offsets per tensor, so no two tensors start on the same pattern phase.
  let at = ((index * 2654435761) >>> 0) % (src.length / 2);
  at *= 2;
  let left = bytes;
  while (left > 0) {
    const n = Math.min(left, src.length - at);
    writeSync(fd, src, at, n);
    left -= n;
    at = 0;
  }
}

/**
 * Streams a safetensors file: 8-byte header length, space-padded JSON header, tensors back to back.
 * `sparse`: no tensor data is written, the file is only extended to its full size (a hole the
 * filesystem stores for free): enough for anything that reads headers, such as the memory plan.
 */
export function writeSafetensors(file: string, tensors: TensorSpec[], sparse = false): void {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt', source: 'pixtral bench:cpu, random' } };
  let offset = 0;
  for (const t of tensors) {
    const n = tensorBytes(t);
    header[t.name] = { dtype: 'BF16', shape: t.shape, data_offsets: [offset, offset + n] };
    offset += n;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  const fd = openSync(file, 'w');
  try {
    writeSync(fd, len);
    writeSync(fd, json);
    if (sparse) return ftruncateSync(fd, 8 + Buffer.byteLength(json) + offset);
    tensors.forEach((t, i) => writeTensor(fd, t, i));
    // On disk before the benchmark starts, so write-back does not compete with it for bandwidth.
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export interface Variant {
  /** Folder name, e.g. "L4-V4". */
  name: string;
  layers: number;
  visionLayers: number;
}

export interface SyntheticModel {
  root: string;
  /** Folder of each variant, by name. */
  dirs: Record<string, string>;
  fileBytes: number;
  reused: boolean;
  writeSeconds: number;
}

function shapeKey(s: ModelShape): string {
  return createHash('sha256').update(JSON.stringify({ format: 1, s })).digest('hex').slice(0, 12);
}

function linkOrSymlink(target: string, at: string): void {
  rmSync(at, { force: true });
  try {
    linkSync(target, at);
  } catch {
    symlinkSync(target, at);
  }
}

/**
 * The model folders of `variants` under `cacheDir`, written if absent. `largest` fixes every size
 * and the number of layers the shared weights file holds; each variant may use fewer. Other cached
 * weights with the same `prefix` are deleted when a new file is written (each can be many GB).
 */
export function ensureSyntheticModel(
  cacheDir: string,
  prefix: string,
  largest: ModelShape,
  variants: Variant[],
  log: (line: string) => void,
): SyntheticModel {
  const root = path.join(cacheDir, `${prefix}-${shapeKey(largest)}`);
  const weights = path.join(root, 'weights.safetensors');
  const tensors = tensorList(largest);
  const expected = tensors.reduce((a, t) => a + tensorBytes(t), 0);
  let reused = existsSync(weights) && statSync(weights).size > expected;
  let writeSeconds = 0;
  if (!reused) {
    mkdirSync(cacheDir, { recursive: true });
    for (const old of readdirSync(cacheDir)) {
      if (old.startsWith(`${prefix}-`) && path.join(cacheDir, old) !== root) {
        log(`removing stale synthetic weights ${path.join(cacheDir, old)}`);
        rmSync(path.join(cacheDir, old), { recursive: true, force: true });
      }
    }
    mkdirSync(root, { recursive: true });
    log(`writing ${(expected / 1e9).toFixed(2)} GB of random bf16 weights to ${weights} ...`);
    const t0 = performance.now();
    const partial = `${weights}.partial`;
    writeSafetensors(partial, tensors);
    renameSync(partial, weights); // only a complete file is ever reused
    writeSeconds = (performance.now() - t0) / 1000;
    reused = false;
  }
  const dirs: Record<string, string> = {};
  for (const v of variants) {
    if (v.layers > largest.nLayers || v.visionLayers > largest.vision.layers)
      throw new Error(`variant ${v.name} needs more layers than the weights file holds`);
    const dir = path.join(root, v.name);
    mkdirSync(dir, { recursive: true });
    const params = JSON.stringify(
      paramsJson({ ...largest, nLayers: v.layers, vision: { ...largest.vision, layers: v.visionLayers } }),
      null,
      2,
    );
    const paramsPath = path.join(dir, 'params.json');
    if (!existsSync(paramsPath) || readFileSync(paramsPath, 'utf8') !== params) writeFileSync(paramsPath, params);
    const link = path.join(dir, 'consolidated.safetensors');
    if (!existsSync(link) || statSync(link).ino !== statSync(weights).ino) linkOrSymlink(weights, link);
    dirs[v.name] = dir;
  }
  return { root, dirs, fileBytes: statSync(weights).size, reused, writeSeconds };
}
