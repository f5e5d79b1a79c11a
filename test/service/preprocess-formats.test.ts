// Decoding every supported format, and refusing bad images with clear errors
// (src/worker/image/decode.ts, preprocess.ts). Every image is made here with sharp itself.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { crc32 } from 'node:zlib';
import sharp from 'sharp';
import { decodeImage } from '../../src/worker/image/decode';
import { ImageError, type ImageErrorKind } from '../../src/worker/image/errors';
import { prepareImage } from '../../src/worker/image/preprocess';

const W = 40;
const H = 30;

/** [H, W, channels] uint8 with a different value in every sample. */
function pattern(channels: number): Buffer {
  const samples = Buffer.alloc(W * H * channels);
  for (let i = 0; i < samples.length; i++) samples[i] = (i * 37 + (i >> 7)) & 255;
  return samples;
}
const rgbPattern = pattern(3);
const rgbImage = () => sharp(rgbPattern, { raw: { width: W, height: H, channels: 3 } });

function meanAbsDiff(a: Uint8Array, b: Uint8Array): number {
  assert.equal(a.length, b.length);
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i] - b[i]);
  return sum / a.length;
}

function pixel(rgb: Uint8Array, width: number, x: number, y: number): number[] {
  const i = 3 * (y * width + x);
  return [rgb[i], rgb[i + 1], rgb[i + 2]];
}

async function rejects(input: Buffer | string, kind: ImageErrorKind, message: RegExp, maxPixels?: number): Promise<void> {
  await assert.rejects(decodeImage(input, { maxPixels }), (err: unknown) => {
    assert.ok(err instanceof ImageError, `not an ImageError: ${String(err)}`);
    assert.equal(err.kind, kind, err.message);
    assert.match(err.message, message);
    return true;
  });
}

/** A PNG whose IHDR claims another size (with a valid CRC), pixel data unchanged. */
function withIhdrSize(png: Buffer, width: number, height: number): Buffer {
  const patched = Buffer.from(png);
  patched.writeUInt32BE(width, 16);
  patched.writeUInt32BE(height, 20);
  patched.writeUInt32BE(crc32(patched.subarray(12, 29)), 29); // CRC of "IHDR" + 13 data bytes
  return patched;
}

test('lossless formats decode to the exact pixels: PNG, WebP lossless, TIFF', async () => {
  const files = {
    png: await rgbImage().png().toBuffer(),
    webp: await rgbImage().webp({ lossless: true }).toBuffer(),
    tiff: await rgbImage().tiff({ compression: 'deflate' }).toBuffer(),
  };
  for (const [format, bytes] of Object.entries(files)) {
    const decoded = await decodeImage(bytes);
    assert.equal(decoded.format, format);
    assert.deepEqual([decoded.width, decoded.height], [W, H], format);
    assert.deepEqual(Buffer.from(decoded.rgb), rgbPattern, `${format} pixels`);
  }
});

test('lossy formats decode close to the source: JPEG, WebP, AVIF', async () => {
  const smooth = Buffer.alloc(W * H * 3);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) smooth.set([x * 6, y * 8, 128], 3 * (y * W + x));
  const source = () => sharp(smooth, { raw: { width: W, height: H, channels: 3 } });
  const files: Record<string, Buffer> = {
    jpeg: await source().jpeg({ quality: 95 }).toBuffer(),
    webp: await source().webp({ quality: 95 }).toBuffer(),
  };
  if (sharp.format.heif.input.buffer) files.heif = await source().avif({ quality: 90 }).toBuffer();
  for (const [format, bytes] of Object.entries(files)) {
    const decoded = await decodeImage(bytes);
    assert.equal(decoded.format, format);
    assert.deepEqual([decoded.width, decoded.height], [W, H], format);
    const error = meanAbsDiff(decoded.rgb, smooth);
    assert.ok(error < 4, `${format}: mean error ${error}`);
  }
});

test('GIF: the first frame of an animation', async () => {
  const red = Buffer.alloc(W * H * 3);
  const blue = Buffer.alloc(W * H * 3);
  for (let p = 0; p < W * H; p++) {
    red[3 * p] = 255;
    blue[3 * p + 2] = 255;
  }
  const frame = (pixels: Buffer) => sharp(pixels, { raw: { width: W, height: H, channels: 3 } }).png().toBuffer();
  const gif = await sharp([await frame(red), await frame(blue)], { join: { animated: true } }).gif().toBuffer();
  assert.equal((await sharp(gif).metadata()).pages, 2, 'the test GIF should have two frames');
  const decoded = await decodeImage(gif);
  assert.deepEqual([decoded.format, decoded.width, decoded.height], ['gif', W, H]);
  assert.deepEqual(Buffer.from(decoded.rgb), red);
});

test('SVG: rasterised at its intrinsic size, transparency over white', async () => {
  const svg = Buffer.from(
    '<svg xmlns="http://www.w3.org/2000/svg" width="120" height="80">' +
      '<rect x="0" y="0" width="60" height="80" fill="#ff0000"/></svg>',
  );
  const decoded = await decodeImage(svg);
  assert.deepEqual([decoded.format, decoded.width, decoded.height], ['svg', 120, 80]);
  assert.deepEqual(pixel(decoded.rgb, 120, 10, 40), [255, 0, 0], 'inside the rectangle');
  assert.deepEqual(pixel(decoded.rgb, 120, 100, 40), [255, 255, 255], 'transparent background');
});

test('alpha is composited over white with PIL paste rounding', async () => {
  // [r, g, b, a] -> round((v·a + 255·(255 − a))/255) per channel
  const rgba = Buffer.from([0, 100, 200, 128, 200, 0, 255, 100, 10, 20, 30, 0, 10, 20, 30, 255]);
  const png = await sharp(rgba, { raw: { width: 4, height: 1, channels: 4 } }).png().toBuffer();
  const decoded = await decodeImage(png);
  assert.deepEqual([...decoded.rgb], [127, 177, 227, 233, 155, 255, 255, 255, 255, 10, 20, 30]);
});

test('greyscale: replicated into three equal channels', async () => {
  const grey = pattern(1);
  const png = await sharp(grey, { raw: { width: W, height: H, channels: 1 } }).toColourspace('b-w').png().toBuffer();
  assert.equal((await sharp(png).metadata()).channels, 1, 'the test PNG should be greyscale');
  const decoded = await decodeImage(png);
  for (let p = 0; p < W * H; p++) assert.deepEqual(pixel(decoded.rgb, W, p % W, Math.floor(p / W)), [grey[p], grey[p], grey[p]]);
});

test('palette PNG with transparency: opaque entries exact, transparent ones white', async () => {
  const colours = [
    [255, 0, 0, 255],
    [0, 128, 255, 255],
    [0, 0, 0, 0],
    [30, 200, 60, 255],
  ];
  const rgba = Buffer.alloc(W * H * 4);
  for (let p = 0; p < W * H; p++) rgba.set(colours[(p + Math.floor(p / W)) % 4], 4 * p);
  const png = await sharp(rgba, { raw: { width: W, height: H, channels: 4 } }).png({ palette: true, colours: 4, dither: 0 }).toBuffer();
  const meta = await sharp(png).metadata();
  assert.ok(meta.isPalette && meta.hasAlpha, 'the test PNG should be a palette with transparency');
  const decoded = await decodeImage(png);
  for (let p = 0; p < W * H; p++) {
    const [r, g, b, a] = colours[(p + Math.floor(p / W)) % 4];
    const want = a === 0 ? [255, 255, 255] : [r, g, b];
    assert.deepEqual(pixel(decoded.rgb, W, p % W, Math.floor(p / W)), want, `pixel ${p}`);
  }
});

test('16-bit PNGs keep the high byte of each sample (RGB and greyscale)', async () => {
  const samples = new Uint16Array([0x1234, 0x80ff, 0xff00, 0x00ff, 0x12ff, 0x0180]);
  const rgb16 = await sharp(samples, { raw: { width: 2, height: 1, channels: 3 } }).toColourspace('rgb16').png().toBuffer();
  const grey16 = await sharp(samples, { raw: { width: 6, height: 1, channels: 1 } }).toColourspace('grey16').png().toBuffer();
  assert.equal((await sharp(rgb16).metadata()).depth, 'ushort');
  assert.equal((await sharp(grey16).metadata()).depth, 'ushort');
  const highBytes = [...samples].map((v) => v >> 8);
  assert.deepEqual([...(await decodeImage(rgb16)).rgb], highBytes);
  assert.deepEqual([...(await decodeImage(grey16)).rgb], highBytes.flatMap((v) => [v, v, v]));
});

test('EXIF orientation 6 is applied: the image turns 90° clockwise, dimensions swap', async () => {
  // A red block in the stored top-left corner ends up in the displayed top-right corner.
  const stored = Buffer.alloc(W * H * 3, 255);
  for (let y = 0; y < 10; y++) for (let x = 0; x < 10; x++) stored.set([255, 0, 0], 3 * (y * W + x));
  const jpeg = await sharp(stored, { raw: { width: W, height: H, channels: 3 } })
    .jpeg({ quality: 95 })
    .withMetadata({ orientation: 6 })
    .toBuffer();
  assert.equal((await sharp(jpeg).metadata()).orientation, 6);
  const decoded = await decodeImage(jpeg);
  assert.deepEqual([decoded.width, decoded.height], [H, W]);
  const [r, g, b] = pixel(decoded.rgb, decoded.width, decoded.width - 5, 5);
  assert.ok(r > 200 && g < 60 && b < 60, `top-right should be red, got ${[r, g, b]}`);
  const prepared = await prepareImage(jpeg);
  assert.deepEqual([prepared.sourceWidth, prepared.sourceHeight, prepared.gridH, prepared.gridW], [H, W, 3, 2]);
});

test('a file path works like its bytes; a missing path is a clear error', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pixtral-preprocess-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'image.png');
  writeFileSync(file, await rgbImage().png().toBuffer());
  assert.deepEqual(Buffer.from((await decodeImage(file)).rgb), rgbPattern);
  await rejects(path.join(dir, 'missing.png'), 'unreadable', /missing\.png.*ENOENT/);
  await rejects(dir, 'unreadable', /EISDIR/);
});

test('prepareImage: CHW float32 of the grid size with its token count', async () => {
  const prepared = await prepareImage(await rgbImage().png().toBuffer());
  assert.deepEqual([prepared.gridH, prepared.gridW, prepared.height, prepared.width], [2, 3, 32, 48]);
  assert.equal(prepared.pixels.length, 3 * 32 * 48);
  assert.equal(prepared.tokenCount, 2 * (3 + 1));
  assert.ok(prepared.pixels.every(Number.isFinite));
});

test('prepareImage honours a token budget', async () => {
  const big = await sharp({ create: { width: 2000, height: 1000, channels: 3, background: '#808080' } }).png().toBuffer();
  const full = await prepareImage(big);
  assert.deepEqual([full.gridH, full.gridW, full.tokenCount], [32, 64, 32 * 65]);
  const capped = await prepareImage(big, { tokenBudget: 300 });
  assert.ok(capped.tokenCount <= 300, `${capped.tokenCount} tokens`);
  assert.equal(capped.pixels.length, 3 * capped.height * capped.width);
});

test('truncated PNG and JPEG files are a clear "corrupt" error', async () => {
  const png = await rgbImage().png().toBuffer();
  const jpeg = await rgbImage().jpeg().toBuffer();
  await rejects(png.subarray(0, png.length - 30), 'corrupt', /PNG/);
  await rejects(jpeg.subarray(0, jpeg.length >> 1), 'corrupt', /JPEG/);
  await rejects(jpeg.subarray(0, 20), 'corrupt', /header/);
});

test('wrong magic bytes: not an image, and the message shows the first bytes', async () => {
  const png = await rgbImage().png().toBuffer();
  const wrongMagic = Buffer.from(png);
  wrongMagic[1] = 0x58; // "\x89XNG"
  await rejects(wrongMagic, 'unsupported-format', /first bytes are 89 58 4e 47/);
  await rejects(Buffer.from('%PDF-1.7 not an image'), 'unsupported-format', /25 50 44 46/);
});

test('huge dimensions are refused from the header alone, before decoding', async () => {
  const png = await rgbImage().png().toBuffer();
  const start = performance.now();
  await rejects(withIhdrSize(png, 100_000, 100_000), 'too-large', /100000x100000/);
  await rejects(
    Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="90000" height="90000"/>'),
    'too-large',
    /90000x90000/,
  );
  const elapsed = performance.now() - start;
  assert.ok(elapsed < 500, `refusing took ${elapsed} ms`);
  // The limit is configurable.
  await rejects(png, 'too-large', /limit is 0\.0 megapixels/, 1000);
});

test('zero-size input: empty bytes and a 0-pixel header', async () => {
  await rejects(Buffer.alloc(0), 'empty', /empty/);
  const png = await rgbImage().png().toBuffer();
  await rejects(withIhdrSize(png, 0, 30), 'corrupt', /width/);
});

test('bad options are refused with a clear error', async () => {
  const png = await rgbImage().png().toBuffer();
  const invalid = (err: unknown) => err instanceof ImageError && err.kind === 'invalid-option';
  await assert.rejects(prepareImage(png, { maxImageSize: 0 }), invalid);
  await assert.rejects(prepareImage(png, { patchSize: 1.5 }), invalid);
  await assert.rejects(prepareImage(png, { tokenBudget: 1 }), invalid);
  await assert.rejects(prepareImage(png, { maxPixels: -1 }), invalid);
});
