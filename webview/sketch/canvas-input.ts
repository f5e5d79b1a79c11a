// Turns pointer input on the canvas into shapes: a stroke for pen and eraser, a drag for line,
// rectangle and ellipse, a click then typing for text. The shape being drawn is previewed; it
// becomes a step of the drawing when the pointer is released (or Enter is pressed for text).
import type { Point, Shape, Tool } from '../../src/extension/sketch/protocol';

export interface Pen {
  tool: Tool;
  color: string;
  width: number;
}

export interface CanvasInputEvents {
  preview(shape: Shape | undefined): void;
  commit(shape: Shape): void;
}

export class CanvasInput {
  private active: Shape | undefined;

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly textEntry: HTMLInputElement,
    private readonly pen: () => Pen,
    private readonly events: CanvasInputEvents,
  ) {
    canvas.addEventListener('pointerdown', (e) => this.down(e));
    canvas.addEventListener('pointermove', (e) => this.move(e));
    canvas.addEventListener('pointerup', (e) => this.up(e));
    canvas.addEventListener('pointercancel', () => this.cancel());
    textEntry.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') this.commitText();
      else if (e.key === 'Escape') this.hideText();
      e.stopPropagation(); // typed letters are text, not tool shortcuts
    });
    textEntry.addEventListener('blur', () => this.commitText());
  }

  /** Canvas pixel under a pointer event (the canvas is scaled by CSS to fit the panel). */
  private point(e: PointerEvent): Point {
    const box = this.canvas.getBoundingClientRect();
    const x = ((e.clientX - box.left) / box.width) * this.canvas.width;
    const y = ((e.clientY - box.top) / box.height) * this.canvas.height;
    return [Math.round(x * 10) / 10, Math.round(y * 10) / 10];
  }

  private down(e: PointerEvent): void {
    if (e.button !== 0) return;
    const { tool, color, width } = this.pen();
    const at = this.point(e);
    if (tool === 'text') {
      e.preventDefault();
      this.showText(e, at);
      return;
    }
    this.canvas.setPointerCapture(e.pointerId);
    if (tool === 'pen') this.active = { kind: 'pen', color, width, points: [at] };
    else if (tool === 'eraser') this.active = { kind: 'eraser', width, points: [at] };
    else this.active = { kind: tool, color, width, from: at, to: at };
    this.events.preview(this.active);
  }

  private move(e: PointerEvent): void {
    const shape = this.active;
    if (!shape) return;
    const at = this.point(e);
    if (shape.kind === 'pen' || shape.kind === 'eraser') shape.points.push(at);
    else if (shape.kind === 'line' || shape.kind === 'rect' || shape.kind === 'ellipse') shape.to = at;
    this.events.preview(shape);
  }

  private up(e: PointerEvent): void {
    const shape = this.active;
    if (!shape) return;
    this.move(e);
    this.active = undefined;
    this.events.preview(undefined);
    this.events.commit(shape);
  }

  private cancel(): void {
    this.active = undefined;
    this.events.preview(undefined);
  }

  private textAt: Point | undefined;

  private showText(e: PointerEvent, at: Point): void {
    const wrap = this.canvas.parentElement!.getBoundingClientRect();
    this.textAt = at;
    this.textEntry.hidden = false;
    this.textEntry.value = '';
    this.textEntry.style.left = `${e.clientX - wrap.left}px`;
    this.textEntry.style.top = `${e.clientY - wrap.top}px`;
    // Focus after the pointer event, or the canvas takes it back.
    requestAnimationFrame(() => this.textEntry.focus());
  }

  /** Places typed text as a step; also how keyboard users add text (Enter). */
  private commitText(): void {
    const at = this.textAt;
    const text = this.textEntry.value.trim();
    this.hideText();
    if (!at || !text) return;
    const { color, width } = this.pen();
    this.events.commit({ kind: 'text', color, size: 14 + width * 2, at, text });
  }

  private hideText(): void {
    this.textAt = undefined;
    this.textEntry.hidden = true;
    this.canvas.focus();
  }
}
