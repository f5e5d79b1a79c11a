// Our GGUF writing and quantized blocks agree with llama.cpp, not only with our own reader: the
// fixture's text decoder is written as a GGUF (test/support/gguf-model.ts: bf16, and the blocks of
// our q8_0 / q4_0 files) and run in llama.cpp through node-llama-cpp (prebuilt CPU binaries), fed
// the same text-only prompts as our engine, greedy. llama.cpp is kept on our tokens (teacher
// forcing), so every step compares the same context: the log-probabilities llama.cpp gives our
// top-5 tokens must be ours within `atol`, and its greedy choice must be ours under the fixtures'
// margin rule (compare while our top-2 margin exceeds 2·atol; stop at the first step below).
// llama.cpp rounds activations to bf16 / q8_0 where we keep fp32, hence an atol per weight type.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Llama, Token } from 'node-llama-cpp';
import { loadNative, type WeightPrecision } from '../../src/engine/native';
import { fixtureDir, int32, loadManifest } from '../support/fixtures';
import { mulberry32 } from '../support/random';
import { readSafetensorsHeader, writeTextGguf } from '../support/gguf-model';
import { linkedModelFolder } from './quant-support';

const native = loadNative();
const STEPS = 8;
const TOP = 5;
const types: { precision: WeightPrecision; atol: number }[] = [
  { precision: 'bf16', atol: 0.02 },
  { precision: 'q8_0', atol: 0.1 },
  { precision: 'q4_0', atol: 0.1 },
];

/** The manifest's text-only prompt and six seeded ones of ordinary ids (>= 1000). */
function prompts(vocab: number): number[][] {
  const out = Object.values(loadManifest().cases)
    .filter((c) => c.inputs.input_ids && !Object.keys(c.inputs).some((n) => n.startsWith('pixel_values')))
    .map((c) => Array.from(int32(c.inputs.input_ids)));
  const r = mulberry32(12);
  for (let i = 0; i < 6; i++) out.push([1, 3, ...Array.from({ length: 4 + 2 * i }, () => 1000 + Math.floor(r() * (vocab - 1000))), 4]);
  return out;
}

function logSoftmax(row: Float32Array): Float64Array {
  let m = -Infinity;
  for (const v of row) m = Math.max(m, v);
  let s = 0;
  for (const v of row) s += Math.exp(v - m);
  const lse = m + Math.log(s);
  return Float64Array.from(row, (v) => v - lse);
}

/** Our greedy runs: per prompt, the tokens and the log-probabilities each was chosen from. */
async function ours(dir: string, precision: WeightPrecision, prompts: number[][]) {
  const engine = new native.Engine();
  await engine.load(dir, { precision, kvCache: 'f32', contextLength: 256 });
  try {
    const runs = [];
    for (const prompt of prompts) {
      engine.reset();
      await engine.prefill(Int32Array.from(prompt));
      const tokens: number[] = [], logp: Float64Array[] = [];
      await engine.generate({ maxTokens: STEPS, temperature: 0, stopIds: [], returnLogits: true }, (id, logits) => {
        tokens.push(id);
        logp.push(logSoftmax(logits!));
      });
      runs.push({ prompt, tokens, logp });
    }
    return runs;
  } finally {
    engine.unload();
  }
}

describe(`llama.cpp (node-llama-cpp) agrees with our engine on the fixture's text decoder (${fixtureDir})`, () => {
  const source = linkedModelFolder(fixtureDir);
  const work = mkdtempSync(path.join(os.tmpdir(), 'pixtral-llama-'));
  let llama: Llama;
  before(async () => {
    // node-llama-cpp is an ES module (with top-level await): imported, not required.
    const { getLlama, LlamaLogLevel } = await import('node-llama-cpp');
    llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
  });
  after(async () => {
    await llama?.dispose();
    source.remove();
    rmSync(work, { recursive: true, force: true });
  });

  for (const { precision, atol } of types)
    test(`${precision} GGUF: llama.cpp's log-probabilities of our top-${TOP} within ${atol}, the same greedy tokens while our margin > ${2 * atol}`, async () => {
      const vocab = native.inspectModel(source.dir).config.vocabSize;
      const runs = await ours(source.dir, precision, prompts(vocab));
      const file = path.join(work, `${precision}.gguf`);
      writeTextGguf(file, fixtureDir, {
        checkpoint: readSafetensorsHeader(path.join(fixtureDir, 'consolidated.safetensors')),
        quantized: precision === 'bf16' ? undefined : readSafetensorsHeader(path.join(source.dir, `pixtral-${precision}.safetensors`)),
      }, { contextLength: 4096 });
      const model = await llama.loadModel({ modelPath: file });
      const context = await model.createContext({ contextSize: 256, batchSize: 256, threads: 2 });
      let compared = 0, worst = 0;
      try {
        for (const run of runs) {
          const sequence = context.getSequence();
          const steps = sequence.evaluateWithMetadata(run.prompt as Token[], { probabilities: true }, { temperature: 0 });
          let comparing = true;
          for (let i = 0; i < STEPS; i++) {
            const { value } = i === 0 ? await steps.next() : await steps.next(run.tokens[i - 1] as Token);
            assert.ok(value, `llama.cpp stopped after ${i} steps`);
            const theirs = value.probabilities;
            const mine = run.logp[i];
            const ranked = Array.from(mine.keys()).sort((a, b) => mine[b] - mine[a]).slice(0, TOP);
            for (const id of ranked) {
              const d = Math.abs(Math.log(theirs.get(id as Token) ?? 0) - mine[id]);
              worst = Math.max(worst, d);
              assert.ok(d <= atol, `prompt [${run.prompt.join(' ')}] step ${i}: token ${id} log p ${mine[id]} here, differs by ${d}`);
            }
            if (comparing && mine[ranked[0]] - mine[ranked[1]] > 2 * atol) {
              assert.equal(value.token, run.tokens[i], `prompt [${run.prompt.join(' ')}] step ${i}`);
              compared++;
            } else comparing = false;
          }
          await steps.return();
          sequence.dispose();
        }
      } finally {
        await context.dispose();
        await model.dispose();
      }
      console.log(`    ${precision}: largest log-probability difference ${worst.toFixed(4)}; ${compared} greedy tokens compared`);
      assert.ok(compared > 0, 'no step had a margin wide enough to compare the greedy token');
    });
});
