// Static markup of the sketch panel. Every control is a native, labelled form element, reachable
// with Tab; tools also have one-key shortcuts (shown in their titles). Pure so the browser tests
// render the same page.
import { CANVAS_HEIGHT, CANVAS_WIDTH } from './protocol';

const TOOLS: [id: string, label: string, key: string][] = [
  ['pen', 'Pen', 'P'],
  ['line', 'Line', 'L'],
  ['rect', 'Rectangle', 'R'],
  ['ellipse', 'Ellipse', 'O'],
  ['text', 'Text', 'T'],
  ['eraser', 'Eraser', 'E'],
];

const COLORS: [value: string, name: string][] = [
  ['#1e1e1e', 'Black'],
  ['#d32f2f', 'Red'],
  ['#1976d2', 'Blue'],
  ['#388e3c', 'Green'],
  ['#f9a825', 'Yellow'],
  ['#7b1fa2', 'Purple'],
];

export function sketchPageBody(): string {
  const tools = TOOLS.map(
    ([id, label, key]) =>
      `<button type="button" class="tool" data-tool="${id}" aria-pressed="false" title="${label} (${key})" aria-keyshortcuts="${key}">${label}</button>`,
  ).join('');
  const colors = COLORS.map(
    ([value, name]) => `<button type="button" class="swatch" data-color="${value}" aria-pressed="false" title="${name}" aria-label="${name}"><span class="chip chip-${name.toLowerCase()}"></span></button>`,
  ).join('');
  return `    <main class="sketch">
      <div class="toolbar" role="toolbar" aria-label="Drawing tools">
        <div class="group" role="group" aria-label="Tool">${tools}</div>
        <div class="group" role="group" aria-label="Colour">${colors}</div>
        <label class="width">Width <input id="width" type="range" min="1" max="24" value="3"></label>
        <div class="group" role="group" aria-label="History">
          <button type="button" id="undo" title="Undo (Ctrl+Z)" aria-keyshortcuts="Control+Z">Undo</button>
          <button type="button" id="redo" title="Redo (Ctrl+Y)" aria-keyshortcuts="Control+Y">Redo</button>
          <button type="button" id="clear" title="Clear the drawing">Clear</button>
        </div>
        <div class="group" role="group" aria-label="Images">
          <button type="button" id="capture" title="Capture a region of the screen">Capture Screen</button>
        </div>
      </div>
      <div class="canvas-wrap" id="dropzone">
        <canvas id="canvas" width="${CANVAS_WIDTH}" height="${CANVAS_HEIGHT}" tabindex="0" role="img" aria-label="Drawing canvas. Paste an image with Ctrl+V or drop image files here."></canvas>
        <input id="text-entry" class="text-entry" type="text" aria-label="Text to place on the canvas" hidden>
      </div>
      <section class="images" aria-label="Added images">
        <h2>Images <span class="hint">paste (Ctrl+V), drop files (hold Shift to drop from the explorer), or capture</span></h2>
        <ul id="image-list"></ul>
      </section>
      <section class="request">
        <label for="instruction">Instruction</label>
        <textarea id="instruction" rows="3" placeholder="e.g. A landing page with a dark header; make the cards clickable"></textarea>
        <div class="actions">
          <label>Output <select id="target">
            <option value="html-css">HTML + CSS</option>
            <option value="html-tailwind">HTML + Tailwind</option>
          </select></label>
          <button type="button" id="generate" class="primary" title="Generate a new page (Ctrl+Enter)">Generate</button>
          <button type="button" id="refine" title="Apply the instruction to the last page (Ctrl+Shift+Enter)" disabled>Refine</button>
          <button type="button" id="stop" disabled>Stop</button>
          <button type="button" id="compare" title="Diff the last two versions" disabled>Compare Versions</button>
        </div>
        <p id="status" class="status" role="status" aria-live="polite"></p>
        <p id="error" class="error" role="alert" hidden></p>
      </section>
    </main>`;
}
