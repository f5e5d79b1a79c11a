// The sketch panel app: a drawing canvas, images added by paste, drop or screen capture, an
// instruction and an output target; Generate / Refine / Stop talk to the host (sketch-panel.ts)
// through the typed protocol. Everything the user made is saved with setState after each change.
import type { HtmlTarget } from '../../src/prompts';
import type { Shape, SketchImage, SketchState, SketchStatus, SketchToHost, SketchToWebview, Tool } from '../../src/extension/sketch/protocol';
import { Host } from '../shared/vscode-api';
import { droppedUris, imageFilesOf, readImageFile } from '../shared/image-files';
import { CanvasInput } from './canvas-input';
import { Drawing } from './drawing';
import { ImageList } from './image-list';
import { paint, paintShape } from './render';

const host = new Host<SketchToHost, SketchState>();
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

const canvas = $<HTMLCanvasElement>('canvas');
const ctx = canvas.getContext('2d')!;
const instruction = $<HTMLTextAreaElement>('instruction');
const target = $<HTMLSelectElement>('target');
const widthInput = $<HTMLInputElement>('width');
const buttons = {
  undo: $<HTMLButtonElement>('undo'),
  redo: $<HTMLButtonElement>('redo'),
  clear: $<HTMLButtonElement>('clear'),
  capture: $<HTMLButtonElement>('capture'),
  generate: $<HTMLButtonElement>('generate'),
  refine: $<HTMLButtonElement>('refine'),
  stop: $<HTMLButtonElement>('stop'),
  compare: $<HTMLButtonElement>('compare'),
};
const statusLine = $<HTMLParagraphElement>('status');
const errorLine = $<HTMLParagraphElement>('error');

const saved = host.state?.version === 1 ? host.state : undefined;
const drawing = new Drawing(saved?.shapes ?? [], saved?.redo ?? []);
let images: SketchImage[] = saved?.images ?? [];
let tool: Tool = saved?.tool ?? 'pen';
let color = saved?.color ?? '#1e1e1e';
let status: SketchStatus = { busy: false, stage: '', error: undefined, canRefine: false, versions: 0 };
instruction.value = saved?.instruction ?? '';
target.value = saved?.target ?? 'html-css';
widthInput.value = String(saved?.width ?? 3);

const imageList = new ImageList($<HTMLUListElement>('image-list'), (index) => {
  images = images.filter((_, i) => i !== index);
  changed();
});

function save(): void {
  host.state = {
    version: 1,
    shapes: [...drawing.all],
    redo: [...drawing.redoStack],
    images,
    instruction: instruction.value,
    target: target.value as HtmlTarget,
    tool,
    color,
    width: Number(widthInput.value),
  };
}

function redraw(extra?: Shape): void {
  paint(ctx, drawing.visible);
  if (extra) paintShape(ctx, extra);
}

/** Brings every control in line with the state, then saves it. */
function changed(): void {
  redraw();
  imageList.render(images);
  for (const button of Array.from(document.querySelectorAll<HTMLButtonElement>('.tool'))) button.setAttribute('aria-pressed', String(button.dataset.tool === tool));
  for (const button of Array.from(document.querySelectorAll<HTMLButtonElement>('.swatch'))) button.setAttribute('aria-pressed', String(button.dataset.color === color));
  canvas.dataset.tool = tool;
  buttons.undo.disabled = !drawing.canUndo;
  buttons.redo.disabled = !drawing.canRedo;
  buttons.clear.disabled = drawing.isEmpty;
  const nothingToSend = drawing.isEmpty && images.length === 0;
  buttons.generate.disabled = status.busy || nothingToSend;
  buttons.refine.disabled = status.busy || !status.canRefine;
  buttons.stop.disabled = !status.busy;
  buttons.compare.disabled = status.busy || status.versions < 2;
  statusLine.textContent = status.stage;
  errorLine.textContent = status.error ?? '';
  errorLine.hidden = !status.error;
  save();
}

new CanvasInput(canvas, $<HTMLInputElement>('text-entry'), () => ({ tool, color, width: Number(widthInput.value) }), {
  preview: (shape) => redraw(shape),
  commit: (shape) => {
    drawing.add(shape);
    changed();
  },
});

function selectTool(next: Tool): void {
  tool = next;
  changed();
}

for (const button of Array.from(document.querySelectorAll<HTMLButtonElement>('.tool'))) button.addEventListener('click', () => selectTool(button.dataset.tool as Tool));
for (const button of Array.from(document.querySelectorAll<HTMLButtonElement>('.swatch'))) {
  button.addEventListener('click', () => {
    color = button.dataset.color!;
    changed();
  });
}
widthInput.addEventListener('change', changed);
instruction.addEventListener('input', save);
target.addEventListener('change', save);
buttons.undo.addEventListener('click', () => (drawing.undo(), changed()));
buttons.redo.addEventListener('click', () => (drawing.redo(), changed()));
buttons.clear.addEventListener('click', () => (drawing.clear(), changed()));
buttons.capture.addEventListener('click', () => host.post({ type: 'capture' }));
buttons.stop.addEventListener('click', () => host.post({ type: 'stop' }));
buttons.compare.addEventListener('click', () => host.post({ type: 'compare' }));
buttons.generate.addEventListener('click', () => send('new'));
buttons.refine.addEventListener('click', () => send('refine'));

/** The drawing (if any) comes first, then the added images in their order. */
function send(mode: 'new' | 'refine'): void {
  const all = drawing.isEmpty ? [...images] : [{ name: 'drawing.png', dataUrl: canvas.toDataURL('image/png') }, ...images];
  host.post({ type: 'generate', mode, images: all, instruction: instruction.value, target: target.value as HtmlTarget });
}

const SHORTCUTS: Record<string, Tool> = { p: 'pen', l: 'line', r: 'rect', o: 'ellipse', t: 'text', e: 'eraser' };

document.addEventListener('keydown', (e) => {
  const inField = e.target instanceof HTMLInputElement || e.target instanceof HTMLTextAreaElement || e.target instanceof HTMLSelectElement;
  const mod = e.ctrlKey || e.metaKey;
  if (mod && e.key === 'Enter') {
    e.preventDefault();
    if (e.shiftKey ? !buttons.refine.disabled : !buttons.generate.disabled) send(e.shiftKey ? 'refine' : 'new');
  } else if (inField) {
    return;
  } else if (mod && e.key.toLowerCase() === 'z') {
    e.preventDefault();
    if (e.shiftKey) drawing.redo();
    else drawing.undo();
    changed();
  } else if (mod && e.key.toLowerCase() === 'y') {
    e.preventDefault();
    drawing.redo();
    changed();
  } else if (!mod && !e.altKey && SHORTCUTS[e.key.toLowerCase()]) {
    selectTool(SHORTCUTS[e.key.toLowerCase()]);
  }
});

async function addFiles(files: File[]): Promise<void> {
  for (const file of files) {
    try {
      images = [...images, await readImageFile(file)];
    } catch (err) {
      status = { ...status, error: (err as Error).message };
    }
  }
  changed();
}

document.addEventListener('paste', (e) => {
  const files = imageFilesOf(e.clipboardData);
  if (files.length === 0) return; // plain text pastes into the focused field as usual
  e.preventDefault();
  void addFiles(files);
});

const dropzone = document.body;
dropzone.addEventListener('dragover', (e) => {
  e.preventDefault();
  if (e.dataTransfer) e.dataTransfer.dropEffect = 'copy';
});
dropzone.addEventListener('drop', (e) => {
  e.preventDefault();
  const files = imageFilesOf(e.dataTransfer);
  if (files.length > 0) {
    void addFiles(files);
    return;
  }
  // From the VS Code explorer: only URIs; the host reads those files.
  const uris = droppedUris(e.dataTransfer);
  if (uris.length > 0) host.post({ type: 'dropUris', uris });
});

host.onMessage((data) => {
  const message = data as SketchToWebview;
  switch (message.type) {
    case 'status':
      status = message.status;
      break;
    case 'addImage':
      images = [...images, message.image];
      break;
    case 'notice':
      status = { ...status, stage: message.text };
      break;
  }
  changed();
});

changed();
host.post({ type: 'ready' });
