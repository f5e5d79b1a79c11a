// The sizes of a checkpoint, read from params.json (Mistral) or config.json (transformers Llava) in
// TypeScript, before and without the native engine: enough to name the model, size its memory and
// refuse configurations the engine does not implement. Defaults for absent config.json keys are
// transformers' class defaults, the same ones the engine applies (native/src/model_config.cc).
import { ModelError } from './errors';

export interface ModelDims {
  dim: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  headDim: number;
  hiddenDim: number;
  vocabSize: number;
  /** Absent for a text-only model, which Pixtral is not. */
  vision?: {
    hidden: number;
    layers: number;
    intermediate: number;
    patchSize: number;
    imageSize: number;
    channels: number;
    adapterBias: boolean;
  };
}

export class ModelConfigError extends ModelError {
  override name = 'ModelConfigError';
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// Typed reads from one JSON object; `where` names the file and the nesting in messages.
function reader(obj: Json, where: string) {
  const present = (key: string) => obj[key] !== undefined && obj[key] !== null;
  const int = (key: string, fallback?: number): number => {
    if (!present(key)) {
      if (fallback === undefined) throw new ModelConfigError(`${where}: key "${key}" is missing`);
      return fallback;
    }
    const v = obj[key];
    if (!Number.isSafeInteger(v) || (v as number) <= 0) throw new ModelConfigError(`${where}: key "${key}" must be a positive integer, got ${JSON.stringify(v)}`);
    return v as number;
  };
  return { present, int, value: (key: string) => obj[key] };
}

function parseJson(text: string, file: string): Json {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ModelConfigError(`${file} is not valid JSON (${(err as Error).message})`);
  }
  if (!isObject(json)) throw new ModelConfigError(`${file} does not hold a JSON object`);
  return json;
}

// Later Mistral vision models (spec j) set these; the engine implements none of them.
function rejectUnimplemented(obj: Json, where: string): void {
  const r = reader(obj, where);
  if (r.present('spatial_merge_size') && r.int('spatial_merge_size') !== 1) {
    throw new ModelConfigError(`${where}: spatial_merge_size ${String(r.value('spatial_merge_size'))} (patch merging, a later Mistral vision model) is not supported`);
  }
  const projector = r.value('mm_projector_id');
  if (projector !== undefined && projector !== null && projector !== 'mlp') {
    throw new ModelConfigError(`${where}: mm_projector_id "${String(projector)}" is not supported (only the Pixtral-12B "mlp" adapter)`);
  }
  if (r.value('add_pre_mm_projector_layer_norm') === true) {
    throw new ModelConfigError(`${where}: add_pre_mm_projector_layer_norm is not supported (a later Mistral vision model)`);
  }
}

function headDim(r: ReturnType<typeof reader>, key: string, dim: number, heads: number, where: string): number {
  if (r.present(key)) return r.int(key);
  if (dim % heads !== 0) throw new ModelConfigError(`${where}: "${key}" is absent and the hidden size is not a multiple of the head count`);
  return dim / heads;
}

/** params.json of the Mistral layout. */
export function dimsFromParams(text: string, file = 'params.json'): ModelDims {
  const json = parseJson(text, file);
  const r = reader(json, file);
  const dim = r.int('dim');
  const nHeads = r.int('n_heads');
  rejectUnimplemented(json, file);
  const dims: ModelDims = {
    dim,
    nLayers: r.int('n_layers'),
    nHeads,
    nKvHeads: r.int('n_kv_heads'),
    headDim: headDim(r, 'head_dim', dim, nHeads, file),
    hiddenDim: r.int('hidden_dim'),
    vocabSize: r.int('vocab_size'),
  };
  const ve = json.vision_encoder;
  if (isObject(ve)) {
    const where = `${file} vision_encoder`;
    const v = reader(ve, where);
    rejectUnimplemented(ve, where);
    dims.vision = {
      hidden: v.int('hidden_size'),
      layers: v.int('num_hidden_layers'),
      intermediate: v.int('intermediate_size'),
      patchSize: v.int('patch_size'),
      imageSize: v.int('image_size'),
      channels: v.int('num_channels', 3),
      adapterBias: v.value('adapter_bias') !== false,
    };
  }
  return dims;
}

/** config.json of the transformers layout (LlavaForConditionalGeneration with a pixtral vision tower). */
export function dimsFromHfConfig(text: string, file = 'config.json'): ModelDims {
  const json = parseJson(text, file);
  const tc = json.text_config;
  if (!isObject(tc)) throw new ModelConfigError(`${file}: "text_config" is missing (not a Llava/Pixtral config.json)`);
  rejectUnimplemented(json, file);
  const where = `${file} text_config`;
  const t = reader(tc, where);
  // MistralConfig defaults, which save_pretrained leaves out of the file.
  const dim = t.int('hidden_size', 4096);
  const nHeads = t.int('num_attention_heads', 32);
  const dims: ModelDims = {
    dim,
    nLayers: t.int('num_hidden_layers', 32),
    nHeads,
    nKvHeads: t.int('num_key_value_heads', 8),
    headDim: headDim(t, 'head_dim', dim, nHeads, where),
    hiddenDim: t.int('intermediate_size', 14336),
    vocabSize: t.int('vocab_size', 32000),
  };
  const vc = json.vision_config;
  if (isObject(vc)) {
    const vwhere = `${file} vision_config`;
    if (vc.model_type !== undefined && vc.model_type !== 'pixtral') {
      throw new ModelConfigError(`${vwhere}: model_type "${String(vc.model_type)}" is not a Pixtral vision tower`);
    }
    // PixtralVisionConfig defaults: the 12B tower.
    const v = reader(vc, vwhere);
    dims.vision = {
      hidden: v.int('hidden_size', 1024),
      layers: v.int('num_hidden_layers', 24),
      intermediate: v.int('intermediate_size', 4096),
      patchSize: v.int('patch_size', 16),
      imageSize: v.int('image_size', 1024),
      channels: v.int('num_channels', 3),
      adapterBias: json.multimodal_projector_bias !== false,
    };
  }
  return dims;
}
