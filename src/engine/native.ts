// The TypeScript face of the native engine (native/src/addon.cc). Finds the compiled addon in an
// explicit order (a local build, then the prebuilt shipped in the VSIX for this platform), and
// types the API the worker drives. Only the worker process loads this module: a
// crash in native code must never reach the extension host.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

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
  /** Bytes of all weights (memory-mapped, not copied). */
  weightBytes: number;
  files: string[];
}

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

export interface LoadOptions {
  backend?: 'cpu';
  threads?: number;
  /** KV cache capacity in tokens (default min(8192, maxSeqLen)); never more than maxSeqLen. */
  contextLength?: number;
  /** Prefill rows per pass: bounds the activation scratch (default 512). */
  maxChunk?: number;
  /** Force a CPU kernel set ("generic", "avx2", "neon"); default: the best this CPU runs. */
  kernels?: string;
}

export interface PrefillOptions {
  images?: ImageInput[];
  /** Tokens that generation will add after this prompt; checked against the window up front. */
  reserve?: number;
  /** 'last' (default): logits of the last position only; 'all': every position, [T, V]. */
  logits?: 'last' | 'all';
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
  encodeImages(images: ImageInput[], options?: { captureLayers?: boolean }): Promise<VisionResult>;
  /** The adapter alone: [rows, Dv] -> [rows, D]. */
  project(visionOut: Float32Array, rows: number): Promise<Float32Array>;
  /** Appends `ids` to the KV cache; returns logits ([V] or [T, V]). */
  prefill(ids: Int32Array, options?: PrefillOptions): Promise<Float32Array>;
  /** Samples from the last logits, feeds each token back; onToken runs on the JS thread per token. */
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
  /** Which CPU kernel set runtime dispatch picked ("avx2", "neon", "generic"). */
  cpuKernels(): string;
  testing: NativeTesting;
}

/** Hooks that expose single kernels to the test suite (checked against float64 in JS). */
export interface NativeTesting {
  /** Text RoPE applied to x [T, heads, headDim] at `positions`; style 'interleaved' (Mistral) or 'half' (HF). */
  ropeText(x: Float32Array, positions: Int32Array, heads: number, headDim: number, theta: number, style: 'interleaved' | 'half'): Float32Array;
  /** The vision 2D RoPE angle table for a grid: [gridH*gridW, headDim/2] cos then sin. */
  ropeVisionTable(gridH: number, gridW: number, headDim: number, theta: number): { cos: Float32Array; sin: Float32Array };
  /** y[T, out] = x[T, in] @ W^T with W bf16 bits [out, in]; `kernels` forces a kernel set. */
  matmulBf16(x: Float32Array, w: Uint16Array, rows: number, inDim: number, outDim: number, kernels?: string): Float32Array;
  /** Grouped-query attention through the CPU backend: q [Tq, H*hd], k/v [Tk, K*hd] -> [Tq, H*hd]; causalOffset < 0: no mask. */
  attention(q: Float32Array, k: Float32Array, v: Float32Array, Tq: number, Tk: number, H: number, K: number, hd: number, causalOffset: number, kernels?: string): Float32Array;
  /** Bytes copied per second by memcpy over `bytes`, `iters` times, split across threads (benchmarks). */
  memcpyBandwidth(bytes: number, iters: number, threads?: number): number;
}

function candidatePaths(): string[] {
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
