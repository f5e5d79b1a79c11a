// `pixtral models verify`: is a model folder intact? The folder check (files, sizes, config,
// tokenizer); then, for files that live in a hub cache, the content hash against the blob's name
// (the blob name *is* the sha256, or the git sha1 for small files), so bit rot or a tampered file
// shows up offline; then, when the caller can load native code, the engine's own inspection.
import { lstat, readdir, readlink, stat } from 'node:fs/promises';
import path from 'node:path';
import { algorithmOfBlobName, hashFile, type HashAlgorithm } from './file-hash';
import { checkModelFolder, type FolderCheck } from './model-folder';
import { throttle, type ProgressCallback } from './progress';

export type EngineCheck =
  | { status: 'ok'; layout: string; tensorCount: number; weightBytes: number }
  | { status: 'failed'; message: string }
  /** The native addon is not built or does not load: tensors were not checked. */
  | { status: 'unavailable'; message: string };

export interface HashCheck {
  file: string;
  algorithm: HashAlgorithm;
  expected: string;
  actual: string;
  ok: boolean;
}

export interface VerifyReport {
  dir: string;
  check: FolderCheck;
  hashes: HashCheck[];
  /** Files with no reference hash (a plain folder, or a cache copy made without symlinks). */
  unhashed: string[];
  engine: EngineCheck | undefined;
  ok: boolean;
}

export interface VerifyOptions {
  /** Hash the files (minutes for 25 GB); default true. */
  hashes?: boolean;
  /** The engine's inspection (see engine-check.ts); omitted where native code must not load. */
  inspect?: (dir: string) => EngineCheck;
  signal?: AbortSignal;
  onProgress?: ProgressCallback;
}

/** The hash a snapshot entry promises: the name of the blob its symlink points to. */
async function referenceHash(file: string): Promise<{ algorithm: HashAlgorithm; hex: string } | undefined> {
  const info = await lstat(file).catch(() => undefined);
  if (!info?.isSymbolicLink()) return undefined;
  const name = path.basename(await readlink(file));
  const algorithm = algorithmOfBlobName(name);
  return algorithm ? { algorithm, hex: name } : undefined;
}

export async function verifyModel(dir: string, options: VerifyOptions = {}): Promise<VerifyReport> {
  const check = await checkModelFolder(dir);
  const hashes: HashCheck[] = [];
  const unhashed: string[] = [];
  if (options.hashes !== false && check.layout) {
    const emit = throttle(options.onProgress);
    const entries = await readdir(dir, { withFileTypes: true });
    for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory() || check.missing.includes(entry.name)) continue;
      const ref = await referenceHash(full);
      if (!ref) {
        unhashed.push(entry.name);
        continue;
      }
      const size = await stat(full).then((s) => s.size, () => undefined);
      if (size === undefined) continue; // a dangling link; the folder check names required files
      let done = 0;
      const actual = await hashFile(full, ref.algorithm, {
        signal: options.signal,
        onBytes: (n) => {
          done += n;
          emit({ phase: 'verifying', file: entry.name, bytesDone: done, bytesTotal: size, bytesPerSecond: 0, etaSeconds: undefined }, done === size);
        },
      });
      hashes.push({ file: entry.name, algorithm: ref.algorithm, expected: ref.hex, actual, ok: actual === ref.hex });
    }
  }
  const engine = check.layout && options.inspect ? options.inspect(dir) : undefined;
  const ok = check.ok && hashes.every((h) => h.ok) && engine?.status !== 'failed';
  return { dir, check, hashes, unhashed, engine, ok };
}
