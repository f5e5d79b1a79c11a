// The target pages as a tiny element tree, and its one canonical serialization: the model must
// learn a single way to write each page, so the printer decides every choice (attribute order,
// quoting, line breaks) and the page generator only decides content.
//
// Layout of the text: no indentation, one line per child of a container element, leaves
// (headings, paragraphs, list items, table rows, labels, nav) on one line. Indentation would cost
// 1-3 extra tokens per line and carry nothing the tags do not already say; a newline per block
// gives the byte-pair tokenizer a stable "\n<" merge and keeps lines short for reading diffs.

export interface El {
  tag: string;
  /** Attributes in the order they are printed; `true` is a boolean attribute. */
  attrs?: [string, string | true][];
  children?: Node[];
}
export type Node = El | string;

export function el(tag: string, attrs?: El['attrs'], ...children: (Node | false | undefined)[]): El {
  return { tag, attrs, children: children.filter((c): c is Node => c !== false && c !== undefined) };
}

const VOID = new Set(['meta', 'input', 'br', 'hr', 'img', 'link']);
/** Elements whose element children each get a line of their own. */
const CONTAINERS = new Set(['html', 'head', 'body', 'header', 'main', 'section', 'article', 'div', 'form', 'fieldset', 'ul', 'ol', 'table', 'footer', 'aside']);

export function escapeText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function escapeAttr(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/"/g, '&quot;');
}

function openTag(node: El): string {
  const attrs = (node.attrs ?? []).map(([k, v]) => (v === true ? ` ${k}` : ` ${k}="${escapeAttr(v)}"`)).join('');
  return `<${node.tag}${attrs}>`;
}

export function serialize(node: Node): string {
  if (typeof node === 'string') return escapeText(node);
  if (VOID.has(node.tag)) return openTag(node);
  const children = node.children ?? [];
  const block = CONTAINERS.has(node.tag) && children.some((c) => typeof c !== 'string');
  const inner = children.map(serialize).join(block ? '\n' : '');
  return block ? `${openTag(node)}\n${inner}\n</${node.tag}>` : `${openTag(node)}${inner}</${node.tag}>`;
}

/** Every tag name and class name used in the tree (to keep only the CSS rules the page needs). */
export function usedSelectors(node: Node, into = new Set<string>()): Set<string> {
  if (typeof node === 'string') return into;
  into.add(node.tag);
  for (const [k, v] of node.attrs ?? []) {
    if (k === 'class' && typeof v === 'string') for (const c of v.split(' ')) into.add(`.${c}`);
    if (k === 'type' && typeof v === 'string') into.add(`${node.tag}[${v}]`);
  }
  for (const child of node.children ?? []) usedSelectors(child, into);
  return into;
}

/** The visible text of a tree, in document order (what a reader of the page sees). */
export function textOf(node: Node): string[] {
  if (typeof node === 'string') return [node];
  const own = node.attrs?.find(([k]) => k === 'placeholder' || k === 'value');
  return [...(own && typeof own[1] === 'string' ? [own[1]] : []), ...(node.children ?? []).flatMap(textOf)];
}
