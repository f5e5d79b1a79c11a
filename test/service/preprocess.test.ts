// Image preprocessing against the golden fixtures, walking manifest.json generically:
// * preprocess_mc_* — the product's own path (mistral-common grid, OpenCV cubic): grid and image
//   tokens exact, pixel values within the case's atol;
// * other preprocess_* — made by transformers (ceil grid, PIL bicubic): RGB conversion, both grid
//   rules against the notes, a PIL-compatible resize driven by the fixture's shape, normalisation.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { decodeImage } from '../../src/worker/image/decode';
import { gridForMaxSize } from '../../src/worker/image/grid';
import { normalizeToChw } from '../../src/worker/image/normalize';
import { prepareImage } from '../../src/worker/image/preprocess';
import {
  compareArrays,
  fixtureDir,
  jsonNotes,
  loadManifest,
  readFixtureArray,
  sha256Hex,
  type FixtureCase,
} from '../support/fixtures';
import { resizePilBicubic } from './support/resize-pil';

const manifest = loadManifest();
const defaults = manifest.preprocessing_defaults;
const special = manifest.special_tokens;
const cases = Object.entries(manifest.cases).filter(([name]) => name.startsWith('preprocess_'));

/** Spec (d): per patch row, gridW [IMG] then [IMG_BREAK]; the last row ends with [IMG_END]. */
function imageTokenIds(gridH: number, gridW: number): number[] {
  const ids: number[] = [];
  for (let row = 0; row < gridH; row++) {
    for (let col = 0; col < gridW; col++) ids.push(special.img);
    ids.push(row === gridH - 1 ? special.img_end : special.img_break);
  }
  return ids;
}

/** Reads the case's image after checking that its sha256 is the case's 32-byte input. */
function caseImage(fixtureCase: FixtureCase, relativePath: string): Buffer {
  const bytes = readFileSync(path.join(fixtureDir, relativePath));
  const expected = Buffer.from(readFixtureArray(fixtureCase.inputs.png_sha256_of_file)).toString('hex');
  assert.equal(sha256Hex(bytes), expected, `${relativePath} is not the image this case was made from`);
  return bytes;
}

test('the fixture folder has both kinds of preprocessing case', () => {
  assert.ok(cases.some(([name]) => name.startsWith('preprocess_mc_')), 'no preprocess_mc_* case');
  assert.ok(cases.some(([name]) => !name.startsWith('preprocess_mc_')), 'no transformers preprocess_* case');
});

for (const [name, fixtureCase] of cases.filter(([n]) => n.startsWith('preprocess_mc_'))) {
  test(`${name}: product path (mistral-common grid, OpenCV cubic) matches`, async (t) => {
    const image = fixtureCase.inputs.png_sha256_of_file.image;
    assert.ok(image, 'the case names no image');
    const prepared = await prepareImage(caseImage(fixtureCase, image), {
      maxImageSize: defaults.longest_edge,
      patchSize: defaults.patch_size,
    });

    const [gridH, gridW] = readFixtureArray(fixtureCase.outputs.grid_hw);
    assert.deepEqual([prepared.gridH, prepared.gridW], [gridH, gridW], 'grid (h, w)');
    const tokens = [...readFixtureArray(fixtureCase.outputs.image_tokens)];
    assert.deepEqual(imageTokenIds(prepared.gridH, prepared.gridW), tokens, 'image tokens');
    assert.equal(prepared.tokenCount, tokens.length, 'token count');

    const pixelsInfo = fixtureCase.outputs.pixel_values;
    assert.deepEqual([3, prepared.height, prepared.width], pixelsInfo.shape, 'pixel_values shape');
    const { atol = 0, rtol = 0 } = fixtureCase.tolerance.fp32_engine;
    const result = compareArrays(prepared.pixels, readFixtureArray(pixelsInfo), atol, rtol);
    t.diagnostic(`worst |error| ${result.maxAbs.toExponential(2)} (atol ${atol})`);
    assert.ok(result.pass, `pixel_values off by ${result.maxAbs} at ${result.worstIndex} (atol ${atol})`);
  });
}

for (const [name, fixtureCase] of cases.filter(([n]) => !n.startsWith('preprocess_mc_'))) {
  test(`${name}: RGB conversion, grid rules, PIL-compatible resize, normalisation`, async (t) => {
    const decoded = await decodeImage(caseImage(fixtureCase, `images/${name.slice('preprocess_'.length)}.png`));
    const outputs = fixtureCase.outputs;
    const notes = jsonNotes(fixtureCase);

    if (outputs.rgb_uint8_hwc) {
      assert.deepEqual([decoded.height, decoded.width, 3], outputs.rgb_uint8_hwc.shape, 'rgb shape');
      // The spec allows 1 level; our integer compositing is PIL's, so we hold it to exact.
      const rgb = compareArrays(decoded.rgb, readFixtureArray(outputs.rgb_uint8_hwc), 0);
      assert.ok(rgb.pass, `RGB conversion off by ${rgb.maxAbs} at ${rgb.worstIndex}`);
    }

    if (notes.source_size_hw) assert.deepEqual([decoded.height, decoded.width], notes.source_size_hw, 'source size');
    const grid = (rule: 'mistral-common' | 'hf-compat') => {
      const g = gridForMaxSize(decoded.width, decoded.height, defaults.longest_edge, defaults.patch_size, rule);
      return [g.gridH, g.gridW];
    };
    if (notes.hf_grid_hw) assert.deepEqual(grid('hf-compat'), notes.hf_grid_hw, 'transformers grid');
    if (notes.mistral_common_grid_hw) assert.deepEqual(grid('mistral-common'), notes.mistral_common_grid_hw, 'product grid');

    // Resize as Pillow does, to the fixture's own shape (not the product's grid).
    const [height, width] = outputs.resized_uint8_hwc.shape;
    const wantResized = readFixtureArray(outputs.resized_uint8_hwc) as Uint8Array;
    const resized = resizePilBicubic(decoded.rgb, decoded.width, decoded.height, width, height);
    const resizedError = compareArrays(resized, wantResized, 0);
    const { atol = 0, rtol = 0 } = fixtureCase.tolerance.fp32_engine;
    const wantPixels = readFixtureArray(outputs.pixel_values);
    const pixelError = compareArrays(normalizeToChw(resized, width, height), wantPixels, atol, rtol);
    t.diagnostic(`PIL-compatible resize: worst uint8 error ${resizedError.maxAbs}, pixel_values ${pixelError.maxAbs.toExponential(2)}`);
    assert.ok(resizedError.pass, `resized_uint8_hwc off by ${resizedError.maxAbs} at ${resizedError.worstIndex}`);
    assert.ok(pixelError.pass, `pixel_values off by ${pixelError.maxAbs} at ${pixelError.worstIndex} (atol ${atol})`);

    const normalised = compareArrays(normalizeToChw(wantResized, width, height), wantPixels, 1e-6);
    assert.ok(normalised.pass, `normalisation alone off by ${normalised.maxAbs} at ${normalised.worstIndex}`);
  });
}
