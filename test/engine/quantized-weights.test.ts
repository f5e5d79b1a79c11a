// Quantization at load (native/src/quantize.cc, layout in native/QUANT.md): the first load at a
// precision writes <model dir>/pixtral-<precision>.safetensors and later loads map it; the file is
// read back here with nothing but its documented layout and every block compared with the bf16
// checkpoint; an outdated or damaged file is replaced; a folder nobody may write to is quantized
// in memory. Runs on the fixture model (PIXTRAL_FIXTURES).
import assert from 'node:assert/strict';
import { chmodSync, existsSync, readFileSync, statSync, truncateSync, utimesSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { loadNative, type WeightPrecision } from '../../src/engine/native';
import { fixtureDir } from '../support/fixtures';
import { copiedModelFolder, linkedModelFolder, manifestPrompts, promptLogits } from './quant-support';

const native = loadNative();
const prompt = manifestPrompts().find((p) => p.name === 'mm_single') ?? manifestPrompts()[0];
const precisions: WeightPrecision[] = ['q8_0', 'q4_0', 'q4_0-pure'];

async function load(dir: string, precision: WeightPrecision) {
  const engine = new native.Engine();
  const info = await engine.load(dir, { precision, contextLength: 256 });
  const logits = await promptLogits(engine, prompt);
  engine.unload();
  return { info, logits };
}

function f16(h: number): number {
  const e = (h >> 10) & 31, m = h & 1023, s = h & 0x8000 ? -1 : 1;
  return s * (e === 0 ? m * 2 ** -24 : e === 31 ? (m ? NaN : Infinity) : (1 + m / 1024) * 2 ** (e - 15));
}
/** bf16 bytes as fp32 values. */
function widenBf16(bytes: Buffer, count: number): Float32Array {
  const bits = new Uint32Array(count);
  for (let i = 0; i < count; i++) bits[i] = bytes.readUInt16LE(2 * i) << 16;
  return new Float32Array(bits.buffer);
}

/** A safetensors file as its header and raw bytes. */
function readSafetensors(file: string) {
  const bytes = readFileSync(file);
  const n = Number(bytes.readBigUInt64LE(0));
  const { __metadata__: metadata, ...tensors } = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')) as Record<string, unknown>;
  return {
    bytes,
    dataStart: 8 + n,
    metadata: metadata as Record<string, string>,
    tensors: tensors as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>,
  };
}

describe(`quantized weights files (${fixtureDir})`, () => {
  for (const precision of precisions)
    test(`${precision}: the first load writes pixtral-${precision}.safetensors, later loads map it and compute the same`, async () => {
      const folder = linkedModelFolder(fixtureDir);
      try {
        const first = await load(folder.dir, precision);
        const file = path.join(folder.dir, `pixtral-${precision}.safetensors`);
        assert.equal(first.info.quantizedFile, file);
        assert.equal(first.info.quantizedNow, true);
        assert.equal(first.info.precision, precision);
        const second = await load(folder.dir, precision);
        assert.equal(second.info.quantizedNow, false);
        assert.deepEqual(second.logits, first.logits);
        // The memory plan the fit check reads counts exactly what the load maps.
        assert.equal(native.planMemory(folder.dir, { precision }).weightBytes, second.info.weightBytes);
        assert.ok(second.info.weightBytes < native.planMemory(folder.dir, { precision: 'bf16' }).weightBytes);
      } finally {
        folder.remove();
      }
    });

  test('the file is the documented layout, and every block holds its bf16 values to within half a step', async () => {
    const folder = linkedModelFolder(fixtureDir);
    try {
      const checkpoint = readSafetensors(path.join(fixtureDir, 'consolidated.safetensors'));
      for (const precision of precisions) {
        await load(folder.dir, precision);
        const q = readSafetensors(path.join(folder.dir, `pixtral-${precision}.safetensors`));
        const meta = q.metadata;
        assert.equal(meta.format, 'pixtral-quantized');
        assert.equal(meta.version, '1');
        assert.equal(meta.precision, precision);
        assert.equal(q.dataStart % 64, 0);
        const blocks = JSON.parse(meta.block_tensors) as Record<string, [string, ...number[]]>;
        let checked = 0;
        for (const [name, src] of Object.entries(checkpoint.tensors)) {
          const entry = q.tensors[name];
          assert.ok(entry, `${name} is missing`);
          assert.equal((q.dataStart + entry.data_offsets[0]) % 64, 0, `${name} is not 64-byte aligned`);
          const cols = src.shape.slice(1).reduce((a, b) => a * b, 1);
          const sensitive = ['tok_embeddings.weight', 'output.weight', 'vision_encoder.patch_conv.weight'].includes(name);
          const want = src.shape.length < 2 || cols % 32 ? undefined : precision === 'q8_0' || (precision === 'q4_0' && sensitive) ? 'q8_0' : 'q4_0';
          assert.equal(blocks[name]?.[0], want, `${name}: stored as ${blocks[name]?.[0] ?? 'bf16'}`);
          if (!want) {
            assert.equal(entry.dtype, 'BF16');
            continue;
          }
          assert.deepEqual(blocks[name].slice(1), src.shape);
          const blockBytes = want === 'q8_0' ? 34 : 18, rows = src.shape[0];
          assert.deepEqual([entry.dtype, entry.shape], ['U8', [rows, (cols / 32) * blockBytes]]);
          const data = q.bytes.subarray(q.dataStart + entry.data_offsets[0]);
          const values = widenBf16(checkpoint.bytes.subarray(checkpoint.dataStart + src.data_offsets[0]), rows * cols);
          const q8 = want === 'q8_0';
          for (let b = 0; b < (rows * cols) / 32; b++) {
            const d = f16(data.readUInt16LE(b * blockBytes));
            // Half a step, plus the fp16 rounding of the scale; Q4_0's top level (+7) clips the
            // value at the other end from the block's extreme by up to one step.
            const allowed = Math.abs(d) * (q8 ? 0.5 : 1) + 128 * Math.abs(d) * 2 ** -11;
            for (let j = 0; j < 32; j++) {
              const byte = data[b * blockBytes + 2 + (q8 ? j : j % 16)];
              const deq = q8 ? d * ((byte << 24) >> 24) : d * (((j < 16 ? byte : byte >> 4) & 15) - 8);
              const x = values[b * 32 + j];
              if (!(Math.abs(deq - x) <= allowed)) assert.fail(`${name} block ${b} value ${j}: ${deq} for ${x} (step ${d})`);
            }
          }
          checked++;
        }
        assert.ok(checked > 0, `no tensor of ${fixtureDir} is quantized at ${precision}`);
      }
    } finally {
      folder.remove();
    }
  });

  test('a file from another checkpoint (newer time) or a damaged one is replaced on the next load', async () => {
    const folder = copiedModelFolder(fixtureDir);
    try {
      const file = path.join(folder.dir, 'pixtral-q8_0.safetensors');
      const original = await load(folder.dir, 'q8_0');
      const later = new Date(statSync(path.join(folder.dir, 'consolidated.safetensors')).mtimeMs + 60_000);
      utimesSync(path.join(folder.dir, 'consolidated.safetensors'), later, later);
      const afterEdit = await load(folder.dir, 'q8_0');
      assert.equal(afterEdit.info.quantizedNow, true);
      truncateSync(file, statSync(file).size - 1000);
      const afterDamage = await load(folder.dir, 'q8_0');
      assert.equal(afterDamage.info.quantizedNow, true);
      assert.deepEqual(afterDamage.logits, original.logits);
      assert.equal((await load(folder.dir, 'q8_0')).info.quantizedNow, false);
    } finally {
      folder.remove();
    }
  });

  test('a folder nobody may write to is quantized in memory, with the same result', async () => {
    const folder = linkedModelFolder(fixtureDir);
    try {
      const inFile = await load(folder.dir, 'q4_0');
      const readOnly = linkedModelFolder(fixtureDir);
      chmodSync(readOnly.dir, 0o555);
      try {
        const inMemory = await load(readOnly.dir, 'q4_0');
        assert.equal(inMemory.info.quantizedFile, null);
        assert.equal(inMemory.info.quantizedNow, true);
        assert.equal(existsSync(path.join(readOnly.dir, 'pixtral-q4_0.safetensors')), false);
        assert.deepEqual(inMemory.logits, inFile.logits);
      } finally {
        chmodSync(readOnly.dir, 0o755);
        readOnly.remove();
      }
    } finally {
      folder.remove();
    }
  });
});
