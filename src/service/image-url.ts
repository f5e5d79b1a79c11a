// Images in the OpenAI wire format, both ways: an `image_url` (data: URI, or http(s) URL when the
// server allows fetching) becomes image bytes for the worker; an image file or bytes becomes a
// data: URI for a remote endpoint. Failures are GenerationErrors with code 'bad_request'.
import { readFile } from 'node:fs/promises';
import type { ImageRef } from '../worker/protocol';
import { GenerationError } from './generation-backend';
import { readLimited, webChunks } from './http-body';

export interface ImageUrlPolicy {
  /** Fetch http(s) URLs. Off by default: a local server should not make requests on anyone's behalf. */
  allowRemote: boolean;
  /** Largest image accepted, in bytes (after base64 decoding, or as downloaded). */
  maxBytes: number;
  /** Gives up on a remote image after this long (default 15 s). */
  timeoutMs?: number;
}

const DATA_URL = /^data:([^;,]*)((?:;[^;,]*)*),/i;

/** The image an `image_url` designates, as bytes. */
export async function imageFromUrl(url: string, policy: ImageUrlPolicy): Promise<ImageRef> {
  if (typeof url !== 'string' || url === '') throw badImage('image_url.url must be a non-empty string');
  if (/^data:/i.test(url)) return { data: fromDataUrl(url, policy.maxBytes) };
  if (/^https?:/i.test(url)) {
    if (!policy.allowRemote) {
      throw badImage('remote image URLs are refused by this server: send the image inline as a data: URI (base64), or start the server with --allow-remote-images');
    }
    return { data: await download(url, policy) };
  }
  throw badImage(`unsupported image URL scheme in ${JSON.stringify(url.slice(0, 40))}: use a data: URI${policy.allowRemote ? ' or an http(s) URL' : ''}`);
}

function fromDataUrl(url: string, maxBytes: number): Uint8Array {
  const header = DATA_URL.exec(url);
  if (!header) throw badImage('malformed data: URI (expected data:image/<type>;base64,<data>)');
  const mediaType = header[1].toLowerCase();
  if (mediaType && !mediaType.startsWith('image/')) throw badImage(`a data: URI of type ${mediaType} is not an image`);
  if (!header[2].toLowerCase().split(';').includes('base64')) throw badImage('an image data: URI must be base64-encoded (";base64,")');
  const payload = url.slice(header[0].length);
  // 4 base64 characters carry 3 bytes: refuse oversized payloads before decoding them.
  if (payload.length > Math.ceil(maxBytes / 3) * 4 + 4) throw tooLarge(maxBytes);
  const bytes = Buffer.from(payload, 'base64');
  if (bytes.length === 0) throw badImage('the image data: URI is empty');
  return bytes;
}

async function download(url: string, policy: ImageUrlPolicy): Promise<Uint8Array> {
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(policy.timeoutMs ?? 15_000) });
  } catch (err) {
    throw badImage(`could not fetch the image at ${url}: ${(err as Error).message}`);
  }
  if (!response.ok || !response.body) throw badImage(`fetching the image at ${url} failed with HTTP ${response.status}`);
  const declared = Number(response.headers.get('content-length') ?? 0);
  const bytes = declared > policy.maxBytes ? null : await readLimited(webChunks(response.body), policy.maxBytes);
  if (!bytes) throw tooLarge(policy.maxBytes);
  return bytes;
}

/** A data: URI for an image file or image bytes (PNG, JPEG, GIF or WebP). */
export async function imageToDataUrl(image: ImageRef): Promise<string> {
  let bytes: Uint8Array;
  if ('path' in image) {
    try {
      bytes = await readFile(image.path);
    } catch (err) {
      throw badImage(`cannot read the image ${image.path}: ${(err as Error).message}`);
    }
  } else {
    bytes = image.data;
  }
  const type = imageType(bytes);
  if (!type) throw badImage(`${'path' in image ? image.path : 'the image'} is not a PNG, JPEG, GIF or WebP file`);
  return `data:${type};base64,${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')}`;
}

/** Media type from the file signature; the formats every OpenAI-compatible vision API takes. */
function imageType(bytes: Uint8Array): string | undefined {
  const ascii = (start: number, end: number) => String.fromCharCode(...bytes.subarray(start, end));
  if (bytes[0] === 0x89 && ascii(1, 4) === 'PNG') return 'image/png';
  if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'image/jpeg';
  if (ascii(0, 4) === 'GIF8') return 'image/gif';
  if (ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return 'image/webp';
  return undefined;
}

function badImage(message: string): GenerationError {
  return new GenerationError('bad_request', message);
}

function tooLarge(maxBytes: number): GenerationError {
  return badImage(`the image is larger than this server accepts (${maxBytes} bytes)`);
}
