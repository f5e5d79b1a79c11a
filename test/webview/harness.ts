// Serves a Pixtral webview page exactly as the host builds it (src/extension/webview-page.ts, with
// its Content Security Policy and nonce) from a local HTTP origin that stands in for VS Code's
// resource origin, and stands in for VS Code's side of acquireVsCodeApi: messages the page posts
// and the state it saves are recorded in the page (window.__posted, window.__state).
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { makeNonce, renderPage, type WebviewPage } from '../../src/extension/webview-page';

const ROOT = path.resolve(__dirname, '..', '..');
const TYPES: Record<string, string> = { '.js': 'text/javascript', '.css': 'text/css', '.html': 'text/html' };

/** Builds the webview bundles once per test process. */
export function buildWebviews(): void {
  execFileSync(process.execPath, ['esbuild.mjs'], { cwd: ROOT, stdio: 'inherit' });
}

export interface PageServer {
  origin: string;
  /** URL of a page for `name` (dist/webview/<name>.js, media/<style>.css). */
  pageUrl(name: string): string;
  close(): Promise<void>;
}

export async function servePages(pages: Record<string, { body: string; styles: string[]; extra?: WebviewPage['extra'] }>): Promise<PageServer> {
  let origin = '';
  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', origin);
    const page = /^\/page\/(\w+)$/.exec(url.pathname)?.[1];
    if (page && pages[page]) {
      const spec = pages[page];
      res.setHeader('content-type', 'text/html');
      res.end(
        renderPage({
          title: page,
          cspSource: origin,
          nonce: makeNonce(),
          styles: ['base.css', ...spec.styles].map((s) => `${origin}/media/${s}`),
          scripts: [`${origin}/dist/webview/${page}.js`],
          body: spec.body,
          extra: spec.extra,
        }),
      );
      return;
    }
    if (url.pathname === '/favicon.ico') {
      res.statusCode = 204; // webviews have none; keeps the console free of 404s
      res.end();
      return;
    }
    // Only the two folders a webview's localResourceRoots allow.
    if (!/^\/(dist\/webview|media)\/[\w.-]+$/.test(url.pathname)) {
      res.statusCode = 404;
      res.end();
      return;
    }
    try {
      const body = await readFile(path.join(ROOT, url.pathname));
      res.setHeader('content-type', TYPES[path.extname(url.pathname)] ?? 'application/octet-stream');
      res.end(body);
    } catch {
      res.statusCode = 404;
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  origin = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  return {
    origin,
    pageUrl: (name) => `${origin}/page/${name}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** VS Code's acquireVsCodeApi, recording what the page sends; `state` is what VS Code restored. */
export async function installVsCodeApi(page: Page, state?: unknown): Promise<void> {
  // Functions handed to the page are compiled by tsx with esbuild's keepNames, which wraps
  // named functions in a `__name` helper that exists only in Node; give the page a no-op one.
  await page.addInitScript('window.__name = (f) => f;');
  await page.addInitScript((initial) => {
    const w = window as unknown as { __posted: unknown[]; __state: unknown; acquireVsCodeApi: () => unknown };
    w.__posted = [];
    w.__state = initial ?? undefined;
    let acquired = false;
    w.acquireVsCodeApi = () => {
      if (acquired) throw new Error('acquireVsCodeApi called twice');
      acquired = true;
      return {
        postMessage: (m: unknown) => w.__posted.push(JSON.parse(JSON.stringify(m))),
        getState: () => w.__state,
        setState: (s: unknown) => void (w.__state = JSON.parse(JSON.stringify(s))),
      };
    };
  }, state ?? null);
}

/** A message from "the extension host" (VS Code delivers them from the page's parent window). */
export async function hostSends(page: Page, message: unknown): Promise<void> {
  // Resolves after the app's own listener (registered earlier) has handled the message.
  await page.evaluate(
    (m) =>
      new Promise<void>((resolve) => {
        window.addEventListener('message', () => resolve(), { once: true });
        window.postMessage(m, '*');
      }),
    message,
  );
}

export async function posted<T = { type: string }>(page: Page): Promise<T[]> {
  return page.evaluate(() => (window as unknown as { __posted: T[] }).__posted);
}

export async function savedState<T>(page: Page): Promise<T> {
  return page.evaluate(() => (window as unknown as { __state: T }).__state);
}
