// GGUF models (native/src/gguf.cc, llama.cpp's format): the fixture model written by our GGUF writer
// (test/support/gguf-model.ts) as a text model and an mmproj, at bf16 and with the blocks of our
// q8_0 / q4_0 files, loads and computes what the safetensors checkpoint computes at that precision;
// a tensor of a quant type the engine does not read is refused with its name and type; damaged
// files are refused with the reason.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadNative, type WeightPrecision } from '../../src/engine/native';
import { fixtureDir } from '../support/fixtures';
import { readSafetensorsHeader, writeMmprojGguf, writeTextGguf, type WeightSource } from '../support/gguf-model';
import { GgmlType } from '../support/gguf-writer';
import { linkedModelFolder, manifestPrompts, promptLogits } from './quant-support';

const native = loadNative();
const prompts = manifestPrompts();
const hasVision = native.inspectModel(fixtureDir).config.vision !== null;

describe(`GGUF models (${fixtureDir})`, () => {
  const source = linkedModelFolder(fixtureDir);
  const work = mkdtempSync(path.join(os.tmpdir(), 'pixtral-gguf-'));
  after(() => {
    source.remove();
    rmSync(work, { recursive: true, force: true });
  });

  const weights = (precision: WeightPrecision): WeightSource => ({
    checkpoint: readSafetensorsHeader(path.join(fixtureDir, 'consolidated.safetensors')),
    quantized: precision === 'bf16' ? undefined : readSafetensorsHeader(path.join(source.dir, `pixtral-${precision}.safetensors`)),
  });

  /** Every prompt's logits, and the vision encoder's output for the first prompt's images. */
  async function run(dir: string, precision: WeightPrecision) {
    const engine = new native.Engine();
    const info = await engine.load(dir, { precision, contextLength: 256 });
    try {
      const logits = [];
      for (const p of prompts) logits.push(await promptLogits(engine, p));
      const images = prompts.find((p) => p.images.length)?.images;
      const vision = hasVision && images ? (await engine.encodeImages(images)).out : undefined;
      return { info, logits, vision };
    } finally {
      engine.unload();
    }
  }

  for (const precision of ['bf16', 'q8_0', 'q4_0'] as const)
    test(`a ${precision} GGUF pair from our writer loads and computes what the checkpoint computes at ${precision}`, async () => {
      const checkpoint = await run(source.dir, precision);
      const dir = path.join(work, precision);
      const src = weights(precision);
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      writeTextGguf(path.join(dir, `pixtral-text-${precision}.gguf`), fixtureDir, src, { contextLength: 4096 });
      if (hasVision) writeMmprojGguf(path.join(dir, `mmproj-pixtral-${precision}.gguf`), fixtureDir, src);
      const gguf = await run(dir, 'bf16');
      assert.equal(gguf.info.precision, precision);
      assert.equal(gguf.info.layout, 'mistral');
      assert.deepEqual(gguf.info.config, checkpoint.info.config);
      // The text decoder reads the same blocks (and f32 norms holding the bf16 values): equal logits.
      // The patch convolution stays bf16 in an mmproj (ggml never quantizes it), so vision compares
      // exactly only at bf16.
      if (!hasVision || precision === 'bf16') assert.deepEqual(gguf.logits, checkpoint.logits);
      else {
        const textOnly = prompts.findIndex((p) => p.images.length === 0);
        assert.deepEqual(gguf.logits[textOnly], checkpoint.logits[textOnly]);
      }
      if (precision === 'bf16' && gguf.vision) assert.deepEqual(gguf.vision, checkpoint.vision);
      await assert.rejects(
        new native.Engine().load(dir, { precision: precision === 'q8_0' ? 'q4_0' : 'q8_0' }),
        /a GGUF model loads at its own precision/,
      );
    });

  describe('refusals', () => {
    let text = '';
    before(() => {
      text = path.join(work, 'text-bf16.gguf');
      writeTextGguf(text, fixtureDir, weights('bf16'), { contextLength: 4096 });
    });
    const folderWith = (name: string, bytes: Buffer): string => {
      const dir = mkdtempSync(path.join(work, 'bad-'));
      writeFileSync(path.join(dir, name), bytes);
      return dir;
    };

    test('a tensor of a quant type the engine does not read: its name, its type and what to do', async () => {
      const dir = mkdtempSync(path.join(work, 'q4k-'));
      const D = native.inspectModel(fixtureDir).config.dim;
      writeTextGguf(path.join(dir, 'model.gguf'), fixtureDir, weights('bf16'), {
        contextLength: 4096,
        // ffn_down [D, F] with F a multiple of 256: the shape Q4_K needs, random bytes for blocks.
        edit: (t) =>
          t.name === 'blk.0.ffn_down.weight' && t.shape[1] % 256 === 0
            ? { ...t, type: GgmlType.Q4_K, source: Buffer.alloc((D * t.shape[1] * 144) / 256, 7) }
            : t,
      });
      await assert.rejects(new native.Engine().load(dir), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'EUNSUPPORTED');
        assert.match(err.message, /blk\.0\.ffn_down\.weight is Q4_K, a quant type this engine does not read \(it reads F32, F16, BF16, Q8_0 and Q4_0/);
        return true;
      });
    });

    test('a truncated file says so', () => {
      const bytes = readFileSync(text);
      assert.throws(() => native.inspectModel(folderWith('model.gguf', bytes.subarray(0, bytes.length - 100))), /past the end of the file \(\d+ data bytes; truncated\?\)/);
      assert.throws(() => native.inspectModel(folderWith('model.gguf', bytes.subarray(0, 1000))), /runs past the end of the file \(truncated\?\)/);
    });

    test('not GGUF, or a version this engine does not read', () => {
      const bytes = Buffer.from(readFileSync(text));
      assert.throws(() => native.inspectModel(folderWith('model.gguf', Buffer.from('GGML plus more bytes'))), /does not start with "GGUF"/);
      bytes.writeUInt32LE(1, 4);
      assert.throws(() => native.inspectModel(folderWith('model.gguf', bytes)), /is GGUF version 1; this engine reads versions 2 and 3/);
    });
  });
});
