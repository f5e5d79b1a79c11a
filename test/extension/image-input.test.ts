// What a webview may hand the host as an image, and the page shell's Content Security Policy.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeImageDataUrl, encodeImageDataUrl, isImagePath, MAX_IMAGE_BYTES } from '../../src/extension/images/image-input';
import { contentSecurityPolicy, makeNonce, renderPage } from '../../src/extension/webview-page';

test('image data: URLs decode; anything else is refused before decoding', () => {
  const bytes = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]);
  assert.deepEqual([...decodeImageDataUrl(encodeImageDataUrl(bytes))], [...bytes]);
  for (const bad of [42, 'data:text/html;base64,PGI+', 'data:image/svg+xml;base64,PHN2Zz4=', 'data:image/png,rawtext', 'data:image/png;base64,', 'https://x/a.png']) {
    assert.throws(() => decodeImageDataUrl(bad), /image/, String(bad));
  }
  const huge = `data:image/png;base64,${'A'.repeat(Math.ceil((MAX_IMAGE_BYTES * 4) / 3) + 100)}`;
  assert.throws(() => decodeImageDataUrl(huge), /larger than/);
});

test('image file names', () => {
  assert.ok(isImagePath('/a/b/Chart.PNG'));
  assert.ok(isImagePath('x.jpeg'));
  assert.ok(!isImagePath('x.svg'));
  assert.ok(!isImagePath('png'));
});

test('webview pages allow only their own nonce-carrying scripts', () => {
  const nonce = makeNonce();
  assert.match(nonce, /^[A-Za-z0-9+/]{22}==$/);
  assert.notEqual(makeNonce(), nonce);
  const csp = contentSecurityPolicy({ cspSource: 'https://res.example', nonce });
  assert.match(csp, /^default-src 'none'/);
  assert.match(csp, new RegExp(`script-src 'nonce-${nonce.replace(/[+/]/g, '\\$&')}'(;|$)`));
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|connect-src/);
  const html = renderPage({ title: 'T <x>', cspSource: 'https://res.example', nonce, scripts: ['https://res.example/a.js?"x'], styles: [], body: '<main></main>' });
  assert.match(html, new RegExp(`<script nonce="${nonce.replace(/[+/]/g, '\\$&')}" src="https://res.example/a.js\\?&quot;x"></script>`));
  assert.match(html, /<title>T &lt;x><\/title>/);
  assert.equal((html.match(/<script/g) ?? []).length, 1);
});
