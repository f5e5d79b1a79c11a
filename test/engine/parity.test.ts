// Parity with the reference (transformers 4.46.3, float32): walks manifest.json of the fixture
// folder generically and checks every model case from both weight layouts with the manifest's
// fp32 tolerances (fp32 KV cache), and again with 16-bit KV caches against the manifest's
// bf16_engine tolerances where the case has them. Prints the worst error per case and output. The
// WebGPU backend runs the fp32 set too, on the software adapter (Mesa llvmpipe) CI has.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadNative, type NativeEngine } from '../../src/engine/native';
import { createWebGpuExecutor, type WebGpuExecutor } from '../../src/engine/webgpu/executor';
import { caseImages, compareArrays, fixtureDir, float32, int32, loadManifest } from '../support/fixtures';
import { requires } from '../support/requirements';

const manifest = loadManifest();
const native = loadNative();
const layoutDir = (name: 'mistral' | 'hf') => path.join(fixtureDir, path.dirname(manifest.weights[name].file));
// An fp32 engine from both layouts; 16-bit KV caches (the layout is the loader's concern, checked above).
const runs = [
  { layout: 'mistral', kvCache: 'f32', tolerance: 'fp32_engine' },
  { layout: 'hf', kvCache: 'f32', tolerance: 'fp32_engine' },
  { layout: 'mistral', kvCache: 'f16', tolerance: 'bf16_engine' },
  { layout: 'mistral', kvCache: 'bf16', tolerance: 'bf16_engine' },
  { layout: 'mistral', kvCache: 'f32', tolerance: 'fp32_engine', backend: 'webgpu' },
  { layout: 'mistral', kvCache: 'bf16', tolerance: 'bf16_engine', backend: 'webgpu' },
] as const;
const mesa = requires('mesa-egl');


function report(label: string, got: ArrayLike<number>, ref: ArrayLike<number>, atol: number, rtol = 0) {
  const r = compareArrays(got, ref, atol, rtol);
  console.log(`    ${label}: max |err| ${r.maxAbs.toExponential(2)} (atol ${atol}, rtol ${rtol})`);
  assert.ok(r.pass, `${label}: element ${r.worstIndex} got ${got[r.worstIndex]} want ${ref[r.worstIndex]}`);
}

/** Ids of the k largest values of row (ties: lower id first), with their values. */
function topK(row: Float32Array, k: number) {
  const idx = Array.from({ length: k }, () => -1);
  for (let i = 0; i < row.length; i++) {
    for (let j = 0; j < k; j++) {
      if (idx[j] < 0 || row[i] > row[idx[j]]) {
        idx.splice(j, 0, i);
        idx.length = k;
        break;
      }
    }
  }
  return { ids: idx, values: idx.map((i) => row[i]) };
}

function logsumexp(row: Float32Array): number {
  let m = -Infinity;
  for (const v of row) m = Math.max(m, v);
  let s = 0;
  for (const v of row) s += Math.exp(v - m);
  return m + Math.log(s);
}

/** Compares ranked ids where the reference ranks are separated by more than `gap` on both sides. */
function assertRankedIds(label: string, got: number[], refIds: ArrayLike<number>, refValues: ArrayLike<number>, gap: number) {
  for (let k = 0; k < refIds.length; k++) {
    const above = k === 0 ? Infinity : refValues[k - 1] - refValues[k];
    const below = k + 1 < refIds.length ? refValues[k] - refValues[k + 1] : Infinity;
    if (above > gap && below > gap) assert.equal(got[k], refIds[k], `${label}: rank ${k}`);
  }
}

for (const run of runs) {
  const dir = layoutDir(run.layout);
  const webgpu = 'backend' in run;
  const on = webgpu ? ', on webgpu' : '';
  describe(`parity (${run.layout} layout: ${path.relative(fixtureDir, dir) || '.'}, ${run.kvCache} KV cache, ${run.tolerance} tolerances${on})`, webgpu ? mesa.options : {}, () => {
    let engine: NativeEngine;
    let executor: WebGpuExecutor | undefined;
    let V = 0;
    before(async () => {
      engine = new native.Engine();
      if (webgpu && mesa.met()) executor = await createWebGpuExecutor({ allowSoftwareAdapter: true });
      const info = await engine.load(dir, { contextLength: 1024, kvCache: run.kvCache, ...(executor && { backend: 'webgpu', webgpu: executor }) });
      if (executor) assert.equal(engine.backend, executor.name);
      assert.equal(info.layout, run.layout);
      V = info.config.vocabSize;
    });
    after(() => {
      engine.unload();
      executor?.destroy();
    });

    for (const [name, c] of Object.entries(manifest.cases)) {
      if (name.startsWith('preprocess_')) continue; // image preprocessing: test/service/preprocess.test.ts
      const tol = c.tolerance[run.tolerance];
      if (!tol) {
        // The manifest gives greedy decoding no bf16 tolerance: the op harness and consistency
        // tests check 16-bit caches there.
        test(name, { skip: `the manifest has no ${run.tolerance} tolerance for ${name}` }, () => {});
        continue;
      }
      if (run.kvCache !== 'f32' && !c.inputs.input_ids) continue; // no KV cache involved: checked by the f32 runs
      if (name.startsWith('vision_')) {
        test(name, async () => {
          const imgs = caseImages(c);
          const info = native.inspectModel(dir).config.vision!;
          // Our positions must be the reference's: row * (image_size / patch) + col, per image.
          if (c.inputs.position_ids) {
            const stride = info.imageSize / info.patchSize;
            const want = imgs.flatMap((im) =>
              Array.from({ length: (im.height / info.patchSize) * (im.width / info.patchSize) }, (_, i) => {
                const w = im.width / info.patchSize;
                return Math.floor(i / w) * stride + (i % w);
              }),
            );
            assert.deepEqual(Array.from(int32(c.inputs.position_ids)), want);
          }
          const r = await engine.encodeImages(imgs, { captureLayers: true });
          const Dv = info.hidden;
          let checked = 0;
          for (const [out, spec] of Object.entries(c.outputs)) {
            const ref = float32(spec);
            let got: Float32Array | undefined;
            const layer = /^vision_layer(\d+)_out$/.exec(out);
            const image = /^vision_out_image(\d+)$/.exec(out);
            if (out === 'vision_out') got = r.out;
            else if (out === 'patch_embeds_conv') got = r.patchEmbedsConv;
            else if (out === 'patch_embeds_ln_pre') got = r.lnPre;
            else if (layer) got = r.layers?.[Number(layer[1])];
            else if (image) {
              const k = Number(image[1]);
              const start = r.tokensPerImage.slice(0, k).reduce((a, b) => a + b, 0) * Dv;
              got = r.out.subarray(start, start + r.tokensPerImage[k] * Dv);
            }
            if (!got) {
              console.log(`    ${out}: not exposed by the engine (skipped)`);
              continue;
            }
            report(`${name}/${out}`, got, ref, tol.atol!, tol.rtol);
            checked++;
          }
          assert.ok(checked > 0, 'no output of this case was checked');
        });
        continue;
      }

      if (name === 'projector') {
        test(name, async () => {
          const x = float32(c.inputs.vision_out);
          const got = await engine.project(x, c.inputs.vision_out.shape[0]);
          report(`${name}/projector_out`, got, float32(c.outputs.projector_out), tol.atol!, tol.rtol);
        });
        continue;
      }

      if (name === 'greedy') {
        test(name, async () => {
          engine.reset();
          const atol = tol.logit_atol!;
          const ids = int32(c.inputs.input_ids);
          const refIds = int32(c.outputs.generated_ids);
          const margins = float32(c.outputs.step_top2_margin);
          await engine.prefill(ids, { images: caseImages(c), reserve: refIds.length });
          const steps: { id: number; logits: Float32Array }[] = [];
          const result = await engine.generate(
            { maxTokens: refIds.length, temperature: 0, stopIds: [], returnLogits: true },
            (id, logits) => steps.push({ id, logits: logits! }),
          );
          assert.equal(result.stopReason, 'length');
          assert.equal(steps.length, refIds.length);
          let compared = 0;
          let worst = 0;
          for (let i = 0; i < refIds.length && margins[i] > 2 * atol; i++, compared++) {
            assert.equal(steps[i].id, refIds[i], `generated_ids[${i}]`);
            const top = topK(steps[i].logits, 3);
            const checks: [string, number, number][] = [
              ['step_top1_logit', top.values[0], float32(c.outputs.step_top1_logit)[i]],
              ['step_top2_logit', top.values[1], float32(c.outputs.step_top2_logit)[i]],
              ['step_top2_margin', top.values[0] - top.values[1], margins[i]],
              ['step_logsumexp', logsumexp(steps[i].logits), float32(c.outputs.step_logsumexp)[i]],
            ];
            for (const [label, got, want] of checks) {
              worst = Math.max(worst, Math.abs(got - want));
              assert.ok(Math.abs(got - want) <= atol, `${label}[${i}]: got ${got} want ${want}`);
            }
            if (top.values[1] - top.values[2] > 2 * atol) assert.equal(top.ids[1], int32(c.outputs.step_top2_id)[i]);
          }
          console.log(`    ${name}: ${compared}/${refIds.length} steps compared, max |logit err| ${worst.toExponential(2)}`);
          assert.ok(compared > 0, 'no step had a margin large enough to compare');
        });
        continue;
      }

      if (c.inputs.input_ids) {
        test(name, async () => {
          engine.reset();
          const ids = int32(c.inputs.input_ids);
          const T = ids.length;
          const logits = await engine.prefill(ids, { images: caseImages(c), logits: 'all' });
          assert.equal(logits.length, T * V);
          const row = (t: number) => logits.subarray(t * V, (t + 1) * V);
          const atol = tol.atol!;
          const rtol = tol.rtol ?? 0;
          for (const [out, spec] of Object.entries(c.outputs)) {
            if (out.startsWith('logits_last')) {
              const n = spec.shape[0];
              report(`${name}/${out}`, logits.subarray((T - n) * V), float32(spec), atol, rtol);
            }
          }
          const margins = float32(c.outputs.top2_margin);
          const refTop = float32(c.outputs.top5_logits);
          const refIds = int32(c.outputs.top5_ids);
          const k = c.outputs.top5_ids.shape[1];
          const gotTop = new Float32Array(T * k);
          const gotMargin = new Float32Array(T);
          let comparedIds = 0;
          for (let t = 0; t < T; t++) {
            const top = topK(row(t), k);
            gotTop.set(top.values, t * k);
            gotMargin[t] = top.values[0] - top.values[1];
            if (margins[t] > 2 * atol) {
              assert.equal(top.ids[0], int32(c.outputs.argmax)[t], `argmax[${t}]`);
              assertRankedIds(`top5_ids[${t}]`, top.ids, refIds.subarray(t * k, (t + 1) * k), refTop.subarray(t * k, (t + 1) * k), 2 * atol);
              comparedIds++;
            }
          }
          report(`${name}/top5_logits`, gotTop, refTop, atol, rtol);
          report(`${name}/top2_margin`, gotMargin, margins, atol, rtol);
          console.log(`    ${name}: argmax/top5 ids compared at ${comparedIds}/${T} positions`);
          assert.ok(comparedIds > 0);
        });
        continue;
      }

      test(name, () => assert.fail(`case ${name}: no runner for its inputs (${Object.keys(c.inputs).join(', ')})`));
    }
  });
}
