// Test support: Pillow's BICUBIC resize of 8-bit RGB, the resampler transformers' Pixtral processor
// used to make the non-mc `preprocess_*` fixtures. Only the tests use it (the product resizes with
// OpenCV's cubic, resize-cubic.ts). Pillow's semantics, reimplemented:
// * kernel: Keys' cubic with A = −0.5;
// * when shrinking, the kernel is stretched by the scale factor (antialiasing), so an output pixel
//   averages every source pixel within 2·scale of its centre; weights are normalised to sum 1;
// * weights are fixed point with 22 fraction bits, rounded half away from zero; each pass
//   rounds its result to uint8 (add half, shift, clamp 0…255);
// * horizontal pass first, then vertical; an axis whose size does not change is not filtered.

const FRACTION_BITS = 22;
const ONE = 2 ** FRACTION_BITS;
const CHANNELS = 3;

/** Pillow's BICUBIC kernel (A = −0.5), support 2. */
function bicubic(x: number): number {
  const A = -0.5;
  const d = Math.abs(x);
  if (d < 1) return ((A + 2) * d - (A + 3)) * d * d + 1;
  if (d < 2) return (((d - 5) * d + 8) * d - 4) * A;
  return 0;
}

/** Per output position: the first source position and the fixed-point weights of its window. */
interface Window {
  first: number;
  weights: number[];
}

function windows(srcSize: number, dstSize: number): Window[] {
  const scale = srcSize / dstSize;
  const stretch = Math.max(scale, 1);
  const support = 2 * stretch;
  const result: Window[] = [];
  for (let d = 0; d < dstSize; d++) {
    const centre = (d + 0.5) * scale;
    const first = Math.max(Math.trunc(centre - support + 0.5), 0);
    const end = Math.min(Math.trunc(centre + support + 0.5), srcSize);
    const raw: number[] = [];
    for (let s = first; s < end; s++) raw.push(bicubic((s - centre + 0.5) / stretch));
    const total = raw.reduce((a, b) => a + b, 0);
    const weights = raw.map((w) => {
      const scaled = (total === 0 ? w : w / total) * ONE;
      return scaled < 0 ? Math.trunc(scaled - 0.5) : Math.trunc(scaled + 0.5);
    });
    result.push({ first, weights });
  }
  return result;
}

function toUint8(accumulator: number): number {
  return Math.min(Math.max(Math.floor(accumulator / ONE), 0), 255);
}

/** One pass along x (stride CHANNELS) or y (stride width·CHANNELS) of [height, width, 3] uint8. */
function pass(src: Uint8Array, width: number, height: number, alongX: boolean, dstSize: number): Uint8Array {
  const outW = alongX ? dstSize : width;
  const outH = alongX ? height : dstSize;
  const out = new Uint8Array(outW * outH * CHANNELS);
  const taps = windows(alongX ? width : height, dstSize);
  const step = alongX ? CHANNELS : width * CHANNELS;
  for (let y = 0; y < outH; y++) {
    for (let x = 0; x < outW; x++) {
      const { first, weights } = taps[alongX ? x : y];
      const start = alongX ? (y * width + first) * CHANNELS : (first * width + x) * CHANNELS;
      for (let c = 0; c < CHANNELS; c++) {
        let sum = ONE / 2;
        for (let k = 0; k < weights.length; k++) sum += src[start + k * step + c] * weights[k];
        out[(y * outW + x) * CHANNELS + c] = toUint8(sum);
      }
    }
  }
  return out;
}

/**
 * @param src [srcH, srcW, 3] uint8 RGB
 * @returns   [dstH, dstW, 3] uint8 RGB, as PIL `Image.resize((dstW, dstH), Image.BICUBIC)`
 */
export function resizePilBicubic(src: Uint8Array, srcW: number, srcH: number, dstW: number, dstH: number): Uint8Array {
  const horizontal = dstW === srcW ? src : pass(src, srcW, srcH, true, dstW);
  return dstH === srcH ? horizontal : pass(horizontal, dstW, srcH, false, dstH);
}
