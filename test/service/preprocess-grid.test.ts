// Patch grid rules and token budgets (src/worker/image/grid.ts): mistral-common's round-half-even
// rule, transformers' ceil rule as the hf-compat mode, and the largest grid that fits a budget.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_TOKEN_BUDGETS } from '../../src/worker/image/budgets';
import { ImageError } from '../../src/worker/image/errors';
import { gridForBudget, gridForMaxSize, imageTokenCount, roundHalfEven } from '../../src/worker/image/grid';

const PATCH = 16;
const tokens = (g: { gridH: number; gridW: number }) => imageTokenCount(g.gridH, g.gridW);

test('roundHalfEven is Python round: ties go to the even neighbour', () => {
  assert.deepEqual([0.5, 1.5, 2.5, 3.5, 160.25, 160.5, 161.5, 2.4999].map(roundHalfEven), [0, 2, 2, 4, 160, 160, 162, 2]);
});

test('image token count is h·(w+1): the 2x3 example of spec (d) has 8 tokens', () => {
  assert.equal(imageTokenCount(2, 3), 8);
  assert.equal(imageTokenCount(64, 64), 4160);
});

test('spec f.3: 1024x641 at max 256 is 10x16 (mistral-common) and 11x16 (hf-compat)', () => {
  assert.deepEqual(gridForMaxSize(1024, 641, 256, PATCH), { gridH: 10, gridW: 16 });
  assert.deepEqual(gridForMaxSize(1024, 641, 256, PATCH, 'hf-compat'), { gridH: 11, gridW: 16 });
});

test('small images are never enlarged, only padded to whole patches', () => {
  assert.deepEqual(gridForMaxSize(7, 5, 1024, PATCH), { gridH: 1, gridW: 1 });
  assert.deepEqual(gridForMaxSize(1000, 17, 1024, PATCH), { gridH: 2, gridW: 63 });
});

test('a sliver keeps at least one patch per side where mistral-common would give 0', () => {
  assert.deepEqual(gridForMaxSize(10000, 4, 1024, PATCH), { gridH: 1, gridW: 64 });
});

test('default budgets: a smaller one for chart hovers, the full 1024 px for sketches', () => {
  assert.ok(DEFAULT_TOKEN_BUDGETS.chartHover < DEFAULT_TOKEN_BUDGETS.sketchToHtml);
  assert.deepEqual(gridForBudget(1024, 1024, 1024, PATCH, DEFAULT_TOKEN_BUDGETS.sketchToHtml), { gridH: 64, gridW: 64 });
  assert.deepEqual(gridForBudget(1024, 1024, 1024, PATCH, DEFAULT_TOKEN_BUDGETS.chartHover), { gridH: 32, gridW: 32 });
});

test('a budget worked by hand: 4000x3000 in 1056 tokens is 27x36 (999 tokens)', () => {
  // Longest edge 576 px: 3000·576/4000 = 432 px -> 27 rows, 27·37 = 999. At 592 px: 444 px -> 28 rows,
  // 28·38 = 1064 > 1056.
  assert.deepEqual(gridForBudget(4000, 3000, 1024, PATCH, 1056), { gridH: 27, gridW: 36 });
});

const shapes: Array<[number, number]> = [
  [1024, 1024], // square at the limit
  [4000, 3000], // 4:3 photo
  [1920, 1080], // 16:9 screenshot
  [600, 2400], // tall page
  [3000, 200], // wide banner
  [300, 500], // small, below the limit
  [7, 5], // tiny
];
const budgets = [2, 40, 100, 500, DEFAULT_TOKEN_BUDGETS.chartHover, 2000, DEFAULT_TOKEN_BUDGETS.sketchToHtml];

for (const [w, h] of shapes) {
  test(`budget on ${w}x${h}: fits, keeps the aspect ratio, and is the largest that fits`, () => {
    const full = gridForMaxSize(w, h, 1024, PATCH);
    let previous = 0;
    for (const budget of budgets) {
      const grid = gridForBudget(w, h, 1024, PATCH, budget);
      const label = `${w}x${h}, budget ${budget}: ${grid.gridH}x${grid.gridW}`;
      assert.ok(tokens(grid) <= budget, `${label} has ${tokens(grid)} tokens`);
      assert.ok(grid.gridH <= full.gridH && grid.gridW <= full.gridW, `${label} exceeds the full grid`);
      assert.ok(tokens(grid) >= previous, `${label}: a larger budget gave fewer tokens`);
      previous = tokens(grid);

      // Aspect: the long side has n patches, the short side within one patch of n·short/long.
      const [long, short] = w >= h ? [grid.gridW, grid.gridH] : [grid.gridH, grid.gridW];
      const expectedShort = (long * Math.min(w, h)) / Math.max(w, h);
      assert.ok(Math.abs(short - expectedShort) <= 1, `${label} does not keep the aspect ratio`);

      // Largest: either the full grid, or one more patch on the long side no longer fits.
      if (tokens(grid) < tokens(full)) {
        const larger = gridForMaxSize(w, h, (long + 1) * PATCH, PATCH);
        assert.ok(tokens(larger) > budget, `${label}: ${larger.gridH}x${larger.gridW} would also fit`);
      }
    }
  });
}

test('a budget below one patch (2 tokens) is refused with a clear error', () => {
  assert.throws(() => gridForBudget(100, 100, 1024, PATCH, 1), (err: unknown) => err instanceof ImageError && err.kind === 'invalid-option');
});
