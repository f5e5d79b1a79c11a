// Renders the Markdown the model writes (headings, paragraphs, lists, tables, code blocks, inline
// code, bold, italics) as DOM nodes. Every piece of text becomes a text node: nothing the model
// writes is ever parsed as HTML, so an answer cannot inject markup or script into the webview.

type Block =
  | { kind: 'heading'; level: number; text: string }
  | { kind: 'paragraph'; text: string }
  | { kind: 'list'; ordered: boolean; items: string[] }
  | { kind: 'table'; header: string[]; rows: string[][] }
  | { kind: 'code'; text: string };

const TABLE_RULE = /^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$/;

function cells(line: string): string[] {
  return line
    .trim()
    .replace(/^\|/, '')
    .replace(/\|$/, '')
    .split(/(?<!\\)\|/)
    .map((c) => c.trim().replace(/\\\|/g, '|'));
}

export function parseBlocks(markdown: string): Block[] {
  const lines = markdown.replace(/\r\n?/g, '\n').split('\n');
  const blocks: Block[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    const fence = /^\s*(`{3,}|~{3,})/.exec(line);
    if (fence) {
      const body: string[] = [];
      i++;
      while (i < lines.length && !lines[i].trim().startsWith(fence[1])) body.push(lines[i++]);
      i++;
      blocks.push({ kind: 'code', text: body.join('\n') });
      continue;
    }
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    if (heading) {
      blocks.push({ kind: 'heading', level: heading[1].length, text: heading[2].replace(/\s+#+\s*$/, '') });
      i++;
      continue;
    }
    if (line.includes('|') && i + 1 < lines.length && TABLE_RULE.test(lines[i + 1])) {
      const header = cells(line);
      const rows: string[][] = [];
      i += 2;
      while (i < lines.length && lines[i].includes('|') && lines[i].trim() !== '') rows.push(cells(lines[i++]));
      blocks.push({ kind: 'table', header, rows });
      continue;
    }
    const item = /^\s*(?:([-*+])|(\d+)[.)])\s+(.*)$/.exec(line);
    if (item) {
      const ordered = item[2] !== undefined;
      const items: string[] = [];
      while (i < lines.length) {
        const next = /^\s*(?:([-*+])|(\d+)[.)])\s+(.*)$/.exec(lines[i]);
        if (!next || (next[2] !== undefined) !== ordered) break;
        items.push(next[3]);
        i++;
      }
      blocks.push({ kind: 'list', ordered, items });
      continue;
    }
    if (line.trim() === '') {
      i++;
      continue;
    }
    const para: string[] = [];
    while (i < lines.length && lines[i].trim() !== '' && !/^(#{1,6}\s|\s*(`{3,}|~{3,})|\s*([-*+]|\d+[.)])\s)/.test(lines[i])) para.push(lines[i++]);
    if (para.length === 0) para.push(lines[i++]);
    blocks.push({ kind: 'paragraph', text: para.join(' ') });
  }
  return blocks;
}

/** `code`, **bold**, *italic* / _italic_ as elements; everything else as text. */
export function renderInline(text: string): Node[] {
  const nodes: Node[] = [];
  const pattern = /`([^`]+)`|\*\*([^*]+)\*\*|__([^_]+)__|\*([^*\s][^*]*)\*|_([^_\s][^_]*)_/g;
  let last = 0;
  for (const m of text.matchAll(pattern)) {
    if (m.index > last) nodes.push(document.createTextNode(text.slice(last, m.index)));
    const [tag, inner] = m[1] !== undefined ? ['code', m[1]] : m[2] !== undefined || m[3] !== undefined ? ['strong', m[2] ?? m[3]] : ['em', m[4] ?? m[5]];
    const element = document.createElement(tag);
    element.textContent = inner;
    nodes.push(element);
    last = m.index + m[0].length;
  }
  if (last < text.length) nodes.push(document.createTextNode(text.slice(last)));
  return nodes;
}

export function renderMarkdown(markdown: string): DocumentFragment {
  const fragment = document.createDocumentFragment();
  for (const block of parseBlocks(markdown)) {
    switch (block.kind) {
      case 'heading': {
        const h = document.createElement(`h${Math.min(block.level + 2, 6)}`);
        h.append(...renderInline(block.text));
        fragment.append(h);
        break;
      }
      case 'paragraph': {
        const p = document.createElement('p');
        p.append(...renderInline(block.text));
        fragment.append(p);
        break;
      }
      case 'list': {
        const list = document.createElement(block.ordered ? 'ol' : 'ul');
        for (const text of block.items) {
          const li = document.createElement('li');
          li.append(...renderInline(text));
          list.append(li);
        }
        fragment.append(list);
        break;
      }
      case 'table': {
        const table = document.createElement('table');
        const head = table.createTHead().insertRow();
        for (const text of block.header) {
          const th = document.createElement('th');
          th.append(...renderInline(text));
          head.append(th);
        }
        const body = table.createTBody();
        for (const row of block.rows) {
          const tr = body.insertRow();
          for (const text of row) tr.insertCell().append(...renderInline(text));
        }
        fragment.append(table);
        break;
      }
      case 'code': {
        const pre = document.createElement('pre');
        const code = document.createElement('code');
        code.textContent = block.text;
        pre.append(code);
        fragment.append(pre);
        break;
      }
    }
  }
  return fragment;
}
