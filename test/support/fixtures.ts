// Test support: reads the golden fixture folder (../shared/fixtures/pixtral-tiny by default, or
// $PIXTRAL_FIXTURES) from its manifest alone, checking every array's sha256 before use
// (schema: shared/fixtures/README.md).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';

export interface FixtureArrayInfo {
  file: string;
  dtype: 'float32' | 'int32' | 'uint8';
  shape: number[];
  sha256: string;
  /** Only on `png_sha256_of_file` of preprocess_mc_* cases: the image, relative to the folder. */
  image?: string;
}

export interface FixtureCase {
  description: string;
  inputs: Record<string, FixtureArrayInfo>;
  outputs: Record<string, FixtureArrayInfo>;
  tolerance: {
    fp32_engine: FixtureTolerance;
    bf16_engine?: FixtureTolerance;
    rule?: string;
    note?: string;
  };
  notes?: string[];
}

export interface FixtureTolerance {
  atol?: number;
  rtol?: number;
  logit_atol?: number;
}

export interface FixtureManifest {
  special_tokens: Record<string, number>;
  /** Where each weight layout lives, relative to the folder (e.g. "hf/model.safetensors"). */
  weights: Record<'mistral' | 'hf', { file: string }>;
  preprocessing_defaults: { longest_edge: number; patch_size: number; image_mean: number[]; image_std: number[] };
  cases: Record<string, FixtureCase>;
}

export type FixtureArray = Float32Array | Int32Array | Uint8Array;

const repoRoot = path.resolve(__dirname, '..', '..');
export const fixtureDir = path.resolve(repoRoot, process.env.PIXTRAL_FIXTURES ?? '../shared/fixtures/pixtral-tiny');

export function loadManifest(): FixtureManifest {
  return JSON.parse(readFileSync(path.join(fixtureDir, 'manifest.json'), 'utf8')) as FixtureManifest;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Reads one array, after checking its byte size and sha256 against the manifest. */
export function readFixtureArray(info: FixtureArrayInfo): FixtureArray {
  const bytes = readFileSync(path.join(fixtureDir, info.file));
  const actual = sha256Hex(bytes);
  if (actual !== info.sha256) throw new Error(`${info.file}: sha256 ${actual} differs from the manifest's ${info.sha256}`);
  const count = info.shape.reduce((a, b) => a * b, 1);
  const aligned = new Uint8Array(bytes).buffer; // a fresh, aligned copy
  const array =
    info.dtype === 'float32'
      ? new Float32Array(aligned)
      : info.dtype === 'int32'
        ? new Int32Array(aligned)
        : new Uint8Array(aligned);
  if (array.length !== count) throw new Error(`${info.file}: ${array.length} elements, shape says ${count}`);
  return array;
}

export function float32(info: FixtureArrayInfo): Float32Array {
  const a = readFixtureArray(info);
  if (!(a instanceof Float32Array)) throw new Error(`${info.file} is ${info.dtype}, expected float32`);
  return a;
}

export function int32(info: FixtureArrayInfo): Int32Array {
  const a = readFixtureArray(info);
  if (!(a instanceof Int32Array)) throw new Error(`${info.file} is ${info.dtype}, expected int32`);
  return a;
}

/** A case's inputs named pixel_values or pixel_values_<k>, in index order, as engine images. */
export function caseImages(c: FixtureCase): { pixels: Float32Array; height: number; width: number }[] {
  return Object.keys(c.inputs)
    .filter((n) => /^pixel_values(_\d+)?$/.test(n))
    .sort((a, b) => Number(a.split('_')[2] ?? 0) - Number(b.split('_')[2] ?? 0))
    .map((n) => {
      const [, height, width] = c.inputs[n].shape;
      return { pixels: float32(c.inputs[n]), height, width };
    });
}

/** The JSON objects among a case's notes (e.g. {"hf_grid_hw": [11, 16], ...}), merged. */
export function jsonNotes(fixtureCase: FixtureCase): Record<string, unknown> {
  const merged: Record<string, unknown> = {};
  for (const note of fixtureCase.notes ?? []) {
    if (!note.trimStart().startsWith('{')) continue;
    Object.assign(merged, JSON.parse(note) as Record<string, unknown>);
  }
  return merged;
}

/** Largest |got − want| and whether every element is within atol + rtol·|want|. */
export function compareArrays(
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  atol: number,
  rtol = 0,
): { maxAbs: number; worstIndex: number; pass: boolean } {
  if (got.length !== want.length) throw new Error(`length ${got.length} differs from the reference's ${want.length}`);
  let maxAbs = 0;
  let worstIndex = -1;
  let pass = true;
  for (let i = 0; i < got.length; i++) {
    const diff = Math.abs(got[i] - want[i]);
    if (diff > maxAbs) {
      maxAbs = diff;
      worstIndex = i;
    }
    if (!(diff <= atol + rtol * Math.abs(want[i]))) pass = false;
  }
  return { maxAbs, worstIndex, pass };
}
