// A Pixtral model folder (Mistral layout: params.json, consolidated.safetensors, tekken.json) as the
// two GGUF files llama.cpp users have for it (ggml-org/pixtral-12b-GGUF): the text decoder as a
// "llama" model with the tekken vocabulary, and the vision encoder + adapter as a "clip" mmproj.
// Tensors keep the checkpoint's bf16 values, or take the blocks of our quantized file
// (pixtral-<precision>.safetensors, same Q8_0/Q4_0 byte layout), so both engines see the same
// weights. Norm weights and biases are written as f32 (llama.cpp's convention). A folder without a
// tekken.json (test/fixtures/pixtral-alt) gets a vocabulary of control ids and single bytes.
import { closeSync, existsSync, openSync, readFileSync, readSync } from 'node:fs';
import { GgmlType, writeGguf, type GgmlTypeId, type GgufTensor, type GgufValue } from './gguf-writer';
import { byteGgufMetadata, tekkenGgufMetadata } from './gguf-tekken';

interface StEntry {
  dtype: string;
  shape: number[];
  /** Absolute byte offsets in the file. */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  path: string;
  entries: Map<string, StEntry>;
  metadata: Record<string, string>;
}

export function readSafetensorsHeader(path: string): SafetensorsHeader {
  const fd = openSync(path, 'r');
  try {
    const len = Buffer.alloc(8);
    readSync(fd, len, 0, 8, 0);
    const n = Number(len.readBigUInt64LE(0));
    const text = Buffer.alloc(n);
    readSync(fd, text, 0, n, 8);
    const json = JSON.parse(text.toString('utf8')) as Record<string, unknown>;
    const entries = new Map<string, StEntry>();
    for (const [name, v] of Object.entries(json)) {
      if (name === '__metadata__') continue;
      const e = v as { dtype: string; shape: number[]; data_offsets: [number, number] };
      entries.set(name, { dtype: e.dtype, shape: e.shape, begin: 8 + n + e.data_offsets[0], end: 8 + n + e.data_offsets[1] });
    }
    return { path, entries, metadata: (json.__metadata__ ?? {}) as Record<string, string> };
  } finally {
    closeSync(fd);
  }
}

/** Where the weights come from: the bf16 checkpoint, and optionally our quantized file. */
export interface WeightSource {
  checkpoint: SafetensorsHeader;
  quantized?: SafetensorsHeader;
}

/** A tensor of the checkpoint (Mistral name) as a GGUF tensor: blocks from the quantized file when
 * it holds the tensor as blocks, f32 when `f32`, else the checkpoint's bf16 bytes. A tensor whose
 * GGUF rows (innermost dimension) are not whole blocks stays bf16: the patch convolution [Dv, 3,
 * P, P], which ggml never quantizes either. */
function tensor(src: WeightSource, mistral: string, gguf: string, f32 = false): GgufTensor {
  const ck = src.checkpoint.entries.get(mistral);
  if (!ck) throw new Error(`${src.checkpoint.path} has no tensor ${mistral}`);
  const blocks = src.quantized ? (JSON.parse(src.quantized.metadata.block_tensors ?? '{}') as Record<string, [string, ...number[]]>) : {};
  const block = ck.shape[ck.shape.length - 1] % 32 === 0 ? blocks[mistral] : undefined;
  if (block && src.quantized) {
    const e = src.quantized.entries.get(mistral)!;
    const type = ({ q8_0: GgmlType.Q8_0, q4_0: GgmlType.Q4_0 } as Record<string, GgmlTypeId>)[block[0]];
    return { name: gguf, shape: block.slice(1) as number[], type, source: { path: src.quantized.path, offset: e.begin, bytes: e.end - e.begin } };
  }
  if (ck.dtype !== 'BF16') throw new Error(`${mistral} is ${ck.dtype}, expected BF16`);
  if (!f32) return { name: gguf, shape: ck.shape, type: GgmlType.BF16, source: { path: src.checkpoint.path, offset: ck.begin, bytes: ck.end - ck.begin } };
  const raw = Buffer.alloc(ck.end - ck.begin);
  const fd = openSync(src.checkpoint.path, 'r');
  try {
    readSync(fd, raw, 0, raw.length, ck.begin);
  } finally {
    closeSync(fd);
  }
  const out = Buffer.alloc(raw.length * 2);
  for (let i = 0; i < raw.length / 2; i++) out.writeUInt32LE(raw.readUInt16LE(2 * i) << 16 >>> 0, 4 * i);
  return { name: gguf, shape: ck.shape, type: GgmlType.F32, source: out };
}

interface Params {
  dim: number;
  n_layers: number;
  head_dim: number;
  hidden_dim: number;
  n_heads: number;
  n_kv_heads: number;
  rope_theta: number;
  norm_eps: number;
  vocab_size: number;
  vision_encoder?: {
    hidden_size: number;
    image_size: number;
    patch_size: number;
    intermediate_size: number;
    num_hidden_layers: number;
    num_attention_heads: number;
    rope_theta: number;
  };
}

const u32 = (value: number): GgufValue => ({ type: 'u32', value });
const f32v = (value: number): GgufValue => ({ type: 'f32', value });

/** General file-type code llama.cpp prints (LLAMA_FTYPE_*), from the types the tensors use. */
function fileType(tensors: GgufTensor[]): number {
  const types = new Set(tensors.filter((t) => t.shape.length === 2).map((t) => t.type));
  if (types.has(GgmlType.Q4_0)) return 2;
  if (types.has(GgmlType.Q8_0)) return 7;
  return types.has(GgmlType.F16) ? 1 : 32;  // 32: mostly bf16
}

export interface TextGgufOptions {
  /** llama.context_length (default 131072, Pixtral's window). */
  contextLength?: number;
  /** Replaces tensors on their way into the file (tests write types this engine does not read). */
  edit?: (t: GgufTensor) => GgufTensor;
}

/** The text decoder of `dir` as a llama-architecture GGUF at `out`. */
export function writeTextGguf(out: string, dir: string, src: WeightSource, options: TextGgufOptions = {}): void {
  const { contextLength = 131072, edit = (t: GgufTensor) => t } = options;
  const p = JSON.parse(readFileSync(`${dir}/params.json`, 'utf8')) as Params;
  const tensors: GgufTensor[] = [tensor(src, 'tok_embeddings.weight', 'token_embd.weight')];
  for (let l = 0; l < p.n_layers; l++) {
    const m = `layers.${l}.`, g = `blk.${l}.`;
    tensors.push(
      tensor(src, `${m}attention_norm.weight`, `${g}attn_norm.weight`, true),
      tensor(src, `${m}attention.wq.weight`, `${g}attn_q.weight`),
      tensor(src, `${m}attention.wk.weight`, `${g}attn_k.weight`),
      tensor(src, `${m}attention.wv.weight`, `${g}attn_v.weight`),
      tensor(src, `${m}attention.wo.weight`, `${g}attn_output.weight`),
      tensor(src, `${m}ffn_norm.weight`, `${g}ffn_norm.weight`, true),
      tensor(src, `${m}feed_forward.w1.weight`, `${g}ffn_gate.weight`),
      tensor(src, `${m}feed_forward.w3.weight`, `${g}ffn_up.weight`),
      tensor(src, `${m}feed_forward.w2.weight`, `${g}ffn_down.weight`),
    );
  }
  tensors.push(tensor(src, 'norm.weight', 'output_norm.weight', true), tensor(src, 'output.weight', 'output.weight'));
  const tekken = `${dir}/tekken.json`;
  const metadata: [string, GgufValue][] = [
    ['general.architecture', { type: 'string', value: 'llama' }],
    ['general.name', { type: 'string', value: 'Pixtral text decoder' }],
    ['general.file_type', u32(fileType(tensors))],
    ['llama.context_length', u32(contextLength)],
    ['llama.embedding_length', u32(p.dim)],
    ['llama.block_count', u32(p.n_layers)],
    ['llama.feed_forward_length', u32(p.hidden_dim)],
    ['llama.rope.dimension_count', u32(p.head_dim)],
    ['llama.rope.freq_base', f32v(p.rope_theta)],
    ['llama.attention.head_count', u32(p.n_heads)],
    ['llama.attention.head_count_kv', u32(p.n_kv_heads)],
    ['llama.attention.key_length', u32(p.head_dim)],
    ['llama.attention.value_length', u32(p.head_dim)],
    ['llama.attention.layer_norm_rms_epsilon', f32v(p.norm_eps)],
    ['llama.vocab_size', u32(p.vocab_size)],
    ...(existsSync(tekken) ? tekkenGgufMetadata(tekken, p.vocab_size) : byteGgufMetadata(p.vocab_size)),
  ];
  writeGguf(out, metadata, tensors.map(edit));
}

/** The vision encoder and adapter of `dir` as a clip mmproj GGUF (projector "pixtral") at `out`. */
export function writeMmprojGguf(out: string, dir: string, src: WeightSource): void {
  const p = JSON.parse(readFileSync(`${dir}/params.json`, 'utf8')) as Params;
  const v = p.vision_encoder;
  if (!v) throw new Error(`${dir}/params.json has no vision_encoder`);
  const tensors: GgufTensor[] = [
    tensor(src, 'vision_encoder.patch_conv.weight', 'v.patch_embd.weight'),
    tensor(src, 'vision_encoder.ln_pre.weight', 'v.pre_ln.weight', true),
  ];
  for (let l = 0; l < v.num_hidden_layers; l++) {
    const m = `vision_encoder.transformer.layers.${l}.`, g = `v.blk.${l}.`;
    tensors.push(
      tensor(src, `${m}attention_norm.weight`, `${g}ln1.weight`, true),
      tensor(src, `${m}attention.wq.weight`, `${g}attn_q.weight`),
      tensor(src, `${m}attention.wk.weight`, `${g}attn_k.weight`),
      tensor(src, `${m}attention.wv.weight`, `${g}attn_v.weight`),
      tensor(src, `${m}attention.wo.weight`, `${g}attn_out.weight`),
      tensor(src, `${m}ffn_norm.weight`, `${g}ln2.weight`, true),
      tensor(src, `${m}feed_forward.w1.weight`, `${g}ffn_gate.weight`),
      tensor(src, `${m}feed_forward.w3.weight`, `${g}ffn_up.weight`),
      tensor(src, `${m}feed_forward.w2.weight`, `${g}ffn_down.weight`),
    );
  }
  tensors.push(
    tensor(src, 'vision_language_adapter.w_in.weight', 'mm.1.weight'),
    tensor(src, 'vision_language_adapter.w_in.bias', 'mm.1.bias', true),
    tensor(src, 'vision_language_adapter.w_out.weight', 'mm.2.weight'),
    tensor(src, 'vision_language_adapter.w_out.bias', 'mm.2.bias', true),
  );
  const metadata: [string, GgufValue][] = [
    ['general.architecture', { type: 'string', value: 'clip' }],
    ['general.name', { type: 'string', value: 'Pixtral vision encoder' }],
    ['general.file_type', u32(fileType(tensors))],
    ['clip.has_vision_encoder', { type: 'bool', value: true }],
    ['clip.projector_type', { type: 'string', value: 'pixtral' }],
    ['clip.use_silu', { type: 'bool', value: true }],
    ['clip.vision.image_size', u32(v.image_size)],
    ['clip.vision.patch_size', u32(v.patch_size)],
    ['clip.vision.embedding_length', u32(v.hidden_size)],
    ['clip.vision.feed_forward_length', u32(v.intermediate_size)],
    ['clip.vision.block_count', u32(v.num_hidden_layers)],
    ['clip.vision.attention.head_count', u32(v.num_attention_heads)],
    ['clip.vision.attention.layer_norm_epsilon', f32v(1e-5)],
    ['clip.vision.projection_dim', u32(p.dim)],
    ['clip.vision.rope.freq_base', f32v(v.rope_theta)],
    ['clip.vision.image_mean', { type: 'f32s', value: [0.48145466, 0.4578275, 0.40821073] }],
    ['clip.vision.image_std', { type: 'f32s', value: [0.26862954, 0.26130258, 0.27577711] }],
  ];
  writeGguf(out, metadata, tensors);
}
