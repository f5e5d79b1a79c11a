// Image preprocessing, stage 1b: decoded 8-bit sRGB samples (RGB or RGBA) -> RGB.
// This is mistral-common's `_convert_to_rgb`: a non-RGB image becomes RGBA and is pasted onto an
// opaque white canvas with its own alpha as the mask (PIL `Image.paste`), then dropped to RGB.
// sharp has already expanded palettes and replicated greyscale into three equal channels (the same
// values PIL's L/P/LA -> RGBA conversion gives), so only the alpha compositing is left to do here.
import { ImageError } from './errors';

/**
 * One channel of PIL's paste-with-mask onto white: `round((src·a + 255·(255 − a)) / 255)`.
 * PIL does this in integers with a rounding divide by 255; the numerator is never an odd multiple
 * of 127.5, so Math.round of the exact quotient is the same number.
 */
function overWhite(src: number, alpha: number): number {
  return Math.round((src * alpha + 255 * (255 - alpha)) / 255);
}

/**
 * @param samples [height, width, channels] interleaved uint8, channels 3 (RGB) or 4 (RGBA)
 * @returns       [height, width, 3] uint8 RGB (the input itself when it is already RGB)
 */
export function toRgb(samples: Uint8Array, pixelCount: number, channels: number): Uint8Array {
  if (channels === 3) return samples;
  if (channels !== 4) {
    throw new ImageError('unsupported-format', `images that decode to ${channels} channels are not supported`);
  }
  const rgb = new Uint8Array(pixelCount * 3);
  for (let p = 0; p < pixelCount; p++) {
    const a = samples[4 * p + 3];
    rgb[3 * p] = overWhite(samples[4 * p], a);
    rgb[3 * p + 1] = overWhite(samples[4 * p + 1], a);
    rgb[3 * p + 2] = overWhite(samples[4 * p + 2], a);
  }
  return rgb;
}
