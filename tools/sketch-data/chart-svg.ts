// Draws a chart as SVG (rendered to PNG by sharp/librsvg): title, axes with nice ticks and titles,
// grid, bars (vertical, horizontal, grouped), lines with markers, pies and donuts, scatter plots,
// legends and value labels. Text uses the DejaVu fonts every Debian machine has.
import { formatNumber, withUnit, type ChartData } from './chart-data';
import type { ChartStyle } from './chart-style';
import { escapeText } from './html-tree';

/** Ticks at 1, 2 or 5 times a power of ten covering [min, max]. */
export function niceTicks(min: number, max: number, target = 5): number[] {
  const span = max - min || Math.abs(max) || 1;
  const raw = span / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let v = Math.floor(min / step) * step; v <= max + step * 0.999; v += step) ticks.push(Number(v.toPrecision(12)));
  if (ticks[ticks.length - 1] < max) ticks.push(Number((ticks[ticks.length - 1] + step).toPrecision(12)));
  return ticks;
}

function tickText(v: number, ticks: number[]): string {
  const step = ticks.length > 1 ? Math.abs(ticks[1] - ticks[0]) : 1;
  const decimals = step >= 1 ? 0 : Math.min(3, Math.ceil(-Math.log10(step) - 1e-9));
  return v.toFixed(decimals);
}

class Svg {
  readonly parts: string[] = [];

  constructor(readonly style: ChartStyle, readonly f: number) {}

  text(x: number, y: number, text: string, opts: { size?: number; anchor?: 'start' | 'middle' | 'end'; bold?: boolean; rotate?: number; color?: string } = {}): void {
    const size = opts.size ?? this.f;
    const rotate = opts.rotate ? ` transform="rotate(${opts.rotate} ${x.toFixed(1)} ${y.toFixed(1)})"` : '';
    this.parts.push(`<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" font-size="${size.toFixed(1)}" text-anchor="${opts.anchor ?? 'start'}"${opts.bold ? ' font-weight="bold"' : ''} fill="${opts.color ?? this.style.text}"${rotate}>${escapeText(text)}</text>`);
  }

  rect(x: number, y: number, w: number, h: number, fill: string): void {
    const outline = this.style.outline ? ' stroke="#222" stroke-width="1"' : '';
    this.parts.push(`<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${Math.max(0, w).toFixed(1)}" height="${Math.max(0, h).toFixed(1)}" fill="${fill}"${outline}/>`);
  }

  line(x1: number, y1: number, x2: number, y2: number, color: string, width = 1, dashed = false): void {
    this.parts.push(`<path d="M${x1.toFixed(1)} ${y1.toFixed(1)}L${x2.toFixed(1)} ${y2.toFixed(1)}" stroke="${color}" stroke-width="${width}"${dashed ? ' stroke-dasharray="4 3"' : ''}/>`);
  }

  marker(x: number, y: number, color: string, shape: ChartStyle['markers'], r: number): void {
    if (shape === 'square') this.parts.push(`<rect x="${(x - r).toFixed(1)}" y="${(y - r).toFixed(1)}" width="${2 * r}" height="${2 * r}" fill="${color}"/>`);
    else this.parts.push(`<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="${r}" fill="${color}"/>`);
  }
}

/** Generous width of DejaVu text (digits are 0.64 em wide, the serif a little wider), so labels never collide. */
function textWidth(text: string, size: number): number {
  return [...text].length * size * 0.66;
}

function legend(svg: Svg, names: string[], colors: string[], area: { x: number; y: number; w: number; h: number }, title?: string): { x: number; y: number; w: number; h: number } {
  const { f, style } = svg;
  const item = (name: string) => 1.6 * f + textWidth(name, f) + f;
  if (style.legend === 'right') {
    const w = Math.max(...names.map(item), title ? textWidth(title, f) : 0) + f;
    let y = area.y + f;
    if (title) { svg.text(area.x + area.w - w, y + f * 0.8, title, { bold: true }); y += 1.6 * f; }
    names.forEach((n, i) => {
      svg.rect(area.x + area.w - w, y, f, f, colors[i % colors.length]);
      svg.text(area.x + area.w - w + 1.5 * f, y + f * 0.85, n);
      y += 1.6 * f;
    });
    return { ...area, w: area.w - w - f };
  }
  const rowH = 2 * f;
  const total = names.reduce((s, n) => s + item(n), title ? textWidth(title, f) + f : 0);
  let x = area.x + Math.max(0, (area.w - total) / 2);
  const y = style.legend === 'top' ? area.y : area.y + area.h - rowH;
  if (title) { svg.text(x, y + f * 1.2, title, { bold: true }); x += textWidth(title, f) + f; }
  names.forEach((n, i) => {
    svg.rect(x, y + f * 0.4, f, f, colors[i % colors.length]);
    svg.text(x + 1.4 * f, y + f * 1.25, n);
    x += item(n);
  });
  return style.legend === 'top' ? { ...area, y: area.y + rowH, h: area.h - rowH } : { ...area, h: area.h - rowH };
}

function pie(svg: Svg, chart: ChartData, area: { x: number; y: number; w: number; h: number }): void {
  const { f, style } = svg;
  const plot = legend(svg, chart.categories, style.colors, area, chart.xLabel);
  const r = Math.min(plot.w, plot.h) / 2 - 2.2 * f;
  const cx = plot.x + plot.w / 2;
  const cy = plot.y + plot.h / 2;
  const values = chart.series[0].values.map((v) => v ?? 0);
  const total = values.reduce((a, b) => a + b, 0);
  let angle = -Math.PI / 2;
  values.forEach((v, i) => {
    const sweep = (v / total) * 2 * Math.PI;
    const [x1, y1] = [cx + r * Math.cos(angle), cy + r * Math.sin(angle)];
    const [x2, y2] = [cx + r * Math.cos(angle + sweep), cy + r * Math.sin(angle + sweep)];
    const outline = style.outline ? ' stroke="#222"' : ` stroke="${style.background}"`;
    svg.parts.push(`<path d="M${cx.toFixed(1)} ${cy.toFixed(1)}L${x1.toFixed(1)} ${y1.toFixed(1)}A${r.toFixed(1)} ${r.toFixed(1)} 0 ${sweep > Math.PI ? 1 : 0} 1 ${x2.toFixed(1)} ${y2.toFixed(1)}Z" fill="${style.colors[i % style.colors.length]}"${outline} stroke-width="1.5"/>`);
    if (style.valueLabels) {
      const mid = angle + sweep / 2;
      const lr = r + 1.1 * f;
      svg.text(cx + lr * Math.cos(mid), cy + lr * Math.sin(mid) + f * 0.35, `${formatNumber(v, chart.decimals)}%`, { anchor: Math.cos(mid) > 0.2 ? 'start' : Math.cos(mid) < -0.2 ? 'end' : 'middle' });
    }
    angle += sweep;
  });
  if (style.donut) svg.parts.push(`<circle cx="${cx.toFixed(1)}" cy="${cy.toFixed(1)}" r="${(r * 0.55).toFixed(1)}" fill="${style.background}"/>`);
}

function cartesian(svg: Svg, chart: ChartData, area: { x: number; y: number; w: number; h: number }): void {
  const { f, style } = svg;
  const colors = style.colors;
  const many = chart.series.length > 1;
  // What the legend leaves: the axes, their titles and the plot all go inside it.
  const inner = many ? legend(svg, chart.series.map((s) => s.name), colors, area) : area;
  const values = chart.series.flatMap((s) => s.values.filter((v): v is number => v !== null));
  const lo = Math.min(0, ...values);
  const vTicks = niceTicks(chart.kind === 'line' || chart.kind === 'scatter' ? Math.min(...values) - (lo < 0 ? 0 : Math.min(...values) * 0.5) : lo, Math.max(...values));
  if (vTicks[0] > 0 && chart.kind !== 'scatter' && chart.kind !== 'line') vTicks.unshift(0);
  const horizontal = style.horizontal;
  const scatter = chart.kind === 'scatter';
  const xs = scatter ? chart.categories.map(Number) : [];
  const xTicks = scatter ? niceTicks(Math.min(...xs), Math.max(...xs)) : [];
  const catLabels = horizontal ? chart.categories : scatter ? xTicks.map((t) => tickText(t, xTicks)) : chart.categories;
  const valueLabelsW = Math.max(...vTicks.map((t) => textWidth(tickText(t, vTicks), f)));
  const catW = Math.max(...catLabels.map((c) => textWidth(c, f)));
  const slot = (horizontal ? inner.h : inner.w) / Math.max(1, catLabels.length);
  const rotate = !horizontal && catW > slot * 0.85;
  const left = inner.x + 2 * f + (horizontal ? catW : valueLabelsW) + 0.6 * f;
  const bottomSpace = 2.4 * f + (rotate ? catW * 0.62 + f : f);
  const plot = { x: left, y: inner.y + f, w: inner.x + inner.w - left - f, h: inner.h - f - bottomSpace };
  const vMin = vTicks[0];
  const vMax = vTicks[vTicks.length - 1];
  // Value axis position: up the plot for vertical charts, across it for horizontal bars.
  const vPos = (v: number) => (horizontal ? plot.x + ((v - vMin) / (vMax - vMin)) * plot.w : plot.y + plot.h - ((v - vMin) / (vMax - vMin)) * plot.h);
  const grid = style.grid === 'dashed' ? '#9a9a9a' : style.background === '#1e1e1e' ? '#444' : '#dddddd';
  for (const t of vTicks) {
    const p = vPos(t);
    if (style.grid !== 'none') horizontal ? svg.line(p, plot.y, p, plot.y + plot.h, grid, 1, style.grid === 'dashed') : svg.line(plot.x, p, plot.x + plot.w, p, grid, 1, style.grid === 'dashed');
    if (horizontal) svg.text(p, plot.y + plot.h + 1.3 * f, tickText(t, vTicks), { anchor: 'middle' });
    else svg.text(plot.x - 0.5 * f, p + 0.35 * f, tickText(t, vTicks), { anchor: 'end' });
  }
  svg.line(plot.x, plot.y + plot.h, plot.x + plot.w, plot.y + plot.h, style.text, 1.2);
  svg.line(plot.x, plot.y, plot.x, plot.y + plot.h, style.text, 1.2);
  const valueTitle = withUnit(chart.measure, chart.unit);
  const catTitle = withUnit(chart.xLabel, chart.xUnit);
  if (horizontal) {
    svg.text(plot.x + plot.w / 2, plot.y + plot.h + 2.6 * f, valueTitle, { anchor: 'middle', bold: true });
    svg.text(inner.x + f, plot.y + plot.h / 2, catTitle, { anchor: 'middle', bold: true, rotate: -90 });
  } else {
    svg.text(inner.x + f, plot.y + plot.h / 2, valueTitle, { anchor: 'middle', bold: true, rotate: -90 });
    svg.text(plot.x + plot.w / 2, inner.y + inner.h - 0.4 * f, catTitle, { anchor: 'middle', bold: true });
  }
  const n = chart.categories.length;
  const band = (horizontal ? plot.h : plot.w) / n;
  const xPos = (i: number) => (scatter ? plot.x + ((xs[i] - xTicks[0]) / (xTicks[xTicks.length - 1] - xTicks[0])) * plot.w : plot.x + band * (i + 0.5));
  if (scatter) {
    xTicks.forEach((t) => {
      const p = plot.x + ((t - xTicks[0]) / (xTicks[xTicks.length - 1] - xTicks[0])) * plot.w;
      svg.text(p, plot.y + plot.h + 1.3 * f, tickText(t, xTicks), { anchor: 'middle' });
      if (style.grid !== 'none') svg.line(p, plot.y, p, plot.y + plot.h, grid, 1, style.grid === 'dashed');
    });
  } else {
    chart.categories.forEach((c, i) => {
      if (horizontal) svg.text(plot.x - 0.5 * f, plot.y + band * (i + 0.5) + 0.35 * f, c, { anchor: 'end' });
      else if (rotate) svg.text(xPos(i), plot.y + plot.h + 1.2 * f, c, { anchor: 'end', rotate: -35 });
      else svg.text(xPos(i), plot.y + plot.h + 1.3 * f, c, { anchor: 'middle' });
    });
  }
  const label = (v: number) => formatNumber(v, chart.decimals);
  const k = chart.series.length;
  chart.series.forEach((s, si) => {
    const color = colors[si % colors.length];
    if (chart.kind === 'bar' || chart.kind === 'grouped-bar') {
      const barBand = (band * 0.75) / k;
      s.values.forEach((v, i) => {
        if (v === null) return;
        const start = band * i + band * 0.125 + barBand * si;
        const zero = vPos(Math.max(vMin, 0));
        const end = vPos(v);
        if (horizontal) {
          svg.rect(Math.min(zero, end), plot.y + start, Math.abs(end - zero), barBand * 0.92, color);
          if (style.valueLabels) svg.text(end + 0.3 * f, plot.y + start + barBand * 0.46 + 0.35 * f, label(v), { size: f * 0.9 });
        } else {
          svg.rect(plot.x + start, Math.min(zero, end), barBand * 0.92, Math.abs(end - zero), color);
          if (style.valueLabels) svg.text(plot.x + start + barBand * 0.46, end - 0.35 * f, label(v), { size: f * (k > 1 ? 0.75 : 0.9), anchor: 'middle' });
        }
      });
    } else {
      const pts = s.values.map((v, i) => (v === null ? null : ([xPos(i), vPos(v)] as const)));
      if (chart.kind === 'line') {
        const d = pts.filter((p) => p !== null).map((p, i) => `${i ? 'L' : 'M'}${p![0].toFixed(1)} ${p![1].toFixed(1)}`).join('');
        svg.parts.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="${(f / 5).toFixed(1)}" stroke-linejoin="round"/>`);
      }
      pts.forEach((p, i) => {
        if (!p) return;
        if (chart.kind === 'scatter' || style.markers !== 'none') svg.marker(p[0], p[1], color, chart.kind === 'scatter' && style.markers === 'none' ? 'circle' : style.markers, f * 0.3);
        if (style.valueLabels && k === 1) svg.text(p[0], p[1] - 0.7 * f, label(s.values[i]!), { size: f * 0.8, anchor: 'middle' });
      });
    }
  });
}

export function chartSvg(chart: ChartData, style: ChartStyle): string {
  const f = Math.max(10, Math.min(16, style.width / 48));
  const svg = new Svg(style, f);
  const { width: w, height: h } = style;
  svg.text(w / 2, 1.8 * f, chart.title, { size: 1.35 * f, anchor: 'middle', bold: true });
  const area = { x: f * 0.5, y: 3 * f, w: w - f, h: h - 3.4 * f };
  if (chart.kind === 'pie') pie(svg, chart, area);
  else cartesian(svg, chart, area);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="${style.font}"><rect width="${w}" height="${h}" fill="${style.background}"/>${svg.parts.join('')}</svg>`;
}
