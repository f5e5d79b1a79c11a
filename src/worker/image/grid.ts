// Image preprocessing, stage 2: how many patches an image becomes. The product follows
// mistral-common (the tokenizer the official model was trained and served with); transformers'
// rule is kept as a named mode only to compare with fixtures made by transformers (spec §f.3).
// A token budget shrinks the grid the way a smaller `max_image_size` would in mistral-common.
import { ImageError } from './errors';

export interface PatchGrid {
  gridH: number; // patch rows
  gridW: number; // patch columns
}

/**
 * 'mistral-common': scale down to fit max size with Python's round (half to even), then ceil to patches.
 * 'hf-compat': transformers 4.46 PixtralImageProcessor, which uses ceil instead of round.
 */
export type GridRule = 'mistral-common' | 'hf-compat';

/** Tokens an image occupies in the prompt: each patch row is w [IMG] then one [IMG_BREAK]/[IMG_END]. */
export function imageTokenCount(gridH: number, gridW: number): number {
  return gridH * (gridW + 1);
}

/** Python 3 `round(x)`: ties go to the even neighbour (2.5 -> 2, 3.5 -> 4). */
export function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const fraction = x - floor;
  if (fraction !== 0.5) return Math.round(x);
  return floor % 2 === 0 ? floor : floor + 1;
}

/**
 * Patch grid of a `srcW`x`srcH` image whose longest edge may be at most `maxImageSize` pixels.
 * Images are never enlarged; sides are padded up to whole patches (by stretching, in the resize).
 * The arithmetic is IEEE double exactly as in Python, so halves and ceilings land the same way.
 * One deviation: a side is at least one patch. mistral-common rounds the short side of a sliver
 * (say 10000x4 at 1024) to 0 pixels and produces an empty grid, which then fails to resize.
 */
export function gridForMaxSize(
  srcW: number,
  srcH: number,
  maxImageSize: number,
  patch: number,
  rule: GridRule = 'mistral-common',
): PatchGrid {
  let w = srcW;
  let h = srcH;
  const ratio = Math.max(srcH / maxImageSize, srcW / maxImageSize);
  if (ratio > 1) {
    const shrink = rule === 'mistral-common' ? roundHalfEven : Math.ceil;
    w = shrink(srcW / ratio);
    h = shrink(srcH / ratio);
  }
  return { gridH: Math.max(1, Math.ceil(h / patch)), gridW: Math.max(1, Math.ceil(w / patch)) };
}

/**
 * The largest grid that keeps the image's aspect ratio and fits `budget` tokens
 * (gridH·(gridW+1) ≤ budget), never larger than the grid at `maxImageSize`.
 *
 * How it shrinks: it lowers the longest-edge limit one patch at a time, L = n·patch for
 * n = ceil(maxImageSize/patch) … 1, and takes the mistral-common grid at the first L that fits.
 * The grid at limit L is non-decreasing in L, and within ((n−1)·patch, n·patch] it is largest
 * at n·patch, so no other limit gives a larger grid that fits. The result is exactly what
 * mistral-common would produce with `max_image_size = L`, i.e. an input the model has seen.
 */
export function gridForBudget(
  srcW: number,
  srcH: number,
  maxImageSize: number,
  patch: number,
  budget: number,
): PatchGrid {
  if (!(budget >= imageTokenCount(1, 1))) {
    throw new ImageError('invalid-option', `a token budget must allow at least one patch (2 tokens), got ${budget}`);
  }
  const full = gridForMaxSize(srcW, srcH, maxImageSize, patch);
  if (imageTokenCount(full.gridH, full.gridW) <= budget) return full;
  for (let n = Math.ceil(maxImageSize / patch) - 1; n >= 1; n--) {
    const grid = gridForMaxSize(srcW, srcH, n * patch, patch);
    if (imageTokenCount(grid.gridH, grid.gridW) <= budget) return grid;
  }
  // At n = 1 the grid is 1x1 (2 tokens) for every shape, which the budget check above allows.
  throw new Error('unreachable: a 1x1 grid always fits the budget');
}
