// Will the model fit? Before a load, the bytes a backend needs at a given weight precision —
// weights, KV cache for the configured context, working buffers, as the engine itself plans them
// (planMemory: one source of sizes) — against the memory that backend has free. With the precision
// setting at auto it picks the best precision that fits (bf16, then 8-bit, then 4-bit). The verdict
// names the choice and says why in one message; a load that cannot fit is never started (assertFits).
import os from 'node:os';
import { ModelError } from './errors';
import type { KvCacheType, MemoryPlan, WeightPrecision } from '../engine/native';
import type { ModelDims } from './model-config';
import { formatBytes } from './units';

/** The weight precisions a bf16 checkpoint loads at (the first load quantizes: native/QUANT.md), best
 *  quality first; a checkpoint stored quantized (a GGUF) loads only at its own, q4_0-pure included. */
export const PRECISIONS = ['bf16', 'q8_0', 'q4_0'] as const satisfies readonly WeightPrecision[];

/** The precision setting and flag: a precision, or auto, the best one that fits. */
export type PrecisionSetting = 'auto' | (typeof PRECISIONS)[number];
export const PRECISION_SETTINGS: readonly PrecisionSetting[] = ['auto', ...PRECISIONS];

/** The KV cache element types the flag and the setting offer; q8_0 (34 bytes per 32 values) holds
 *  the logits of f32 within the quality test's bounds (test/engine/quantized-quality.test.ts). */
export const KV_CACHE_TYPES = ['f16', 'bf16', 'f32', 'q8_0'] as const satisfies readonly KvCacheType[];

/** How the messages and the model list name a precision. */
export function describePrecision(p: WeightPrecision): string {
  return p === 'q8_0' ? '8-bit q8_0' : p.startsWith('q4_0') ? `4-bit ${p}` : p;
}

/** The engine's plan of a load at one precision (planMemory with that precision). */
export interface PrecisionPlan {
  precision: WeightPrecision;
  plan: MemoryPlan;
}

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
  precision: WeightPrecision;
  /** The precision setting allows this precision. */
  allowed: boolean;
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
  /** What the engine will allocate at each precision the folder loads at (its planMemory: one source
   *  of sizes), best quality first. */
  plans: PrecisionPlan[];
  /** KV cache capacity in tokens the plans were made for (for the message). */
  contextLength: number;
  /** In order of preference; default planDevices(plans[0].plan): the plan's GPU, then system memory. */
  devices?: MemoryDevice[];
  /** The precision setting (default auto: the best precision that fits). */
  precision?: PrecisionSetting;
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

/** Device first, then precision: a quantized model on the GPU runs faster than bf16 on the CPU. */
export function assessFit(request: FitRequest): FitVerdict {
  const { plans } = request;
  if (plans.length === 0) throw new Error('assessFit: no plan to weigh');
  const devices = request.devices ?? planDevices(plans[0].plan);
  const setting = request.precision ?? 'auto';
  const params = parameterCount(request.dims).total;
  const options: FitOption[] = devices.flatMap((device) =>
    plans.map(({ precision, plan }) => {
      const requiredBytes = plan.weightBytes + plan.kvCacheBytes + plan.scratchBytes + RUNTIME_BYTES;
      const allowed = setting === 'auto' || setting === precision;
      return { device, precision, allowed, weightBytes: plan.weightBytes, kvCacheBytes: plan.kvCacheBytes, scratchBytes: plan.scratchBytes, requiredBytes, status: statusOf(requiredBytes, device) };
    }),
  );
  const usable = options.filter((o) => o.allowed);
  const choice = usable.find((o) => o.status === 'fits') ?? usable.find((o) => o.status === 'tight');
  const tokens = request.contextLength;
  const model = `The model (${(params / 1e9).toFixed(2)} B parameters)`;

  let message: string;
  if (usable.length === 0) {
    message = `${model} is stored at ${plans.map((p) => p.precision).join(', ')} and loads only at that precision, not ${setting}: set the precision to auto.`;
  } else if (choice?.status === 'fits') {
    message = `${model} fits in ${choice.device.name} at ${describePrecision(choice.precision)}: it needs ${breakdown(choice, tokens)} and ${formatBytes(choice.device.freeBytes)} is free.`;
  } else if (choice) {
    message =
      `${model} needs ${breakdown(choice, tokens)} at ${describePrecision(choice.precision)}, but only ${formatBytes(choice.device.freeBytes)} of ${formatBytes(choice.device.totalBytes)} ${choice.device.name} is free: ` +
      'it loads only if other programs give memory back, and may be slow while the system swaps. Close other programs or lower the context length.';
  } else {
    const best = usable.reduce((a, b) => (b.requiredBytes < a.requiredBytes ? b : a));
    const largest = devices.reduce((a, b) => (b.totalBytes > a.totalBytes ? b : a), devices[0]);
    const other = options.find((o) => !o.allowed && o.status !== 'too-big');
    message =
      `${model} does not fit: it needs ${breakdown(best, tokens)} at ${describePrecision(best.precision)}, and ${largest.name} has ${formatBytes(largest.totalBytes)} in total.` +
      (other ? ` At ${describePrecision(other.precision)} it would need ${formatBytes(other.requiredBytes)}: set the precision to ${other.precision} or auto.` : '');
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
