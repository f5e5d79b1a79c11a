// Training-data stage 2: a split written by the data generator (tools/sketch-data: index.jsonl,
// <id>.png, <id>.target.txt) -> packed shards that train.py reads without any tokenizer or image
// code of its own. Incremental: examples already encoded (by id) are skipped, so the command can
// be re-run as the generator adds examples.
//
//   node --import tsx tools/sketch-model/encode.ts --data /work/data/sketch --split train \
//     --tokenizer DIR/tekken.json --config tools/sketch-model/config.json --out /work/data/sketch-model/encoded
//
// Output, per split: shard-NNNNN.bin (records back to back) and index.jsonl, one line per record:
// {id, task, style, shard, offset, promptLength, targetLength, prefixLength, gridH, gridW, imageBytes}.
// A record is promptIds (uint16 LE) ‖ targetIds incl. EOS (uint16 LE) ‖ zlib(rgb [H, W, 3] uint8).
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { deflateSync } from 'node:zlib';
import { TekkenTokenizer } from '../../src/worker/tokenizer';
import { encodeExample, type EncodedExample, type ExampleTask, type VisionGeometry } from './example-encoding';

const SHARD_BYTES = 64 * 1024 * 1024;

interface SourceLine {
  id: string;
  task: ExampleTask;
  image: string;
  target: string;
  style?: unknown;
}

export function readSplitIndex(dir: string): SourceLine[] {
  return readFileSync(path.join(dir, 'index.jsonl'), 'utf8')
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line) as SourceLine);
}

export function visionGeometry(configPath: string): VisionGeometry {
  const v = JSON.parse(readFileSync(configPath, 'utf8')).vision_encoder;
  return { imageSize: v.image_size, patchSize: v.patch_size };
}

function record(e: EncodedExample): { bytes: Buffer; imageBytes: number } {
  const all = [...e.promptIds, ...e.targetIds];
  if (all.some((id) => id > 0xffff)) throw new Error('a token id above 65535 does not fit the uint16 records');
  const ids = Uint16Array.from(all);
  const image = deflateSync(e.rgb, { level: 6 });
  return { bytes: Buffer.concat([Buffer.from(ids.buffer, ids.byteOffset, ids.byteLength), image]), imageBytes: image.length };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      data: { type: 'string' },
      split: { type: 'string' },
      tokenizer: { type: 'string' },
      config: { type: 'string', default: path.join(__dirname, 'config.json') },
      out: { type: 'string' },
      limit: { type: 'string' },
    },
  });
  if (!values.data || !values.split || !values.tokenizer || !values.out) {
    throw new Error('usage: encode.ts --data DIR --split NAME --tokenizer tekken.json --out DIR [--config config.json] [--limit N]');
  }
  const source = path.join(values.data, values.split);
  const out = path.join(values.out, values.split);
  mkdirSync(out, { recursive: true });
  const tokenizer = TekkenTokenizer.fromFile(values.tokenizer);
  const vision = visionGeometry(values.config!);
  const indexPath = path.join(out, 'index.jsonl');
  const done = new Set(existsSync(indexPath) ? readSplitIndex(out).map((l) => l.id) : []);
  const pending = readSplitIndex(source).filter((l) => !done.has(l.id)).slice(0, values.limit ? Number(values.limit) : undefined);

  let shard = 0;
  while (existsSync(path.join(out, shardName(shard)))) shard++;
  let chunks: Buffer[] = [];
  let lines: string[] = [];
  let offset = 0;
  let targetTokens = 0;
  const flush = () => {
    if (!chunks.length) return;
    writeFileSync(path.join(out, shardName(shard)), Buffer.concat(chunks));
    appendFileSync(indexPath, lines.join(''));
    shard++;
    chunks = [];
    lines = [];
    offset = 0;
  };
  const started = Date.now();
  for (const [n, line] of pending.entries()) {
    const target = readFileSync(path.join(source, line.target), 'utf8');
    const encoded = await encodeExample(tokenizer, vision, { task: line.task, imagePath: path.join(source, line.image), target });
    const { bytes, imageBytes } = record(encoded);
    lines.push(
      `${JSON.stringify({
        id: line.id,
        task: line.task,
        style: line.style ?? null,
        shard: shardName(shard),
        offset,
        promptLength: encoded.promptIds.length,
        targetLength: encoded.targetIds.length,
        prefixLength: encoded.prefixLength,
        gridH: encoded.gridH,
        gridW: encoded.gridW,
        imageBytes,
      })}\n`,
    );
    chunks.push(bytes);
    offset += bytes.length;
    targetTokens += encoded.targetIds.length;
    if (offset >= SHARD_BYTES) flush();
    if ((n + 1) % 200 === 0) {
      const rate = (n + 1) / ((Date.now() - started) / 1000);
      process.stderr.write(`${values.split}: ${n + 1}/${pending.length} (${rate.toFixed(1)}/s), mean target ${(targetTokens / (n + 1)).toFixed(0)} tokens\n`);
    }
  }
  flush();
  process.stderr.write(`${values.split}: encoded ${pending.length} new examples (${done.size} were already there)\n`);
}

function shardName(n: number): string {
  return `shard-${String(n).padStart(5, '0')}.bin`;
}

if (require.main === module) {
  main().catch((err) => {
    process.stderr.write(`${(err as Error).stack}\n`);
    process.exit(1);
  });
}
