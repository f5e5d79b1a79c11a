// Which text under the mouse names an image file: Markdown images, <img src>, string literals.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { imageReferenceAt, isLocalTarget, stripQuery } from '../../src/extension/hovers/image-reference';

const at = (line: string, needle: string) => imageReferenceAt(line, line.indexOf(needle) + 1);

test('Markdown image links, with and without a title', () => {
  const line = 'See ![Sales by month](charts/sales.png "Sales") for details.';
  const ref = at(line, 'sales.png');
  assert.equal(ref?.target, 'charts/sales.png');
  assert.equal(line.slice(ref!.start, ref!.end), '![Sales by month](charts/sales.png "Sales")', 'the whole image link');
  assert.equal(at(line, 'Sales by')?.target, 'charts/sales.png', 'hovering the alt text works too');
  assert.equal(at('![x](<my chart.PNG>)', 'chart')?.target, undefined); // spaces need <>, kept simple: not matched as one path
  assert.equal(at('![a](b.jpeg)', 'b.jpeg')?.target, 'b.jpeg');
});

test('HTML <img src> in either quote style, other attributes first', () => {
  assert.equal(at('<img class="w-8" src="./img/logo.webp" alt="">', 'logo')?.target, './img/logo.webp');
  assert.equal(at("<IMG SRC='a/b.gif'>", 'b.gif')?.target, 'a/b.gif');
});

test('string literals in code', () => {
  assert.equal(at('plt.savefig("out/fig1.png")', 'fig1')?.target, 'out/fig1.png');
  assert.equal(at("const img = require('./diagram.jpg');", 'diagram')?.target, './diagram.jpg');
  assert.equal(at('load(`assets/${name}.png`)', 'assets')?.target, 'assets/${name}.png');
});

test('nothing for non-images or positions outside the reference', () => {
  assert.equal(at('open("notes.txt")', 'notes'), undefined);
  const line = 'x = "a.png"; y = 1';
  assert.equal(imageReferenceAt(line, line.indexOf('y')), undefined);
});

test('queries and fragments, URLs and file URIs', () => {
  assert.equal(stripQuery('chart.png?v=3#top'), 'chart.png');
  assert.equal(at('![c](chart.png?raw=1)', 'chart')?.target, 'chart.png?raw=1');
  assert.equal(isLocalTarget('https://example.com/a.png'), false);
  assert.equal(isLocalTarget('data:image/png;base64,AAAA'), false);
  assert.equal(isLocalTarget('file:///tmp/a.png'), true);
  assert.equal(isLocalTarget('../a.png'), true);
});
