// A step of the model as the WebGPU executor receives it: the flat numbers that
// native/src/webgpu_backend.cc serializes from a px::Graph (kNodeFields per node), read back into
// typed nodes. The op and dtype numbers mirror native/src/graph.h and tensor.h; the C++ side
// static_asserts them, so a change there points here.

export const OPS = ['matmul', 'rmsnorm', 'rope', 'attention', 'silu_mul', 'gelu', 'embed', 'set_rows', 'copy', 'sample', 'add_i32', 'cancel_point'] as const;
export type OpName = (typeof OPS)[number];

export const DTYPES = ['f32', 'f16', 'bf16', 'i32', 'q8_0', 'q4_0'] as const;
export type DType = (typeof DTYPES)[number];

/** Block types (tensor.h): 32 values share an f16 scale; q8_0 blocks are 34 bytes, q4_0 18. */
export const BLOCK = 32;
export const blockBytes = (t: DType): number => (t === 'q8_0' ? 34 : t === 'q4_0' ? 18 : 0);
export const isBlock = (t: DType): boolean => blockBytes(t) > 0;

/** The unit a kernel addresses an operand in: bytes of one element, or 1 (a byte) for block types,
 *  whose blocks start on any even byte. */
export const dtypeBytes = (t: DType): number => (isBlock(t) ? 1 : t === 'f16' || t === 'bf16' ? 2 : 4);

/** A [rows, cols] row-major view `offset` bytes into executor buffer `buffer`. */
export interface TensorRef {
  buffer: number;
  offset: number;
  dtype: DType;
  rows: number;
  cols: number;
}

export const rowBytes = (t: TensorRef): number => (isBlock(t.dtype) ? (t.cols / BLOCK) * blockBytes(t.dtype) : t.cols * dtypeBytes(t.dtype));

export interface GraphNode {
  op: OpName;
  heads: number;
  kvHeads: number;
  headDim: number;
  eps: number;
  /** RoPE pairs (2i, 2i+1) (Mistral layout) or (i, i + hd/2) (transformers layout). */
  interleaved: boolean;
  accumulate: boolean;
  step: number;
  dst?: TensorRef;
  /** src[0..3]; undefined where the node has none. */
  src: (TensorRef | undefined)[];
}

const NODE_FIELDS = 8 + 5 * 5;

function tensorAt(f: Float64Array, at: number): TensorRef | undefined {
  if (f[at] === 0) return undefined;
  const dtype = DTYPES[f[at + 2]];
  if (!dtype) throw new Error(`dtype ${f[at + 2]} is not one the webgpu kernels read`);
  return { buffer: f[at], offset: f[at + 1], dtype, rows: f[at + 3], cols: f[at + 4] };
}

export function decodeGraph(fields: Float64Array): GraphNode[] {
  if (fields.length % NODE_FIELDS) throw new Error(`a graph of ${fields.length} numbers is not whole nodes of ${NODE_FIELDS}`);
  const nodes: GraphNode[] = [];
  for (let at = 0; at < fields.length; at += NODE_FIELDS) {
    const op = OPS[fields[at]];
    if (!op) throw new Error(`op ${fields[at]} is not one the webgpu executor runs`);
    nodes.push({
      op,
      heads: fields[at + 1],
      kvHeads: fields[at + 2],
      headDim: fields[at + 3],
      eps: fields[at + 4],
      interleaved: fields[at + 5] === 0,
      accumulate: fields[at + 6] === 1,
      step: fields[at + 7],
      dst: tensorAt(fields, at + 8),
      src: [0, 1, 2, 3].map((k) => tensorAt(fields, at + 13 + 5 * k)),
    });
  }
  return nodes;
}
