// Reads a golden-fixture folder (schema: ../shared/fixtures/README.md) generically from its
// manifest.json, so the same suite runs on any folder of that schema. Every array's sha256 is
// checked before use.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';

export interface ArraySpec {
  file: string;
  dtype: 'float32' | 'int32' | 'uint8';
  shape: number[];
  sha256: string;
  image?: string;
}

export interface Tolerance {
  atol?: number;
  rtol?: number;
  logit_atol?: number;
}

export interface CaseSpec {
  description: string;
  inputs: Record<string, ArraySpec>;
  outputs: Record<string, ArraySpec>;
  tolerance: { fp32_engine: Tolerance; bf16_engine?: Tolerance; rule?: string; note?: string };
  notes?: string[];
}

export interface Manifest {
  model: string;
  special_tokens: Record<string, number>;
  cases: Record<string, CaseSpec>;
  cross_checks?: Record<string, unknown>;
}

export type AnyArray = Float32Array | Int32Array | Uint8Array;

export const fixturesDir = path.resolve(
  process.env.PIXTRAL_FIXTURES ?? path.join(__dirname, '..', '..', '..', 'shared', 'fixtures', 'pixtral-tiny'),
);

export function readManifest(dir = fixturesDir): Manifest {
  return JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as Manifest;
}

export function readArray(spec: ArraySpec, dir = fixturesDir): AnyArray {
  const bytes = readFileSync(path.join(dir, spec.file));
  const digest = createHash('sha256').update(bytes).digest('hex');
  if (digest !== spec.sha256) throw new Error(`${spec.file}: sha256 ${digest} does not match the manifest`);
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  const count = spec.shape.reduce((a, b) => a * b, 1);
  const array =
    spec.dtype === 'float32' ? new Float32Array(buffer) : spec.dtype === 'int32' ? new Int32Array(buffer) : new Uint8Array(buffer);
  if (array.length !== count) throw new Error(`${spec.file}: ${array.length} elements, shape says ${count}`);
  return array;
}

export function float32(spec: ArraySpec, dir = fixturesDir): Float32Array {
  const a = readArray(spec, dir);
  if (!(a instanceof Float32Array)) throw new Error(`${spec.file} is ${spec.dtype}, expected float32`);
  return a;
}

export function int32(spec: ArraySpec, dir = fixturesDir): Int32Array {
  const a = readArray(spec, dir);
  if (!(a instanceof Int32Array)) throw new Error(`${spec.file} is ${spec.dtype}, expected int32`);
  return a;
}

/** Element-wise |got - ref| <= atol + rtol*|ref|; returns the worst error and where it is. */
export function compare(got: ArrayLike<number>, ref: ArrayLike<number>, atol: number, rtol = 0) {
  if (got.length !== ref.length) throw new Error(`length ${got.length} != reference ${ref.length}`);
  let maxAbs = 0;
  let worstExcess = -Infinity;
  let worstIndex = -1;
  for (let i = 0; i < ref.length; i++) {
    const err = Math.abs(got[i] - ref[i]);
    if (!(err <= Infinity)) return { maxAbs: NaN, ok: false, worstIndex: i };
    maxAbs = Math.max(maxAbs, err);
    const excess = err - (atol + rtol * Math.abs(ref[i]));
    if (excess > worstExcess) {
      worstExcess = excess;
      worstIndex = i;
    }
  }
  return { maxAbs, ok: worstExcess <= 0, worstIndex };
}
