// Will the model fit? Before a load, the bytes a backend needs at a given weight precision —
// weights, KV cache for the configured context, working buffers, as the engine itself plans them
// (planMemory: one source of sizes) — against the memory that backend has free. The verdict names
// the choice and says why in one message; a load that cannot fit is never started (assertFits).
import os from 'node:os';
import { ModelError } from './errors';
import type { MemoryPlan } from '../engine/native';
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

/** The worker process itself: Node, the tokenizer tables, image decoding. */
const RUNTIME_BYTES = 300e6;

export interface ParameterCount {
  text: number;
  vision: number;
  adapter: number;
  total: number;
}

/** Parameters by part, from the config (spec a.1): what the messages call the model's size. */
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
  /** What the engine will allocate for this load (its planMemory: one source of sizes), bf16 weights. */
  plan: MemoryPlan;
  /** KV cache capacity in tokens the plan was made for (for the message). */
  contextLength: number;
  /** In order of preference; default planDevices(plan): the plan's GPU, then system memory. */
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

/** The GPU the plan's backend reported (its free VRAM, read by the engine before the load), then
 *  system memory: a load that cannot fit on the GPU falls back to the CPU. */
export function planDevices(plan: MemoryPlan): MemoryDevice[] {
  const gpu: MemoryDevice[] = plan.device ? [{ backend: 'gpu', name: plan.device.name, freeBytes: plan.device.freeBytes, totalBytes: plan.device.totalBytes }] : [];
  return [...gpu, systemMemory()];
}

export function assessFit(request: FitRequest): FitVerdict {
  const devices = request.devices ?? planDevices(request.plan);
  const available = new Set(request.available ?? ['bf16']);
  const params = parameterCount(request.dims).total;
  const { plan } = request;
  const options: FitOption[] = devices.flatMap((device) =>
    PRECISIONS.map(({ precision, bytesPerParam }) => {
      // The plan is for the bf16 checkpoint; other precisions scale its weights.
      const weightBytes = Math.ceil((plan.weightBytes * bytesPerParam) / 2);
      const requiredBytes = weightBytes + plan.kvCacheBytes + plan.scratchBytes + RUNTIME_BYTES;
      return { device, precision, available: available.has(precision), weightBytes, kvCacheBytes: plan.kvCacheBytes, scratchBytes: plan.scratchBytes, requiredBytes, status: statusOf(requiredBytes, device) };
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
