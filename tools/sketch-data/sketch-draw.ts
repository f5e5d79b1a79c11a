// A rendered page (its measured boxes) drawn as a hand-made sketch: wobbly boxes, crossed-out
// images, written words or scribbles for text, form controls as their usual doodles. Returns
// SVG strokes in output pixels plus the words it wrote legibly (what the model can read back).
import type { PageBox, PageMeasure, Rect, TextRun } from './page-boxes';
import type { Rng } from './random';
import type { SketchStyle } from './sketch-style';
import { loadFont, textStrokes, textWidth, type Point, type Stroke, type StrokeFont } from './stroke-font';

export interface SketchDrawing {
  /** Stroke paths, ready to go inside an <svg>. */
  paths: string;
  /** Words written legibly, in drawing order. */
  words: string[];
}

/** Maps page coordinates to output pixels: a uniform scale plus the paper's margin. */
export interface Placement {
  scale: number;
  dx: number;
  dy: number;
  /** Smallest capital height, in output pixels, that still counts as legible. */
  legible: number;
  /** Pen width in output pixels (the style's width, thinner on small pictures). */
  pen: number;
}

class Sketcher {
  private readonly strokes: Stroke[] = [];
  /** Strokes drawn thicker (bold text, filled marks). */
  private readonly heavy: Stroke[] = [];
  readonly words: string[] = [];
  private readonly font: StrokeFont;

  constructor(
    private readonly rng: Rng,
    private readonly style: SketchStyle,
    private readonly at: Placement,
    private readonly pageWidth: number,
  ) {
    this.font = loadFont(style.font);
  }

  private px(x: number, y: number): Point {
    return [this.at.dx + x * this.at.scale, this.at.dy + y * this.at.scale];
  }

  /** A box as a hand puts it down: off by up to ~1% of the page (less for small boxes), never to scale. */
  private loosely(r: Rect): Rect {
    const e = Math.min(this.style.imprecision * this.pageWidth, 0.15 * Math.min(r.w, r.h));
    const dx = this.rng.range(-e, e);
    const dy = this.rng.range(-e, e) * 0.6;
    return { x: r.x + dx, y: r.y + dy, w: Math.max(4, r.w + this.rng.range(-e, e)), h: Math.max(4, r.h + this.rng.range(-e, e) * 0.6) };
  }

  /** Resamples a stroke every few pixels and bends it with a slow random drift and a little tremor. */
  private wobbly(points: Point[], amount: number): Stroke {
    const dense: Point[] = [];
    for (let i = 0; i < points.length - 1; i++) {
      const [a, b] = [points[i], points[i + 1]];
      const n = Math.max(1, Math.ceil(Math.hypot(b[0] - a[0], b[1] - a[1]) / 6));
      for (let k = 0; k < n; k++) dense.push([a[0] + ((b[0] - a[0]) * k) / n, a[1] + ((b[1] - a[1]) * k) / n]);
    }
    dense.push(points[points.length - 1]);
    const amp = this.style.wobble * amount;
    const [f1, f2, p1, p2] = [this.rng.range(0.01, 0.03), this.rng.range(0.04, 0.09), this.rng.range(0, 6.3), this.rng.range(0, 6.3)];
    let travelled = 0;
    return dense.map(([x, y], i) => {
      if (i > 0) travelled += Math.hypot(x - dense[i - 1][0], y - dense[i - 1][1]);
      const d = amp * (Math.sin(f1 * travelled + p1) + 0.4 * Math.sin(f2 * travelled + p2));
      return [x + d + this.rng.normal() * 0.15 * amount, y + d * 0.8 + this.rng.normal() * 0.15 * amount];
    });
  }

  private line(a: Point, b: Point, overshoot = 3): void {
    const len = Math.hypot(b[0] - a[0], b[1] - a[1]) || 1;
    const [ux, uy] = [(b[0] - a[0]) / len, (b[1] - a[1]) / len];
    const o1 = this.rng.range(-1, overshoot);
    const o2 = this.rng.range(-1, overshoot);
    this.strokes.push(this.wobbly([[a[0] - ux * o1, a[1] - uy * o1], [b[0] + ux * o2, b[1] + uy * o2]], 1));
  }

  /** A box as four separate strokes (a hand lifts the pen at corners), or one rounded loop. */
  private box(exact: Rect, sides: readonly boolean[] = [true, true, true, true], radius = 0): void {
    const r = this.loosely(exact);
    const [x0, y0] = this.px(r.x, r.y);
    const [x1, y1] = this.px(r.x + r.w, r.y + r.h);
    if (radius > 3 && sides.every(Boolean)) {
      const rad = Math.min(radius * this.at.scale, (x1 - x0) / 2, (y1 - y0) / 2);
      const loop: Point[] = [];
      const corners: [number, number, number][] = [[x1 - rad, y0 + rad, -Math.PI / 2], [x1 - rad, y1 - rad, 0], [x0 + rad, y1 - rad, Math.PI / 2], [x0 + rad, y0 + rad, Math.PI]];
      for (const [cx, cy, start] of corners) for (let k = 0; k <= 4; k++) loop.push([cx + rad * Math.cos(start + (k * Math.PI) / 8), cy + rad * Math.sin(start + (k * Math.PI) / 8)]);
      loop.push([loop[0][0] + this.rng.range(0, 4), loop[0][1] + this.rng.range(-1, 1)]);
      this.strokes.push(this.wobbly(loop, 1));
      return;
    }
    const corners: Point[] = [[x0, y0], [x1, y0], [x1, y1], [x0, y1]];
    sides.forEach((on, i) => on && this.line(corners[i], corners[(i + 1) % 4]));
  }

  private ellipse(cx: number, cy: number, rx: number, ry: number, filled = false): void {
    const start = this.rng.range(0, 6.3);
    const pts: Point[] = Array.from({ length: 15 }, (_, k) => [cx + rx * Math.cos(start + (k * 2 * Math.PI) / 13.5), cy + ry * Math.sin(start + (k * 2 * Math.PI) / 13.5)]);
    (filled ? this.heavy : this.strokes).push(this.wobbly(pts, 0.3));
  }

  private image(r: Rect): void {
    this.box(r);
    const [x0, y0] = this.px(r.x, r.y);
    const [x1, y1] = this.px(r.x + r.w, r.y + r.h);
    if (this.rng.chance(0.8)) {
      this.line([x0, y0], [x1, y1], 1);
      this.line([x1, y0], [x0, y1], 1);
    } else {
      // The other common picture doodle: mountains and a sun.
      const h = y1 - y0;
      const w = x1 - x0;
      this.strokes.push(this.wobbly([[x0 + w * 0.05, y1 - h * 0.1], [x0 + w * 0.35, y0 + h * 0.45], [x0 + w * 0.55, y1 - h * 0.3], [x0 + w * 0.7, y0 + h * 0.55], [x1 - w * 0.05, y1 - h * 0.1]], 0.6));
      this.ellipse(x0 + w * 0.75, y0 + h * 0.25, Math.min(w, h) * 0.08, Math.min(w, h) * 0.08);
    }
  }

  /** Writes the words of a run over its lines, or scribbles them; `isText` runs count as page words. */
  private run(run: TextRun, write: boolean, underline = false, isText = true): void {
    const s = this.at.scale;
    const words = run.text.split(' ').filter(Boolean);
    const total = run.lines.reduce((sum, l) => sum + l.w, 0);
    let next = 0;
    let target = 0;
    let done = 0;
    for (const [i, line] of run.lines.entries()) {
      const [x, y] = this.px(line.x, line.y);
      const w = line.w * s;
      const h = line.h * s;
      if (!write) {
        this.scribble(x, y + h / 2, w * this.rng.range(0.75, 1), h);
        continue;
      }
      // Words go to the lines in proportion to the lines' widths, as the browser wrapped them.
      target += (line.w / total) * run.text.length;
      const taken: string[] = [];
      while (next < words.length && (i === run.lines.length - 1 || done + words[next].length / 2 <= target)) {
        taken.push(words[next]);
        done += words[next].length + 1;
        next++;
      }
      if (!taken.length) continue;
      const text = taken.join(' ');
      let size = run.fontSize * 0.7 * s * this.style.letterScale * this.rng.range(0.92, 1.08);
      const natural = textWidth(this.font, text, size, 0.06);
      if (natural > w * 1.1) size *= (w * 1.1) / natural;
      const baseline = y + h * 0.5 + size * 0.5 + this.rng.range(-0.06, 0.06) * h;
      const tilt = this.rng.range(-0.025, 0.025);
      const letters = textStrokes(this.font, text, x + this.rng.range(-2, 2), baseline, size, 0.06, this.rng.range(-0.05, 0.12), () => this.rng.range(-1, 1));
      for (const stroke of letters) {
        const tilted = stroke.map(([px, py]): Point => [px, py + (px - x) * tilt]);
        (run.bold ? this.heavy : this.strokes).push(this.wobbly(tilted, 0.2));
      }
      if (underline) this.line([x, baseline + size * 0.25], [x + Math.min(natural, w * 1.1), baseline + size * 0.25 + (Math.min(natural, w) * tilt)], 2);
      // List numbers are drawn but are no words of the page (CSS writes them); letters thinner than
      // their pen are blots.
      if (isText && size >= this.at.legible && this.at.pen <= 0.4 * size) this.words.push(...taken);
    }
  }

  private scribble(x: number, y: number, w: number, h: number): void {
    const amp = h * this.rng.range(0.15, 0.3);
    const period = h * this.rng.range(0.45, 0.9);
    const pts: Point[] = [];
    for (let t = 0; t <= w; t += period / 6) {
      const phase = (t / period) * 2 * Math.PI;
      if (this.style.scribble === 'wave') pts.push([x + t, y + amp * Math.sin(phase)]);
      else if (this.style.scribble === 'zigzag') pts.push([x + t, y + (Math.floor(t / (period / 2)) % 2 ? amp : -amp)]);
      else pts.push([x + t + amp * 0.9 * Math.cos(phase), y + amp * Math.sin(phase)]);
    }
    if (pts.length > 1) this.strokes.push(this.wobbly(pts, 0.35));
  }

  private control(b: PageBox): void {
    const control = b.control!;
    const [x0, y0] = this.px(b.x, b.y);
    const [x1, y1] = this.px(b.x + b.w, b.y + b.h);
    if (b.kind === 'choice') {
      const [cx, cy, r] = [(x0 + x1) / 2, (y0 + y1) / 2, ((x1 - x0) / 2) * 1.1];
      if (control.type === 'radio') {
        this.ellipse(cx, cy, r, r);
        if (control.checked) this.ellipse(cx, cy, r * 0.4, r * 0.4, true);
      } else {
        this.box({ x: b.x, y: b.y, w: b.w, h: b.h });
        if (control.checked) this.strokes.push(this.wobbly([[cx - r * 0.7, cy], [cx - r * 0.15, cy + r * 0.6], [cx + r, cy - r * 1.1]], 0.3));
      }
      return;
    }
    this.box(b, [true, true, true, true], b.radius);
    if (control.type === 'select') {
      const h = y1 - y0;
      const cx = x1 - h * 0.5;
      this.strokes.push(this.wobbly([[cx - h * 0.18, y0 + h * 0.4], [cx, y0 + h * 0.6], [cx + h * 0.18, y0 + h * 0.4]], 0.2));
    }
    if (control.text) {
      const line = { x: b.x + 8, y: b.y + (b.h - 19) / 2, w: Math.min(b.w - 40, control.text.length * 9), h: 19 };
      if (control.type === 'textarea') line.y = b.y + 8;
      this.run({ text: control.text, lines: [line], fontSize: 16, bold: false }, this.rng.chance(0.9));
    }
  }

  draw(b: PageBox, cells: PageBox[]): void {
    const sides = b.border;
    const outlined = sides.some(Boolean);
    switch (b.kind) {
      case 'image':
        this.image(b);
        return;
      case 'field':
      case 'choice':
        this.control(b);
        return;
      case 'cell': {
        const hasRight = cells.some((c) => c !== b && Math.abs(c.x - (b.x + b.w)) < 2 && Math.abs(c.y - b.y) < 2);
        const hasBelow = cells.some((c) => c !== b && Math.abs(c.y - (b.y + b.h)) < 2 && Math.abs(c.x - b.x) < 2);
        this.box(b, [sides[0], sides[1] && !hasRight, sides[2] && !hasBelow, sides[3]]);
        break;
      }
      default:
        if (b.fill && !outlined && (b.kind === 'box' || b.kind === 'button' || b.kind === 'link')) this.box(b, [true, true, true, true], b.radius);
        else if (outlined) this.box(b, sides, b.radius);
        // Shading is how sketches show a dark fill; never over words, which must stay legible.
        if (b.fill && b.dark && !b.runs.length && this.rng.chance(0.5)) this.hatch(b);
    }
    const short = (run: TextRun) => run.text.split(' ').length <= 3;
    for (const run of b.runs) {
      const always = b.kind === 'heading' || b.kind === 'button' || b.kind === 'link' || b.kind === 'cell' || short(run);
      const write = this.rng.chance(always ? 0.99 : this.style.writeText);
      const underline = (b.kind === 'link' && !b.fill) || (b.kind === 'heading' && this.rng.chance(0.15));
      this.run(run, write, underline);
    }
    if (b.list) {
      const first = b.runs[0]?.lines[0] ?? b;
      const [x, y] = this.px(b.x - 14, first.y + first.h / 2);
      if (b.list.ordered) this.run({ text: `${b.list.index + 1}.`, lines: [{ x: b.x - 22, y: first.y, w: 16, h: first.h }], fontSize: 16, bold: false }, true, false, false);
      else this.ellipse(x, y, 1.5 * this.at.scale, 1.5 * this.at.scale, true);
    }
  }

  private hatch(r: Rect): void {
    const [x0, y0] = this.px(r.x, r.y);
    const [x1, y1] = this.px(r.x + r.w, r.y + r.h);
    const step = 7;
    for (let t = step; t < x1 - x0 + (y1 - y0); t += step) {
      const a: Point = [x0 + Math.max(0, t - (y1 - y0)), y0 + Math.min(t, y1 - y0)];
      const b: Point = [x0 + Math.min(t, x1 - x0), y0 + Math.max(0, t - (x1 - x0))];
      this.strokes.push(this.wobbly([a, b], 0.2));
    }
  }

  svg(): string {
    const d = (strokes: Stroke[]) => strokes.map((s) => `M${s.map(([x, y]) => `${x.toFixed(1)} ${y.toFixed(1)}`).join('L')}`).join('');
    const { color, opacity } = this.style;
    const width = this.at.pen;
    const common = `fill="none" stroke="${color}" stroke-opacity="${opacity}" stroke-linecap="round" stroke-linejoin="round"`;
    return `<path d="${d(this.strokes)}" stroke-width="${width}" ${common}/><path d="${d(this.heavy)}" stroke-width="${(width * 1.6).toFixed(2)}" ${common}/>`;
  }
}

export function drawSketch(page: PageMeasure, style: SketchStyle, at: Placement, rng: Rng): SketchDrawing {
  const sketcher = new Sketcher(rng, style, at, page.width);
  const cells = page.boxes.filter((b) => b.kind === 'cell');
  for (const box of page.boxes) sketcher.draw(box, cells);
  return { paths: sketcher.svg(), words: sketcher.words };
}
