// Will the model fit? Before a load, the bytes a backend needs at a given weight precision —
// weights (parameter count from the config, spec a.1), KV cache for the configured context, working
// buffers — against the memory that backend has free. The verdict names the choice and says why in
// one message; a load that cannot fit is never started (assertFits).
import os from 'node:os';
import { ModelError } from './errors';
import type { ModelDims } from './model-config';
import { formatBytes } from './units';

export type Precision = 'bf16' | 'q8_0' | 'q4_0';

/** Bytes per parameter, best quality first. q8_0/q4_0: blocks of 32 weights plus a 2-byte scale. */
export const PRECISIONS: ReadonlyArray<{ precision: Precision; bytesPerParam: number }> = [
  { precision: 'bf16', bytesPerParam: 2 },
  { precision: 'q8_0', bytesPerParam: 34 / 32 },
  { precision: 'q4_0', bytesPerParam: 18 / 32 },
];

export type Backend = 'cpu' | 'gpu';

/** KV cache element size: the CPU engine keeps K and V in fp32, a GPU backend in bf16. */
const KV_BYTES: Record<Backend, number> = { cpu: 4, gpu: 2 };

/** The worker process itself: Node, the tokenizer tables, image decoding. */
const RUNTIME_BYTES = 300e6;

/** Prefill rows per pass, as the engine's decoder sizes its buffers (native/src/decoder.cc). */
const PREFILL_CHUNK = 512;

export interface ParameterCount {
  text: number;
  vision: number;
  adapter: number;
  total: number;
}

export function parameterCount(d: ModelDims): ParameterCount {
  const qDim = d.nHeads * d.headDim;
  const kvDim = d.nKvHeads * d.headDim;
  const layer = 2 * d.dim + 2 * d.dim * qDim + 2 * d.dim * kvDim + 3 * d.dim * d.hiddenDim; // norms, wq+wo, wk+wv, w1+w2+w3
  const text = 2 * d.vocabSize * d.dim + d.dim + d.nLayers * layer; // embeddings, output, final norm
  let vision = 0;
  let adapter = 0;
  if (d.vision) {
    const v = d.vision;
    const vLayer = 2 * v.hidden + 4 * v.hidden * v.hidden + 3 * v.hidden * v.intermediate;
    vision = v.hidden * v.channels * v.patchSize * v.patchSize + v.hidden + v.layers * vLayer; // patch conv, ln_pre
    adapter = d.dim * v.hidden + d.dim * d.dim + (v.adapterBias ? 2 * d.dim : 0);
  }
  return { text, vision, adapter, total: text + vision + adapter };
}

/** KV cache bytes for `tokens` of context: 2 (K and V) × layers × KV heads × head dim per token. */
export function kvCacheBytes(d: ModelDims, tokens: number, backend: Backend): number {
  return 2 * d.nLayers * d.nKvHeads * d.headDim * KV_BYTES[backend] * tokens;
}

/** Working buffers (fp32): the decoder's prefill and logits buffers, plus the vision tower's and adapter's for one full-size image. */
export function scratchBytes(d: ModelDims): number {
  const decoder = PREFILL_CHUNK * (2 * d.dim + 2 * d.nHeads * d.headDim + 2 * d.hiddenDim + d.headDim) + 16 * d.vocabSize;
  let vision = 0;
  if (d.vision) {
    const v = d.vision;
    const patches = (v.imageSize / v.patchSize) ** 2;
    const perPatch = v.channels * v.patchSize ** 2 + 6 * v.hidden + 2 * v.intermediate + 2 * d.dim;
    vision = patches * perPatch;
  }
  return 4 * (decoder + vision);
}

export interface MemoryDevice {
  backend: Backend;
  /** "system memory", or the GPU's name. */
  name: string;
  freeBytes: number;
  totalBytes: number;
}

/** RAM as the OS reports it (os.freemem counts reclaimable page cache as free on Linux). */
export function systemMemory(): MemoryDevice {
  return { backend: 'cpu', name: 'system memory', freeBytes: os.freemem(), totalBytes: os.totalmem() };
}

export type FitStatus = 'fits' | 'tight' | 'too-big';

export interface FitOption {
  device: MemoryDevice;
  precision: Precision;
  /** Weights at this precision exist on disk. */
  available: boolean;
  weightBytes: number;
  kvCacheBytes: number;
  scratchBytes: number;
  requiredBytes: number;
  /** fits: within free memory; tight: only if other programs give memory back; too-big: more than the device has. */
  status: FitStatus;
}

export interface FitVerdict {
  /** A load may start (status fits or tight). */
  fits: boolean;
  choice: FitOption | undefined;
  /** Every device × precision, in order of preference. */
  options: FitOption[];
  message: string;
}

export interface FitRequest {
  dims: ModelDims;
  /** KV cache capacity in tokens (the context length setting). */
  contextLength: number;
  /** In order of preference; default [systemMemory()]. A GPU's free VRAM comes from its backend. */
  devices?: MemoryDevice[];
  /** Precisions whose weights exist; default the checkpoints' bf16. */
  available?: Precision[];
}

function statusOf(required: number, device: MemoryDevice): FitStatus {
  if (required <= device.freeBytes) return 'fits';
  // System memory: the OS keeps some for itself; VRAM can be freed by closing other GPU programs.
  const usable = device.backend === 'cpu' ? device.totalBytes - Math.max(2e9, 0.1 * device.totalBytes) : device.totalBytes;
  return required <= usable ? 'tight' : 'too-big';
}

function breakdown(o: FitOption, tokens: number): string {
  return `${formatBytes(o.requiredBytes)} (weights ${formatBytes(o.weightBytes)}, KV cache ${formatBytes(o.kvCacheBytes)} for ${tokens} tokens, working memory ${formatBytes(o.scratchBytes + RUNTIME_BYTES)})`;
}

export function assessFit(request: FitRequest): FitVerdict {
  const devices = request.devices ?? [systemMemory()];
  const available = new Set(request.available ?? ['bf16']);
  const params = parameterCount(request.dims).total;
  const scratch = scratchBytes(request.dims);
  const options: FitOption[] = devices.flatMap((device) =>
    PRECISIONS.map(({ precision, bytesPerParam }) => {
      const weightBytes = Math.ceil(params * bytesPerParam);
      const kv = kvCacheBytes(request.dims, request.contextLength, device.backend);
      const requiredBytes = weightBytes + kv + scratch + RUNTIME_BYTES;
      return { device, precision, available: available.has(precision), weightBytes, kvCacheBytes: kv, scratchBytes: scratch, requiredBytes, status: statusOf(requiredBytes, device) };
    }),
  );
  const usable = options.filter((o) => o.available);
  const choice = usable.find((o) => o.status === 'fits') ?? usable.find((o) => o.status === 'tight');
  const tokens = request.contextLength;
  const model = `The model (${(params / 1e9).toFixed(2)} B parameters)`;

  let message: string;
  if (choice?.status === 'fits') {
    message = `${model} fits in ${choice.device.name} at ${choice.precision}: it needs ${breakdown(choice, tokens)} and ${formatBytes(choice.device.freeBytes)} is free.`;
  } else if (choice) {
    message =
      `${model} needs ${breakdown(choice, tokens)} at ${choice.precision}, but only ${formatBytes(choice.device.freeBytes)} of ${formatBytes(choice.device.totalBytes)} ${choice.device.name} is free: ` +
      'it loads only if other programs give memory back, and may be slow while the system swaps. Close other programs or lower the context length.';
  } else {
    const best = usable[0] ?? options[0];
    const largest = devices.reduce((a, b) => (b.totalBytes > a.totalBytes ? b : a), devices[0]);
    const quantized = options.find((o) => !o.available && o.status !== 'too-big');
    message =
      `${model} does not fit: it needs ${breakdown(best, tokens)} at ${best.precision}, and ${largest.name} has ${formatBytes(largest.totalBytes)} in total.` +
      (quantized ? ` At ${quantized.precision} it would need ${formatBytes(quantized.requiredBytes)}, once quantized weights are available.` : '');
  }
  return { fits: choice !== undefined, choice, options, message };
}

export class FitError extends ModelError {
  override name = 'FitError';
}

/** Throws FitError with the verdict's message when no load can fit. */
export function assertFits(verdict: FitVerdict): FitOption {
  if (!verdict.choice) throw new FitError(verdict.message);
  return verdict.choice;
}
