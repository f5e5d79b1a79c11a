// A page's target texts: the canonical HTML document the model must write for it, with its CSS in
// one <style> (the product's default) or as Tailwind utility classes (its html-tailwind target).
// The prompt asks for one self-contained file that starts with <!DOCTYPE html>, ends with </html>
// and, for plain CSS, keeps all of it in one <style> element in the <head>; for Tailwind, loads it
// with the one script tag the prompt names. Nothing here may break that.
import { el, serialize, usedSelectors, type El, type Node } from './html-tree';
import type { PageContent } from './page';
import { stylesheet, type Theme } from './stylesheet';
import { tailwindClasses } from './tailwind';

export const TAILWIND_SCRIPT = 'https://cdn.tailwindcss.com';

function document(page: PageContent, head: El, body: El): string {
  return `<!DOCTYPE html>\n${serialize(el('html', [['lang', page.lang]], head, body))}`;
}

function pageBody(page: PageContent, sectionCount: number): El {
  return el('body', undefined, page.header, el('main', undefined, ...page.sections.slice(0, sectionCount)), page.footer);
}

function headWith(page: PageContent, last: El): El {
  return el('head', undefined, el('meta', [['charset', 'utf-8']]), el('meta', [['name', 'viewport'], ['content', 'width=device-width,initial-scale=1']]), el('title', undefined, page.title), last);
}

/** The page with its first `sectionCount` sections (all by default). */
export function pageHtml(page: PageContent, theme: Theme, sectionCount = page.sections.length): string {
  const body = pageBody(page, sectionCount);
  const css = stylesheet(theme, usedSelectors(body));
  // The stylesheet is raw text: serialize() would escape the ">" of child selectors.
  return document(page, headWith(page, el('style', undefined, '\u0000')), body).replace('\u0000', `\n${css}\n`);
}

/** The same page styled with Tailwind utilities: every element carries the classes of its CSS rules. */
export function pageTailwind(page: PageContent, theme: Theme, sectionCount = page.sections.length): string {
  const restyle = (node: Node, parent?: El): Node => {
    if (typeof node === 'string') return node;
    const classes = tailwindClasses(node, parent, theme);
    const attrs = (node.attrs ?? []).filter(([k]) => k !== 'class');
    return { tag: node.tag, attrs: classes ? [['class', classes], ...attrs] : attrs, children: node.children?.map((c) => restyle(c, node)) };
  };
  return document(page, headWith(page, el('script', [['src', TAILWIND_SCRIPT]])), restyle(pageBody(page, sectionCount)) as El);
}
