// The VSIX holds only what runs: the bundles (no sources, maps, tests or CLI), the webview styles,
// the engine addon for this platform, the worker's runtime modules (Dawn for this platform only)
// and the small built-in sketch model; and it stays under 40 MB. The Dawn it ships finds a GPU
// adapter the way the worker resolves it.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { requires } from '../support/requirements';
import { packageVsix } from './vsix';

const unzip = requires('unzip');
const mesa = requires('unzip', 'mesa-egl');
// Dawn's folder in the webgpu package (esbuild.mjs stages this one only).
const dawn = process.platform === 'darwin' ? 'darwin-universal' : `${process.platform}-${process.arch}`;
let dir: string;
let vsix: string;
let files: string[];

before(async () => {
  if (!unzip.met()) return;
  dir = await mkdtemp(path.join(tmpdir(), 'pixtral-vsix-'));
  vsix = packageVsix(path.join(dir, 'pixtral.vsix'));
  // unzip -Z1 lists the archive's entries, one per line.
  files = execFileSync('unzip', ['-Z1', vsix], { encoding: 'utf8' }).split('\n').filter((f) => f && !f.endsWith('/'));
});

after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('ships the bundles, styles, engine addon and runtime modules', unzip.options, () => {
  for (const required of [
    'extension/package.json',
    'extension/dist/extension.js',
    'extension/dist/worker.js',
    'extension/dist/webview/sketch.js',
    'extension/dist/webview/preview.js',
    'extension/dist/webview/ask.js',
    'extension/media/base.css',
    'extension/media/sketch.css',
    'extension/node_modules/sharp/lib/index.js',
    'extension/node_modules/tiktoken/tiktoken_bg.wasm',
    'extension/node_modules/@tailwindcss/browser/dist/index.global.js',
    'extension/models/pixtral-sketch-small/consolidated.safetensors',
    'extension/models/pixtral-sketch-small/params.json',
    'extension/models/pixtral-sketch-small/tekken.json',
    'extension/dist/node_modules/webgpu/index.js',
    `extension/dist/node_modules/webgpu/dist/${dawn}/dawn.node`,
  ]) {
    assert.ok(files.includes(required), `${required} is in the VSIX`);
  }
  const platform = `${process.platform}-${process.arch}`;
  assert.ok(
    files.includes(`extension/native/prebuilds/${platform}/pixtral_native.node`) || files.includes('extension/native/build/Release/pixtral_native.node'),
    `an engine addon for ${platform}`,
  );
  assert.ok(files.some((f) => f.startsWith(`extension/node_modules/@img/sharp-${platform}/`)), 'sharp\'s binary for this platform');
});

test('ships nothing else: no sources, maps, tests, CLI, fixtures or dev modules', unzip.options, () => {
  const allowed = [
    /^extension\.vsixmanifest$/,
    /^\[Content_Types\]\.xml$/,
    /^extension\/(package\.json|readme\.md|README\.md|LICENSE(\.txt)?|changelog\.md|CHANGELOG\.md)$/,
    /^extension\/dist\/(extension|worker)\.js$/,
    /^extension\/dist\/webview\/\w+\.js$/,
    /^extension\/media\/[\w-]+\.css$/,
    /^extension\/models\/pixtral-sketch-small\/(consolidated\.safetensors|params\.json|tekken\.json)$/,
    /^extension\/native\/(prebuilds\/[\w-]+|build\/Release)\/(pixtral_native\.node|libpixtral_cuda\.so|pixtral_cuda\.dll)$/,
    /^extension\/node_modules\/(sharp|@img\/[\w.-]+|detect-libc|semver|tiktoken|@tailwindcss\/browser)\//,
    /^extension\/dist\/node_modules\/webgpu\/(package\.json|index\.js|LICENSE\.md)$/,
    new RegExp(`^extension/dist/node_modules/webgpu/dist/${dawn}/[\\w.-]+$`), // no other platform's Dawn
  ];
  const stray = files.filter((f) => !allowed.some((a) => a.test(f)));
  assert.deepEqual(stray, []);
  assert.ok(!files.some((f) => /\.(ts|map)$/.test(f) && !f.endsWith('.d.ts')), 'no TypeScript sources or source maps');
  assert.ok(!files.some((f) => /node_modules\/(typescript|esbuild|tsx|playwright-core|@vscode\/vsce|node-addon-api)\//.test(f)), 'no dev modules');
  assert.ok(!files.some((f) => f.includes('tiktoken/encoders/')), 'no tiktoken encoders (17 MB, never loaded)');
});

test('is small: the built-in model is most of it', unzip.options, async () => {
  const { size } = await stat(vsix);
  assert.ok(size < 40 * 1024 * 1024, `VSIX is ${(size / 1024 / 1024).toFixed(1)} MB`);
  assert.ok(files.length < 200, `${files.length} files`);
});

test('the Dawn it ships gives the worker a WebGPU adapter', mesa.options, async () => {
  if (!mesa.met()) return;
  const root = path.join(dir, 'unpacked');
  execFileSync('unzip', ['-q', vsix, '-d', root]);
  // Beside dist/worker.js, so the bare specifier resolves as the worker's does.
  const probe = path.join(root, 'extension', 'dist', 'dawn-probe.cjs');
  await writeFile(
    probe,
    `(async () => {
      const resolved = require.resolve('webgpu/package.json');
      const { create, globals } = await import('webgpu');
      Object.assign(globalThis, globals);
      const adapter = await create(['backend=opengles']).requestAdapter({ featureLevel: 'compatibility' });
      console.log(JSON.stringify({ resolved, adapter: adapter && (adapter.info.device || adapter.info.description) }));
    })().catch((e) => { console.error(e); process.exit(1); });`,
  );
  const out = JSON.parse(execFileSync(process.execPath, [probe], { encoding: 'utf8', env: { ...process.env, EGL_PLATFORM: 'surfaceless' } }));
  assert.equal(out.resolved, path.join(root, 'extension', 'dist', 'node_modules', 'webgpu', 'package.json'));
  assert.ok(typeof out.adapter === 'string' && out.adapter.length > 0, `an adapter (got ${out.adapter})`);
});
