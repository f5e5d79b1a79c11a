// The live preview in a real Chromium: generated pages render in a frame sandboxed away from the
// webview (no same origin, no network), their inline scripts run only inside it, a Tailwind page
// gets the bundled Tailwind, and desktop/mobile widths switch.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { BrowserContext, Frame, Page } from 'playwright-core';
import { previewPageBody } from '../../src/extension/preview/preview-page';
import { launchChromium } from '../support/chromium';
import { requires } from '../support/requirements';
import { buildWebviews, hostSends, installVsCodeApi, posted, savedState, servePages, type PageServer } from './harness';

const chromium = requires('chromium');
let server: PageServer;
let browser: { context: BrowserContext; close(): Promise<void> };
/** A server the generated page tries to reach; it must never see a request. */
let bait: Server;
let baitHits = 0;
let baitUrl = '';
const tailwindFile = path.resolve(__dirname, '../../node_modules/@tailwindcss/browser/dist/index.global.js');

before(async () => {
  if (!chromium.met()) return;
  buildWebviews();
  // The same extra policy as preview-panel.ts.
  server = await servePages({ preview: { body: previewPageBody(), styles: ['preview.css'], extra: { 'style-src': "'unsafe-inline'" } } });
  browser = await launchChromium();
  bait = createServer((_, res) => {
    baitHits++;
    res.end('x');
  });
  await new Promise<void>((resolve) => bait.listen(0, '127.0.0.1', resolve));
  const address = bait.address();
  baitUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});

after(async () => {
  await browser?.close();
  await server?.close();
  bait?.close();
});

async function openPreview(): Promise<Page> {
  const page = await browser.context.newPage();
  await installVsCodeApi(page);
  await page.goto(server.pageUrl('preview'));
  await page.waitForFunction(() => (window as unknown as { __posted: { type: string }[] }).__posted.some((m) => m.type === 'ready'));
  return page;
}

/** The frame showing the page (the visible one of the two). */
async function visibleFrame(page: Page, text: string): Promise<Frame> {
  for (let i = 0; i < 100; i++) {
    for (const frame of page.frames()) {
      if (frame === page.mainFrame()) continue;
      const element = await frame.frameElement();
      if ((await element.isVisible()) && (await frame.content()).includes(text)) return frame;
    }
    await page.waitForTimeout(50);
  }
  throw new Error(`no visible frame shows ${text}`);
}

test('renders a growing page in a sandboxed frame; its scripts run there and nowhere else', chromium.options, async () => {
  const page = await openPreview();
  assert.deepEqual(await posted(page), [{ type: 'ready' }]);
  await hostSends(page, { type: 'tailwind', source: '' });
  await hostSends(page, { type: 'render', html: '<!DOCTYPE html><html><body><h1>Hel', final: false });
  await visibleFrame(page, 'Hel');
  const page2 = `<!DOCTYPE html><html><head><style>h1{color:rgb(1, 2, 3)}</style></head><body><h1 id="t">Hello</h1>
<img src="${baitUrl}/pixel.png"><link rel="stylesheet" href="${baitUrl}/x.css">
<script>
  document.getElementById('t').dataset.ran = 'yes';
  try { parent.document.title = 'pwned'; document.body.dataset.parent = 'reachable'; } catch (e) { document.body.dataset.parent = 'blocked'; }
  fetch('${baitUrl}/fetch').then(() => document.body.dataset.net = 'open', () => document.body.dataset.net = 'blocked');
  parent.postMessage({ type: 'render', html: '<p>injected</p>', final: true }, '*');
</script>
<script src="${baitUrl}/evil.js"></script></body></html>`;
  await hostSends(page, { type: 'render', html: page2, final: true });
  const frame = await visibleFrame(page, 'Hello');
  assert.equal(await frame.getAttribute('#t', 'data-ran'), 'yes', 'inline scripts of the page run');
  await frame.waitForFunction(() => document.body.dataset.net && document.body.dataset.parent);
  assert.equal(await frame.evaluate(() => document.body.dataset.parent), 'blocked', 'the parent webview is out of reach');
  assert.equal(await frame.evaluate(() => document.body.dataset.net), 'blocked', 'no network');
  assert.equal(await frame.evaluate(() => getComputedStyle(document.getElementById('t')!).color), 'rgb(1, 2, 3)', 'inline styles apply');
  assert.equal(await frame.evaluate(() => document.querySelectorAll('script[src]').length), 0, 'external scripts removed');
  assert.equal(await page.title(), 'preview');
  assert.equal(await (await frame.frameElement()).getAttribute('sandbox'), 'allow-scripts');
  await page.waitForTimeout(300);
  for (const f of page.frames()) {
    const injected = await f.evaluate(() => Array.from(document.querySelectorAll('p')).some((p) => p.textContent === 'injected'));
    assert.equal(injected, false, 'messages from the frame are not host messages');
  }
  assert.equal(baitHits, 0, 'the bait server saw no request');
  await page.close();
});

test('a Tailwind page is styled by the bundled Tailwind, offline', chromium.options, async () => {
  const page = await openPreview();
  await hostSends(page, { type: 'tailwind', source: readFileSync(tailwindFile, 'utf8') });
  const html = '<!DOCTYPE html><html><head><script src="https://cdn.tailwindcss.com"></script></head><body><div id="box" class="p-4 bg-red-500 text-white">Tailwind</div></body></html>';
  await hostSends(page, { type: 'render', html, final: true });
  const frame = await visibleFrame(page, 'Tailwind');
  await frame.waitForFunction(() => getComputedStyle(document.getElementById('box')!).paddingTop === '16px', undefined, { timeout: 10_000 });
  assert.notEqual(await frame.evaluate(() => getComputedStyle(document.getElementById('box')!).backgroundColor), 'rgba(0, 0, 0, 0)');
  await page.close();
});

test('desktop and mobile widths, kept in the webview state', chromium.options, async () => {
  const page = await openPreview();
  await hostSends(page, { type: 'tailwind', source: '' });
  await hostSends(page, { type: 'render', html: '<p>width</p>', final: true });
  const frame = await visibleFrame(page, 'width');
  await page.click('#mobile');
  assert.equal(Math.round((await (await frame.frameElement()).boundingBox())!.width), 390);
  assert.deepEqual(await savedState(page), { width: 'mobile' });
  await page.click('#desktop');
  assert.ok((await (await frame.frameElement()).boundingBox())!.width > 1000);
  await page.close();
});
