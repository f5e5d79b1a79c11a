// Finds a reference to an image file at a position in a line of text: a Markdown image
// `![alt](path "title")`, an HTML `<img src="path">`, or a string literal naming an image file in
// code (`"charts/sales.png"`, 'a.jpg', `b.webp`). Pure, so every form is unit-tested.
import { isImagePath } from '../images/image-input';

export interface ImageReference {
  /** The path or URL as written. */
  target: string;
  /** Column range in the line that the hover covers: the whole `![..](..)` of a Markdown image,
   *  else the target itself. */
  start: number;
  end: number;
}

const MARKDOWN_IMAGE = /!\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+["'][^"']*["'])?\s*\)/g;
const HTML_IMG = /<img\b[^>]*?\bsrc\s*=\s*(["'])([^"']+)\1/gi;
const STRING_LITERAL = /(["'`])((?:(?!\1)[^\\\n]|\\.){1,1024}?)\1/g;

/** The image reference under `column`, if any (only targets that look like image files). */
export function imageReferenceAt(line: string, column: number): ImageReference | undefined {
  for (const found of candidates(line)) {
    if (column >= found.start && column <= found.end && isImagePath(stripQuery(found.target))) return found;
  }
  return undefined;
}

function* candidates(line: string): Generator<ImageReference> {
  for (const m of line.matchAll(MARKDOWN_IMAGE)) yield { target: m[1], start: m.index, end: m.index + m[0].length };
  for (const m of line.matchAll(HTML_IMG)) {
    const start = m.index + m[0].lastIndexOf(m[2]);
    yield { target: m[2], start, end: start + m[2].length };
  }
  for (const m of line.matchAll(STRING_LITERAL)) {
    yield { target: m[2], start: m.index + 1, end: m.index + 1 + m[2].length };
  }
}

/** `chart.png?v=2#x` names the file chart.png. */
export function stripQuery(target: string): string {
  return target.replace(/[?#].*$/, '');
}

/** Web and data URLs are not files on this machine. */
export function isLocalTarget(target: string): boolean {
  return !/^[a-z][a-z0-9+.-]*:/i.test(target) || /^file:/i.test(target);
}
