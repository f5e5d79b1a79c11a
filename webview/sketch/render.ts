// Paints shapes onto a 2D canvas context. The paper is always white and the ink dark, whatever the
// editor theme: the drawing is an image for the model, which reads sketches on paper best.
import type { Shape } from '../../src/extension/sketch/protocol';

export const PAPER = '#ffffff';

export function paint(ctx: CanvasRenderingContext2D, shapes: readonly Shape[]): void {
  const { width, height } = ctx.canvas;
  ctx.save();
  ctx.fillStyle = PAPER;
  ctx.fillRect(0, 0, width, height);
  ctx.lineCap = 'round';
  ctx.lineJoin = 'round';
  for (const shape of shapes) paintShape(ctx, shape);
  ctx.restore();
}

export function paintShape(ctx: CanvasRenderingContext2D, shape: Shape): void {
  switch (shape.kind) {
    case 'clear':
      ctx.fillStyle = PAPER;
      ctx.fillRect(0, 0, ctx.canvas.width, ctx.canvas.height);
      return;
    case 'pen':
    case 'eraser': {
      ctx.strokeStyle = shape.kind === 'pen' ? shape.color : PAPER;
      ctx.lineWidth = shape.kind === 'pen' ? shape.width : shape.width * 4;
      ctx.beginPath();
      const [first, ...rest] = shape.points;
      if (!first) return;
      ctx.moveTo(first[0], first[1]);
      // A click without movement still leaves a dot.
      if (rest.length === 0) ctx.lineTo(first[0] + 0.01, first[1]);
      for (const [x, y] of rest) ctx.lineTo(x, y);
      ctx.stroke();
      return;
    }
    case 'line':
      ctx.strokeStyle = shape.color;
      ctx.lineWidth = shape.width;
      ctx.beginPath();
      ctx.moveTo(shape.from[0], shape.from[1]);
      ctx.lineTo(shape.to[0], shape.to[1]);
      ctx.stroke();
      return;
    case 'rect':
      ctx.strokeStyle = shape.color;
      ctx.lineWidth = shape.width;
      ctx.strokeRect(shape.from[0], shape.from[1], shape.to[0] - shape.from[0], shape.to[1] - shape.from[1]);
      return;
    case 'ellipse': {
      ctx.strokeStyle = shape.color;
      ctx.lineWidth = shape.width;
      const cx = (shape.from[0] + shape.to[0]) / 2;
      const cy = (shape.from[1] + shape.to[1]) / 2;
      ctx.beginPath();
      ctx.ellipse(cx, cy, Math.abs(shape.to[0] - shape.from[0]) / 2, Math.abs(shape.to[1] - shape.from[1]) / 2, 0, 0, Math.PI * 2);
      ctx.stroke();
      return;
    }
    case 'text':
      ctx.fillStyle = shape.color;
      ctx.font = `${shape.size}px sans-serif`;
      ctx.textBaseline = 'top';
      ctx.fillText(shape.text, shape.at[0], shape.at[1]);
      return;
  }
}
