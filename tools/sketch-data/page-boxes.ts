// What a rendered page shows, measured in Chromium: every element that paints something (its own
// text, a border, a background, a form control or a picture) with its box, kind and text lines.
// The sketch is drawn from these boxes, and the layout score compares them (layout-iou.ts), so
// the target render, the model's render and the sketch all speak about the same things.

export type BoxKind = 'heading' | 'text' | 'link' | 'button' | 'field' | 'choice' | 'image' | 'cell' | 'box';
export const BOX_KINDS: readonly BoxKind[] = ['heading', 'text', 'link', 'button', 'field', 'choice', 'image', 'cell', 'box'];

export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface TextRun {
  text: string;
  /** One rectangle per line the text occupies. */
  lines: Rect[];
  fontSize: number;
  bold: boolean;
}

export interface PageBox extends Rect {
  tag: string;
  kind: BoxKind;
  /** Nesting depth below <body>. */
  depth: number;
  /** Which sides draw a border: top, right, bottom, left. */
  border: [boolean, boolean, boolean, boolean];
  /** Has a background of its own (not transparent). */
  fill: boolean;
  /** That background is dark (text on it is light). */
  dark: boolean;
  radius: number;
  /** The element's own text nodes (not its children's). */
  runs: TextRun[];
  /** Form controls: input type, checked state, placeholder or shown option. */
  control?: { type: string; checked: boolean; text: string };
  /** List items: the list's tag and the item's position in it. */
  list?: { ordered: boolean; index: number };
}

export interface PageMeasure {
  width: number;
  height: number;
  boxes: PageBox[];
}

/**
 * Runs inside the page (plain JavaScript in a string so that no bundler helper leaks into the
 * serialised function). Text-like kinds get the box of their text lines rather than of the
 * element, so <p>, <div> or <span> holding the same words measure alike.
 */
export const MEASURE_SCRIPT = `(() => {
  const SKIP = new Set(['HTML','HEAD','BODY','SCRIPT','STYLE','TITLE','META','LINK','OPTION','BR','TEMPLATE','NOSCRIPT']);
  const TEXT = new Set(['P','LI','LEGEND','LABEL','SPAN','STRONG','EM','B','I','SMALL','FIGCAPTION','BLOCKQUOTE','DT','DD','CAPTION','CODE','PRE']);
  const REPLACED = new Set(['IMG','SVG','CANVAS','VIDEO','PICTURE','IFRAME','OBJECT','EMBED']);
  const CHOICES = new Set(['checkbox','radio']);
  const BUTTONS = new Set(['submit','button','reset','image']);
  const rgba = (c) => { const m = c.match(/[\\d.]+/g) || []; return m.map(Number); };
  const boxes = [];
  const walk = (node, depth) => {
    for (const child of node.children) {
      const tag = child.tagName.toUpperCase();
      if (SKIP.has(tag)) { walk(child, depth); continue; }
      const style = getComputedStyle(child);
      if (style.display === 'none') continue;
      const r = child.getBoundingClientRect();
      const visible = style.visibility !== 'hidden' && Number(style.opacity) > 0 && r.width > 0 && r.height > 0;
      if (visible) {
        const runs = [];
        for (const t of child.childNodes) {
          if (t.nodeType !== 3 || !t.textContent.trim()) continue;
          const range = document.createRange();
          range.selectNodeContents(t);
          const lines = [...range.getClientRects()].filter((q) => q.width > 0.5).map((q) => ({ x: q.x + scrollX, y: q.y + scrollY, w: q.width, h: q.height }));
          if (lines.length) runs.push({ text: t.textContent.replace(/\\s+/g, ' ').trim(), lines, fontSize: parseFloat(style.fontSize), bold: Number(style.fontWeight) >= 600 });
        }
        const bg = rgba(style.backgroundColor);
        const fill = bg.length >= 3 && (bg.length < 4 || bg[3] > 0.05);
        const border = ['Top','Right','Bottom','Left'].map((s) => parseFloat(style['border' + s + 'Width']) > 0 && style['border' + s + 'Style'] !== 'none' && (rgba(style['border' + s + 'Color'])[3] ?? 1) > 0.05);
        const type = tag === 'INPUT' ? (child.getAttribute('type') || 'text').toLowerCase() : tag === 'SELECT' ? 'select' : tag === 'TEXTAREA' ? 'textarea' : '';
        let kind = 'box';
        if (/^H[1-6]$/.test(tag)) kind = 'heading';
        else if (tag === 'A') kind = 'link';
        else if (tag === 'BUTTON' || (tag === 'INPUT' && BUTTONS.has(type))) kind = 'button';
        else if (tag === 'INPUT' && CHOICES.has(type)) kind = 'choice';
        else if (type) kind = 'field';
        else if (REPLACED.has(tag)) kind = 'image';
        else if (tag === 'TD' || tag === 'TH') kind = 'cell';
        else if (TEXT.has(tag) || runs.length) kind = 'text';
        if (kind === 'box' && !child.children.length && !runs.length && (fill || border.some(Boolean))) kind = 'image';
        const paints = runs.length > 0 || fill || border.some(Boolean) || kind !== 'box' && kind !== 'text';
        if (paints) {
          const textual = (kind === 'heading' || kind === 'text' || kind === 'link') && runs.length;
          let box = { x: r.x + scrollX, y: r.y + scrollY, w: r.width, h: r.height };
          if (textual && !fill && !border.some(Boolean)) {
            const all = runs.flatMap((u) => u.lines);
            const x0 = Math.min(...all.map((q) => q.x)), y0 = Math.min(...all.map((q) => q.y));
            box = { x: x0, y: y0, w: Math.max(...all.map((q) => q.x + q.w)) - x0, h: Math.max(...all.map((q) => q.y + q.h)) - y0 };
          }
          const lum = bg.length >= 3 ? (0.299 * bg[0] + 0.587 * bg[1] + 0.114 * bg[2]) / 255 : 1;
          const item = { tag: tag.toLowerCase(), kind, depth, ...box, border, fill, dark: fill && lum < 0.45, radius: parseFloat(style.borderTopLeftRadius) || 0, runs };
          if (type) {
            const text = tag === 'SELECT' ? (child.options[child.selectedIndex] || { text: '' }).text : CHOICES.has(type) ? '' : child.getAttribute('placeholder') || child.value || '';
            item.control = { type, checked: !!child.checked, text };
          }
          if (tag === 'LI' && child.parentElement) item.list = { ordered: child.parentElement.tagName === 'OL', index: [...child.parentElement.children].indexOf(child) };
          boxes.push(item);
        }
      }
      if (!REPLACED.has(tag)) walk(child, depth + 1);
    }
  };
  walk(document.body, 0);
  const b = document.body.getBoundingClientRect();
  return { width: document.documentElement.clientWidth, height: Math.ceil(Math.max(document.body.scrollHeight, b.bottom + scrollY + (parseFloat(getComputedStyle(document.body).marginBottom) || 0))), boxes };
})()`;
