// The sketch/chart evaluation (tools/sketch-data/evaluate.ts) with real Chromium and parse5, on a
// small data set generated into a temporary folder: targets scored against themselves, the best
// constant answer, and deliberately damaged answers.
import assert from 'node:assert/strict';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { Renderer } from '../../tools/sketch-data/browser';
import { chartCsv } from '../../tools/sketch-data/chart-data';
import { evaluate } from '../../tools/sketch-data/evaluate';
import { generate, readIndex } from '../../tools/sketch-data/generate';
import { iou, layoutIou, measurePage } from '../../tools/sketch-data/layout-iou';
import { htmlParseErrors, scoreChart, wordRecall } from '../../tools/sketch-data/metrics';
import type { PageBox, PageMeasure } from '../../tools/sketch-data/page-boxes';
import { hashSeed, Rng } from '../../tools/sketch-data/random';
import { Scorer, targetText, type Example } from '../../tools/sketch-data/scoring';
import { launchChromium } from '../support/chromium';
import { fixtureDir } from '../support/fixtures';

let root = '';
let renderer: Renderer;
let evalSet: Example[] = [];
let trainSet: Example[] = [];

before(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'sketch-eval-'));
  renderer = await Renderer.start(2);
  await generate({ out: root, split: 'train', count: 6, seed: 3, tasks: ['sketch', 'chart'], renderer });
  await generate({ out: root, split: 'eval', count: 5, seed: 4, tasks: ['sketch', 'chart'], renderer });
  evalSet = readIndex(path.join(root, 'eval')).map((line) => ({ dir: path.join(root, 'eval'), line }));
  trainSet = readIndex(path.join(root, 'train')).map((line) => ({ dir: path.join(root, 'train'), line }));
});

after(async () => {
  await renderer?.close();
  await rm(root, { recursive: true, force: true });
});

function box(x: number, y: number, w: number, h: number, kind: PageBox['kind'] = 'text'): PageBox {
  return { x, y, w, h, kind, tag: 'p', depth: 0, border: [false, false, false, false], fill: false, dark: false, radius: 0, runs: [] };
}
const measure = (boxes: PageBox[]): PageMeasure => ({ width: 800, height: 600, boxes });

test('layout IoU: same boxes 1, a moved box its IoU, a missing one counts against, kinds never match across', () => {
  const a = [box(0, 0, 100, 100), box(0, 200, 100, 50, 'button')];
  assert.equal(layoutIou(measure(a), measure(a)).score, 1);
  assert.equal(iou(box(0, 0, 100, 100), box(50, 0, 100, 100)), 50 / 150);
  const moved = [box(50, 0, 100, 100), box(0, 200, 100, 50, 'button')];
  assert.equal(layoutIou(measure(a), measure(moved)).score, (1 / 3 + 1) / 2);
  assert.equal(layoutIou(measure(a), measure([a[0]])).score, 1 / 2);
  assert.equal(layoutIou(measure(a), measure([box(0, 0, 100, 100, 'image')])).score, 0);
  assert.equal(layoutIou(measure([]), measure([])).score, 1);
});

test('word recall counts repeats and ignores case, punctuation and the <head>', () => {
  const html = '<!DOCTYPE html><html><head><title>Zahrada</title></head><body><h1>Café  café</h1><input placeholder="Jméno"></body></html>';
  assert.equal(wordRecall(['café', 'Café.', 'jméno'], html), 1);
  assert.equal(wordRecall(['café', 'café', 'café', 'zahrada'], html), 2 / 4);
  assert.deepEqual(htmlParseErrors(html), []);
  assert.ok(htmlParseErrors('<html><body><p>unclosed</div>').length > 0);
});

test('targets scored against themselves are perfect, with the constant answer beside them', async () => {
  const predictions = path.join(root, 'self.jsonl');
  writeFileSync(predictions, evalSet.map((ex) => JSON.stringify({ split: 'eval', id: ex.line.id, output: targetText(ex) })).join('\n'));
  const out = path.join(root, 'out');
  const { rows, table } = await evaluate({ data: root, splits: ['eval'], predictions, out, pictures: 1, constantCandidates: 2, constantPool: 2, renderer });
  const sketch = rows.find((r) => r.task === 'sketch')!;
  const chart = rows.find((r) => r.task === 'chart')!;
  assert.deepEqual([sketch.n, chart.n], [3, 2]);
  assert.deepEqual([sketch.model.valid, sketch.model.iou, sketch.model.recall], [1, 1, 1]);
  assert.deepEqual([chart.model.values, chart.model.labels], [1, 1]);
  assert.equal(sketch.constant.valid, 1, 'the constant answer is a training target, valid HTML');
  assert.ok(sketch.constant.iou! < 0.9 && chart.constant.values! < 0.9, table);
  assert.match(table, /^split\s+task\s+n\s+valid HTML/);
  assert.match(table, /eval\s+sketch\s+3\s+100\.0%\s+100\.0%\s+1\.000/);
  const picture = await sharp(path.join(out, 'pictures', 'eval-sketch-000000.png')).metadata();
  assert.ok(picture.width! > 600, 'input | target | output side by side');
  assert.ok(existsSync(path.join(out, 'report.json')) && readFileSync(path.join(out, 'report.txt'), 'utf8').includes('layout IoU'));
});

test('the best constant answer scores at least as well as every other candidate on the training pool', async () => {
  const scorer = new Scorer(renderer);
  const pages = trainSet.filter((ex) => ex.line.task === 'sketch');
  const chosen = await scorer.bestConstant(pages, new Rng(hashSeed('t')), 2, 2);
  const shuffled = new Rng(hashSeed('t')).shuffle(pages);
  const mean = async (text: string) => (await Promise.all(shuffled.slice(2, 4).map((ex) => scorer.primary(ex, text)))).reduce((a, b) => a + b, 0) / 2;
  for (const candidate of shuffled.slice(0, 2)) assert.ok((await mean(chosen)) >= (await mean(targetText(candidate))));
});

test('damaged answers score lower: a dropped section, lost words, values off by 10%, a wrong label', async () => {
  const scorer = new Scorer(renderer);
  const page = evalSet.find((ex) => ex.line.task === 'sketch')!;
  const html = targetText(page);
  const damaged = html.replace(/<main>\n[\s\S]*?\n<\/section>\n/, '<main>\n');
  assert.notEqual(damaged, html, 'the first section was dropped');
  const score = await scorer.score(page, damaged);
  assert.equal(score.valid, true);
  assert.ok(score.iou! > 0 && score.iou! < 0.95, `IoU ${score.iou}`);
  assert.ok(score.recall! < 1, `recall ${score.recall}`);
  assert.equal((await scorer.score(page, html.replace('<!DOCTYPE html>\n', ''))).valid, false, 'a missing doctype is a parse error');
  const scripted = html.replace('</body>', '<script>document.body.innerHTML = "<h1>replaced</h1>"; while (true) {}</script>\n</body>');
  assert.equal((await scorer.score(page, scripted)).iou, 1, 'scripts in an answer neither run nor hang the measurement');

  const chart = evalSet.find((ex) => ex.line.task === 'chart')!.line.chart!;
  const off = { ...chart, series: chart.series.map((s, j) => ({ ...s, values: s.values.map((v) => (v !== null && j === 0 ? v * 1.1 + 1 : v)) })) };
  const first = chart.series[0].values.filter((v) => v !== null).length;
  const s1 = scoreChart(chart, chartCsv(off));
  assert.equal(s1.values - s1.valuesWithin5, first, 'every value of the first series is out');
  const relabelled = chartCsv({ ...chart, xLabel: `${chart.xLabel}x` });
  const s2 = scoreChart(chart, relabelled);
  assert.deepEqual([s2.labels - s2.labelsExact, s2.valuesWithin5], [1, s2.values]);
});

test('a page shown in a tab measures like the renderer, so a live preview can be scored', async () => {
  const page = evalSet.find((ex) => ex.line.task === 'sketch')!;
  const html = targetText(page);
  const { context, close } = await launchChromium({ viewport: { width: page.line.viewport!, height: 700 } });
  try {
    const tab = await context.newPage();
    await tab.setContent(html);
    const shown = await measurePage(tab);
    assert.equal(shown.width, page.line.viewport);
    assert.equal(layoutIou(await renderer.render(html, shown.width), shown).score, 1);
  } finally {
    await close();
  }
});

test('--precision reaches the model: a q8_0 run answers every example and writes its weights beside the model', async () => {
  // A copy of the fixture model (a complete model folder), so the quantized file lands in the copy.
  const model = path.join(root, 'model');
  for (const f of ['params.json', 'consolidated.safetensors', 'tekken.json']) cpSync(path.join(fixtureDir, f), path.join(model, f));
  const out = path.join(root, 'out-q8');
  const { rows } = await evaluate({ data: root, splits: ['eval'], model, precision: 'q8_0', limit: 1, out, pictures: 0, constantCandidates: 1, constantPool: 1, renderer });
  assert.deepEqual(rows.map((r) => [r.task, r.n]), [['sketch', 1], ['chart', 1]]);
  assert.ok(existsSync(path.join(model, 'pixtral-q8_0.safetensors')), 'the first q8_0 load quantized the copy');
  assert.equal(readFileSync(path.join(out, 'predictions.jsonl'), 'utf8').trim().split('\n').length, 2);
});
