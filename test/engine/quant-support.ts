// Test support for quantized weights: a writable model folder whose files link to a fixture's (the
// engine writes pixtral-<precision>.safetensors into it, never into the shared fixtures), the
// manifest's prompts with their images, and the measures quality is bounded by (KL divergence and
// top-1 agreement of next-token distributions).
import { cpSync, existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ImageInput, NativeEngine } from '../../src/engine/native';
import { caseImages, int32, loadManifest } from '../support/fixtures';

/** A temporary folder holding links to the model files of `source` (Mistral layout). */
export function linkedModelFolder(source: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pixtral-quant-'));
  for (const f of ['params.json', 'consolidated.safetensors', 'tekken.json'])
    if (existsSync(path.join(source, f))) symlinkSync(path.join(source, f), path.join(dir, f));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A copy (not a link) of the checkpoint, for tests that change its modification time. */
export function copiedModelFolder(source: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pixtral-quant-'));
  for (const f of ['params.json', 'consolidated.safetensors']) cpSync(path.join(source, f), path.join(dir, f));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface Prompt {
  name: string;
  ids: Int32Array;
  images: ImageInput[];
}

/** Every model case of the manifest with input ids (text_only, mm_single, mm_pair, greedy). */
export function manifestPrompts(): Prompt[] {
  return Object.entries(loadManifest().cases)
    .filter(([, c]) => c.inputs.input_ids)
    .map(([name, c]) => ({ name, ids: int32(c.inputs.input_ids), images: caseImages(c) }));
}

/** Logits of every position of `prompt`, [T, V], from an empty cache. */
export async function promptLogits(engine: NativeEngine, prompt: Prompt): Promise<Float32Array> {
  engine.reset();
  return engine.prefill(prompt.ids, { images: prompt.images, logits: 'all' });
}

function logSoftmax(row: Float32Array): Float64Array {
  let m = -Infinity;
  for (const v of row) m = Math.max(m, v);
  let s = 0;
  for (const v of row) s += Math.exp(v - m);
  const lse = m + Math.log(s);
  return Float64Array.from(row, (v) => v - lse);
}

const argmax = (row: ArrayLike<number>): number => {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
  return best;
};

export interface Agreement {
  positions: number;
  /** Mean and largest KL(reference || quantized) over positions, in nats. */
  meanKl: number;
  maxKl: number;
  /** Share of positions whose argmax agrees. */
  top1: number;
  /** The same over positions where the reference's top-2 margin exceeds `margin`. */
  decisive: number;
  top1Decisive: number;
}

/** Next-token agreement of `got` with `ref` (both [T, V]). */
export function agreement(ref: Float32Array, got: Float32Array, V: number, margin: number): Agreement {
  const T = ref.length / V;
  let kl = 0, maxKl = 0, same = 0, decisive = 0, sameDecisive = 0;
  for (let t = 0; t < T; t++) {
    const r = ref.subarray(t * V, (t + 1) * V), g = got.subarray(t * V, (t + 1) * V);
    const lr = logSoftmax(r), lg = logSoftmax(g);
    let k = 0;
    for (let i = 0; i < V; i++) k += Math.exp(lr[i]) * (lr[i] - lg[i]);
    kl += k;
    maxKl = Math.max(maxKl, k);
    const best = argmax(r), agree = best === argmax(g);
    same += agree ? 1 : 0;
    let second = -Infinity;
    for (let i = 0; i < V; i++) if (i !== best) second = Math.max(second, r[i]);
    if (r[best] - second > margin) {
      decisive++;
      sameDecisive += agree ? 1 : 0;
    }
  }
  return { positions: T, meanKl: kl / T, maxKl, top1: same / T, decisive, top1Decisive: decisive ? sameDecisive / decisive : 1 };
}
