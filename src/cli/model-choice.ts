// Which model a `pixtral` command works on, the same for every command: the folder given (--model,
// or the argument of `models verify`) as it is; else the first usable model found in the Hugging
// Face caches and Pixtral's storage folder; else the built-in model (src/models/embedded.ts).
// `pixtral models list` shows the same candidates and marks the one this picks.
import path from 'node:path';
import { chooseModelDir, findModels, pickModel, type ModelCandidate } from '../models/index';

/** The model folder to use, or undefined when there is none; `orBroken`: a broken one rather than none. */
export function chooseModel(explicit: string | undefined, options: { orBroken?: boolean } = {}): Promise<string | undefined> {
  return chooseModelDir(explicit && path.resolve(explicit), { includeEmbedded: true, orBroken: options.orBroken });
}

/** Every candidate in the order tried, and the one in use (the given folder even when broken). */
export async function listModels(explicit: string | undefined): Promise<{ candidates: ModelCandidate[]; used: ModelCandidate | undefined }> {
  const candidates = await findModels({ settingDir: explicit, includeEmbedded: true });
  return { candidates, used: explicit ? candidates.find((c) => c.source === 'setting') : pickModel(candidates) };
}
