// Benchmark of the generation service's CPU stages outside the engine: the tokenizer (load, encode
// and decode MB/s on the model-sized fixture tekken.json) and image preprocessing
// (src/worker/image/: decode, cubic resize, normalise and the whole prepareImage, on a 1024x1024
// PNG and a 4000x3000 JPEG generated here with sharp).
// Run: npm run bench:service   (prints tables of medians)
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { TekkenTokenizer } from '../../src/worker/tokenizer';
import { fixtureDir } from '../support/fixtures';
import { decodeImage } from '../../src/worker/image/decode';
import { gridForMaxSize } from '../../src/worker/image/grid';
import { normalizeToChw } from '../../src/worker/image/normalize';
import { DEFAULT_MAX_IMAGE_SIZE, DEFAULT_PATCH_SIZE, prepareImage } from '../../src/worker/image/preprocess';
import { resizeCubic } from '../../src/worker/image/resize-cubic';

const RUNS = 7;

/** Smooth gradients plus deterministic noise: photo-like, so PNG/JPEG do real work. */
function syntheticRgb(width: number, height: number): Buffer {
  const pixels = Buffer.alloc(width * height * 3);
  let seed = 12345;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      const noise = (seed >>> 24) & 31;
      const i = 3 * (y * width + x);
      pixels[i] = ((x * 255) / width + noise) & 255;
      pixels[i + 1] = ((y * 255) / height + noise) & 255;
      pixels[i + 2] = ((x + y) * 3 + noise) & 255;
    }
  }
  return pixels;
}

async function median(run: () => unknown): Promise<number> {
  const times: number[] = [];
  await run(); // warm-up: JIT and sharp's first-call setup
  for (let i = 0; i < RUNS; i++) {
    const start = performance.now();
    await run();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return times[RUNS >> 1];
}

/** Mixed HTML, CSS, JS and prose, like the prompts and answers the product handles. */
function sampleText(bytes: number): string {
  const parts = [
    '<div class="card"><h2 class="title">Quarterly revenue</h2><p>Revenue grew 12% to $4.2M.</p></div>\n',
    '.card { display: flex; padding: 16px 24px; border-radius: 8px; color: #1f2937; }\n',
    'const rows = data.map((d, i) => `<tr><td>${i + 1}</td><td>${d.name}</td></tr>`).join("");\n',
    'The chart shows monthly active users from January to December, peaking in August at 1.8 million.\n',
    'Überschrift: Größe 42 — café, naïve, 東京 2024年, 🚀 launch!\n',
  ];
  let text = '';
  for (let i = 0; text.length < bytes; i++) text += parts[i % parts.length].replace('12%', `${i % 97}%`);
  return text;
}

async function tokenizerTable(): Promise<void> {
  const file = path.join(fixtureDir, 'tekken.json');
  const loadMs = await median(() => TekkenTokenizer.fromFile(file).dispose());
  const tokenizer = TekkenTokenizer.fromFile(file);
  const text = sampleText(1 << 20);
  const megabytes = Buffer.byteLength(text) / 1e6;
  let ids: number[] = [];
  const encodeMs = await median(() => (ids = tokenizer.encode(text)));
  const decodeMs = await median(() => tokenizer.decode(ids));
  const stream = tokenizer.createStreamDecoder();
  const streamMs = await median(() => {
    for (const id of ids) stream.push(id);
    stream.flush();
  });
  console.log(`tokenizer: ${path.relative(process.cwd(), file)} (${tokenizer.vocabSize} ids), ${megabytes.toFixed(2)} MB of mixed text -> ${ids.length} tokens`);
  console.log('| load ms | encode MB/s | decode MB/s | streaming decode MB/s |');
  console.log('|---|---|---|---|');
  const rate = (ms: number) => (megabytes / (ms / 1000)).toFixed(1);
  console.log(`| ${loadMs.toFixed(0)} | ${rate(encodeMs)} | ${rate(decodeMs)} | ${rate(streamMs)} |\n`);
  tokenizer.dispose();
}

async function main(): Promise<void> {
  await tokenizerTable();
  const images = [
    { name: '1024x1024 PNG', width: 1024, height: 1024, encode: (s: sharp.Sharp) => s.png() },
    { name: '4000x3000 JPEG', width: 4000, height: 3000, encode: (s: sharp.Sharp) => s.jpeg({ quality: 90 }) },
  ];
  console.log(`image preprocessing, median of ${RUNS} runs, ${os.cpus()[0]?.model ?? 'cpu'}, node ${process.version}`);
  console.log('| image | bytes | grid | decode ms | resize ms | normalise ms | prepareImage ms |');
  console.log('|---|---|---|---|---|---|---|');
  for (const image of images) {
    const raw = syntheticRgb(image.width, image.height);
    const file = await image.encode(sharp(raw, { raw: { width: image.width, height: image.height, channels: 3 } })).toBuffer();
    const decoded = await decodeImage(file);
    const { gridH, gridW } = gridForMaxSize(decoded.width, decoded.height, DEFAULT_MAX_IMAGE_SIZE, DEFAULT_PATCH_SIZE);
    const [w, h] = [gridW * DEFAULT_PATCH_SIZE, gridH * DEFAULT_PATCH_SIZE];
    const resized = resizeCubic(decoded.rgb, decoded.width, decoded.height, w, h);

    const decodeMs = await median(() => decodeImage(file));
    const resizeMs = await median(() => resizeCubic(decoded.rgb, decoded.width, decoded.height, w, h));
    const normaliseMs = await median(() => normalizeToChw(resized, w, h));
    const totalMs = await median(() => prepareImage(file));
    const cells = [image.name, file.length, `${gridH}x${gridW}`, decodeMs, resizeMs, normaliseMs, totalMs];
    console.log(`| ${cells.map((c) => (typeof c === 'number' && !Number.isInteger(c) ? c.toFixed(1) : c)).join(' | ')} |`);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
