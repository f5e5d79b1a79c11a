// Side-by-side pictures for looking at results: input | target | output. Pages are shown as
// Chromium renders them at the example's width; chart tables as text.
import sharp from 'sharp';
import type { Renderer } from './browser';
import { escapeText } from './html-tree';

const PANEL_W = 560;
const PANEL_H = 800;
const GAP = 16;
const LABEL_H = 28;

function textPanel(text: string): Buffer {
  const lines = text.split('\n').slice(0, 40).map((l) => (l.length > 60 ? `${l.slice(0, 59)}…` : l));
  const body = lines.map((l, i) => `<text x="12" y="${24 + i * 18}">${escapeText(l)}</text>`).join('');
  return Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${PANEL_W}" height="${Math.max(60, 36 + lines.length * 18)}"><rect width="100%" height="100%" fill="#fff" stroke="#bbb"/><g font-family="DejaVu Sans Mono" font-size="13" fill="#222">${body}</g></svg>`);
}

async function fit(image: Buffer): Promise<{ data: Buffer; width: number; height: number }> {
  const { data, info } = await sharp(image).resize({ width: PANEL_W, height: PANEL_H, fit: 'inside' }).png().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

async function pagePanel(renderer: Renderer, html: string, width: number): Promise<Buffer> {
  try {
    const shot = await renderer.render(html, width, { screenshot: true });
    return shot.png!;
  } catch (err) {
    return textPanel(`(does not render: ${(err as Error).message.split('\n')[0]})`);
  }
}

/** Writes input | target | output to `file` as PNG. */
export async function sideBySide(file: string, input: Buffer, target: string, output: string, page: { renderer: Renderer; width: number } | undefined): Promise<void> {
  const panels = await Promise.all(
    page
      ? [fit(input), pagePanel(page.renderer, target, page.width).then(fit), pagePanel(page.renderer, output, page.width).then(fit)]
      : [fit(input), fit(textPanel(target)), fit(textPanel(output))],
  );
  const width = panels.reduce((s, p) => s + p.width, 0) + GAP * (panels.length + 1);
  const height = Math.max(...panels.map((p) => p.height)) + LABEL_H + GAP;
  let x = GAP;
  const layers: sharp.OverlayOptions[] = [];
  const labels: string[] = [];
  ['input', 'target', 'output'].forEach((name, i) => {
    layers.push({ input: panels[i].data, left: x, top: LABEL_H });
    labels.push(`<text x="${x}" y="20">${name}</text>`);
    x += panels[i].width + GAP;
  });
  layers.push({ input: Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${LABEL_H}"><g font-family="DejaVu Sans" font-size="16" font-weight="bold" fill="#333">${labels.join('')}</g></svg>`), left: 0, top: 0 });
  await sharp({ create: { width, height, channels: 3, background: '#eeeeee' } }).composite(layers).png().toFile(file);
}
