// Test support for the weight loader: writes real safetensors files (8-byte little-endian header
// length, JSON header, data section) and throwaway copies of a model folder that a test corrupts
// on purpose. Nothing is mocked: the engine maps these files exactly as it maps a download.
import { copyFileSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface TensorEntry {
  name: string;
  dtype: string; // "BF16", "F32", ... (written as given, so tests can write unknown ones)
  shape: number[];
  bytes: Uint8Array;
}

/** Header entry as it appears in the file; offsets are relative to the data section. */
export interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

/**
 * A safetensors file from an explicit header and data section, for headers no well-behaved writer
 * would produce (overlaps, offsets past the end). The header is space-padded to 8 bytes, as the
 * reference writer does, so tensor data stays aligned.
 */
export function rawSafetensors(header: Record<string, unknown>, data: Uint8Array): Buffer {
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const head = Buffer.from(json);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(head.length));
  return Buffer.concat([len, head, data]);
}

/** A well-formed safetensors file holding `entries` back to back, in order. */
export function encodeSafetensors(entries: TensorEntry[]): Buffer {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let offset = 0;
  for (const e of entries) {
    header[e.name] = { dtype: e.dtype, shape: e.shape, data_offsets: [offset, offset + e.bytes.length] };
    offset += e.bytes.length;
  }
  return rawSafetensors(header, Buffer.concat(entries.map((e) => e.bytes)));
}

/** Every tensor of a safetensors file, in data order; `bytes` are views into one read of the file. */
export function readSafetensors(file: string): TensorEntry[] {
  const buf = readFileSync(file);
  const headerLength = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + headerLength).toString('utf8')) as Record<string, HeaderEntry>;
  const start = 8 + headerLength;
  return Object.entries(header)
    .filter(([name]) => name !== '__metadata__')
    .sort(([, a], [, b]) => a.data_offsets[0] - b.data_offsets[0])
    .map(([name, h]) => ({
      name,
      dtype: h.dtype,
      shape: h.shape,
      bytes: buf.subarray(start + h.data_offsets[0], start + h.data_offsets[1]),
    }));
}

/** A temporary copy of (some files of) a model folder, removed by dispose(). */
export class ModelFolder {
  private constructor(readonly dir: string) {}

  /** A fresh temp folder holding `files` of `source` (see link). */
  static copyOf(source: string, files: string[]): ModelFolder {
    const folder = ModelFolder.empty();
    for (const f of files) folder.link(f, path.resolve(source, f));
    return folder;
  }

  static empty(): ModelFolder {
    return new ModelFolder(mkdtempSync(path.join(os.tmpdir(), 'pixtral-weights-')));
  }

  path(name: string): string {
    return path.join(this.dir, name);
  }

  /**
   * Makes `name` a copy of the file `from`: a symlink where the platform allows (the fixture weights
   * are 68 MB and a test replaces only the file it breaks), a real copy otherwise.
   */
  link(name: string, from: string): void {
    this.remove(name);
    try {
      symlinkSync(from, this.path(name));
    } catch {
      copyFileSync(from, this.path(name));
    }
  }

  /** Replaces a file; the old one is unlinked first so that a copy can never write through to its source. */
  write(name: string, bytes: Uint8Array | string): void {
    this.remove(name);
    writeFileSync(this.path(name), bytes);
  }

  remove(name: string): void {
    rmSync(this.path(name), { force: true });
  }

  readJson<T = Record<string, unknown>>(name: string): T {
    return JSON.parse(readFileSync(this.path(name), 'utf8')) as T;
  }

  /** Rewrites a JSON file through `edit`, which changes the parsed value in place. */
  editJson<T = Record<string, unknown>>(name: string, edit: (value: T) => void): void {
    const value = this.readJson<T>(name);
    edit(value);
    this.write(name, JSON.stringify(value, null, 2));
  }

  tensors(name: string): TensorEntry[] {
    return readSafetensors(this.path(name));
  }

  /** Rewrites a safetensors file with the entries `edit` returns (drop, add, retype, reshape...). */
  editTensors(name: string, edit: (entries: TensorEntry[]) => TensorEntry[]): void {
    this.write(name, encodeSafetensors(edit(this.tensors(name))));
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
