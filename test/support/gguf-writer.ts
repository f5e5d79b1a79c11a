// Writes GGUF files (llama.cpp's model format, version 3), for the tests and the benchmark that run
// the same weights through our engine and through llama.cpp (node-llama-cpp): header, typed
// key/value metadata, tensor infos, then the tensor data, each tensor at a multiple of
// general.alignment (32). Tensor data is streamed from Buffers or from byte ranges of other files,
// so a 13 GB model is written without holding it in memory.
//
// Layout (little-endian): "GGUF" u32 version=3, u64 n_tensors, u64 n_kv; n_kv × (string key,
// u32 type, value); n_tensors × (string name, u32 n_dims, u64 ne[n_dims] (innermost first), u32
// ggml type, u64 offset into the data section); padding; data. A string is u64 length + UTF-8.
import { closeSync, fsyncSync, openSync, readSync, renameSync, writeSync } from 'node:fs';

/** ggml tensor types this writer emits (ggml.h numbering); Q4_K only as bytes given to it (tests
 * of a type the engine does not read). */
export const GgmlType = { F32: 0, F16: 1, Q4_0: 2, Q8_0: 8, Q4_K: 12, BF16: 30 } as const;
export type GgmlTypeId = (typeof GgmlType)[keyof typeof GgmlType];

/** Bytes per block and values per block of each type. */
const TYPE_SIZE: Record<number, { block: number; bytes: number }> = {
  [GgmlType.F32]: { block: 1, bytes: 4 },
  [GgmlType.F16]: { block: 1, bytes: 2 },
  [GgmlType.BF16]: { block: 1, bytes: 2 },
  [GgmlType.Q8_0]: { block: 32, bytes: 34 },
  [GgmlType.Q4_0]: { block: 32, bytes: 18 },
  [GgmlType.Q4_K]: { block: 256, bytes: 144 },
};

export const ALIGNMENT = 32;

export type GgufValue =
  | { type: 'u32'; value: number }
  | { type: 'i32'; value: number }
  | { type: 'f32'; value: number }
  | { type: 'bool'; value: boolean }
  | { type: 'string'; value: string }
  | { type: 'strings'; value: string[] }
  | { type: 'i32s'; value: Int32Array | number[] }
  | { type: 'f32s'; value: Float32Array | number[] };

/** Where a tensor's bytes come from: a buffer, or `bytes` bytes of `path` starting at `offset`. */
export type TensorSource = Buffer | { path: string; offset: number; bytes: number } | ((write: (chunk: Buffer) => void) => void);

export interface GgufTensor {
  name: string;
  /** Row-major shape, outermost first (PyTorch order); GGUF stores it reversed. */
  shape: number[];
  type: GgmlTypeId;
  source: TensorSource;
}

/** Bytes of a tensor of this shape and type. */
export function tensorBytes(shape: number[], type: GgmlTypeId): number {
  const { block, bytes } = TYPE_SIZE[type];
  const inner = shape[shape.length - 1];
  if (inner % block) throw new Error(`a row of ${inner} values is not a whole number of ${block}-value blocks`);
  return (shape.reduce((a, b) => a * b, 1) / block) * bytes;
}

class Encoder {
  private readonly parts: Buffer[] = [];
  size = 0;
  private push(b: Buffer): void {
    this.parts.push(b);
    this.size += b.length;
  }
  u32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    this.push(b);
  }
  i32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeInt32LE(v);
    this.push(b);
  }
  u64(v: number): void {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    this.push(b);
  }
  f32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeFloatLE(v);
    this.push(b);
  }
  string(s: string): void {
    const b = Buffer.from(s, 'utf8');
    this.u64(b.length);
    this.push(b);
  }
  raw(b: Buffer): void {
    this.push(b);
  }
  bytes(): Buffer {
    return Buffer.concat(this.parts);
  }
}

// GGUF value type ids.
const T = { UINT32: 4, INT32: 5, FLOAT32: 6, BOOL: 7, STRING: 8, ARRAY: 9 };

function encodeValue(e: Encoder, v: GgufValue): void {
  switch (v.type) {
    case 'u32':
      e.u32(T.UINT32);
      return e.u32(v.value);
    case 'i32':
      e.u32(T.INT32);
      return e.i32(v.value);
    case 'f32':
      e.u32(T.FLOAT32);
      return e.f32(v.value);
    case 'bool':
      e.u32(T.BOOL);
      return e.raw(Buffer.from([v.value ? 1 : 0]));
    case 'string':
      e.u32(T.STRING);
      return e.string(v.value);
    case 'strings':
      e.u32(T.ARRAY);
      e.u32(T.STRING);
      e.u64(v.value.length);
      for (const s of v.value) e.string(s);
      return;
    case 'i32s': {
      e.u32(T.ARRAY);
      e.u32(T.INT32);
      e.u64(v.value.length);
      const a = Int32Array.from(v.value);
      return e.raw(Buffer.from(a.buffer, a.byteOffset, a.byteLength));
    }
    case 'f32s': {
      e.u32(T.ARRAY);
      e.u32(T.FLOAT32);
      e.u64(v.value.length);
      const a = Float32Array.from(v.value);
      return e.raw(Buffer.from(a.buffer, a.byteOffset, a.byteLength));
    }
  }
}

/** Header, metadata and tensor infos, padded so the data section starts aligned. */
function encodeHeader(metadata: [string, GgufValue][], tensors: GgufTensor[]): { header: Buffer; offsets: number[] } {
  const e = new Encoder();
  e.raw(Buffer.from('GGUF', 'ascii'));
  e.u32(3);
  e.u64(tensors.length);
  e.u64(metadata.length + 1);
  e.string('general.alignment');
  encodeValue(e, { type: 'u32', value: ALIGNMENT });
  for (const [key, value] of metadata) {
    e.string(key);
    encodeValue(e, value);
  }
  const offsets: number[] = [];
  let offset = 0;
  for (const t of tensors) {
    e.string(t.name);
    e.u32(t.shape.length);
    for (const d of [...t.shape].reverse()) e.u64(d);
    e.u32(t.type);
    e.u64(offset);
    offsets.push(offset);
    offset = Math.ceil((offset + tensorBytes(t.shape, t.type)) / ALIGNMENT) * ALIGNMENT;
  }
  e.raw(Buffer.alloc((ALIGNMENT - (e.size % ALIGNMENT)) % ALIGNMENT));
  return { header: e.bytes(), offsets };
}

const COPY_CHUNK = 64 << 20;

/** Writes `path` (through a temporary name, fsynced, renamed: a complete file or none). */
export function writeGguf(path: string, metadata: [string, GgufValue][], tensors: GgufTensor[]): void {
  const { header, offsets } = encodeHeader(metadata, tensors);
  const partial = `${path}.partial`;
  const fd = openSync(partial, 'w');
  try {
    let at = 0;
    const write = (b: Buffer): void => {
      let done = 0;
      while (done < b.length) done += writeSync(fd, b, done, b.length - done);
      at += b.length;
    };
    write(header);
    const dataStart = header.length;
    let chunk: Buffer | undefined;
    tensors.forEach((t, i) => {
      write(Buffer.alloc(dataStart + offsets[i] - at));
      const expected = tensorBytes(t.shape, t.type);
      const before = at;
      const src = t.source;
      if (Buffer.isBuffer(src)) write(src);
      else if (typeof src === 'function') src(write);
      else {
        chunk ??= Buffer.allocUnsafe(COPY_CHUNK);
        const input = openSync(src.path, 'r');
        try {
          for (let done = 0; done < src.bytes; ) {
            const n = readSync(input, chunk, 0, Math.min(COPY_CHUNK, src.bytes - done), src.offset + done);
            if (n <= 0) throw new Error(`${src.path} ends before byte ${src.offset + src.bytes}`);
            write(chunk.subarray(0, n));
            done += n;
          }
        } finally {
          closeSync(input);
        }
      }
      if (at - before !== expected) throw new Error(`tensor ${t.name}: wrote ${at - before} bytes, its shape and type need ${expected}`);
    });
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(partial, path);
}
