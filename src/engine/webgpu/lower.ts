/// <reference types="@webgpu/types" />
// Each graph node as the dispatches that compute it (graph.h gives every op's semantics): which
// kernel variant, which bytes each operand is bound to, the parameters and the workgroup grid.
// Operands too large for one binding are split by rows where the op allows (matmul weights, embed
// tables); scratch the kernels need (attention's split partials, the sampler's weights) is
// created here and released with the program.
import { BLOCK, isBlock, type GraphNode, type TensorRef } from './graph';
import type { BufferTable, Span } from './buffers';
import type { Bound, DispatchSpec } from './program';
import { combine, flash, split, SPLIT_KEYS } from './kernels/attention';
import { addI32, copy, gelu, siluMul } from './kernels/elementwise';
import { matvec, matvecBlocks, tiled } from './kernels/matmul';
import { rmsnorm } from './kernels/rmsnorm';
import { rope } from './kernels/rope';
import { embed, setRows, setRowsQ8 } from './kernels/rows';
import { sample } from './kernels/sample';

export interface LowerContext {
  buffers: BufferTable;
  maxGroups: number;
  /** Threads of the sampler's one workgroup (sampleThreads() for the device). */
  sampleThreads: number;
  /** A zeroed device buffer of `bytes` owned by the program being built. */
  scratch(bytes: number): Span;
}

/** Most rows a matvec dispatch takes together (its per-thread accumulators). */
const MATVEC_ROWS = 8;
/** Most query rows attention runs as split-KV decode rather than one thread per query. */
const SPLIT_QUERIES = 4;

/** A 1D count of workgroups laid out in x, then y (kernels read it back with flat_group()). */
function grid(ctx: LowerContext, groups: number): [number, number, number] {
  const x = Math.min(Math.max(groups, 1), ctx.maxGroups);
  return [x, Math.ceil(Math.max(groups, 1) / x), 1];
}

const need = (t: TensorRef | undefined, op: string, role: string): TensorRef => {
  if (!t) throw new Error(`${op}: no ${role} tensor`);
  return t;
};

export function lowerNode(ctx: LowerContext, n: GraphNode): DispatchSpec[] {
  const bound = (t: TensorRef, r0 = 0, rows = t.rows): Bound => ({ span: ctx.buffers.span(t, r0, rows), dtype: t.dtype });
  const dst = (role: string) => need(n.dst, n.op, role);
  const src = (i: number, role: string) => need(n.src[i], n.op, role);
  const numel = (t: TensorRef) => t.rows * t.cols;
  switch (n.op) {
    case 'matmul': {
      const y = dst('output'), x = src(0, 'input'), w = src(1, 'weight'), bias = n.src[2];
      const T = x.rows, K = x.cols;
      return ctx.buffers.rowWindows(w).map(([r0, rows]) => {
        const wb = bound(w, r0, rows);
        const words = w.dtype !== 'f32' && K % 2 === 0 && wb.span.start % 4 === 0;
        const operands: Record<string, Bound> = { y: bound(y), x: bound(x), w: wb, ...(bias ? { bias: bound(bias) } : {}) };
        const params = { t: T, k: K, cols: rows, n0: r0, ldy: w.rows, has_bias: bias ? 1 : 0, accumulate: n.accumulate ? 1 : 0 };
        if (T <= MATVEC_ROWS) {
          const kernel = isBlock(w.dtype) ? matvecBlocks(T, w.dtype === 'q4_0', !!bias) : matvec(T, words, w.dtype === 'bf16', !!bias);
          return { kernel, operands, params, groups: grid(ctx, Math.ceil(rows / 8)) };
        }
        return { kernel: tiled(!!bias), operands, params, groups: [Math.ceil(rows / 64), Math.ceil(T / 64), 1] };
      });
    }
    case 'rmsnorm': {
      const y = dst('output'), x = src(0, 'input');
      return [
        { kernel: rmsnorm, operands: { y: bound(y), x: bound(x), w: bound(src(1, 'weight')) }, params: { rows: x.rows, d: x.cols, eps: n.eps }, groups: grid(ctx, x.rows) },
      ];
    }
    case 'rope': {
      const x = dst('x'), table = src(0, 'table');
      const pairs = numel(x) / 2;
      return [
        {
          kernel: rope(n.interleaved),
          operands: { x: bound(x), table: bound(table), pos: bound(src(1, 'positions')) },
          params: { pairs, heads: n.heads, hd: n.headDim, positions: table.rows },
          groups: grid(ctx, Math.ceil(pairs / 256)),
        },
      ];
    }
    case 'attention':
      return attention(ctx, n, bound);
    case 'silu_mul': {
      const y = dst('output');
      return [{ kernel: siluMul, operands: { y: bound(y), gate: bound(src(0, 'gate')), up: bound(src(1, 'up')) }, params: { n: numel(y) }, groups: grid(ctx, Math.ceil(numel(y) / 256)) }];
    }
    case 'gelu':
    case 'copy': {
      const y = dst('output');
      return [{ kernel: n.op === 'gelu' ? gelu : copy, operands: { y: bound(y), x: bound(src(0, 'input')) }, params: { n: numel(y) }, groups: grid(ctx, Math.ceil(numel(y) / 256)) }];
    }
    case 'embed': {
      const y = dst('output'), table = src(0, 'table'), ids = src(1, 'ids');
      return ctx.buffers.rowWindows(table).map(([r0, rows]) => ({
        kernel: embed,
        operands: { y: bound(y), table: bound(table, r0, rows), ids: bound(ids) },
        params: { n: numel(y), cols: y.cols, row0: r0, rows },
        groups: grid(ctx, Math.ceil(numel(y) / 256)),
      }));
    }
    case 'set_rows': {
      const to = dst('destination'), from = src(0, 'source');
      const operands = { dst: bound(to), src: bound(from), index: bound(src(1, 'index')) };
      // A q8_0 cache is written a block per thread (the block's scale depends on all 32 values).
      const q8 = to.dtype === 'q8_0';
      const n = q8 ? numel(from) / BLOCK : numel(from);
      return [{ kernel: q8 ? setRowsQ8 : setRows, operands, params: { n, cols: q8 ? from.cols / BLOCK : from.cols, rows: to.rows }, groups: grid(ctx, Math.ceil(n / 256)) }];
    }
    case 'sample': {
      const logits = src(0, 'logits');
      return [
        {
          kernel: sample(logits.cols, ctx.sampleThreads),
          operands: { token: bound(dst('token')), logits: bound(logits), state: bound(src(1, 'state')), w: { span: ctx.scratch(logits.cols * 4), dtype: 'f32' } },
          params: { v: logits.cols },
          groups: [1, 1, 1],
        },
      ];
    }
    case 'add_i32': {
      const x = dst('x');
      return [{ kernel: addI32, operands: { x: bound(x) }, params: { n: numel(x), step: n.step }, groups: grid(ctx, Math.ceil(numel(x) / 256)) }];
    }
    case 'cancel_point':
      return []; // the native side checks cancellation when a run starts
  }
}

function attention(ctx: LowerContext, n: GraphNode, bound: (t: TensorRef) => Bound): DispatchSpec[] {
  const out = need(n.dst, n.op, 'output'), q = need(n.src[0], n.op, 'q'), k = need(n.src[1], n.op, 'k'), v = need(n.src[2], n.op, 'v');
  const pos = n.src[3];
  const H = n.heads, hd = n.headDim, group = H / n.kvHeads;
  const operands: Record<string, Bound> = { q: bound(q), k: bound(k), v: bound(v), ...(pos ? { pos: bound(pos) } : {}) };
  const shape = { tq: q.rows, tk: k.rows, heads: H, group, causal: pos ? 1 : 0, scale: Math.fround(1 / Math.sqrt(hd)) };
  if (q.rows > SPLIT_QUERIES)
    return [{ kernel: flash(hd, !!pos), operands: { out: bound(out), ...operands }, params: shape, groups: [Math.ceil((q.rows * group) / 64), n.kvHeads, 1] }];
  // Decode: heads of one kv head share a workgroup's key loads, up to 4 of them.
  const hw = [4, 3, 2, 1].find((h) => group % h === 0)!;
  const splits = Math.max(1, Math.ceil(k.rows / SPLIT_KEYS));
  const part: Bound = { span: ctx.scratch(q.rows * H * splits * (hd + 2) * 4), dtype: 'f32' };
  return [
    { kernel: split(hd, hw, !!pos), operands: { part, ...operands }, params: { ...shape, splits }, groups: [splits, (q.rows * H) / hw, 1] },
    { kernel: combine(hd), operands: { out: bound(out), part }, params: { heads: H, splits }, groups: [q.rows * H, 1, 1] },
  ];
}

