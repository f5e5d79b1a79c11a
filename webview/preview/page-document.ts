// Turns generated HTML into the document the preview frame shows. Runs in the preview webview.
//
// Trust boundary: the page is untrusted model output. It is parsed with DOMParser (which runs
// nothing) and rewritten before it reaches the sandboxed frame:
// - <script src> elements are removed: with the page's nonce they could load code from the
//   network. A Tailwind CDN script is replaced by the bundled Tailwind build, inline.
// - inline scripts get the webview's nonce, since the frame inherits the webview's policy; they
//   then run, but only inside the frame's opaque origin (no allow-same-origin), where they cannot
//   reach this webview, the VS Code API or the network.

const TAILWIND_SRC = /tailwindcss/i;

export interface PageOptions {
  nonce: string;
  /** The bundled Tailwind browser build, or '' if none. */
  tailwind: string;
}

export function pageDocument(html: string, options: PageOptions): string {
  const doc = new DOMParser().parseFromString(html, 'text/html');
  let wantsTailwind = false;
  for (const script of Array.from(doc.querySelectorAll('script'))) {
    const src = script.getAttribute('src');
    if (src !== null) {
      if (TAILWIND_SRC.test(src)) wantsTailwind = true;
      script.remove();
    } else {
      script.setAttribute('nonce', options.nonce);
    }
  }
  // Links to external stylesheets or fonts would be blocked by the policy anyway; dropping them
  // keeps the console free of violation reports.
  for (const link of Array.from(doc.querySelectorAll('link[href]'))) {
    if (/^(https?:)?\/\//i.test(link.getAttribute('href') ?? '')) link.remove();
  }
  if (wantsTailwind && options.tailwind) {
    const script = doc.createElement('script');
    script.setAttribute('nonce', options.nonce);
    script.textContent = options.tailwind;
    doc.head.prepend(script);
  }
  return `<!DOCTYPE html>\n${doc.documentElement.outerHTML}`;
}
