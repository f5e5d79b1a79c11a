// The deep check of a model folder by the native engine (every safetensors header, tensor name,
// shape and dtype), for `pixtral models verify`. Kept apart from verify.ts so that only callers that
// may load native code (the CLI, the worker) import it; the extension host never does.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { loadNative, type LoadOptions, type WeightPrecision } from '../engine/native';
import { PRECISIONS, type PrecisionPlan } from './fit';
import type { EngineCheck } from './verify';

export function inspectWithEngine(dir: string): EngineCheck {
  let addon;
  try {
    addon = loadNative();
  } catch (err) {
    const firstLine = (err as Error).message.split('\n')[0];
    return { status: 'unavailable', message: `engine not built, tensors not checked (${firstLine})` };
  }
  try {
    const info = addon.inspectModel(dir);
    return { status: 'ok', layout: info.layout, tensorCount: info.tensorCount, weightBytes: info.weightBytes };
  } catch (err) {
    return { status: 'failed', message: (err as Error).message };
  }
}

/** What a load would take at each precision the folder loads at, as the engine accounts for it:
 *  a bf16 checkpoint at every precision (the first load quantizes), a quantized one (GGUF) at its
 *  own only. The CLI's fit check; the extension asks the worker, which calls this. */
export function planPrecisions(dir: string, options: Omit<LoadOptions, 'precision'>): PrecisionPlan[] {
  const addon = loadNative();
  const stored = addon.inspectModel(dir).precision;
  // Sizes do not depend on the backend: only the first plan opens a GPU backend to read its memory
  // (what the fit check weighs against, planDevices(plans[0].plan)).
  return (stored === 'bf16' ? PRECISIONS : [stored]).map((precision, i) => ({
    precision,
    plan: addon.planMemory(dir, { ...options, precision, backend: i === 0 ? options.backend : 'cpu' }),
  }));
}

/** The quantized weights a first load at `precision` left beside the checkpoint (the engine's name
 *  for them: native/src/quantize.h), so a load at that precision will not quantize again. */
export function hasQuantizedWeights(dir: string, precision: WeightPrecision): boolean {
  return precision !== 'bf16' && existsSync(path.join(dir, `pixtral-${precision}.safetensors`));
}
