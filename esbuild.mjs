// Bundles the three TypeScript programs and the webview scripts:
//   src/extension.ts  -> dist/extension.js  (VS Code extension host; `vscode` is provided by the host)
//   src/worker/main.ts -> dist/worker.js    (the model process; loads the native addon at run time)
//   src/cli/main.ts   -> dist/cli.js        (the `pixtral` command)
//   webview/*/main.ts -> dist/webview/*.js  (browser code of each webview panel)
// sharp (native libvips binding), tiktoken (loads its .wasm next to itself) and webgpu (an ES
// module that finds Dawn's dawn.node beside itself through import.meta.url, undefined in a CommonJS
// bundle) stay external and ship as node_modules; the engine addon is found at run time
// (src/engine/native.ts).
//
// --production (what `vsce package` runs first, as vscode:prepublish) also stages the webgpu
// package with only this platform's Dawn binary in dist/node_modules/webgpu, where the bundles
// resolve it first: the npm package carries every platform's (132 MB), a VSIX is per platform.
import * as esbuild from 'esbuild';
import { cpSync, existsSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

const common = {
  bundle: true,
  sourcemap: production ? false : 'linked',
  minify: production,
  logLevel: 'warning',
  loader: { '.md': 'text' },
};

const node = {
  ...common,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: ['vscode', 'sharp', 'tiktoken', 'webgpu'],
};

const webviewEntries = existsSync('webview')
  ? readdirSync('webview', { withFileTypes: true })
      .filter((d) => d.isDirectory() && existsSync(path.join('webview', d.name, 'main.ts')))
      .map((d) => ({ in: path.join('webview', d.name, 'main.ts'), out: d.name }))
  : [];

const builds = [
  { ...node, entryPoints: ['src/extension.ts'], outfile: 'dist/extension.js' },
  { ...node, entryPoints: ['src/worker/main.ts'], outfile: 'dist/worker.js' },
  { ...node, entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli.js' }, // keeps the entry's #! line
  ...(webviewEntries.length
    ? [{ ...common, platform: 'browser', format: 'iife', target: 'es2022', entryPoints: webviewEntries, outdir: 'dist/webview' }]
    : []),
];

// Dawn's folder name in the webgpu package: one universal build for macOS, else platform-arch.
const dawnPlatform = process.platform === 'darwin' ? 'darwin-universal' : `${process.platform}-${process.arch}`;

function stageWebgpu() {
  const from = path.join('node_modules', 'webgpu');
  const to = path.join('dist', 'node_modules', 'webgpu');
  rmSync(to, { recursive: true, force: true });
  if (!production) return; // development builds resolve node_modules/webgpu itself
  if (!existsSync(path.join(from, 'dist', dawnPlatform, 'dawn.node'))) {
    console.warn(`esbuild.mjs: the webgpu package has no Dawn build for ${dawnPlatform}; the package will run without the WebGPU backend`);
    return;
  }
  for (const file of ['package.json', 'index.js', 'LICENSE.md']) cpSync(path.join(from, file), path.join(to, file));
  cpSync(path.join(from, 'dist', dawnPlatform), path.join(to, 'dist', dawnPlatform), { recursive: true });
}

if (watch) {
  for (const options of builds) await (await esbuild.context(options)).watch();
} else {
  await Promise.all(builds.map((options) => esbuild.build(options)));
  stageWebgpu();
}
