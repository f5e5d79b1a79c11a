// WebGPU speed at Pixtral 12B's decoder shapes (dim 5120, 32 heads x 128, 8 KV heads, hidden 14336)
// on whatever adapter Dawn finds here — a software one included, so the table exists on every
// machine (CI, laptops without a GPU); the adapter's name says which it was. From one process run:
//  * copy: device-to-device buffer copies (copyBufferToBuffer), bytes copied per second; the memory
//    traffic is twice that (each byte read once, written once), the ceiling a weight stream meets;
//  * matvec: the decode matmul (T = 1) alone on each matrix of one decoder layer, bf16, q8_0 and
//    q4_0 weights resident on the device, run through the executor exactly as the engine runs it;
//    the layer's time is the sum, the 40-layer figure scales it (matrices only: no attention, head);
//  * decode: the whole engine (src/engine/native) decoding greedily on a synthetic bf16 model of N
//    such layers with a smaller vocabulary (test/bench/synthetic-model.ts), tok/s and the weight
//    GB/s it streams; the 40-layer, 131072-vocabulary figure is the full model's bytes at that GB/s.
// Copy is sampled before and after the rest; the table shows the best of each (interference from
// other processes only ever adds time).
//
// Run:  npm run bench:webgpu [-- --layers N=2 --tokens M=8 --vocab V=32768 --repeat R=5 --quick]
// Prints a markdown table (adapter, batch 1, prompt length, tok/s and GB/s). Progress goes to stderr.
import os from 'node:os';
import path from 'node:path';
import { loadNative } from '../../src/engine/native';
import { openGpuDevice } from '../../src/engine/webgpu/device';
import { createWebGpuExecutor, type WebGpuExecutor } from '../../src/engine/webgpu/executor';
import { blockBytes, BLOCK, DTYPES, type DType } from '../../src/engine/webgpu/graph';
import { mulberry32 } from '../support/random';
import { ensureSyntheticModel, PIXTRAL_12B, randomBf16Pattern, weightBytes, type ModelShape } from './synthetic-model';

interface Options {
  layers: number;
  tokens: number;
  vocab: number;
  repeat: number;
  quick: boolean;
}

function parseArgs(argv: string[]): Options {
  const quick = argv.includes('--quick');
  const o: Options = quick ? { layers: 1, tokens: 4, vocab: 8192, repeat: 3, quick } : { layers: 2, tokens: 8, vocab: 32768, repeat: 5, quick };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') continue;
    if (a === '--help' || a === '-h') {
      console.log('usage: npm run bench:webgpu -- [--layers N=2] [--tokens M=8] [--vocab V=32768] [--repeat R=5] [--quick]');
      process.exit(0);
    }
    const n = Number(argv[++i]);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`${a} needs a positive integer, got ${argv[i]}`);
    if (a === '--layers') o.layers = n;
    else if (a === '--tokens') o.tokens = n;
    else if (a === '--vocab') o.vocab = n;
    else if (a === '--repeat') o.repeat = n;
    else throw new Error(`unknown flag ${a} (try --help)`);
  }
  return o;
}

const log = (line: string): void => void process.stderr.write(`# ${line}\n`);
const now = (): number => performance.now();
const GB = 1e9;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const f = (x: number, digits = 1): string => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');

// ---- copy bandwidth ---------------------------------------------------------------------------

/** Bytes copied per second between two device buffers of `bytes` (best of `repeat`, 4 copies each). */
async function copyBandwidth(device: GPUDevice, bytes: number, repeat: number): Promise<number> {
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
  const a = device.createBuffer({ size: bytes, usage }), b = device.createBuffer({ size: bytes, usage });
  const copies = 4;
  const run = async (): Promise<number> => {
    const encoder = device.createCommandEncoder();
    for (let i = 0; i < copies; i++) encoder.copyBufferToBuffer(i % 2 ? b : a, 0, i % 2 ? a : b, 0, bytes);
    const t = now();
    device.queue.submit([encoder.finish()]);
    await device.queue.onSubmittedWorkDone();
    return (now() - t) / 1000;
  };
  await run(); // first touch of both buffers
  const times: number[] = [];
  for (let i = 0; i < repeat; i++) times.push(await run());
  a.destroy();
  b.destroy();
  return (copies * bytes) / Math.min(...times);
}

// ---- one matvec through the executor ------------------------------------------------------------

/** One decoder layer's matrices [rows, cols] and how many of each (wk, wv; w1, w3). */
function layerMatrices(s: ModelShape): { name: string; rows: number; cols: number; count: number }[] {
  const Q = s.nHeads * s.headDim, KV = s.nKvHeads * s.headDim;
  return [
    { name: 'wq', rows: Q, cols: s.dim, count: 1 },
    { name: 'wk, wv', rows: KV, cols: s.dim, count: 2 },
    { name: 'wo', rows: s.dim, cols: Q, count: 1 },
    { name: 'w1, w3', rows: s.hiddenDim, cols: s.dim, count: 2 },
    { name: 'w2', rows: s.dim, cols: s.hiddenDim, count: 1 },
  ];
}

const matrixBytes = (dtype: DType, rows: number, cols: number): number => (dtype === 'bf16' ? 2 * rows * cols : (rows * cols * blockBytes(dtype)) / BLOCK);

/** Random weights in `dtype`'s byte layout: bf16 patterns of trained magnitude; blocks with a
 *  fixed fp16 scale (0.002) and random quants. */
function randomWeights(dtype: DType, bytes: number, seed: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(Math.ceil(bytes / 4) * 4);
  if (dtype === 'bf16') {
    const pattern = new Uint8Array(randomBf16Pattern(1 << 20, seed).buffer);
    for (let at = 0; at < bytes; at += pattern.length) out.set(pattern.subarray(0, Math.min(pattern.length, bytes - at)), at);
    return out;
  }
  const r = mulberry32(seed);
  for (let i = 0; i < bytes; i++) out[i] = (r() * 256) | 0;
  const bb = blockBytes(dtype);
  for (let at = 0; at < bytes; at += bb) [out[at], out[at + 1]] = [0x18, 0x18]; // fp16 0x1818 = 0.0019
  return out;
}

const MATMUL = 0; // Op::MatMul (graph.ts OPS)
const NODE_HEADER = 8;

/** Serialized graph node (webgpu_backend.h's layout): y[1, N] = x[1, K] @ w[N, K]^T. */
function matvecNode(y: number, x: number, w: number, dtype: DType, N: number, K: number): Float64Array {
  const tensor = (id: number, dt: DType, rows: number, cols: number): number[] => [id, 0, DTYPES.indexOf(dt), rows, cols];
  const none = [0, 0, 0, 0, 0];
  return Float64Array.from([MATMUL, ...Array<number>(NODE_HEADER - 1).fill(0), ...tensor(y, 'f32', 1, N), ...tensor(x, 'f32', 1, K), ...tensor(w, dtype, N, K), ...none, ...none]);
}

let nextGraph = 1;

/** Seconds per matvec: `repeat` rounds of 8 back-to-back submits, each round waited for by a 4-byte read. */
async function timeMatvec(ex: WebGpuExecutor, dtype: DType, rows: number, cols: number, repeat: number): Promise<number> {
  const [y, x, w] = [1, 2, 3];
  const bytes = matrixBytes(dtype, rows, cols);
  await ex.alloc(w, bytes, bytes / rows);
  await ex.alloc(x, 4 * cols, 0);
  await ex.alloc(y, 4 * rows, 0);
  try {
    for (let at = 0, chunk = 64 << 20; at < bytes; at += chunk) {
      const data = randomWeights(dtype, Math.min(chunk, bytes - at), at + 1);
      await ex.write(w, at, data);
    }
    const xs = Float32Array.from({ length: cols }, (_, i) => Math.sin(i));
    await ex.write(x, 0, new Uint8Array(xs.buffer));
    const graph = nextGraph++;
    await ex.run(graph, matvecNode(y, x, w, dtype, rows, cols), true);
    await ex.read(y, 0, 4);
    const perRound = 8;
    const times: number[] = [];
    for (let r = 0; r < repeat; r++) {
      const t = now();
      for (let i = 0; i < perRound; i++) await ex.run(graph, null, true);
      await ex.read(y, 0, 4);
      times.push((now() - t) / 1000 / perRound);
    }
    ex.forget(graph);
    return median(times);
  } finally {
    for (const id of [w, x, y]) ex.free(id);
  }
}

// ---- the engine's decode ------------------------------------------------------------------------

async function engineDecode(o: Options, shape: ModelShape): Promise<{ name: string; stepSeconds: number; promptTokens: number }> {
  // One vision layer: the config needs one; decode never runs it.
  const variant = { name: `L${o.layers}-V1`, layers: o.layers, visionLayers: 1 };
  const largest: ModelShape = { ...shape, nLayers: o.layers, vision: { ...shape.vision, layers: 1 } };
  // Its own prefix: ensureSyntheticModel deletes other files of the same prefix (bench:cpu's).
  const model = ensureSyntheticModel(path.resolve(__dirname, '..', '..', '.bench'), 'webgpu-synthetic', largest, [variant], log);
  const executor = await createWebGpuExecutor({ allowSoftwareAdapter: true });
  const engine = new (loadNative().Engine)();
  try {
    let t = now();
    await engine.load(model.dirs[variant.name], { backend: 'webgpu', webgpu: executor, contextLength: 256 });
    log(`engine on ${engine.backend}: loaded ${variant.name} in ${f(now() - t, 0)} ms`);
    const promptTokens = 16;
    const r = mulberry32(3);
    await engine.prefill(Int32Array.from({ length: promptTokens }, () => 1000 + Math.floor(r() * (o.vocab - 1000))));
    const stamps: number[] = [];
    t = now();
    // The first token comes from the prefill's logits; each later one costs one forward pass.
    await engine.generate({ maxTokens: o.tokens + 1, temperature: 0, stopIds: [] }, () => void stamps.push(now()));
    const steps = stamps.slice(1).map((s, k) => (s - stamps[k]) / 1000);
    log(`decode steps: ${steps.map((s) => `${f(s * 1000, 0)} ms`).join(', ')}`);
    return { name: engine.backend ?? 'webgpu', stepSeconds: median(steps.slice(1)), promptTokens }; // the first step builds the graph
  } finally {
    engine.unload();
    executor.destroy();
  }
}

// ---- main -------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const loadBefore = os.loadavg()[0]; // a software adapter shares the CPUs with everything else
  const shape: ModelShape = { ...PIXTRAL_12B, vocabSize: o.vocab };
  const probe = await openGpuDevice({ allowSoftwareAdapter: true });
  const copyBytes = Math.min(256 << 20, probe.device.limits.maxBufferSize);
  const copies = [await copyBandwidth(probe.device, copyBytes, o.repeat)];
  log(`${probe.name}: copy ${f(copies[0] / GB, 2)} GB/s (buffers of ${copyBytes >> 20} MiB)`);

  const matvecs: { dtype: DType; layerSeconds: number; layerBytes: number; rows: string[] }[] = [];
  const ex = await createWebGpuExecutor({ allowSoftwareAdapter: true });
  try {
    for (const dtype of ['bf16', 'q8_0', 'q4_0'] as DType[]) {
      let layerSeconds = 0, layerBytes = 0;
      const rows: string[] = [];
      for (const m of layerMatrices(shape)) {
        const s = await timeMatvec(ex, dtype, m.rows, m.cols, o.repeat);
        const bytes = matrixBytes(dtype, m.rows, m.cols);
        layerSeconds += m.count * s;
        layerBytes += m.count * bytes;
        rows.push(`| matvec ${dtype} ${m.name} [${m.rows}, ${m.cols}] | ${f(s * 1000, 2)} ms | ${f(bytes / s / GB, 2)} GB/s |`);
        log(rows[rows.length - 1]);
      }
      matvecs.push({ dtype, layerSeconds, layerBytes, rows });
    }
  } finally {
    ex.destroy();
  }

  const decode = await engineDecode(o, shape);
  copies.push(await copyBandwidth(probe.device, copyBytes, o.repeat));
  probe.destroy();
  const copy = Math.max(...copies);
  const wb = weightBytes(shape), full = weightBytes(PIXTRAL_12B);
  const tokenBytes = o.layers * wb.decoderLayer + wb.decodeFixed;
  const decodeRate = tokenBytes / decode.stepSeconds;
  const ofCopy = (rate: number): string => `${f((100 * rate) / (2 * copy), 0)}%`;

  const lines = [
    `## WebGPU decode, ${new Date().toISOString().slice(0, 10)}`,
    '',
    `adapter: ${decode.name}; host: ${os.cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${os.cpus().length} cores, load average ${f(loadBefore, 2)} at the start; batch 1`,
    `copy: ${f(copy / GB, 2)} GB/s copied (${f((2 * copy) / GB, 2)} GB/s of traffic; samples ${copies.map((c) => f(c / GB, 2)).join(', ')}); "of copy" below = weight bytes read / copy traffic`,
    '',
    '| measurement | time | tok/s | weight GB/s | of copy |',
    '|---|---|---|---|---|',
    `| engine decode, ${o.layers} layer(s) bf16 + head (vocab ${o.vocab}), prompt ${decode.promptTokens} | ${f(decode.stepSeconds * 1000, 1)} ms/token | ${f(1 / decode.stepSeconds, 2)} | ${f(decodeRate / GB, 2)} | ${ofCopy(decodeRate)} |`,
    `| engine decode, full 12B bf16 (40 layers, vocab 131072) at that GB/s | ${f(((40 * full.decoderLayer + full.decodeFixed) / decodeRate) * 1000, 0)} ms/token | ${f(decodeRate / (40 * full.decoderLayer + full.decodeFixed), 3)} | | |`,
    ...matvecs.map(
      (m) =>
        `| decoder-layer matvecs ${m.dtype} (${f(m.layerBytes / GB, 3)} GB per layer), x40 | ${f(m.layerSeconds * 40 * 1000, 0)} ms/token | ${f(1 / (40 * m.layerSeconds), 3)} | ${f(m.layerBytes / m.layerSeconds / GB, 2)} | ${ofCopy(m.layerBytes / m.layerSeconds)} |`,
    ),
    '',
    '| matrix (T = 1) | time | weight GB/s |',
    '|---|---|---|',
    ...matvecs.flatMap((m) => m.rows),
  ];
  console.log(lines.join('\n'));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
