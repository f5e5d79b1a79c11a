// Images entering the extension host from outside it: data: URLs posted by a webview, and files
// named by a URI (explorer, drop, hover link). Pure (no `vscode`) so the checks are unit-tested.
//
// Trust boundary: a webview is a web page; what it posts is checked here (an image media type,
// base64, a size cap) before any byte is decoded or handed to the worker, whose decoder sees
// only bytes that passed.

/** Larger images are refused before decoding (the worker also refuses > 50 megapixels). */
export const MAX_IMAGE_BYTES = 20 * 1024 * 1024;

export const IMAGE_EXTENSIONS = ['png', 'jpg', 'jpeg', 'gif', 'webp', 'bmp', 'tif', 'tiff'] as const;

const DATA_URL = /^data:(image\/(?:png|jpeg|webp|gif|bmp|tiff));base64,([A-Za-z0-9+/]*={0,2})$/;

export class ImageInputError extends Error {
  override name = 'ImageInputError';
}

/** The bytes of an image data: URL; throws ImageInputError for anything else. */
export function decodeImageDataUrl(dataUrl: unknown): Uint8Array {
  if (typeof dataUrl !== 'string') throw new ImageInputError('the image is not a data: URL');
  // Checked before the regular expression runs over a possibly huge string.
  if (dataUrl.length > Math.ceil((MAX_IMAGE_BYTES * 4) / 3) + 64) throw new ImageInputError(`the image is larger than ${MAX_IMAGE_BYTES >> 20} MB`);
  const match = DATA_URL.exec(dataUrl);
  if (!match) throw new ImageInputError('the image is not a base64 PNG, JPEG, WebP, GIF, BMP or TIFF data: URL');
  const bytes = Buffer.from(match[2], 'base64');
  if (bytes.length === 0) throw new ImageInputError('the image is empty');
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function encodeImageDataUrl(bytes: Uint8Array, mediaType = 'image/png'): string {
  return `data:${mediaType};base64,${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')}`;
}

export function isImagePath(p: string): boolean {
  const dot = p.lastIndexOf('.');
  return dot >= 0 && (IMAGE_EXTENSIONS as readonly string[]).includes(p.slice(dot + 1).toLowerCase());
}

export function imageMediaType(p: string): string {
  const ext = p.slice(p.lastIndexOf('.') + 1).toLowerCase();
  return ext === 'jpg' || ext === 'jpeg' ? 'image/jpeg' : ext === 'tif' ? 'image/tiff' : `image/${ext}`;
}
