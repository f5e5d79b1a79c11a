// `pixtral models list`: every model the other commands could use, in the order they are tried,
// the built-in one last, with whether each can load; `*` marks the one they use now.
import { BUILT_IN_MODEL_NAME, modelEnv, type ModelCandidate, type ModelSource } from '../../../models/index';
import { formatBytes } from '../../../models/units';
import { NO_OPERANDS, type CliCommand } from '../../command';
import { listModels } from '../../model-choice';

const SOURCE_LABELS: Record<ModelSource, string> = { setting: '--model', 'hf-cache': 'hf-cache', storage: 'storage', embedded: 'built-in' };

function describe(c: ModelCandidate): string {
  const name = c.repo ? `${c.repo} (${[...c.refs, c.commit?.slice(0, 10)].filter(Boolean).join(', ')})` : c.dir;
  const size = c.check.weightBytes > 0 ? `, ${formatBytes(c.check.weightBytes)}` : '';
  const layout = c.check.layout ? `${c.check.layout === 'mistral' ? 'Mistral' : 'transformers'} layout` : 'no model';
  const random = c.check.randomWeights ? ', random weights: its text is meaningless' : '';
  const builtIn = c.check.builtIn ? `, ${BUILT_IN_MODEL_NAME}` : '';
  return `${name}  [${SOURCE_LABELS[c.source]}] ${layout}${size}${random}${builtIn}`;
}

export const listCommand: CliCommand = {
  name: 'list',
  summary: 'the models on this machine, built-in one included; * marks the one in use',
  usage: `usage: pixtral models list [--model DIR] [--json]

Lists the models the other commands can use, in the order they are tried: the folder given with
--model, the Hugging Face caches, Pixtral's storage folder, then the built-in model. Each line says
whether the model can load; * marks the one the other commands use (with the same --model).

options:
  --model DIR         a model folder, as given to the other commands
  --json              machine-readable output

environment: HF_HUB_CACHE, HF_HOME, PIXTRAL_MODELS_DIR (Pixtral's storage folder)`,
  options: { model: { type: 'string' }, json: { type: 'boolean' } },
  operands: NO_OPERANDS,
  async run({ values }, io) {
    const { candidates, used } = await listModels(values.model as string | undefined);
    if (values.json) {
      io.stdout.write(`${JSON.stringify({ used: used?.dir ?? null, candidates }, null, 2)}\n`);
      return 0;
    }
    if (candidates.length === 0) {
      const env = modelEnv();
      io.stdout.write(`No Pixtral model found (searched ${[...env.hubCaches, env.storageDir].join(', ')}).\nRun "pixtral models download" to get one.\n`);
      return 0;
    }
    for (const c of candidates) {
      io.stdout.write(`${c === used ? '* ' : '  '}${c.check.ok ? 'ok     ' : 'PROBLEM'}  ${describe(c)}\n           ${c.dir}\n`);
      for (const problem of c.check.problems) io.stdout.write(`           - ${problem}\n`);
    }
    io.stdout.write(used ? `\n* is the model the other commands use.\n` : `\nNo usable model: fix one above or run "pixtral models download".\n`);
    return 0;
  },
};
