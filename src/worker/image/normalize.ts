// Image preprocessing, stage 4: resized RGB (0…255, HWC) -> the vision encoder's input,
// (x/255 − mean)/std per channel in CHW order. Mean and std are CLIP's, which Pixtral's vision
// encoder was trained with (mistral-common DATASET_MEAN / DATASET_STD, spec §f.1 step 4).

export const CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073] as const; // R, G, B
export const CLIP_STD = [0.26862954, 0.26130258, 0.27577711] as const;

/**
 * @param hwc [height, width, 3] RGB on the 0…255 scale (uint8 or float from the resize)
 * @returns   [3, height, width] float32
 */
export function normalizeToChw(hwc: Float32Array | Uint8Array, width: number, height: number): Float32Array {
  const plane = width * height;
  const chw = new Float32Array(3 * plane);
  for (let c = 0; c < 3; c++) {
    // (x/255 − mean)/std as one multiply-add, in double: the same float32 result, no divisions.
    const scale = 1 / (255 * CLIP_STD[c]);
    const offset = -CLIP_MEAN[c] / CLIP_STD[c];
    const base = c * plane;
    for (let p = 0; p < plane; p++) chw[base + p] = hwc[3 * p + c] * scale + offset;
  }
  return chw;
}
