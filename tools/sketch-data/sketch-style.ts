// The look of a hand-drawn sketch: pen, lettering, paper and photo conditions, drawn at random per
// example. The training styles and the held-out style share nothing that identifies the style:
// the marker pen, its two letterings and graph paper appear only in the eval-unseen split, so that
// split measures how the model does on a pen it has never seen.
import type { Rng } from './random';
import type { FontName } from './stroke-font';

export type Pen = 'pencil' | 'ballpoint' | 'fineliner' | 'felt' | 'marker';
export type Paper = 'white' | 'cream' | 'grey' | 'lined' | 'dotted' | 'grid';

export interface SketchStyle {
  pen: Pen;
  color: string;
  /** Stroke width in output pixels. */
  width: number;
  opacity: number;
  font: FontName;
  /** Slow sideways drift of a stroke, in output pixels. */
  wobble: number;
  /** Share of paragraphs written out in words (the rest are scribbles); short labels are almost always written. */
  writeText: number;
  /** How far off the drawn boxes are, as a share of the page width. */
  imprecision: number;
  /** How unwritten text is drawn. */
  scribble: 'wave' | 'loops' | 'zigzag';
  /** Letter size relative to the rendered text. */
  letterScale: number;
  paper: Paper;
  /** Degrees, the whole sheet. */
  rotation: number;
  /** 0 = flat light, 1 = a strong shadow across the photo. */
  lighting: number;
  noise: number;
  blur: number;
  /** JPEG quality of a photo round trip, or 0 for none. */
  jpeg: number;
  /** Colour of the desk around the sheet when the photo shows its edges, or '' when the sheet fills the picture. */
  desk: string;
}

export const TRAIN_PENS: Pen[] = ['pencil', 'ballpoint', 'fineliner', 'felt'];
export const TRAIN_FONTS: FontName[] = ['readability', 'readabilityItalic', 'felix', 'nixish', 'tech', 'osmotron', 'allure', 'sans'];
export const TRAIN_PAPERS: Paper[] = ['white', 'cream', 'grey', 'lined', 'dotted'];
export const UNSEEN_PENS: Pen[] = ['marker'];
export const UNSEEN_FONTS: FontName[] = ['elfin', 'script'];
export const UNSEEN_PAPERS: Paper[] = ['grid'];

const PEN_LOOK: Record<Pen, { colors: string[]; width: [number, number]; opacity: [number, number] }> = {
  pencil: { colors: ['#4a4a4a', '#5c5c5c', '#3d3d44'], width: [1.1, 1.9], opacity: [0.6, 0.85] },
  ballpoint: { colors: ['#1d3b8f', '#23306e', '#111', '#2a2a6e'], width: [1.2, 1.8], opacity: [0.8, 0.95] },
  fineliner: { colors: ['#111', '#1a1a1a', '#222a35'], width: [1.4, 2.4], opacity: [0.9, 1] },
  felt: { colors: ['#111', '#1b1b3a', '#2b2b2b', '#0b3d91'], width: [2.4, 3.4], opacity: [0.85, 1] },
  marker: { colors: ['#0f5c2e', '#5b1f7a', '#8a1c1c', '#0d4f6b'], width: [3.8, 5.5], opacity: [0.82, 0.95] },
};

export function randomSketchStyle(rng: Rng, unseen: boolean): SketchStyle {
  const pen = rng.pick(unseen ? UNSEEN_PENS : TRAIN_PENS);
  const look = PEN_LOOK[pen];
  return {
    pen,
    color: rng.pick(look.colors),
    width: Number(rng.range(...look.width).toFixed(2)),
    opacity: Number(rng.range(...look.opacity).toFixed(2)),
    font: rng.pick(unseen ? UNSEEN_FONTS : TRAIN_FONTS),
    wobble: Number((unseen ? rng.range(1.5, 3.5) : rng.range(0.4, 2.2)).toFixed(2)),
    writeText: Number(rng.pick([0.2, 0.5, 0.8, 1, 1]).toFixed(2)),
    imprecision: Number(rng.range(0, 0.008).toFixed(4)),
    scribble: rng.pick(['wave', 'loops', 'zigzag'] as const),
    letterScale: Number(rng.range(0.9, 1.35).toFixed(2)),
    paper: rng.pick(unseen ? UNSEEN_PAPERS : TRAIN_PAPERS),
    rotation: Number((rng.chance(0.6) ? rng.range(-2.5, 2.5) : 0).toFixed(2)),
    lighting: Number((rng.chance(0.5) ? rng.range(0.1, 0.6) : 0).toFixed(2)),
    noise: Number(rng.range(2, 12).toFixed(1)),
    blur: Number((rng.chance(0.3) ? rng.range(0.3, 1.0) : 0).toFixed(2)),
    jpeg: rng.chance(0.3) ? rng.int(55, 85) : 0,
    desk: rng.chance(0.3) ? rng.pick(['#8a6a4a', '#5b5b5b', '#c8c1b4', '#3f4a56', '#a4825e']) : '',
  };
}

/** Whether a style is one the training splits never use. */
export function isUnseenSketchStyle(style: Pick<SketchStyle, 'pen' | 'font' | 'paper'>): boolean {
  return UNSEEN_PENS.includes(style.pen) || UNSEEN_FONTS.includes(style.font) || UNSEEN_PAPERS.includes(style.paper);
}
