// The HTML shell of every Pixtral webview, with its Content Security Policy. Pure (no `vscode`) so
// the browser tests load exactly the page VS Code shows.
//
// Trust boundary: a webview is a browser page that can message the extension host. Its policy
// allows nothing by default; scripts run only from a <script> carrying this page's nonce (a fresh
// 128-bit value from the OS's CSPRNG per page load, so injected markup cannot guess it), and
// styles, images and fonts only from the extension's own resource origin (`cspSource`).
import { randomBytes } from 'node:crypto';

export interface WebviewPage {
  title: string;
  /** webview.cspSource: the origin VS Code serves localResourceRoots from. */
  cspSource: string;
  nonce: string;
  /** Script and stylesheet URLs (webview.asWebviewUri of files under dist/ and media/). */
  scripts: string[];
  styles: string[];
  /** Static markup of the page; every dynamic value is set later through the DOM, never as HTML. */
  body: string;
  /** Extra sources per directive, for pages that need them (see the preview panel). */
  extra?: Partial<Record<'img-src' | 'style-src' | 'frame-src', string>>;
}

export function makeNonce(): string {
  return randomBytes(16).toString('base64');
}

export function contentSecurityPolicy(page: Pick<WebviewPage, 'cspSource' | 'nonce' | 'extra'>): string {
  const extra = page.extra ?? {};
  const directives = [
    "default-src 'none'",
    `script-src 'nonce-${page.nonce}'`,
    `style-src ${page.cspSource}${extra['style-src'] ? ` ${extra['style-src']}` : ''}`,
    // data: and blob: for thumbnails of pasted and dropped images, which never leave the page.
    `img-src ${page.cspSource} data: blob:${extra['img-src'] ? ` ${extra['img-src']}` : ''}`,
    `font-src ${page.cspSource}`,
  ];
  if (extra['frame-src']) directives.push(`frame-src ${extra['frame-src']}`);
  return directives.join('; ');
}

export function renderPage(page: WebviewPage): string {
  const styles = page.styles.map((href) => `<link rel="stylesheet" href="${escapeAttribute(href)}">`).join('\n    ');
  const scripts = page.scripts.map((src) => `<script nonce="${page.nonce}" src="${escapeAttribute(src)}"></script>`).join('\n    ');
  return `<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="UTF-8">
    <meta http-equiv="Content-Security-Policy" content="${escapeAttribute(contentSecurityPolicy(page))}">
    <meta name="viewport" content="width=device-width, initial-scale=1.0">
    <title>${escapeText(page.title)}</title>
    ${styles}
  </head>
  <body>
${page.body}
    ${scripts}
  </body>
</html>`;
}

function escapeAttribute(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
}

function escapeText(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;');
}
