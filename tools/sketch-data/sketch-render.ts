// A sketch drawing put on paper and "photographed": paper colour and ruling, sometimes the desk
// around the sheet, a slight rotation of the sheet, uneven light, grain, sometimes blur and JPEG
// loss; encoded as PNG with sharp.
import sharp from 'sharp';
import { LEGIBLE } from './legibility';
import type { PageMeasure } from './page-boxes';
import type { Rng } from './random';
import { drawSketch, type Placement } from './sketch-draw';
import type { Paper, SketchStyle } from './sketch-style';

export interface SketchImage {
  png: Buffer;
  width: number;
  height: number;
  words: string[];
}

const PAPER_COLOR: Record<Paper, string> = {
  white: '#fbfbf8',
  cream: '#f5eedb',
  grey: '#e8e8e4',
  lined: '#fcfcf8',
  dotted: '#fbfbf6',
  grid: '#fafcfd',
};

function ruling(paper: Paper, w: number, h: number, rng: Rng): string {
  const step = rng.int(22, 32);
  switch (paper) {
    case 'lined':
      return `<defs><pattern id="rule" width="${w}" height="${step}" patternUnits="userSpaceOnUse"><path d="M0 ${step - 0.5}H${w}" stroke="#9cc3e6" stroke-width="1"/></pattern></defs><rect x="-50%" y="-50%" width="200%" height="200%" fill="url(#rule)"/><path d="M${Math.round(w * 0.08)} -${h}V${2 * h}" stroke="#e59a9a" stroke-width="1.2"/>`;
    case 'dotted':
      return `<defs><pattern id="rule" width="${step}" height="${step}" patternUnits="userSpaceOnUse"><circle cx="${step / 2}" cy="${step / 2}" r="1" fill="#b9bec4"/></pattern></defs><rect x="-50%" y="-50%" width="200%" height="200%" fill="url(#rule)"/>`;
    case 'grid': {
      const g = Math.round(step * 0.7);
      return `<defs><pattern id="rule" width="${g}" height="${g}" patternUnits="userSpaceOnUse"><path d="M0 0.5H${g}M0.5 0V${g}" stroke="#a9cde0" stroke-width="0.8" fill="none"/></pattern></defs><rect x="-50%" y="-50%" width="200%" height="200%" fill="url(#rule)"/>`;
    }
    default:
      return '';
  }
}

/** A photo that shows the sheet's edges: the desk, a thin shadow, and the sheet turned with the drawing. */
function sheetOnDesk(style: SketchStyle, w: number, h: number, inset: number): string {
  const sheet = `x="${inset.toFixed(1)}" y="${inset.toFixed(1)}" width="${(w - 2 * inset).toFixed(1)}" height="${(h - 2 * inset).toFixed(1)}"`;
  const turn = `transform="rotate(${style.rotation} ${w / 2} ${h / 2})"`;
  return `<rect width="${w}" height="${h}" fill="${style.desk}"/><defs><clipPath id="sheet"><rect ${sheet}/></clipPath></defs><g ${turn}><rect ${sheet} fill="#000" fill-opacity="0.25" transform="translate(2 3)"/><rect ${sheet} fill="${PAPER_COLOR[style.paper]}"/></g>`;
}

/** Uneven light of a phone photo: a shadow falling from one side and a darker rim. */
function lighting(strength: number, w: number, h: number, rng: Rng): string {
  if (strength <= 0) return '';
  const angle = rng.range(0, 360);
  const rim = (strength * 0.35).toFixed(2);
  return `<defs><linearGradient id="shade" gradientTransform="rotate(${angle.toFixed(0)} 0.5 0.5)"><stop offset="0" stop-color="#000" stop-opacity="${(strength * 0.45).toFixed(2)}"/><stop offset="0.6" stop-color="#000" stop-opacity="0"/></linearGradient><radialGradient id="rim" cx="0.5" cy="0.5" r="0.75"><stop offset="0.6" stop-color="#3a3020" stop-opacity="0"/><stop offset="1" stop-color="#3a3020" stop-opacity="${rim}"/></radialGradient></defs><rect width="${w}" height="${h}" fill="url(#shade)"/><rect width="${w}" height="${h}" fill="url(#rim)"/>`;
}

/** Adds paper fibre (soft blotches, upscaled smoothly by sharp) and sensor grain to raw RGB pixels. */
async function addGrain(rgb: Buffer, w: number, h: number, sigma: number, rng: Rng): Promise<void> {
  const cw = Math.ceil(w / 6);
  const ch = Math.ceil(h / 6);
  const small = Buffer.from(Array.from({ length: cw * ch }, () => Math.max(0, Math.min(255, 128 + rng.normal() * sigma * 0.6))));
  const coarse = await sharp(small, { raw: { width: cw, height: ch, channels: 1 } }).resize(w, h, { kernel: 'cubic' }).raw().toBuffer();
  for (let p = 0; p < w * h; p++) {
    const grain = coarse[p] - 128 + (rng.next() - 0.5) * sigma;
    const i = p * 3;
    rgb[i] = Math.max(0, Math.min(255, rgb[i] + grain));
    rgb[i + 1] = Math.max(0, Math.min(255, rgb[i + 1] + grain));
    rgb[i + 2] = Math.max(0, Math.min(255, rgb[i + 2] + grain));
  }
}

/** Output size: `width` pixels wide with the margins (wider ones when the desk shows), but never above ~1.4 megapixels or 1600 px tall. */
function placement(page: PageMeasure, width: number, style: SketchStyle, rng: Rng): Placement & { w: number; h: number } {
  const aspect = page.height / page.width;
  // A photo that shows the desk has room around the sheet.
  const margin = Math.round(width * (style.desk ? rng.range(0.06, 0.12) : rng.range(0.02, 0.06)));
  const pageW = Math.max(300, Math.min(width - 2 * margin, 1600 / aspect, Math.sqrt(1.4e6 / aspect)));
  const scale = pageW / page.width;
  const w = Math.round(pageW + 2 * margin);
  const h = Math.round(page.height * scale + 2 * margin);
  // A photo of a sheet is scaled as a whole: on a small picture the pen is thinner too.
  const pen = style.width * Math.max(0.5, Math.min(1.3, Math.max(w, h) / 1000));
  return { scale, dx: margin, dy: margin, w, h, legible: LEGIBLE.capHeight * (Math.max(w, h) / LEGIBLE.longestSide), pen };
}

export async function renderSketch(page: PageMeasure, style: SketchStyle, width: number, rng: Rng): Promise<SketchImage> {
  const at = placement(page, width, style, rng);
  const drawing = drawSketch(page, style, at, rng.fork('draw'));
  const { w, h } = at;
  const svg = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}">`,
    style.desk ? sheetOnDesk(style, w, h, at.dx * 0.55) : `<rect width="${w}" height="${h}" fill="${PAPER_COLOR[style.paper]}"/>`,
    `<g transform="rotate(${style.rotation} ${w / 2} ${h / 2})">${style.desk ? '<g clip-path="url(#sheet)">' : ''}${ruling(style.paper, w, h, rng)}${style.desk ? '</g>' : ''}${drawing.paths}</g>`,
    lighting(style.lighting, w, h, rng),
    '</svg>',
  ].join('');
  const raw = await sharp(Buffer.from(svg)).removeAlpha().raw().toBuffer();
  await addGrain(raw, w, h, style.noise, rng);
  let image = sharp(raw, { raw: { width: w, height: h, channels: 3 } });
  if (style.blur > 0.3) image = image.blur(style.blur);
  if (style.jpeg) image = sharp(await image.jpeg({ quality: style.jpeg }).toBuffer());
  // A 64-colour palette keeps a grainy sketch near 200 KB instead of 1 MB, with no visible change.
  const png = await image.png({ palette: true, colours: 64, dither: 0.5, effort: 1 }).toBuffer();
  return { png, width: w, height: h, words: drawing.words };
}
