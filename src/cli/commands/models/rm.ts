// `pixtral models rm REPO|DIR`: deletes a downloaded model, a whole repository from the caches or
// one snapshot folder; never a folder of the user's own.
import { removeModel } from '../../../models/index';
import { formatBytes } from '../../../models/units';
import type { CliCommand } from '../../command';

export const rmCommand: CliCommand = {
  name: 'rm',
  summary: 'delete a downloaded model (a repository from the caches, or one snapshot folder)',
  usage: `usage: pixtral models rm REPO|DIR [options]

Deletes REPO (org/name) from the Hugging Face caches and Pixtral's storage folder, or the snapshot
folder DIR. A folder outside those caches is yours and is never deleted.

options:
  --cache-dir DIR     the hub cache to use (default HF_HUB_CACHE, HF_HOME/hub, ~/.cache/huggingface/hub)`,
  options: { 'cache-dir': { type: 'string' } },
  operands: { name: 'repository id or model folder', min: 1, max: 1 },
  async run({ values, positionals }, io) {
    const result = await removeModel(positionals[0], { cacheDir: values['cache-dir'] as string | undefined });
    for (const p of result.removed) io.stdout.write(`removed ${p}\n`);
    io.stdout.write(`freed ${formatBytes(result.freedBytes)}\n`);
    return 0;
  },
};
