// The one small stylesheet every target page draws from: a fixed list of rules in a fixed order,
// each kept only when the page uses its selector, with the colours of the page's theme. Sketch
// targets use the neutral theme (a pen drawing says nothing about colours); screenshot targets
// use a random theme, since the colours are visible there.
import type { Rng } from './random';

export interface Theme {
  font: string;
  text: string;
  background: string;
  /** Buttons and links. */
  accent: string;
  /** Text on accent-coloured buttons. */
  onAccent: string;
  /** Header, hero, footer and table-head backgrounds. */
  surface: string;
  border: string;
  placeholder: string;
  radius: number;
}

export const NEUTRAL_THEME: Theme = {
  font: 'sans-serif',
  text: '#222',
  background: '#fff',
  accent: '#0b5cad',
  onAccent: '#fff',
  surface: '#f2f2f2',
  border: '#ccc',
  placeholder: '#ddd',
  radius: 6,
};

const FONTS = ['sans-serif', 'serif', 'system-ui', 'Georgia,serif', 'Arial,sans-serif', 'monospace'];
const ACCENTS = ['#0b5cad', '#1a7f37', '#c2410c', '#7c3aed', '#be123c', '#0f766e', '#1d4ed8', '#b45309', '#334155', '#db2777'];
const LIGHT_SURFACES = ['#f2f2f2', '#f5f0e6', '#eef4fb', '#f0f7f0', '#fdf2f8', '#f1f5f9', '#fff7ed'];
const DARK = { text: '#e5e7eb', background: '#111827', surface: '#1f2937', border: '#374151', placeholder: '#4b5563' };

export function randomTheme(rng: Rng): Theme {
  const accent = rng.pick(ACCENTS);
  const radius = rng.pick([0, 4, 6, 8, 12]);
  const font = rng.pick(FONTS);
  if (rng.chance(0.15)) return { font, accent, onAccent: '#fff', radius, ...DARK };
  return {
    font,
    text: rng.pick(['#222', '#111', '#333', '#1e293b']),
    background: rng.pick(['#fff', '#fff', '#fafafa', '#fffdf7']),
    accent,
    onAccent: '#fff',
    surface: rng.pick(LIGHT_SURFACES),
    border: rng.pick(['#ccc', '#ddd', '#d4d4d8', '#bbb']),
    placeholder: rng.pick(['#ddd', '#d1d5db', '#e5e7eb', '#cbd5e1']),
    radius,
  };
}

/** [the selector that must be used for the rule to be kept, the rule]. */
function rules(t: Theme): [string, string][] {
  const r = `border-radius:${t.radius}px`;
  return [
    ['body', '*{box-sizing:border-box}'],
    ['body', `body{margin:0;font-family:${t.font};line-height:1.5;color:${t.text};background:${t.background}}`],
    ['header', `header{display:flex;align-items:center;gap:24px;padding:12px 24px;border-bottom:1px solid ${t.border}}`],
    ['.logo', '.logo{font-size:20px;margin-right:auto}'],
    ['nav', 'nav{display:flex;flex-wrap:wrap;gap:16px}'],
    ['main', 'main{display:flex;flex-direction:column;gap:32px;padding:24px}'],
    ['main', 'section,article,form,div{display:flex;flex-direction:column;gap:12px}'],
    ['h1', 'h1{font-size:32px;margin:0}'],
    ['h2', 'h2{font-size:24px;margin:0}'],
    ['h3', 'h3{font-size:18px;margin:0}'],
    ['p', 'p{margin:0}'],
    ['a', `a{color:${t.accent}}`],
    ['.hero', `.hero{padding:40px 24px;background:${t.surface};${r}}`],
    ['.row', '.row{flex-direction:row;gap:16px}'],
    ['.row', '.row>*{flex:1}'],
    ['.card', `.card{padding:16px;border:1px solid ${t.border};${r}}`],
    ['.img', `.img{min-height:160px;background:${t.placeholder};${r}}`],
    ['.btn', `.btn,button{align-self:flex-start;padding:10px 20px;border:0;${r};background:${t.accent};color:${t.onAccent};font:inherit;text-decoration:none}`],
    ['button', `button{align-self:flex-start;padding:10px 20px;border:0;${r};background:${t.accent};color:${t.onAccent};font:inherit}`],
    ['label', 'label{display:flex;flex-direction:column;gap:4px}'],
    ['input', `input,select,textarea{padding:8px;border:1px solid ${t.border};${r};font:inherit;background:${t.background};color:${t.text}}`],
    ['textarea', 'textarea{height:96px}'],
    ['.check', '.check{flex-direction:row;align-items:center;gap:8px}'],
    ['fieldset', `fieldset{display:flex;flex-wrap:wrap;gap:16px;margin:0;border:1px solid ${t.border};${r}}`],
    ['ul', 'ul,ol{margin:0;padding-left:24px}'],
    ['ol', 'ul,ol{margin:0;padding-left:24px}'],
    ['table', 'table{border-collapse:collapse;width:100%}'],
    ['table', `th,td{padding:8px;border:1px solid ${t.border};text-align:left}`],
    ['th', `th{background:${t.surface}}`],
    ['footer', `footer{display:flex;flex-wrap:wrap;justify-content:space-between;gap:16px;padding:24px;background:${t.surface}}`],
  ];
}

/** The stylesheet of a page: the rules whose selector it uses, each once, one per line. */
export function stylesheet(theme: Theme, used: ReadonlySet<string>): string {
  const kept: string[] = [];
  for (const [needs, rule] of rules(theme)) {
    if (!used.has(needs) || kept.includes(rule)) continue;
    // `.btn,button` already covers buttons; the bare button rule is for pages without .btn.
    if (needs === 'button' && used.has('.btn')) continue;
    kept.push(rule);
  }
  return kept.join('\n');
}
