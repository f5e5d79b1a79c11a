// Real words for page text, in several languages, from the lists in words/*.txt (written by hand,
// a few hundred per language: enough variety for the tokenizer and the model to see real
// spelling and diacritics, small enough to review).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Rng } from './random';

export const LANGUAGES = ['en', 'fr', 'de', 'es', 'pt', 'it', 'nl', 'pl', 'cs'] as const;
export type Language = (typeof LANGUAGES)[number];

const SECTIONS = ['nav', 'action', 'field', 'option', 'noun', 'adjective', 'verb', 'filler', 'name', 'city', 'month', 'measure', 'axis'] as const;
export type Section = (typeof SECTIONS)[number];
type WordList = Record<Section, string[]>;

const cache = new Map<Language, WordList>();

function load(lang: Language): WordList {
  const cached = cache.get(lang);
  if (cached) return cached;
  const list = Object.fromEntries(SECTIONS.map((s) => [s, [] as string[]])) as WordList;
  const text = readFileSync(path.join(__dirname, 'words', `${lang}.txt`), 'utf8');
  for (const line of text.split('\n')) {
    const match = /^(\w+):\s*(.*)$/.exec(line);
    if (!match) continue;
    const section = match[1] as Section;
    if (!SECTIONS.includes(section)) throw new Error(`words/${lang}.txt: unknown section "${section}"`);
    list[section].push(...match[2].split(',').map((w) => w.trim()).filter(Boolean));
  }
  for (const s of SECTIONS) if (list[s].length === 0) throw new Error(`words/${lang}.txt: section "${s}" is empty`);
  cache.set(lang, list);
  return list;
}

function capitalize(text: string): string {
  return text.charAt(0).toLocaleUpperCase() + text.slice(1);
}

/** Text of one page, in one language. */
export class Lexicon {
  private readonly words: WordList;

  constructor(
    readonly lang: Language,
    private readonly rng: Rng,
  ) {
    this.words = load(lang);
  }

  /** The whole list of a section, in file order (months and measures are aligned across languages). */
  list(section: Section): readonly string[] {
    return this.words[section];
  }

  word(section: Section): string {
    return this.rng.pick(this.words[section]);
  }

  /** `count` different words of a section (fewer when the section is shorter). */
  distinct(section: Section, count: number): string[] {
    return this.rng.sample(this.words[section], count);
  }

  /** A short heading of 2 to `maxWords` words: "Fresh coffee", "Discover the garden". */
  title(maxWords = 3): string {
    const n = this.rng.int(2, Math.max(2, maxWords));
    const noun = this.word('noun');
    const parts =
      n === 2
        ? this.rng.chance(0.5) ? [this.word('adjective'), noun] : [this.word('verb'), noun]
        : n === 3
          ? this.rng.chance(0.5) ? [this.word('verb'), this.word('filler'), noun] : [this.word('noun'), this.word('filler'), noun]
          : [this.word('verb'), this.word('filler'), this.word('adjective'), noun];
    return capitalize(parts.join(' '));
  }

  /** A sentence of real words in a plausible order (not grammatical), ending with a full stop. */
  sentence(minWords: number, maxWords: number): string {
    const n = this.rng.int(minWords, maxWords);
    const sections: Section[] = ['noun', 'verb', 'filler', 'adjective', 'noun', 'filler'];
    const words: string[] = [];
    for (let i = 0; i < n; i++) words.push(this.word(sections[(i + this.rng.int(0, 1)) % sections.length]));
    return `${capitalize(words.join(' '))}.`;
  }

  /** A brand or site name: "Garden Studio", "Kaffee". */
  brand(): string {
    return this.rng.chance(0.5) ? capitalize(this.word('noun')) : `${capitalize(this.word('noun'))} ${capitalize(this.word('noun'))}`;
  }

  person(): string {
    return this.word('name');
  }
}
