// The sketch data generator (tools/sketch-data) with real Chromium, sharp and parse5: a few
// examples of each task into a temporary folder, twice, and what every example must satisfy.
import assert from 'node:assert/strict';
import { cp, mkdtemp, readdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { Renderer } from '../../tools/sketch-data/browser';
import { parseCsv, withUnit } from '../../tools/sketch-data/chart-data';
import { isUnseenChartStyle, type ChartStyle } from '../../tools/sketch-data/chart-style';
import { generate, readIndex, taskCounts, type IndexLine } from '../../tools/sketch-data/generate';
import { htmlParseErrors, pageText, wordRecall } from '../../tools/sketch-data/metrics';
import { backfillTailwind } from '../../tools/sketch-data/backfill-tailwind';
import { layoutIou, measurePage } from '../../tools/sketch-data/layout-iou';
import { TAILWIND_SCRIPT } from '../../tools/sketch-data/page-html';
import { launchChromium } from '../support/chromium';
import { hashSeed, Rng } from '../../tools/sketch-data/random';
import { isUnseenSketchStyle, randomSketchStyle, type SketchStyle } from '../../tools/sketch-data/sketch-style';
import { randomChartStyle } from '../../tools/sketch-data/chart-style';
import { Lexicon, LANGUAGES } from '../../tools/sketch-data/words';

let root = '';
let renderer: Renderer;
let train: IndexLine[] = [];
let unseen: IndexLine[] = [];

before(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'sketch-data-'));
  renderer = await Renderer.start(2);
  await generate({ out: path.join(root, 'a'), split: 'train', count: 5, seed: 7, tasks: ['sketch', 'screenshot', 'chart'], renderer });
  await generate({ out: path.join(root, 'a'), split: 'eval-unseen', count: 2, seed: 7, tasks: ['sketch', 'chart'], renderer });
  train = readIndex(path.join(root, 'a', 'train'));
  unseen = readIndex(path.join(root, 'a', 'eval-unseen'));
});

after(async () => {
  await renderer?.close();
  await rm(root, { recursive: true, force: true });
});

test('a split holds the task mix it was asked for, one index line per example', () => {
  assert.deepEqual(taskCounts(40000, ['sketch', 'screenshot', 'chart']), [['sketch', 22000], ['screenshot', 6000], ['chart', 12000]]);
  assert.deepEqual(taskCounts(5, ['sketch', 'screenshot', 'chart']), [['sketch', 3], ['screenshot', 1], ['chart', 1]]);
  assert.deepEqual(train.map((l) => l.id), ['sketch-000000', 'sketch-000001', 'screenshot-000000', 'chart-000000', 'sketch-000002']);
});

test('the same seed gives the same bytes; a larger count keeps what is there and adds the rest', async () => {
  const b = path.join(root, 'b');
  await generate({ out: b, split: 'train', count: 5, seed: 7, tasks: ['sketch', 'screenshot', 'chart'], renderer });
  const files = (await readdir(path.join(root, 'a', 'train'))).sort();
  assert.deepEqual((await readdir(path.join(b, 'train'))).sort(), files);
  for (const f of files) assert.ok((await readFile(path.join(root, 'a', 'train', f))).equals(await readFile(path.join(b, 'train', f))), `${f} differs`);
  const added = await generate({ out: b, split: 'train', count: 4, seed: 7, tasks: ['chart'] });
  assert.equal(added, 3, 'charts 1..3 are new, chart 0 is kept');
  const index = readIndex(path.join(b, 'train'));
  assert.deepEqual(index.slice(0, 5), train);
  assert.equal(new Set(index.map((l) => l.id)).size, index.length);
});

test('every page target is one canonical HTML file that parse5 parses without an error', async () => {
  for (const line of train.filter((l) => l.task !== 'chart')) {
    const html = await readFile(path.join(root, 'a', 'train', line.target), 'utf8');
    assert.deepEqual(htmlParseErrors(html), [], line.id);
    assert.ok(html.startsWith('<!DOCTYPE html>\n<html lang="') && html.endsWith('</html>'), line.id);
    assert.equal(html.match(/<style>/g)?.length, 1, `${line.id}: one <style>`);
    assert.ok(html.indexOf('<style>') < html.indexOf('</head>'), `${line.id}: the style is in the head`);
    assert.ok(html.length > 600 && html.length < 6000, `${line.id}: ${html.length} bytes`);
    assert.ok(line.words.length > 0, `${line.id}: legible words`);
    assert.equal(wordRecall(line.words, html), 1, `${line.id}: every legible word is a word of the page`);
  }
});

test('every image decodes with sharp at the size its index line states', async () => {
  const splits: [string, IndexLine[]][] = [['train', train], ['eval-unseen', unseen]];
  for (const [dir, lines] of splits) {
    for (const line of lines) {
      const meta = await sharp(path.join(root, 'a', dir, line.image)).metadata();
      assert.equal(meta.format, 'png', line.id);
      assert.deepEqual([meta.width, meta.height], [line.width, line.height], line.id);
      assert.ok(line.width >= 300 && line.width <= 1300, `${line.id}: ${line.width} px wide`);
    }
  }
});

test('a chart target is CSV whose cells give back the chart data', async () => {
  const charts = [...train, ...unseen].filter((l) => l.task === 'chart');
  assert.ok(charts.length >= 2);
  for (const line of charts) {
    const dir = unseen.includes(line) ? 'eval-unseen' : 'train';
    const rows = parseCsv(await readFile(path.join(root, 'a', dir, line.target), 'utf8'));
    const chart = line.chart!;
    assert.deepEqual(rows[0], [withUnit(chart.xLabel, chart.xUnit), ...chart.series.map((s) => withUnit(s.name, chart.unit))]);
    assert.deepEqual(rows.slice(1).map((r) => r[0]), chart.categories);
    chart.series.forEach((s, j) => assert.deepEqual(rows.slice(1).map((r) => (r[j + 1] === '' ? null : Number(r[j + 1]))), s.values, `${line.id} ${s.name}`));
    assert.ok(chart.categories.length >= 2 && chart.categories.length <= 14 && chart.series.length <= 3);
  }
});

test('the unseen style is only in eval-unseen: never drawn for train, always for eval-unseen', () => {
  for (const line of train) {
    if (line.task === 'sketch') assert.equal(isUnseenSketchStyle(line.style as SketchStyle), false, line.id);
    if (line.task === 'chart') assert.equal(isUnseenChartStyle(line.style as ChartStyle), false, line.id);
  }
  for (const line of unseen) assert.ok(line.task === 'sketch' ? isUnseenSketchStyle(line.style as SketchStyle) : isUnseenChartStyle(line.style as ChartStyle), line.id);
  // Beyond the few examples above, over many draws of the style alone.
  const rng = new Rng(hashSeed('styles'));
  for (let i = 0; i < 2000; i++) {
    assert.equal(isUnseenSketchStyle(randomSketchStyle(rng, false)), false);
    assert.equal(isUnseenChartStyle(randomChartStyle(rng, false, 'bar')), false);
    assert.equal(isUnseenSketchStyle(randomSketchStyle(rng, true)), true);
  }
});

test('every language has its months, measures and axis names in the same order', () => {
  const en = new Lexicon('en', new Rng(1));
  for (const lang of LANGUAGES) {
    const lex = new Lexicon(lang, new Rng(1));
    for (const section of ['month', 'measure', 'axis'] as const) assert.equal(lex.list(section).length, en.list(section).length, `${lang} ${section}`);
  }
});

test('every page also has its Tailwind form: the same page, no <style>, the one script the prompt names', async () => {
  for (const line of train.filter((l) => l.task !== 'chart')) {
    const css = await readFile(path.join(root, 'a', 'train', line.target), 'utf8');
    const tw = await readFile(path.join(root, 'a', 'train', line.tailwind!), 'utf8');
    assert.deepEqual(htmlParseErrors(tw), [], line.id);
    assert.ok(tw.startsWith('<!DOCTYPE html>\n') && tw.endsWith('</html>') && !tw.includes('<style>'), line.id);
    assert.equal(tw.match(/<script/g)?.length, 1);
    assert.ok(tw.includes(`<script src="${TAILWIND_SCRIPT}"></script>`), line.id);
    assert.equal(pageText(tw), pageText(css), `${line.id}: the same text`);
  }
});

test('the Tailwind form lays out like the CSS target under the Tailwind build the preview bundles', async () => {
  const build = await readFile(path.join(path.dirname(require.resolve('@tailwindcss/browser/package.json')), 'dist', 'index.global.js'), 'utf8');
  const { context, close } = await launchChromium();
  try {
    const tab = await context.newPage();
    for (const line of train.filter((l) => l.task !== 'chart')) {
      const tw = await readFile(path.join(root, 'a', 'train', line.tailwind!), 'utf8');
      await tab.setViewportSize({ width: line.viewport!, height: 800 });
      await tab.setContent(tw.replace(`<script src="${TAILWIND_SCRIPT}"></script>`, () => `<script>${build}</script>`));
      await tab.waitForFunction(() => getComputedStyle(document.body).lineHeight !== 'normal');
      const target = await renderer.render(await readFile(path.join(root, 'a', 'train', line.target), 'utf8'), line.viewport!);
      const score = layoutIou(target, await measurePage(tab)).score;
      assert.ok(score > 0.9, `${line.id}: IoU ${score}`);
    }
  } finally {
    await close();
  }
});

test('the Tailwind form of older examples is rebuilt from their seed, byte for byte', async () => {
  const dir = path.join(root, 'backfill');
  await cp(path.join(root, 'a', 'train'), dir, { recursive: true });
  const pages = train.filter((l) => l.task !== 'chart');
  for (const line of pages) await unlink(path.join(dir, line.tailwind!));
  const stripped = train.map(({ tailwind: _tw, ...rest }) => JSON.stringify(rest)).join('\n');
  await writeFile(path.join(dir, 'index.jsonl'), `${stripped}\n`);
  assert.equal(backfillTailwind(dir, 'train', 7), pages.length);
  assert.equal(await readFile(path.join(dir, 'index.jsonl'), 'utf8'), await readFile(path.join(root, 'a', 'train', 'index.jsonl'), 'utf8'));
  for (const line of pages) assert.equal(await readFile(path.join(dir, line.tailwind!), 'utf8'), await readFile(path.join(root, 'a', 'train', line.tailwind!), 'utf8'));
});
