// The sketch panel's webview in a real Chromium, under its real Content Security Policy: drawing
// with each tool, undo/redo/clear, text, paste and drop of image files, drops from the explorer,
// keyboard use, the messages it sends and takes, and the drawing surviving a reload (what VS Code
// does when the panel is hidden or VS Code restarts).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import sharp from 'sharp';
import { sketchPageBody } from '../../src/extension/sketch/sketch-page';
import type { SketchState, SketchToHost } from '../../src/extension/sketch/protocol';
import { launchChromium } from '../support/chromium';
import { requires } from '../support/requirements';
import { buildWebviews, hostSends, installVsCodeApi, posted, savedState, servePages, type PageServer } from './harness';

const chromium = requires('chromium');
let server: PageServer;
let browser: { context: BrowserContext; close(): Promise<void> };
let pngBase64: string;

before(async () => {
  if (!chromium.met()) return;
  buildWebviews();
  server = await servePages({ sketch: { body: sketchPageBody(), styles: ['sketch.css'] } });
  browser = await launchChromium();
  const png = await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 200, g: 30, b: 30 } } }).png().toBuffer();
  pngBase64 = png.toString('base64');
});

after(async () => {
  await browser?.close();
  await server?.close();
});

async function openSketch(state?: SketchState): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.context.newPage();
  const errors: string[] = [];
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  page.on('pageerror', (e) => errors.push(e.message));
  await installVsCodeApi(page, state);
  await page.goto(server.pageUrl('sketch'));
  await page.waitForFunction(() => (window as unknown as { __posted: { type: string }[] }).__posted.some((m) => m.type === 'ready'));
  return { page, errors };
}

/** Drags on the canvas between two points given as fractions of its size. */
async function drag(page: Page, from: [number, number], to: [number, number]): Promise<void> {
  const box = (await page.locator('#canvas').boundingBox())!;
  const at = ([fx, fy]: [number, number]) => [box.x + fx * box.width, box.y + fy * box.height] as const;
  await page.mouse.move(...at(from));
  await page.mouse.down();
  for (let i = 1; i <= 5; i++) await page.mouse.move(at(from)[0] + ((at(to)[0] - at(from)[0]) * i) / 5, at(from)[1] + ((at(to)[1] - at(from)[1]) * i) / 5);
  await page.mouse.up();
}

/** Non-white pixels of the canvas. */
async function inked(page: Page): Promise<number> {
  return page.evaluate(() => {
    const canvas = document.getElementById('canvas') as HTMLCanvasElement;
    const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
    let n = 0;
    for (let i = 0; i < data.length; i += 4) if (data[i] < 240 || data[i + 1] < 240 || data[i + 2] < 240) n++;
    return n;
  });
}

const state = (page: Page) => savedState<SketchState>(page);

test('loads under its Content Security Policy and announces itself', chromium.options, async () => {
  const { page, errors } = await openSketch();
  const csp = await page.locator('meta[http-equiv="Content-Security-Policy"]').getAttribute('content');
  assert.match(csp!, /default-src 'none'; script-src 'nonce-/);
  assert.deepEqual(await posted(page), [{ type: 'ready' }]);
  assert.equal(await inked(page), 0, 'blank paper');
  assert.equal(await page.locator('#generate').isDisabled(), true, 'nothing to send yet');
  assert.deepEqual(errors, []);
  await page.close();
});

test('pen, line, rectangle, ellipse and eraser strokes become steps; undo, redo and clear', chromium.options, async () => {
  const { page, errors } = await openSketch();
  await drag(page, [0.1, 0.1], [0.4, 0.3]);
  const afterPen = await inked(page);
  assert.ok(afterPen > 100, `pen left ink (${afterPen} px)`);
  for (const [key, kind] of [['l', 'line'], ['r', 'rect'], ['o', 'ellipse']] as const) {
    await page.keyboard.press(key);
    assert.equal(await page.locator(`.tool[data-tool="${kind}"]`).getAttribute('aria-pressed'), 'true');
    await drag(page, [0.5, 0.5], [0.8, 0.8]);
  }
  assert.deepEqual((await state(page)).shapes.map((s) => s.kind), ['pen', 'line', 'rect', 'ellipse']);
  await page.keyboard.press('e');
  await drag(page, [0.05, 0.05], [0.5, 0.4]);
  assert.ok((await inked(page)) < afterPen + 100000);
  assert.equal((await state(page)).shapes.at(-1)!.kind, 'eraser');

  await page.keyboard.press('Control+z');
  await page.keyboard.press('Control+z');
  assert.deepEqual((await state(page)).shapes.map((s) => s.kind), ['pen', 'line', 'rect']);
  await page.keyboard.press('Control+y');
  assert.deepEqual((await state(page)).shapes.map((s) => s.kind), ['pen', 'line', 'rect', 'ellipse']);
  assert.equal((await state(page)).redo.length, 1);

  await page.click('#clear');
  assert.equal(await inked(page), 0, 'cleared');
  await page.click('#undo');
  assert.ok((await inked(page)) > 100, 'clear is undoable');
  assert.deepEqual(errors, []);
  await page.close();
});

test('colours and width apply to new strokes; text is typed onto the canvas', chromium.options, async () => {
  const { page } = await openSketch();
  await page.click('.swatch[data-color="#d32f2f"]');
  await page.locator('#width').fill('10');
  await page.locator('#width').dispatchEvent('change');
  await drag(page, [0.2, 0.2], [0.6, 0.2]);
  const pen = (await state(page)).shapes[0];
  assert.equal(pen.kind === 'pen' && pen.color, '#d32f2f');
  assert.equal(pen.kind === 'pen' && pen.width, 10);

  await page.keyboard.press('t');
  const box = (await page.locator('#canvas').boundingBox())!;
  await page.mouse.click(box.x + box.width * 0.3, box.y + box.height * 0.6);
  await page.locator('#text-entry').waitFor({ state: 'visible' });
  // The entry takes focus on the next animation frame (after the pointer event): type only then.
  await page.waitForFunction(() => document.activeElement?.id === 'text-entry');
  await page.keyboard.type('Sign up');
  await page.keyboard.press('Enter');
  const text = (await state(page)).shapes.at(-1)!;
  assert.equal(text.kind, 'text');
  assert.equal(text.kind === 'text' && text.text, 'Sign up');
  await page.close();
});

test('pasted and dropped image files join the image list; explorer drops go to the host', chromium.options, async () => {
  const { page, errors } = await openSketch();
  await page.evaluate((b64) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const data = new DataTransfer();
    data.items.add(new File([bytes], 'mockup-desktop.png', { type: 'image/png' }));
    document.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
  }, pngBase64);
  await page.locator('#image-list li').first().waitFor();
  await page.evaluate((b64) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const data = new DataTransfer();
    data.items.add(new File([bytes], 'mockup-mobile.png', { type: 'image/png' }));
    document.getElementById('canvas')!.dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }));
  }, pngBase64);
  await page.waitForFunction(() => document.querySelectorAll('#image-list li').length === 2);
  const images = (await state(page)).images;
  assert.deepEqual(images.map((i) => i.name), ['mockup-desktop.png', 'mockup-mobile.png']);
  assert.ok(images[0].dataUrl.startsWith('data:image/png;base64,'));
  assert.equal(await page.locator('#generate').isDisabled(), false, 'images alone can be sent');

  await page.evaluate(() => {
    const data = new DataTransfer();
    data.setData('text/uri-list', '# from the explorer\r\nfile:///work/charts/a.png\r\nfile:///work/charts/b.jpg');
    document.body.dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }));
  });
  const drop = (await posted<SketchToHost>(page)).find((m) => m.type === 'dropUris');
  assert.deepEqual(drop, { type: 'dropUris', uris: ['file:///work/charts/a.png', 'file:///work/charts/b.jpg'] });

  await page.click('#image-list li button[aria-label="Remove mockup-desktop.png"]');
  assert.deepEqual((await state(page)).images.map((i) => i.name), ['mockup-mobile.png']);
  assert.deepEqual(errors, []);
  await page.close();
});

test('Generate sends the drawing first, then the images, with the instruction and target', chromium.options, async () => {
  const { page } = await openSketch();
  await drag(page, [0.1, 0.1], [0.9, 0.9]);
  await hostSends(page, { type: 'addImage', image: { name: 'capture.png', dataUrl: `data:image/png;base64,${pngBase64}` } });
  await page.locator('#image-list li').first().waitFor();
  await page.fill('#instruction', 'A pricing page with three cards');
  await page.selectOption('#target', 'html-tailwind');
  await page.click('#generate');
  const message = (await posted<SketchToHost>(page)).find((m) => m.type === 'generate');
  assert.ok(message && message.type === 'generate');
  assert.equal(message.mode, 'new');
  assert.equal(message.instruction, 'A pricing page with three cards');
  assert.equal(message.target, 'html-tailwind');
  assert.deepEqual(message.images.map((i) => i.name), ['drawing.png', 'capture.png']);
  const drawing = await sharp(Buffer.from(message.images[0].dataUrl.split(',')[1], 'base64')).metadata();
  assert.deepEqual([drawing.format, drawing.width, drawing.height], ['png', 1024, 768]);
  await page.close();
});

test('host status drives the buttons: busy, refine, compare, errors, notices', chromium.options, async () => {
  const { page } = await openSketch();
  await drag(page, [0.2, 0.2], [0.3, 0.3]);
  await hostSends(page, { type: 'status', status: { busy: true, stage: 'reading the prompt (812 tokens)', error: undefined, canRefine: false, versions: 0 } });
  assert.equal(await page.locator('#generate').isDisabled(), true);
  assert.equal(await page.locator('#stop').isDisabled(), false);
  assert.equal(await page.locator('#status').textContent(), 'reading the prompt (812 tokens)');
  await page.click('#stop');
  assert.ok((await posted(page)).some((m) => m.type === 'stop'));

  await hostSends(page, { type: 'status', status: { busy: false, stage: 'Done.', error: 'The conversation no longer fits the model\'s context window', canRefine: true, versions: 2 } });
  assert.equal(await page.locator('#refine').isDisabled(), false);
  assert.equal(await page.locator('#compare').isDisabled(), false);
  assert.match((await page.locator('#error').textContent())!, /no longer fits/);
  await page.fill('#instruction', 'Make the header sticky');
  await page.keyboard.press('Control+Shift+Enter');
  const refine = (await posted<SketchToHost>(page)).find((m) => m.type === 'generate');
  assert.ok(refine && refine.type === 'generate' && refine.mode === 'refine' && refine.instruction === 'Make the header sticky');
  await page.click('#compare');
  assert.ok((await posted(page)).some((m) => m.type === 'compare'));
  await page.click('#capture');
  assert.ok((await posted(page)).some((m) => m.type === 'capture'));
  await hostSends(page, { type: 'notice', text: 'No screen capture tool found.' });
  assert.equal(await page.locator('#status').textContent(), 'No screen capture tool found.');
  await page.close();
});

test('every control is reachable and usable from the keyboard', chromium.options, async () => {
  const { page } = await openSketch();
  const reached = new Set<string>();
  for (let i = 0; i < 40; i++) {
    await page.keyboard.press('Tab');
    reached.add(await page.evaluate(() => {
      const el = document.activeElement as HTMLElement;
      return el.id || el.dataset.tool || el.dataset.color || el.tagName;
    }));
  }
  for (const id of ['pen', 'rect', 'eraser', '#d32f2f', 'width', 'canvas', 'instruction', 'target', 'capture']) assert.ok(reached.has(id.replace('#d32f2f', '#d32f2f')), `${id} reachable`);
  await page.focus('.tool[data-tool="ellipse"]');
  await page.keyboard.press('Space');
  assert.equal(await page.locator('.tool[data-tool="ellipse"]').getAttribute('aria-pressed'), 'true');
  await page.close();
});

test('the drawing, images and instruction survive a reload with the saved state', chromium.options, async () => {
  const first = await openSketch();
  await drag(first.page, [0.1, 0.5], [0.9, 0.5]);
  await first.page.fill('#instruction', 'keep me');
  await hostSends(first.page, { type: 'addImage', image: { name: 'kept.png', dataUrl: `data:image/png;base64,${pngBase64}` } });
  await first.page.locator('#image-list li').first().waitFor();
  const saved = await state(first.page);
  const ink = await inked(first.page);
  await first.page.close();

  const second = await openSketch(saved);
  assert.equal(await inked(second.page), ink, 'same drawing');
  assert.equal(await second.page.inputValue('#instruction'), 'keep me');
  assert.equal(await second.page.locator('#image-list li').count(), 1);
  await second.page.click('#undo');
  assert.equal(await inked(second.page), 0, 'its history came back too');
  await second.page.close();
});
