/// <reference types="@webgpu/types" />
// The executor's buffers: the ids the native backend allocates (webgpu_backend.cc), each one or more
// GPUBuffers. A weight larger than the adapter's largest buffer (the 12B embedding and output head
// are 1.3 GB; some adapters stop at 256 MB) is split into pages at row boundaries. Kernels bind
// windows of a buffer: never more than maxStorageBufferBindingSize, starting at an aligned offset;
// an operand larger than that is split by rows (rowWindows) by the ops that can (matmul, embed).
import { rowBytes, type TensorRef } from './graph';

/** The limits the buffer table works within (a subset of GPUSupportedLimits). */
export interface BufferLimits {
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
  minStorageBufferOffsetAlignment: number;
}

interface Entry {
  pages: GPUBuffer[];
  /** Logical bytes per page (a whole number of rows); every page but the last is full. */
  pageBytes: number;
  bytes: number;
}

/** Bytes [start, start + bytes) of one GPUBuffer: what a kernel operand is bound to. */
export interface Span {
  gpu: GPUBuffer;
  start: number;
  bytes: number;
}

export const roundUp = (n: number, to: number): number => Math.ceil(n / to) * to;

export class BufferTable {
  private readonly entries = new Map<number, Entry>();

  constructor(
    private readonly device: GPUDevice,
    readonly limits: BufferLimits,
  ) {}

  /** Creates buffer `id`; rejects with code ENOMEM when the device cannot hold it. */
  async alloc(id: number, bytes: number, rowBytes: number): Promise<void> {
    const { maxBufferSize } = this.limits;
    let pageBytes = roundUp(Math.max(bytes, 4), 4);
    if (pageBytes > maxBufferSize) {
      // Whole rows per page, a multiple of 4 rows so every page starts on a word.
      const rows = Math.floor(maxBufferSize / Math.max(rowBytes, 1) / 4) * 4;
      if (rowBytes <= 0 || rows === 0)
        throw Object.assign(new Error(`a buffer of ${bytes} bytes exceeds this adapter's largest buffer (${maxBufferSize} bytes)`), { code: 'ENOMEM' });
      pageBytes = rows * rowBytes;
    }
    this.device.pushErrorScope('out-of-memory');
    const pages: GPUBuffer[] = [];
    for (let at = 0; at < Math.max(bytes, 1); at += pageBytes)
      pages.push(this.device.createBuffer({ size: roundUp(Math.max(Math.min(pageBytes, bytes - at), 4), 4), usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST, label: `px${id}` }));
    const error = await this.device.popErrorScope();
    if (error) {
      for (const p of pages) p.destroy();
      throw Object.assign(new Error(`out of GPU memory allocating ${(bytes / 2 ** 20).toFixed(1)} MiB: ${error.message}`), { code: 'ENOMEM' });
    }
    this.entries.set(id, { pages, pageBytes, bytes });
  }

  /** Releases `id`; work already submitted keeps using the memory until it is done. */
  free(id: number): void {
    for (const p of this.entries.get(id)?.pages ?? []) p.destroy();
    this.entries.delete(id);
  }

  destroy(): void {
    for (const id of [...this.entries.keys()]) this.free(id);
  }

  private entry(id: number): Entry {
    const e = this.entries.get(id);
    if (!e) throw new Error(`buffer ${id} does not exist`);
    return e;
  }

  /** The pieces of bytes [offset, offset + bytes) of `id`, one per page they touch. */
  spans(id: number, offset: number, bytes: number): Span[] {
    const e = this.entry(id);
    if (offset + bytes > roundUp(e.bytes, 4)) throw new Error(`bytes [${offset}, ${offset + bytes}) are outside buffer ${id} of ${e.bytes}`);
    const out: Span[] = [];
    for (let at = offset; at < offset + bytes; ) {
      const page = Math.floor(at / e.pageBytes);
      const start = at - page * e.pageBytes;
      const n = Math.min(offset + bytes - at, e.pageBytes - start);
      out.push({ gpu: e.pages[page], start, bytes: n });
      at += n;
    }
    return out;
  }

  /** The one span holding all of `t` (rows [r0, r0 + n) of it); throws when it crosses a page or
   *  exceeds what one binding may hold. */
  span(t: TensorRef, r0 = 0, n = t.rows): Span {
    const parts = this.spans(t.buffer, t.offset + r0 * rowBytes(t), Math.max(n * rowBytes(t), 1));
    const bytes = parts.reduce((a, p) => a + p.bytes, 0);
    if (parts.length !== 1 || bytes + this.limits.minStorageBufferOffsetAlignment > this.limits.maxStorageBufferBindingSize)
      throw Object.assign(new Error(`an operand of ${bytes} bytes exceeds this adapter's largest binding (${this.limits.maxStorageBufferBindingSize} bytes)`), {
        code: 'EUNSUPPORTED',
      });
    return parts[0];
  }

  /** Rows of `t` in pieces that each fit one binding: [first row, rows]. */
  rowWindows(t: TensorRef): [number, number][] {
    const e = this.entry(t.buffer);
    const rb = Math.max(rowBytes(t), 1);
    const perBinding = Math.floor((this.limits.maxStorageBufferBindingSize - this.limits.minStorageBufferOffsetAlignment - 4) / rb);
    if (perBinding < 1) throw Object.assign(new Error(`a row of ${rb} bytes exceeds this adapter's largest binding`), { code: 'EUNSUPPORTED' });
    const out: [number, number][] = [];
    for (let r = 0; r < t.rows; ) {
      const at = t.offset + r * rb;
      const pageEnd = (Math.floor(at / e.pageBytes) + 1) * e.pageBytes;
      const n = Math.min(t.rows - r, perBinding, Math.max(1, Math.floor((pageEnd - at) / rb)));
      out.push([r, n]);
      r += n;
    }
    return out;
  }
}
