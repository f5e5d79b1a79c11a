// The deep check of a model folder by the native engine (every safetensors header, tensor name,
// shape and dtype), for `pixtral models verify`. Kept apart from verify.ts so that only callers that
// may load native code (the CLI, the worker) import it; the extension host never does.
import { loadNative, type LoadOptions, type MemoryPlan } from '../engine/native';
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

/** What a load would take, as the engine accounts for it (the CLI's fit check; the extension asks the worker). */
export function planWithEngine(dir: string, options: LoadOptions): MemoryPlan {
  return loadNative().planMemory(dir, options);
}
