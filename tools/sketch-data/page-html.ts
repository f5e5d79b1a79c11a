// A page's target text: the canonical HTML document the model must write for it. The product's
// prompt asks for one self-contained file that starts with <!DOCTYPE html>, ends with </html> and
// keeps all CSS in one <style> element in the <head>; nothing here may break that.
import { el, serialize, usedSelectors } from './html-tree';
import type { PageContent } from './page';
import { stylesheet, type Theme } from './stylesheet';

/** The page with its first `sectionCount` sections (all by default). */
export function pageHtml(page: PageContent, theme: Theme, sectionCount = page.sections.length): string {
  const body = el('body', undefined, page.header, el('main', undefined, ...page.sections.slice(0, sectionCount)), page.footer);
  const css = stylesheet(theme, usedSelectors(body));
  const head = el(
    'head',
    undefined,
    el('meta', [['charset', 'utf-8']]),
    el('meta', [['name', 'viewport'], ['content', 'width=device-width,initial-scale=1']]),
    el('title', undefined, page.title),
    // The stylesheet is raw text: serialize() would escape the ">" of child selectors.
    el('style', undefined, '\u0000'),
  );
  const html = serialize(el('html', [['lang', page.lang]], head, body)).replace('\u0000', `\n${css}\n`);
  return `<!DOCTYPE html>\n${html}`;
}
