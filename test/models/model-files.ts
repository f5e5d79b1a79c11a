// Test support for the model manager: small but well-formed checkpoints (real params.json /
// config.json from the tiny fixture, safetensors files whose header matches their length) and hub
// cache trees laid out by hand the way huggingface_hub lays them out (blobs named by sha256,
// relative symlinks in snapshots/, refs/main), independent of the code under test.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { rawSafetensors } from '../engine/model-folder';

export const FIXTURE = '/work/shared/fixtures/pixtral-tiny';

export interface RepoFileContent {
  path: string;
  content: Buffer;
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export function tempDir(prefix: string): string {
  return mkdtempSync(path.join(os.tmpdir(), `pixtral-models-${prefix}-`));
}

/** A valid safetensors file of about `bytes` bytes: one U8 tensor of random data. */
export function safetensors(bytes: number): Buffer {
  const n = Math.max(1, bytes - 128);
  return rawSafetensors({ w: { dtype: 'U8', shape: [n], data_offsets: [0, n] } }, randomBytes(n));
}

const tekken = () => Buffer.from(JSON.stringify({ config: { pattern: '.', version: 'v3' }, vocab: [] }));

/** mistralai/Pixtral-12B-2409's file set, with `weightBytes` of weights. */
export function mistralRepoFiles(weightBytes: number): RepoFileContent[] {
  return [
    { path: 'params.json', content: readFileSync(path.join(FIXTURE, 'params.json')) },
    { path: 'tekken.json', content: tekken() },
    { path: 'consolidated.safetensors', content: safetensors(weightBytes) },
    { path: 'README.md', content: Buffer.from('# not needed by the engine\n') },
  ];
}

/** mistral-community/pixtral-12b's file set: sharded weights with an index, no tekken.json. */
export function hfRepoFiles(shards: number, shardBytes: number): RepoFileContent[] {
  const names = Array.from({ length: shards }, (_, i) => `model-${String(i + 1).padStart(5, '0')}-of-${String(shards).padStart(5, '0')}.safetensors`);
  const index = { metadata: {}, weight_map: Object.fromEntries(names.map((n, i) => [`tensor.${i}`, n])) };
  return [
    { path: 'config.json', content: readFileSync(path.join(FIXTURE, 'hf', 'config.json')) },
    { path: 'model.safetensors.index.json', content: Buffer.from(JSON.stringify(index)) },
    { path: 'tokenizer.json', content: Buffer.from('{"model":{}}') },
    ...names.map((n) => ({ path: n, content: safetensors(shardBytes) })),
  ];
}

/** The tekken.json source repository's files. */
export function tekkenRepoFiles(): RepoFileContent[] {
  return [{ path: 'tekken.json', content: tekken() }, ...mistralRepoFiles(1000).filter((f) => f.path !== 'tekken.json')];
}

/** Writes a repository into a hub cache as huggingface_hub does; returns the snapshot folder. */
export function writeCacheRepo(
  root: string,
  repo: string,
  commit: string,
  files: RepoFileContent[],
  refs: string[] = ['main'],
): string {
  const repoDir = path.join(root, `models--${repo.replace('/', '--')}`);
  const snapshot = path.join(repoDir, 'snapshots', commit);
  mkdirSync(path.join(repoDir, 'blobs'), { recursive: true });
  for (const f of files) {
    const hash = sha256(f.content);
    writeFileSync(path.join(repoDir, 'blobs', hash), f.content);
    const link = path.join(snapshot, f.path);
    mkdirSync(path.dirname(link), { recursive: true });
    symlinkSync(path.relative(path.dirname(link), path.join(repoDir, 'blobs', hash)), link);
  }
  mkdirSync(snapshot, { recursive: true });
  for (const ref of refs) {
    mkdirSync(path.join(repoDir, 'refs'), { recursive: true });
    writeFileSync(path.join(repoDir, 'refs', ref), commit);
  }
  return snapshot;
}

/** A plain model folder (no cache layout). */
export function writeFolder(dir: string, files: RepoFileContent[]): string {
  for (const f of files) {
    mkdirSync(path.dirname(path.join(dir, f.path)), { recursive: true });
    writeFileSync(path.join(dir, f.path), f.content);
  }
  return dir;
}

export function commitHash(seed: string): string {
  return createHash('sha1').update(seed).digest('hex');
}
