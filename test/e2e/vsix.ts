// Packages the extension as a VSIX with @vscode/vsce, the way it is published: bundles built
// in production mode first (no source maps), then `vsce package` in the repository root.
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
  execFileSync(process.execPath, ['esbuild.mjs', '--production'], { cwd: ROOT, stdio: 'inherit' });
  const vsce = path.join(ROOT, 'node_modules', '@vscode', 'vsce', 'vsce');
  execFileSync(process.execPath, [vsce, 'package', '--allow-missing-repository', '--skip-license', '--out', out], { cwd: ROOT, stdio: 'inherit' });
  return out;
}
