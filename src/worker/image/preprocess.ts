// Image preprocessing, the whole stage as the worker calls it: image file or bytes -> the
// normalised pixel tensor the vision encoder takes, plus its patch grid and prompt token count.
// decode (decode.ts, to-rgb.ts) -> grid (grid.ts) -> cubic resize (resize-cubic.ts) ->
// normalise (normalize.ts). Same result as mistral-common for the same image, size and patch.
import { decodeImage, type DecodedImage } from './decode';
import { ImageError } from './errors';
import { gridForBudget, imageTokenCount } from './grid';
import { normalizeToChw } from './normalize';
import { resizeCubic } from './resize-cubic';

/** Pixtral-12B's `max_image_size` and `image_patch_size` (tokenizer `multimodal` section). */
export const DEFAULT_MAX_IMAGE_SIZE = 1024;
export const DEFAULT_PATCH_SIZE = 16;

export interface PrepareOptions {
  /** Longest edge in pixels before the grid is taken (default 1024). */
  maxImageSize?: number;
  /** Vision patch size in pixels (default 16). */
  patchSize?: number;
  /** At most this many prompt tokens, gridH·(gridW+1); the grid shrinks to fit (default: no cap). */
  tokenBudget?: number;
  /** Refuse images with more pixels than this before decoding (default 50 megapixels). */
  maxPixels?: number;
}

export interface PreparedImage {
  pixels: Float32Array; // [3, height, width] normalised with CLIP mean/std
  height: number; // gridH · patchSize
  width: number; // gridW · patchSize
  gridH: number;
  gridW: number;
  /** Prompt tokens of this image: gridH·(gridW+1). */
  tokenCount: number;
  /** Size of the decoded image, after EXIF orientation. */
  sourceWidth: number;
  sourceHeight: number;
}

/** Decodes, sizes, resizes and normalises one image. Throws ImageError for bad input. */
export async function prepareImage(input: Buffer | string, options: PrepareOptions = {}): Promise<PreparedImage> {
  sizeOptions(options); // refuse bad options before paying for a decode
  const decoded = await decodeImage(input, { maxPixels: options.maxPixels });
  return prepareDecoded(decoded, options);
}

/**
 * The synchronous part of prepareImage, for an image already decoded to RGB: e.g. to prepare
 * the same image again under a smaller token budget without decoding it twice.
 */
export function prepareDecoded(image: DecodedImage, options: PrepareOptions = {}): PreparedImage {
  const { maxImageSize, patch, budget } = sizeOptions(options);
  const { gridH, gridW } = gridForBudget(image.width, image.height, maxImageSize, patch, budget);
  const width = gridW * patch;
  const height = gridH * patch;
  const resized = resizeCubic(image.rgb, image.width, image.height, width, height);
  return {
    pixels: normalizeToChw(resized, width, height),
    height,
    width,
    gridH,
    gridW,
    tokenCount: imageTokenCount(gridH, gridW),
    sourceWidth: image.width,
    sourceHeight: image.height,
  };
}

function sizeOptions(options: PrepareOptions): { maxImageSize: number; patch: number; budget: number } {
  return {
    maxImageSize: positiveInteger('maxImageSize', options.maxImageSize ?? DEFAULT_MAX_IMAGE_SIZE),
    patch: positiveInteger('patchSize', options.patchSize ?? DEFAULT_PATCH_SIZE),
    budget: positiveInteger('tokenBudget', options.tokenBudget ?? Number.MAX_SAFE_INTEGER),
  };
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new ImageError('invalid-option', `${name} must be a positive integer, got ${value}`);
  }
  return value;
}
