// The TypeScript face of the native engine (native/src/addon.cc). Finds the compiled addon in an
// explicit order (a local build, then the prebuilt shipped in the VSIX for this platform), and
// types the API the worker drives. Only the worker process loads this module: a
// crash in native code must never reach the extension host.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { WebGpuExecutor } from './webgpu/executor';

/** Hyperparameters as the engine read them from params.json / config.json. */
export interface ModelConfigInfo {
  dim: number;
  nLayers: number;
  headDim: number;
  hiddenDim: number;
  nHeads: number;
  nKvHeads: number;
  vocabSize: number;
  ropeTheta: number;
  normEps: number;
  maxSeqLen: number;
  vision: null | {
    hidden: number;
    layers: number;
    heads: number;
    headDim: number;
    intermediate: number;
    patchSize: number;
    imageSize: number;
    ropeTheta: number;
    imageTokenId: number;
    imageBreakTokenId: number;
    imageEndTokenId: number;
  };
}

export interface ModelInfo {
  dir: string;
  layout: 'mistral' | 'hf';
  config: ModelConfigInfo;
  tensorCount: number;
  /** Bytes of all weights at the loaded precision (memory-mapped, not copied). */
  weightBytes: number;
  files: string[];
  /** Weight precision of this load (inspectModel: the checkpoint's own). */
  precision: WeightPrecision;
  /** The quantized weights file the load mapped (<dir>/pixtral-<precision>.safetensors); null at
   * bf16, and when the folder could not be written (the weights were quantized in memory). */
  quantizedFile: string | null;
  /** This load quantized the checkpoint (the first load at this precision). */
  quantizedNow: boolean;
}

/** Weight precision (native/QUANT.md): q4_0 keeps embeddings, output head and patch conv at q8_0;
 * q4_0-pure quantizes every matrix to 4 bits. */
export type WeightPrecision = 'bf16' | 'q8_0' | 'q4_0' | 'q4_0-pure';

/** One preprocessed image: float32 CHW, `height` and `width` multiples of the patch size. */
export interface ImageInput {
  pixels: Float32Array; // [3, height, width]
  height: number;
  width: number;
}

export interface VisionResult {
  /** Adapter input: vision encoder output of all images, [S, Dv], images in order. */
  out: Float32Array;
  /** Patch rows per image (h_k * w_k), in order. */
  tokensPerImage: number[];
  /** Present with captureLayers: the intermediate activations, each [S, Dv]. */
  patchEmbedsConv?: Float32Array;
  lnPre?: Float32Array;
  layers?: Float32Array[];
}

/** Element type of the KV cache: f16 (default; bf16 on CUDA) and bf16 take half the memory of f32, q8_0 (32
 * values per fp16 scale) 53% of f16's. */
export type KvCacheType = 'f32' | 'f16' | 'bf16' | 'q8_0';

export interface LoadOptions {
  /** Where the engine runs; a backend this build or machine cannot run rejects with code EUNSUPPORTED. */
  backend?: 'cpu' | 'cuda' | 'webgpu';
  /** GPU index for the cuda backend. */
  device?: number;
  /** The webgpu backend's GPU side (src/engine/webgpu: createWebGpuExecutor); required with it. */
  webgpu?: WebGpuExecutor;
  threads?: number;
  kvCache?: KvCacheType;
  /** Weight precision (default bf16); the first load at q8_0/q4_0 quantizes the checkpoint into a
   * file beside it, later loads map that file. */
  precision?: WeightPrecision;
  /** KV cache capacity in tokens (default min(8192, maxSeqLen)); never more than maxSeqLen. */
  contextLength?: number;
  /** Prefill rows per pass: bounds the activation scratch (default 512). */
  maxChunk?: number;
  /** Force a CPU kernel set ("generic", "avx2", "avx512-vnni", "neon", "neon-dotprod"); default: the best this CPU runs. */
  kernels?: string;
}

export interface PrefillOptions {
  images?: ImageInput[];
  /** Tokens that generation will add after this prompt; checked against the window up front. */
  reserve?: number;
  /** 'none' (default): no logits come back (they stay on the device for sampling); 'last': the
   * last position's [V]; 'all': every position, [T, V]. */
  logits?: 'none' | 'last' | 'all';
  /** Prefill chunk size in tokens (default 512). */
  chunkSize?: number;
}

export interface SamplingOptions {
  maxTokens: number;
  /** 0 = greedy. */
  temperature?: number;
  topK?: number;
  topP?: number;
  seed?: number;
  /** Sampling one of these ends generation; the stop token is not emitted. Default [eos=2]. */
  stopIds?: number[];
  /** Pass each step's full logits [V] to onToken (tests only: costly). */
  returnLogits?: boolean;
}

export interface GenerateResult {
  tokens: number[];
  stopReason: 'stop' | 'length' | 'cancelled';
}

export interface MemoryReport {
  weightBytes: number;
  kvCacheBytes: number;
  scratchBytes: number;
  rssBytes: number;
  peakRssBytes: number;
  /** The GPU's own memory (0 on the CPU backend). */
  deviceTotalBytes: number;
  deviceFreeBytes: number;
}

/** What a load takes, as the engine itself accounts for it (Engine::plan). */
export interface MemoryPlan {
  weightBytes: number;
  kvCacheBytes: number;
  /** Activations for a full prefill chunk and one full-size image, RoPE tables, inputs. */
  scratchBytes: number;
  /** A GPU backend's device (options.backend other than cpu): what the fit check weighs the load against. */
  device?: { name: string; totalBytes: number; freeBytes: number };
  /** Why that backend cannot run here, when it cannot. */
  deviceError?: string;
}

/** Every engine rejection carries one of these as `code`. */
export type EngineErrorCode = 'ECANCELLED' | 'EBADINPUT' | 'EBADWEIGHTS' | 'ENOMEM' | 'EUNSUPPORTED' | 'EINTERNAL';

export interface EngineError extends Error {
  code: EngineErrorCode;
}

export interface NativeEngine {
  load(dir: string, options?: LoadOptions): Promise<ModelInfo>;
  unload(): void;
  readonly loaded: boolean;
  /** Tokens currently in the KV cache. */
  readonly position: number;
  readonly contextLength: number;
  /** Empty the KV cache (position 0). */
  reset(): void;
  /** Keep the first `tokens` of the KV cache, drop the rest; the next prefill continues there. */
  rewind(tokens: number): void;
  encodeImages(images: ImageInput[], options?: { captureLayers?: boolean }): Promise<VisionResult>;
  /** The adapter alone: [rows, Dv] -> [rows, D]. */
  project(visionOut: Float32Array, rows: number): Promise<Float32Array>;
  /** Appends `ids` to the KV cache; returns the logits `options.logits` asks for (none by default). */
  prefill(ids: Int32Array, options?: PrefillOptions): Promise<Float32Array>;
  /** Samples on the device from the last logits, feeds each token back; onToken runs on the JS
   * thread per token. Afterwards `position` counts the tokens that were fed back. */
  generate(options: SamplingOptions, onToken: (id: number, logits?: Float32Array) => void): Promise<GenerateResult>;
  /** Stops the running call at the next layer / chunk / step boundary. */
  cancel(): void;
  memory(): MemoryReport;
  /** Backend in use ("cpu-avx2", ...), null when nothing is loaded. */
  readonly backend: string | null;
}

export interface NativeAddon {
  Engine: new () => NativeEngine;
  /** Validates a model folder (config + every safetensors header and tensor shape) without loading. */
  inspectModel(dir: string): ModelInfo;
  /** The bytes load(dir, options) would take, by kind, from the folder's config (no weights read). */
  planMemory(dir: string, options?: LoadOptions): MemoryPlan;
  /** Which CPU kernel set runtime dispatch picked ("avx512-vnni", "avx2", "neon-dotprod", "neon", "generic"). */
  cpuKernels(): string;
}

function candidatePaths(): string[] {
  // A build chosen by the environment (the sanitizer run: test/engine/sanitizers.test.ts) and nothing else.
  if (process.env.PIXTRAL_NATIVE_ADDON) return [path.resolve(process.env.PIXTRAL_NATIVE_ADDON)];
  // From source (src/engine/) the root is two levels up, from the bundle (dist/) one.
  const roots = [path.resolve(__dirname, '..'), path.resolve(__dirname, '..', '..')];
  const platform = `${process.platform}-${process.arch}`;
  // A local build wins over a prebuilt so a developer never runs a stale binary; the VSIX ships
  // prebuilds only.
  return roots.flatMap((root) => [
    path.join(root, 'native', 'build', 'Release', 'pixtral_native.node'),
    path.join(root, 'native', 'prebuilds', platform, 'pixtral_native.node'),
  ]);
}

let cached: NativeAddon | undefined;

/** Loads the addon once. Throws an Error listing every path tried and what to do. */
export function loadNative(): NativeAddon {
  if (cached) return cached;
  const tried: string[] = [];
  const require = createRequire(__filename);
  for (const p of candidatePaths()) {
    if (!existsSync(p)) {
      tried.push(`${p} (absent)`);
      continue;
    }
    try {
      cached = require(p) as NativeAddon;
      return cached;
    } catch (err) {
      tried.push(`${p} (${(err as Error).message})`);
    }
  }
  throw new Error(`Pixtral native engine not found. Build it with "npm run build:native". Tried:\n  ${tried.join('\n  ')}`);
}
