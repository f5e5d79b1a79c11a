// Conversations keep their KV cache: the worker remembers what each position of the engine's cache
// holds and, for the next request, keeps the longest prefix both share, so a follow-up (a refine, a
// chat turn, another question about the same image) prefills only what is new. Image rows are
// keyed by the image's content, so a different image at the same place is never reused. The
// memory is the engine's one preallocated KV cache (no copies): reuse costs nothing extra.
import { createHash } from 'node:crypto';

/** What one cache position holds: a token id, or row `n` of the image whose pixels hash to `h`. */
export type CacheKey = number | `${string}:${number}`;

export interface KeyedImage {
  pixels: Float32Array;
}

/** Content hash of a preprocessed image (its normalised pixels, which fix its size too). */
export function imageHash(image: KeyedImage): string {
  const bytes = Buffer.from(image.pixels.buffer, image.pixels.byteOffset, image.pixels.byteLength);
  return createHash('sha256').update(bytes).digest('hex').slice(0, 32);
}

/**
 * One key per prompt position: the id itself, except [IMG] rows, which take the hash of the image
 * they belong to (the images' [IMG] rows come in image order, `patches[k]` rows for image k).
 */
export function promptKeys(ids: readonly number[], imgId: number, imageHashes: readonly string[], patches: readonly number[]): CacheKey[] {
  let image = 0;
  let row = 0;
  return ids.map((id): CacheKey => {
    if (id !== imgId) return id;
    while (row >= patches[image]) {
      image++;
      row = 0;
    }
    return `${imageHashes[image]}:${row++}`;
  });
}

/**
 * How many leading positions of `cached` the prompt `keys` can keep: their common prefix, never
 * the whole prompt (the last position must run to give logits to sample from), and never part of
 * an image (the vision encoder runs whole images: a cut inside one moves back to its first row).
 */
export function reusablePrefix(cached: readonly CacheKey[], keys: readonly CacheKey[]): number {
  const limit = Math.min(cached.length, keys.length - 1);
  let n = 0;
  while (n < limit && cached[n] === keys[n]) n++;
  // The first image row still to run: if its image began before n, run that image from its start.
  const next = keys.findIndex((key, i) => i >= n && typeof key === 'string');
  if (next < 0) return n;
  const [hash, row] = (keys[next] as string).split(':');
  return row === '0' ? n : keys.lastIndexOf(`${hash}:0`, next);
}

/** Position of each image's first row in `keys`, images in prompt order. */
export function imageStarts(keys: readonly CacheKey[]): number[] {
  const starts: number[] = [];
  keys.forEach((key, i) => {
    if (typeof key === 'string' && key.endsWith(':0')) starts.push(i);
  });
  return starts;
}

/** The keys of the cache after a request: prompt, then the generated tokens fed back, as the engine counts them. */
export function keysAfter(prompt: readonly CacheKey[], generated: readonly number[], position: number): CacheKey[] {
  return [...prompt, ...generated].slice(0, position);
}
