// The Tailwind form of the stylesheet (stylesheet.ts): for each element, the utilities that give
// it what the CSS rules give it, theme colours as arbitrary values. Tailwind's preflight removes
// what browsers add by default (heading sizes and weights, list bullets, link underlines, fieldset
// padding), so those are spelled out where the CSS version relied on them.
import type { El } from './html-tree';
import type { Theme } from './stylesheet';

function classList(node: El): string[] {
  const value = node.attrs?.find(([k]) => k === 'class')?.[1];
  return typeof value === 'string' ? value.split(' ') : [];
}

// Generic families by name: Tailwind's font-sans/serif/mono stacks start with other fonts, and a
// bare "monospace" also keeps Chromium's smaller monospace default size, as the CSS target has.
const FONTS: Record<string, string> = { 'sans-serif': 'font-[sans-serif]', serif: 'font-[serif]', monospace: 'font-[monospace]' };

export function tailwindClasses(node: El, parent: El | undefined, t: Theme): string {
  const cls = classList(node);
  const has = (c: string) => cls.includes(c);
  const r = `rounded-[${t.radius}px]`;
  const box = `border border-[${t.border}]`;
  const button = `self-start px-5 py-2.5 ${r} bg-[${t.accent}] text-[${t.onAccent}]`;
  const out: string[] = [];
  switch (node.tag) {
    case 'body':
      out.push('m-0 leading-normal', FONTS[t.font] ?? `font-[${t.font}]`, `text-[${t.text}] bg-[${t.background}]`);
      break;
    case 'header':
      out.push(`flex items-center gap-6 px-6 py-3 border-b border-[${t.border}]`);
      break;
    case 'nav':
      out.push('flex flex-wrap gap-4');
      break;
    case 'main':
      out.push('flex flex-col gap-8 p-6');
      break;
    case 'section':
    case 'article':
    case 'form':
    case 'div':
      out.push(has('row') ? 'flex flex-row gap-4' : 'flex flex-col gap-3');
      break;
    case 'h1':
    case 'h2':
    case 'h3':
      out.push(`text-[${{ h1: 32, h2: 24, h3: 18 }[node.tag]}px] font-bold`);
      break;
    case 'a':
      out.push(has('btn') ? `${button} no-underline` : `text-[${t.accent}] underline`);
      break;
    case 'button':
      out.push(button);
      break;
    case 'label':
      out.push(has('check') ? 'flex flex-row items-center gap-2' : 'flex flex-col gap-1');
      break;
    case 'input':
    case 'select':
    case 'textarea':
    {
      // A checkbox or radio button keeps its native look (the CSS rule's padding and border do not
      // show on it) and Chromium's own margin around it, which preflight removes.
      const type = node.attrs?.find(([k]) => k === 'type')?.[1];
      if (type === 'checkbox') out.push('mt-[3px] mr-[3px] mb-[3px] ml-[4px]');
      else if (type === 'radio') out.push('mt-[3px] mr-[3px] ml-[5px]');
      else out.push(`p-2 ${box} ${r} bg-[${t.background}] text-[${t.text}]`, node.tag === 'textarea' ? 'h-24' : '');
      break;
    }
    case 'fieldset':
      out.push(`flex flex-wrap gap-4 m-0 ${box} ${r} pt-[0.35em] px-[0.75em] pb-[0.625em]`);
      break;
    case 'legend':
      out.push('px-[2px]');
      break;
    case 'ul':
    case 'ol':
      out.push(`m-0 pl-6 ${node.tag === 'ul' ? 'list-disc' : 'list-decimal'}`);
      break;
    case 'table':
      out.push('border-collapse w-full');
      break;
    case 'th':
    case 'td':
      out.push(`p-2 ${box} text-left`, node.tag === 'th' ? `bg-[${t.surface}] font-bold` : '');
      break;
    case 'footer':
      out.push(`flex flex-wrap justify-between gap-4 p-6 bg-[${t.surface}]`);
      break;
  }
  if (has('logo')) out.push('text-[20px] mr-auto');
  if (has('hero')) out.push(`px-6 py-10 bg-[${t.surface}] ${r}`);
  if (has('card')) out.push(`p-4 ${box} ${r}`);
  if (has('img')) out.push(`min-h-[160px] bg-[${t.placeholder}] ${r}`);
  if (parent && classList(parent).includes('row')) out.push('flex-1');
  return out.filter(Boolean).join(' ');
}
