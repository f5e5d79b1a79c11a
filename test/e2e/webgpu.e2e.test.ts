// The packaged extension on the WebGPU backend, end to end in code-server: the VSIX's own Dawn
// (dist/node_modules/webgpu) running the model's WGSL kernels on Mesa's llvmpipe, the only adapter
// here, which the backend takes only when it is named and software adapters are allowed
// (PIXTRAL_WEBGPU_SOFTWARE=1, inherited by code-server, its extension host and the worker they
// fork). A chart's explanation in the editor is exactly what the worker on WebGPU writes for it
// (greedy), the status bar names the adapter with no fallback, and the log says where the model
// loaded. Screenshots: test/e2e/screenshots/webgpu-*.png.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { WorkerClient } from '../../src/service/worker-client';
import { fixtureDir } from '../support/fixtures';
import { requires } from '../support/requirements';
import { chartPng, explainRequest, modelSettings, Workbench, writtenBy } from './workbench';

const tools = requires('chromium', 'code-server', 'mesa-egl');
const SETTINGS = { maxTokens: 32, temperature: 0, imageTokenBudget: 256, hoverTokenBudget: 64 };

let wb: Workbench;
let expected = '';
let adapter = '';

before(async () => {
  if (!tools.met()) return;
  process.env.PIXTRAL_WEBGPU_SOFTWARE = '1';
  const chart = await chartPng();
  const worker = new WorkerClient({ model: fixtureDir, load: { backend: 'webgpu' } });
  try {
    const loaded = await worker.load();
    assert.equal(loaded.backendFallback, undefined, 'the worker runs the model on WebGPU');
    adapter = loaded.backend;
    expected = await writtenBy(worker, explainRequest(chart, SETTINGS));
  } finally {
    await worker.dispose();
  }
  assert.ok(expected, 'the model writes an explanation');
  wb = await Workbench.open({
    prefix: 'webgpu-',
    files: { 'chart.png': chart, 'README.md': '# Report\n\n![Sales 2024](chart.png)\n' },
    settings: modelSettings(fixtureDir, 'webgpu', SETTINGS),
  });
});

after(async () => {
  await wb?.dispose();
  delete process.env.PIXTRAL_WEBGPU_SOFTWARE;
});

test('pixtral.backend webgpu: the packaged extension explains a chart on the WebGPU adapter, as the worker does there', tools.options, async () => {
  assert.match(adapter, /^webgpu llvmpipe.*\(OpenGL ES, software\)$/, 'the adapter here is Mesa\'s');
  await wb.step('palette', () => wb.paletteRows());
  await wb.page.keyboard.press('Escape');
  await wb.openFile('README.md');
  const document = `# chart.png\n\n${expected}`;
  await wb.explainChart('chart.png', 'Untitled-1', 'hover', (text) => text === document);
  await wb.shot('explanation');

  const status = await wb.until('the status bar after the run', () => wb.statusText(), (t) => /tok\/s/.test(t));
  assert.ok(status.includes(`· bf16 · ${adapter} · `), `the status bar names the WebGPU adapter: ${status}`);
  assert.doesNotMatch(status, /instead of/);
  await wb.shot('status');

  const log = await wb.step('log', () => wb.logLines('README.md'));
  assert.ok(log.some((line) => line.includes(`model loaded on ${adapter}`)), `the log says the model loaded on WebGPU:\n${log.join('\n')}`);
  await wb.shot('log');
});
