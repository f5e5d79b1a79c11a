// `pixtral models download [REPO]`: a checkpoint into the Hugging Face cache, resumable; Ctrl-C
// stops it cleanly and running the command again resumes.
import { downloadModel, PIXTRAL_MISTRAL_REPO } from '../../../models/index';
import { formatBytes } from '../../../models/units';
import { CliError, integerFlag, type CliCommand } from '../../command';
import { progressPrinter } from './progress';

export const downloadCommand: CliCommand = {
  name: 'download',
  summary: `download a checkpoint into the Hugging Face cache (default ${PIXTRAL_MISTRAL_REPO})`,
  usage: `usage: pixtral models download [REPO] [options]

Downloads REPO (org/name, default ${PIXTRAL_MISTRAL_REPO}) into the Hugging Face cache. Does
nothing if a complete copy is there; resumes an interrupted download. Ctrl-C stops it cleanly.

options:
  --revision REV      branch, tag or commit (default main)
  --cache-dir DIR     the hub cache to use (default HF_HUB_CACHE, HF_HOME/hub, ~/.cache/huggingface/hub)
  --connections N     parallel connections per file (default 8)

environment: HF_TOKEN (gated repositories), HF_ENDPOINT, HF_HUB_CACHE, HF_HOME, HF_HUB_OFFLINE`,
  options: {
    revision: { type: 'string' },
    'cache-dir': { type: 'string' },
    connections: { type: 'string' },
  },
  operands: { name: 'repository id', min: 0, max: 1 },
  async run({ values, positionals }, io) {
    const repo = positionals[0] ?? PIXTRAL_MISTRAL_REPO;
    if (!/^[^/\s]+\/[^/\s]+$/.test(repo)) throw new CliError(`"${repo}" is not a repository id (org/name)`, 2);
    const connections = integerFlag(values, 'connections');
    const progress = progressPrinter(io.stderr);
    io.stderr.write(`Downloading ${repo}...\n`);
    try {
      const result = await downloadModel({
        repo,
        revision: values.revision as string | undefined,
        cacheDir: values['cache-dir'] as string | undefined,
        signal: io.signal,
        onProgress: (p) => progress.update(p),
        tuning: connections ? { connections } : undefined,
      });
      progress.end();
      for (const warning of result.warnings) io.stderr.write(`warning: ${warning}\n`);
      io.stdout.write(
        result.alreadyPresent
          ? `${repo} is already downloaded: ${result.dir}\n`
          : `Downloaded ${repo} (${formatBytes(result.downloadedBytes)} fetched) to ${result.dir}\n`,
      );
      for (const problem of result.check.problems) io.stdout.write(`  - ${problem}\n`);
      return result.check.ok ? 0 : 1;
    } catch (err) {
      progress.end();
      if (!io.signal.aborted) throw err;
      io.stderr.write('Download cancelled; run the same command again to resume.\n');
      return 130;
    }
  },
};
