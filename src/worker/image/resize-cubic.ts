// Image preprocessing, stage 3: RGB -> the grid's pixel size, with the resize mistral-common uses:
// cv2.resize(float32 RGB, (W, H), interpolation=INTER_CUBIC). That is Keys' cubic with A = −0.75,
// source position sx = (dx + 0.5)·(src/dst) − 0.5, four taps floor(sx)−1 … floor(sx)+2 clamped to
// the image (edge replicate), no antialiasing when shrinking, and a float result that may
// overshoot 0…255. Separable: a horizontal pass over only the source rows that some output row
// reads, then a vertical pass; every tap index and weight is computed once per output column/row.

const A = -0.75;
const CHANNELS = 3;

/** Tap table of one axis: output position d reads source positions index[4d … 4d+3]. */
interface CubicTaps {
  index: Int32Array; // [dst, 4] source position, already clamped to [0, src − 1]
  weight: Float32Array; // [dst, 4]
}

/** Keys' cubic kernel at distance |x| < 2 from the sample. */
function keys(x: number): number {
  const d = Math.abs(x);
  if (d < 1) return ((A + 2) * d - (A + 3)) * d * d + 1;
  return ((A * d - 5 * A) * d + 8 * A) * d - 4 * A;
}

function cubicTaps(srcSize: number, dstSize: number): CubicTaps {
  const index = new Int32Array(dstSize * 4);
  const weight = new Float32Array(dstSize * 4);
  // OpenCV's step is the reciprocal of dst/src in double; the position is then rounded to float.
  const step = 1 / (dstSize / srcSize);
  for (let d = 0; d < dstSize; d++) {
    const position = Math.fround((d + 0.5) * step - 0.5);
    const left = Math.floor(position);
    const t = Math.fround(position - left); // in [0, 1)
    const w0 = keys(t + 1);
    const w1 = keys(t);
    const w2 = keys(1 - t);
    const taps = [w0, w1, w2, 1 - w0 - w1 - w2]; // weights sum to 1, as in OpenCV
    for (let k = 0; k < 4; k++) {
      index[4 * d + k] = Math.min(Math.max(left - 1 + k, 0), srcSize - 1);
      weight[4 * d + k] = taps[k];
    }
  }
  return { index, weight };
}

/**
 * @param src [srcH, srcW, 3] uint8 RGB
 * @returns   [dstH, dstW, 3] float32 RGB on the 0…255 scale (not clamped, not rounded)
 */
export function resizeCubic(src: Uint8Array, srcW: number, srcH: number, dstW: number, dstH: number): Float32Array {
  // Same size: every weight set is exactly (0, 1, 0, 0), so this is a copy (OpenCV copies too).
  if (srcW === dstW && srcH === dstH) return new Float32Array(src);
  const columns = cubicTaps(srcW, dstW);
  const rows = cubicTaps(srcH, dstH);

  // Which source rows the vertical taps read, and where each one's filtered copy will live.
  const slotOfRow = new Int32Array(srcH).fill(-1);
  let slots = 0;
  for (const row of rows.index) if (slotOfRow[row] < 0) slotOfRow[row] = slots++;

  const rowStride = dstW * CHANNELS;
  const filtered = horizontalPass(src, srcW, slotOfRow, slots, columns, dstW); // [slots, dstW, 3]
  const out = new Float32Array(dstH * rowStride);
  for (let dy = 0; dy < dstH; dy++) {
    const r0 = slotOfRow[rows.index[4 * dy]] * rowStride;
    const r1 = slotOfRow[rows.index[4 * dy + 1]] * rowStride;
    const r2 = slotOfRow[rows.index[4 * dy + 2]] * rowStride;
    const r3 = slotOfRow[rows.index[4 * dy + 3]] * rowStride;
    const w0 = rows.weight[4 * dy];
    const w1 = rows.weight[4 * dy + 1];
    const w2 = rows.weight[4 * dy + 2];
    const w3 = rows.weight[4 * dy + 3];
    const o = dy * rowStride;
    for (let i = 0; i < rowStride; i++) {
      out[o + i] = filtered[r0 + i] * w0 + filtered[r1 + i] * w1 + filtered[r2 + i] * w2 + filtered[r3 + i] * w3;
    }
  }
  return out;
}

/** Filters each needed source row along x: slot s of the result holds the row r with slotOfRow[r] = s. */
function horizontalPass(
  src: Uint8Array, // [srcH, srcW, 3]
  srcW: number,
  slotOfRow: Int32Array, // [srcH] slot, or −1 for a row no output reads
  slots: number,
  columns: CubicTaps,
  dstW: number,
): Float32Array {
  const out = new Float32Array(slots * dstW * CHANNELS); // [slots, dstW, 3]
  // Tap offsets in samples from the row start, so the inner loop does no index arithmetic.
  const offset = new Int32Array(columns.index.length);
  for (let i = 0; i < offset.length; i++) offset[i] = columns.index[i] * CHANNELS;
  const weight = columns.weight;

  for (let row = 0; row < slotOfRow.length; row++) {
    const slot = slotOfRow[row];
    if (slot < 0) continue;
    const s = row * srcW * CHANNELS;
    let o = slot * dstW * CHANNELS;
    for (let dx = 0; dx < dstW; dx++, o += CHANNELS) {
      const k = 4 * dx;
      const a = s + offset[k];
      const b = s + offset[k + 1];
      const c = s + offset[k + 2];
      const d = s + offset[k + 3];
      const w0 = weight[k];
      const w1 = weight[k + 1];
      const w2 = weight[k + 2];
      const w3 = weight[k + 3];
      out[o] = src[a] * w0 + src[b] * w1 + src[c] * w2 + src[d] * w3;
      out[o + 1] = src[a + 1] * w0 + src[b + 1] * w1 + src[c + 1] * w2 + src[d + 1] * w3;
      out[o + 2] = src[a + 2] * w0 + src[b + 2] * w1 + src[c + 2] * w2 + src[d + 2] * w3;
    }
  }
  return out;
}
