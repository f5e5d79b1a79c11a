// The look of a chart, drawn at random per example. The "viridis" palette, serif lettering and a
// beige, outlined look exist only in the eval-unseen split.
import type { Rng } from './random';

export interface ChartStyle {
  palette: string;
  colors: string[];
  background: string;
  text: string;
  font: string;
  grid: 'solid' | 'dashed' | 'none';
  legend: 'top' | 'right' | 'bottom';
  /** Values printed on the marks. */
  valueLabels: boolean;
  /** Bars and slices drawn with a dark outline. */
  outline: boolean;
  horizontal: boolean;
  markers: 'circle' | 'square' | 'none';
  donut: boolean;
  width: number;
  height: number;
}

export const TRAIN_PALETTES: Record<string, string[]> = {
  tableau: ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7'],
  set2: ['#66c2a5', '#fc8d62', '#8da0cb', '#e78ac3', '#a6d854', '#ffd92f', '#e5c494', '#b3b3b3'],
  office: ['#4472c4', '#ed7d31', '#a5a5a5', '#ffc000', '#5b9bd5', '#70ad47', '#264478', '#9e480e'],
  blues: ['#08519c', '#3182bd', '#6baed6', '#9ecae1', '#c6dbef', '#2171b5', '#4292c6', '#deebf7'],
  bright: ['#e6194b', '#3cb44b', '#4363d8', '#f58231', '#911eb4', '#42d4f4', '#f032e6', '#bfef45'],
};
export const UNSEEN_PALETTES: Record<string, string[]> = {
  viridis: ['#440154', '#3b528b', '#21918c', '#5ec962', '#fde725', '#31688e', '#35b779', '#90d743'],
};

export function randomChartStyle(rng: Rng, unseen: boolean, kind: string): ChartStyle {
  const palette = rng.pick(Object.keys(unseen ? UNSEEN_PALETTES : TRAIN_PALETTES));
  const dark = !unseen && rng.chance(0.15);
  const width = rng.int(360, 1000);
  return {
    palette,
    colors: (unseen ? UNSEEN_PALETTES : TRAIN_PALETTES)[palette],
    background: unseen ? '#f4ecd8' : dark ? '#1e1e1e' : rng.pick(['#ffffff', '#ffffff', '#fafafa', '#f5f7fa']),
    text: dark ? '#e6e6e6' : '#222222',
    font: unseen ? 'DejaVu Serif' : 'DejaVu Sans',
    grid: unseen ? 'none' : rng.pick(['solid', 'dashed', 'none'] as const),
    legend: rng.pick(['top', 'right', 'bottom'] as const),
    // Printed values are what makes a table exact; charts without them are read off the axis.
    valueLabels: rng.chance(kind === 'pie' ? 0.85 : kind === 'scatter' ? 0.3 : 0.65),
    outline: unseen,
    horizontal: kind === 'bar' && rng.chance(0.3),
    markers: rng.pick(['circle', 'square', 'none'] as const),
    donut: kind === 'pie' && rng.chance(0.3),
    width,
    height: Math.round(width * (kind === 'pie' ? rng.range(0.7, 0.95) : rng.range(0.55, 0.8))),
  };
}

export function isUnseenChartStyle(style: Pick<ChartStyle, 'palette'>): boolean {
  return style.palette in UNSEEN_PALETTES;
}
