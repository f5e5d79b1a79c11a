// Single-stroke lettering for the sketches: the Hershey and EMS engraving fonts (package
// hersheytext, public domain and SIL OFL) are centre lines, not outlines, so a word comes out as a
// few pen strokes that the sketcher can make wobble like handwriting. Rendering needs no system
// font, so a sketch is the same on every machine. Letters the fonts lack (Polish and Czech) are
// built from a base letter and a drawn diacritic.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

export type Point = [number, number];
export type Stroke = Point[];

interface Glyph {
  advance: number;
  strokes: Stroke[];
}

export interface StrokeFont {
  name: string;
  glyphs: Map<string, Glyph>;
  /** Height of "H" in font units: text is sized by its capital height. */
  capHeight: number;
  xHeight: number;
}

export const FONT_FILES = {
  readability: 'EMSReadability.svg',
  readabilityItalic: 'EMSReadabilityItalic.svg',
  felix: 'EMSFelix.svg',
  nixish: 'EMSNixish.svg',
  tech: 'EMSTech.svg',
  osmotron: 'EMSOsmotron.svg',
  allure: 'EMSAllure.svg',
  sans: 'HersheySans1.svg',
  elfin: 'EMSElfin.svg',
  script: 'HersheyScript1.svg',
} as const;
export type FontName = keyof typeof FONT_FILES;

const fonts = new Map<FontName, StrokeFont>();

function decodeEntities(text: string): string {
  return text
    .replace(/&#x([0-9a-f]+);/gi, (_, hex: string) => String.fromCodePoint(parseInt(hex, 16)))
    .replace(/&#(\d+);/g, (_, dec: string) => String.fromCodePoint(Number(dec)))
    .replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/** SVG path data (M, L, C, Z, absolute, as the font files use) to polylines; curves are sampled. */
function parsePath(d: string): Stroke[] {
  const strokes: Stroke[] = [];
  const tokens = d.match(/[MLCZmlcz]|-?\d*\.?\d+(?:e-?\d+)?/g) ?? [];
  let current: Stroke | undefined;
  let i = 0;
  const num = () => Number(tokens[i++]);
  let command = '';
  while (i < tokens.length) {
    if (/[A-Za-z]/.test(tokens[i])) command = tokens[i++].toUpperCase();
    if (command === 'M') {
      current = [[num(), num()]];
      strokes.push(current);
      command = 'L';
    } else if (command === 'L') {
      current?.push([num(), num()]);
    } else if (command === 'C') {
      const from = current?.[current.length - 1] ?? [0, 0];
      const c1: Point = [num(), num()];
      const c2: Point = [num(), num()];
      const to: Point = [num(), num()];
      for (let s = 1; s <= 6; s++) {
        const t = s / 6;
        const u = 1 - t;
        current?.push([
          u * u * u * from[0] + 3 * u * u * t * c1[0] + 3 * u * t * t * c2[0] + t * t * t * to[0],
          u * u * u * from[1] + 3 * u * u * t * c1[1] + 3 * u * t * t * c2[1] + t * t * t * to[1],
        ]);
      }
    } else if (command === 'Z') {
      if (current?.length) current.push(current[0]);
    } else {
      i++;
    }
  }
  return strokes;
}

export function loadFont(name: FontName): StrokeFont {
  const cached = fonts.get(name);
  if (cached) return cached;
  const dir = path.join(path.dirname(createRequire(__filename).resolve('hersheytext/package.json')), 'svg_fonts');
  const svg = readFileSync(path.join(dir, FONT_FILES[name]), 'utf8');
  const defaultAdvance = Number(/<font[^>]*horiz-adv-x="([\d.]+)"/.exec(svg)?.[1] ?? 500);
  const glyphs = new Map<string, Glyph>();
  for (const match of svg.matchAll(/<glyph\b([^>]*)\/>/g)) {
    const attrs = match[1];
    const unicode = /unicode="([^"]*)"/.exec(attrs)?.[1];
    if (unicode === undefined) continue;
    const advance = Number(/horiz-adv-x="([\d.]+)"/.exec(attrs)?.[1] ?? defaultAdvance);
    const d = /\sd="([^"]*)"/.exec(attrs)?.[1] ?? '';
    glyphs.set(decodeEntities(unicode), { advance, strokes: parsePath(d) });
  }
  const top = (ch: string) => Math.max(...(glyphs.get(ch)?.strokes.flat().map((p) => p[1]) ?? [700]));
  const font = { name, glyphs, capHeight: top('H'), xHeight: top('x') };
  fonts.set(name, font);
  return font;
}

/** Diacritics drawn on top of (or below) a base letter, in units of the letter's box. */
const MARKS: Record<string, (x0: number, x1: number, top: number, unit: number) => Stroke[]> = {
  '\u0301': (x0, x1, top, u) => [[[(x0 + x1) / 2 - 0.05 * u, top + 0.12 * u], [(x0 + x1) / 2 + 0.12 * u, top + 0.3 * u]]], // acute
  '\u0300': (x0, x1, top, u) => [[[(x0 + x1) / 2 + 0.05 * u, top + 0.12 * u], [(x0 + x1) / 2 - 0.12 * u, top + 0.3 * u]]], // grave
  '\u030c': (x0, x1, top, u) => { const c = (x0 + x1) / 2; return [[[c - 0.12 * u, top + 0.3 * u], [c, top + 0.14 * u], [c + 0.12 * u, top + 0.3 * u]]]; }, // caron
  '\u0307': (x0, x1, top, u) => { const c = (x0 + x1) / 2; return [[[c, top + 0.16 * u], [c + 0.03 * u, top + 0.2 * u], [c, top + 0.22 * u]]]; }, // dot above
  '\u030a': (x0, x1, top, u) => { const c = (x0 + x1) / 2; const r = 0.07 * u; return [Array.from({ length: 9 }, (_, k): Point => [c + r * Math.cos((k * Math.PI) / 4), top + 0.22 * u + r * Math.sin((k * Math.PI) / 4)])]; }, // ring
  '\u0328': (_x0, x1, _top, u) => [[[x1 - 0.02 * u, 0], [x1 - 0.12 * u, -0.12 * u], [x1 - 0.02 * u, -0.2 * u], [x1 + 0.05 * u, -0.17 * u]]], // ogonek
  '\u0308': (x0, x1, top, u) => { const c = (x0 + x1) / 2; return [[[c - 0.1 * u, top + 0.16 * u], [c - 0.1 * u, top + 0.2 * u]], [[c + 0.1 * u, top + 0.16 * u], [c + 0.1 * u, top + 0.2 * u]]]; }, // diaeresis
  '\u0303': (x0, x1, top, u) => { const c = (x0 + x1) / 2; return [[[c - 0.15 * u, top + 0.16 * u], [c - 0.05 * u, top + 0.24 * u], [c + 0.05 * u, top + 0.16 * u], [c + 0.15 * u, top + 0.24 * u]]]; }, // tilde
  '\u0302': (x0, x1, top, u) => { const c = (x0 + x1) / 2; return [[[c - 0.12 * u, top + 0.14 * u], [c, top + 0.3 * u], [c + 0.12 * u, top + 0.14 * u]]]; }, // circumflex
  '\u0327': (x0, x1, _top, u) => { const c = (x0 + x1) / 2; return [[[c, 0], [c + 0.08 * u, -0.1 * u], [c - 0.05 * u, -0.2 * u]]]; }, // cedilla
};

function glyphFor(font: StrokeFont, ch: string): Glyph {
  const direct = font.glyphs.get(ch);
  if (direct) return direct;
  // ł and Ł have no decomposition: an l with a stroke through it.
  if (ch === 'ł' || ch === 'Ł') {
    const base = glyphFor(font, ch === 'ł' ? 'l' : 'L');
    const xs = base.strokes.flat().map((p) => p[0]);
    const x = Math.min(...xs);
    const h = font.xHeight;
    return { advance: base.advance, strokes: [...base.strokes, [[x - 0.15 * h, 0.45 * h], [x + 0.35 * h, 0.85 * h]]] };
  }
  const [baseChar, ...marks] = ch.normalize('NFD');
  const base = font.glyphs.get(baseChar) ?? font.glyphs.get('?') ?? { advance: font.xHeight, strokes: [] };
  if (marks.length === 0) return base;
  const points = base.strokes.flat();
  const xs = points.map((p) => p[0]);
  const x0 = xs.length ? Math.min(...xs) : 0;
  const x1 = xs.length ? Math.max(...xs) : base.advance;
  const top = points.length ? Math.max(...points.map((p) => p[1])) : font.xHeight;
  const strokes = [...base.strokes];
  for (const mark of marks) strokes.push(...(MARKS[mark]?.(x0, x1, top, font.capHeight) ?? []));
  return { advance: base.advance, strokes };
}

/** Width of `text` at capital height `size` (pixels), with extra letter spacing in em. */
export function textWidth(font: StrokeFont, text: string, size: number, spacing = 0): number {
  const scale = size / font.capHeight;
  let w = 0;
  for (const ch of text) w += glyphFor(font, ch).advance * scale + spacing * size;
  return w;
}

/**
 * The strokes of `text` with its baseline starting at (x, y), y pointing down as in SVG. `wiggle`
 * (uniform in [-1, 1]) moves and sizes each letter a little, as a hand does.
 */
export function textStrokes(font: StrokeFont, text: string, x: number, y: number, size: number, spacing = 0, slant = 0, wiggle?: () => number): Stroke[] {
  const out: Stroke[] = [];
  let pen = x;
  for (const ch of text) {
    const glyph = glyphFor(font, ch);
    const scale = (size / font.capHeight) * (1 + 0.07 * (wiggle?.() ?? 0));
    const lift = 0.05 * size * (wiggle?.() ?? 0);
    for (const stroke of glyph.strokes) out.push(stroke.map(([gx, gy]): Point => [pen + gx * scale + slant * gy * scale, y - lift - gy * scale]));
    pen += glyph.advance * scale + spacing * size;
  }
  return out;
}
