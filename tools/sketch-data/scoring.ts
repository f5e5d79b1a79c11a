// Scores answers for the evaluation examples, and finds the best constant answer: the one fixed
// training target that scores best on a sample of other training examples of the same task.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Renderer } from './browser';
import type { IndexLine } from './generate';
import { layoutIou } from './layout-iou';
import { htmlParseErrors, scoreChart, wordRecall, type ChartScore } from './metrics';
import type { PageMeasure } from './page-boxes';
import type { Rng } from './random';

export interface ExampleScore {
  valid?: boolean;
  iou?: number;
  recall?: number;
  chart?: ChartScore;
}

/** An example of a split folder, with the folder it lives in. */
export interface Example {
  dir: string;
  line: IndexLine;
}

export function targetText(ex: Example): string {
  return readFileSync(path.join(ex.dir, ex.line.target), 'utf8');
}

export class Scorer {
  private readonly measures = new Map<string, Promise<PageMeasure | undefined>>();

  constructor(private readonly renderer: Renderer | undefined) {}

  /** Layout of an HTML text at a width; cached, since targets and constants are rendered often. A page that does not render measures as undefined. */
  measure(html: string, width: number): Promise<PageMeasure | undefined> {
    const key = `${width}\u0000${html}`;
    let m = this.measures.get(key);
    if (!m) {
      if (!this.renderer) throw new Error('page examples need Chromium');
      m = this.renderer.render(html, width).catch(() => undefined);
      this.measures.set(key, m);
    }
    return m;
  }

  async score(ex: Example, output: string): Promise<ExampleScore> {
    if (ex.line.task === 'chart') return { chart: scoreChart(ex.line.chart!, output) };
    const width = ex.line.viewport!;
    const [target, got] = await Promise.all([this.measure(targetText(ex), width), this.measure(output, width)]);
    if (!target) throw new Error(`${ex.line.id}: the target page does not render`);
    return {
      valid: htmlParseErrors(output).length === 0,
      iou: got ? layoutIou(target, got).score : 0,
      recall: wordRecall(ex.line.words, output),
    };
  }

  /** The primary metric of a task: layout IoU for pages, values within 5% for charts. */
  async primary(ex: Example, output: string): Promise<number> {
    const s = await this.score(ex, output);
    return s.chart ? s.chart.valuesWithin5 / Math.max(1, s.chart.values) : s.iou!;
  }

  /**
   * The best constant answer of a task, chosen on training data only: `candidates` training
   * targets are each scored on `pool` other training examples, and the best mean wins.
   */
  async bestConstant(train: Example[], rng: Rng, candidates: number, pool: number): Promise<string> {
    const shuffled = rng.shuffle(train);
    const options = shuffled.slice(0, candidates).map(targetText);
    const sample = shuffled.slice(candidates, candidates + pool);
    if (options.length === 0) throw new Error('no training examples to choose a constant answer from');
    let best = { text: options[0], score: -1 };
    for (const text of options) {
      const scores = await Promise.all(sample.map((ex) => this.primary(ex, text)));
      const mean = scores.reduce((a, b) => a + b, 0) / Math.max(1, sample.length);
      if (mean > best.score) best = { text, score: mean };
    }
    return best.text;
  }
}
