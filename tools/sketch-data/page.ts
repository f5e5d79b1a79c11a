// Random but realistic page layouts as element trees: a header with a brand, nav and an action,
// then a few sections (hero, card rows, text, forms with every kind of input, lists, tables,
// images, multi-column rows) and a footer, with real words in one language. The same tree is the
// target (page-html.ts) and, rendered, the source of the sketch and the screenshot.
import { el, type El } from './html-tree';
import type { Rng } from './random';
import { Lexicon, LANGUAGES, type Language } from './words';

const HREF: [string, string] = ['href', '#'];

export interface PageContent {
  lang: Language;
  title: string;
  header?: El;
  /** Sections of <main>, in order; the renderer may drop trailing ones to fit the page's height. */
  sections: El[];
  footer?: El;
}

/** What kind of page fits the viewport: narrow pages stack, wide ones use rows of 2-4. */
export interface PageShape {
  maxColumns: number;
  sections: number;
}

export function shapeFor(width: number, rng: Rng): PageShape {
  if (width < 600) return { maxColumns: 2, sections: rng.int(1, 3) };
  if (width < 900) return { maxColumns: 3, sections: rng.int(2, 4) };
  return { maxColumns: 4, sections: rng.int(2, 5) };
}

class PageBuilder {
  private radioGroups = 0;

  constructor(
    private readonly rng: Rng,
    private readonly lex: Lexicon,
    private readonly shape: PageShape,
  ) {}

  private columns(min: number, max: number): number {
    return this.rng.int(min, Math.min(max, this.shape.maxColumns));
  }

  private para(min = 5, max = 16): El {
    return el('p', undefined, this.lex.sentence(min, max));
  }

  private button(text = this.lex.word('action')): El {
    return this.rng.chance(0.5) ? el('a', [['class', 'btn'], HREF], text) : el('button', undefined, text);
  }

  header(brand: string): El {
    const nav = el('nav', undefined, ...this.lex.distinct('nav', this.rng.int(2, this.shape.maxColumns < 3 ? 3 : 5)).map((w) => el('a', [HREF], w)));
    return el('header', undefined, el('strong', [['class', 'logo']], brand), this.rng.chance(0.9) && nav, this.rng.chance(0.4) && el('a', [['class', 'btn'], HREF], this.lex.word('action')));
  }

  footer(brand: string): El {
    const links = this.rng.chance(0.7) && el('nav', undefined, ...this.lex.distinct('nav', this.rng.int(2, 4)).map((w) => el('a', [HREF], w)));
    return el('footer', undefined, el('p', undefined, `© ${this.rng.int(2019, 2026)} ${brand}`), links);
  }

  hero(): El {
    const text = [el('h1', undefined, this.lex.title(4)), this.rng.chance(0.85) && this.para(6, 18), this.rng.chance(0.8) && this.button()];
    if (this.shape.maxColumns >= 3 && this.rng.chance(0.4)) {
      return el('section', [['class', 'hero row']], el('div', undefined, ...text), el('div', [['class', 'img']]));
    }
    return el('section', [['class', 'hero']], ...text);
  }

  cards(): El {
    const image = this.rng.chance(0.6);
    const action = this.rng.pick(['link', 'button', 'none'] as const);
    const cards = Array.from({ length: this.columns(2, 4) }, () =>
      el(
        'article',
        [['class', 'card']],
        image && el('div', [['class', 'img']]),
        el('h3', undefined, this.lex.title(3)),
        this.para(4, 12),
        action === 'link' && el('a', [HREF], this.lex.word('action')),
        action === 'button' && this.button(),
      ),
    );
    return el('section', undefined, this.rng.chance(0.7) && el('h2', undefined, this.lex.title(3)), el('div', [['class', 'row']], ...cards));
  }

  text(): El {
    return el('section', undefined, el('h2', undefined, this.lex.title(3)), ...Array.from({ length: this.rng.int(1, 2) }, () => this.para(8, 22)));
  }

  list(): El {
    const ordered = this.rng.chance(0.35);
    const items = Array.from({ length: this.rng.int(3, 6) }, () => el('li', undefined, this.rng.chance(0.5) ? this.lex.title(4) : this.lex.sentence(3, 8)));
    return el('section', undefined, el('h2', undefined, this.lex.title(3)), el(ordered ? 'ol' : 'ul', undefined, ...items));
  }

  table(): El {
    const cols = this.rng.int(2, this.shape.maxColumns < 3 ? 3 : 4);
    const head = el('tr', undefined, ...this.lex.distinct('field', cols).map((h) => el('th', undefined, h)));
    const cell = (c: number) => (c === 0 ? this.lex.title(2) : this.rng.chance(0.5) ? String(this.rng.int(1, 999)) : this.lex.word(this.rng.pick(['noun', 'city', 'name', 'option'] as const)));
    const rows = Array.from({ length: this.rng.int(2, 5) }, () => el('tr', undefined, ...Array.from({ length: cols }, (_, c) => el('td', undefined, cell(c)))));
    return el('section', undefined, this.rng.chance(0.8) && el('h2', undefined, this.lex.title(3)), el('table', undefined, head, ...rows));
  }

  private field(): El {
    const kind = this.rng.weighted({ text: 5, textarea: 1.2, select: 1.2, checkbox: 1, radio: 1, number: 0.5 });
    const label = this.lex.word('field');
    switch (kind) {
      case 'text': {
        const type = this.rng.pick(['text', 'text', 'email', 'password', 'tel', 'date']);
        const placeholder = type !== 'date' && type !== 'password' && this.rng.chance(0.3);
        const attrs: El['attrs'] = [['type', type]];
        if (placeholder) attrs.push(['placeholder', type === 'email' ? `${this.lex.person().toLowerCase()}@mail.com` : this.lex.word(this.rng.pick(['name', 'city', 'noun'] as const))]);
        return el('label', undefined, label, el('input', attrs));
      }
      case 'number':
        return el('label', undefined, label, el('input', [['type', 'number']]));
      case 'textarea':
        return el('label', undefined, label, el('textarea'));
      case 'select':
        return el('label', undefined, label, el('select', undefined, ...this.lex.distinct('option', this.rng.int(1, 3)).map((o) => el('option', undefined, o))));
      case 'checkbox':
        return el('label', [['class', 'check']], el('input', this.rng.chance(0.4) ? [['type', 'checkbox'], ['checked', true]] : [['type', 'checkbox']]), this.lex.sentence(2, 5).slice(0, -1));
      case 'radio': {
        const name = `g${++this.radioGroups}`;
        const options = this.lex.distinct('option', this.rng.int(2, 3));
        const checked = this.rng.int(-1, options.length - 1);
        const radios = options.map((o, i) => el('label', [['class', 'check']], el('input', i === checked ? [['type', 'radio'], ['name', name], ['checked', true]] : [['type', 'radio'], ['name', name]]), o));
        return el('fieldset', undefined, el('legend', undefined, label), ...radios);
      }
    }
  }

  form(): El {
    const fields = Array.from({ length: this.rng.int(2, 5) }, () => this.field());
    return el('section', undefined, this.rng.chance(0.8) && el('h2', undefined, this.lex.title(3)), el('form', undefined, ...fields, el('button', undefined, this.lex.word('action'))));
  }

  image(): El {
    return el('section', undefined, el('div', [['class', 'img']]), this.rng.chance(0.5) && this.para(3, 8));
  }

  gallery(): El {
    return el('section', undefined, this.rng.chance(0.6) && el('h2', undefined, this.lex.title(2)), el('div', [['class', 'row']], ...Array.from({ length: this.columns(2, 4) }, () => el('div', [['class', 'img']]))));
  }

  /** Two or three columns of smaller blocks side by side. */
  columnsRow(): El {
    const column = (): El => {
      const kind = this.rng.pick(['text', 'list', 'image', 'form'] as const);
      const block = kind === 'text' ? this.text() : kind === 'list' ? this.list() : kind === 'image' ? this.image() : this.form();
      return el('div', undefined, ...(block.children as El[]));
    };
    return el('section', [['class', 'row']], ...Array.from({ length: this.columns(2, 3) }, column));
  }

  /** One section of <main>, of a kind drawn by how common it is on real pages. */
  section(): El {
    const makers = {
      cards: () => this.cards(),
      text: () => this.text(),
      form: () => this.form(),
      list: () => this.list(),
      table: () => this.table(),
      image: () => this.image(),
      gallery: () => this.gallery(),
      columns: () => this.columnsRow(),
    };
    return makers[this.rng.weighted({ cards: 3, text: 2, form: 3, list: 1.5, table: 1.5, image: 0.7, gallery: 0.7, columns: 2 })]();
  }
}

export function randomPage(rng: Rng, width: number): PageContent {
  const lang = rng.weighted<Language>({ en: 4, fr: 1.2, de: 1.2, es: 1.2, pt: 0.8, it: 0.8, nl: 0.8, pl: 0.6, cs: 0.6 });
  if (!LANGUAGES.includes(lang)) throw new Error(`unknown language ${lang}`);
  const lex = new Lexicon(lang, rng.fork('words'));
  const shape = shapeFor(width, rng);
  const b = new PageBuilder(rng, lex, shape);
  const brand = lex.brand();
  const sections: El[] = [];
  if (rng.chance(0.6)) sections.push(b.hero());
  while (sections.length < shape.sections) sections.push(b.section());
  return {
    lang,
    title: brand,
    header: rng.chance(0.9) ? b.header(brand) : undefined,
    sections,
    footer: rng.chance(0.7) ? b.footer(brand) : undefined,
  };
}
