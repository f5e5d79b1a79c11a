// Image preprocessing, stage 1: file bytes -> RGB pixels. Reads the header first and refuses
// unsupported formats, empty images and images over the pixel limit before any pixel is decoded
// (decompression-bomb guard); then decodes with sharp (libvips) and converts to RGB over white.
//
// Deliberate differences from the reference (Pillow as called by mistral-common):
// * EXIF orientation is applied (Pillow's open ignores it, so a phone photo would reach the model
//   sideways).
// * A 16-bit greyscale PNG keeps the high byte of each sample, as Pillow itself does for 16-bit
//   RGB/RGBA/LA; Pillow's I;16 -> RGB conversion instead clips every value above 255 to white.
// * Embedded ICC profiles are ignored, as Pillow ignores them: the pixels reach the model as stored.
// * SVG is rasterised at its intrinsic size (72 dpi); Pillow does not read SVG at all.
import { promises as fs } from 'node:fs';
import sharp from 'sharp';
import { ImageError } from './errors';
import { toRgb } from './to-rgb';

/** 50 megapixels: a 8660x5773 photo still passes; a compressed bomb of gigapixels does not. */
export const DEFAULT_MAX_PIXELS = 50_000_000;

export interface DecodeOptions {
  /** Refuse images with more pixels than this (width x height, before decoding). */
  maxPixels?: number;
}

export interface DecodedImage {
  rgb: Uint8Array; // [height, width, 3] uint8, alpha already composited over white
  width: number;
  height: number;
  /** Container format as sharp detected it: png, jpeg, webp, gif, svg, tiff, heif (AVIF). */
  format: string;
}

const DECODABLE_FORMATS = new Set(['png', 'jpeg', 'webp', 'gif', 'svg', 'tiff', 'heif']);
const FORMAT_NAMES = 'PNG, JPEG, WebP, GIF, SVG, TIFF or AVIF';

/** Decodes an image file or its bytes into RGB. Throws ImageError for every bad input. */
export async function decodeImage(input: Buffer | string, options: DecodeOptions = {}): Promise<DecodedImage> {
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  if (!Number.isSafeInteger(maxPixels) || maxPixels < 1) {
    throw new ImageError('invalid-option', `maxPixels must be a positive integer, got ${maxPixels}`);
  }
  const bytes = await readBytes(input);
  const header = await readHeader(bytes);
  checkHeader(header, maxPixels);

  let decoded: { data: Buffer; info: sharp.OutputInfo };
  try {
    decoded = await sharp(bytes, {
      limitInputPixels: maxPixels, // libvips' own guard, in case a header lied to metadata()
      failOn: 'error', // truncated or corrupt data is an error, not a grey half-image
      autoOrient: true,
      ignoreIcc: true,
      pages: 1, // first frame of an animated GIF/WebP, first page of a TIFF
    })
      // uint8 sRGB, 3 or 4 channels: grey is replicated, palettes expanded, 16-bit keeps the high byte
      .raw()
      .toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw new ImageError('corrupt', `cannot decode the ${header.format.toUpperCase()} image: ${reason(err)}`);
  }
  const { width, height, channels } = decoded.info;
  const samples = new Uint8Array(decoded.data.buffer, decoded.data.byteOffset, decoded.data.length);
  return { rgb: toRgb(samples, width * height, channels), width, height, format: header.format };
}

async function readBytes(input: Buffer | string): Promise<Buffer> {
  let bytes: Buffer;
  if (typeof input === 'string') {
    try {
      bytes = await fs.readFile(input);
    } catch (err) {
      throw new ImageError('unreadable', `cannot read image file ${input}: ${reason(err)}`);
    }
  } else if (Buffer.isBuffer(input)) {
    bytes = input;
  } else {
    throw new ImageError('invalid-option', 'an image must be given as a Buffer or a file path');
  }
  if (bytes.length === 0) throw new ImageError('empty', 'the image is empty (0 bytes)');
  return bytes;
}

async function readHeader(bytes: Buffer): Promise<sharp.Metadata> {
  try {
    // Unlimited here: metadata() only parses the header, and the limit is checked just below
    // with a clearer message than libvips'.
    return await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (err) {
    if (/unsupported image format/i.test(reason(err))) {
      throw new ImageError('unsupported-format', `not a ${FORMAT_NAMES} image (${describeMagic(bytes)})`);
    }
    throw new ImageError('corrupt', `cannot read the image header: ${reason(err)}`);
  }
}

function checkHeader(header: sharp.Metadata, maxPixels: number): void {
  if (!DECODABLE_FORMATS.has(header.format)) {
    throw new ImageError('unsupported-format', `${header.format} images are not supported; use ${FORMAT_NAMES}`);
  }
  if (header.format === 'heif' && header.compression !== 'av1') {
    throw new ImageError('unsupported-format', 'HEIC images are not supported; convert to JPEG, PNG or AVIF');
  }
  const { width, height } = header;
  if (!(width > 0 && height > 0)) {
    throw new ImageError('empty', `the image has no pixels (${width ?? 0}x${height ?? 0})`);
  }
  if (width * height > maxPixels) {
    throw new ImageError(
      'too-large',
      `the image is ${width}x${height} = ${((width * height) / 1e6).toFixed(1)} megapixels; ` +
        `the limit is ${(maxPixels / 1e6).toFixed(1)} megapixels`,
    );
  }
}

/** "the first bytes are 25 50 44 46 …" — enough for a user to recognise a PDF or a text file. */
function describeMagic(bytes: Buffer): string {
  const hex = [...bytes.subarray(0, 8)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
  return `its first bytes are ${hex}${bytes.length > 8 ? ' …' : ''}`;
}

function reason(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).trim();
}
