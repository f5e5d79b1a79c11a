// Packages the extension as a VSIX with @vscode/vsce, the way it is published: `vsce package` in
// the repository root, which first runs vscode:prepublish (esbuild.mjs --production: bundles
// without source maps, Dawn for this platform staged in dist/node_modules/webgpu).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '..', '..');

/** Path of a freshly packaged VSIX (or PIXTRAL_VSIX, a package made beforehand). */
export function packageVsix(out: string): string {
  const given = process.env.PIXTRAL_VSIX;
  if (given) {
    if (!existsSync(given)) throw new Error(`PIXTRAL_VSIX=${given} does not exist`);
    return given;
  }
  const vsce = path.join(ROOT, 'node_modules', '@vscode', 'vsce', 'vsce');
  execFileSync(process.execPath, [vsce, 'package', '--allow-missing-repository', '--skip-license', '--out', out], { cwd: ROOT, stdio: 'inherit' });
  return out;
}
