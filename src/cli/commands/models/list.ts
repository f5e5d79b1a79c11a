// `pixtral models list`: every model the other commands could use, in the order they are tried,
// the built-in one last, with whether each can load, what it needs at each weight precision and
// the one the default (auto) loads; `*` marks the model they use now.
import { hasQuantizedWeights, planPrecisions } from '../../../models/engine-check';
import { assessFit, BUILT_IN_MODEL_NAME, modelEnv, type FitVerdict, type ModelCandidate, type ModelSource } from '../../../models/index';
import { formatBytes } from '../../../models/units';
import { NO_OPERANDS, type CliCommand } from '../../command';
import { DEFAULT_CONTEXT_LENGTH } from '../../generation-runner';
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

/** The fit check the other commands run before loading (default context, auto precision), or why
 *  the engine could not plan the load; undefined for a folder that cannot load anyway. */
function fitOf(c: ModelCandidate): FitVerdict | string | undefined {
  if (!c.check.ok || !c.check.dims) return undefined;
  try {
    // As the other commands do by default: auto tries CUDA first, so the plan carries its free VRAM.
    const plans = planPrecisions(c.dir, { contextLength: DEFAULT_CONTEXT_LENGTH, backend: 'cuda' });
    return assessFit({ dims: c.check.dims, plans, contextLength: DEFAULT_CONTEXT_LENGTH });
  } catch (err) {
    return (err as Error).message.split('\n')[0];
  }
}

/** One line: each precision with the memory it needs on the device auto would use, and the pick. */
function describeFit(c: ModelCandidate, fit: FitVerdict | string): string {
  if (typeof fit === 'string') return `precisions: not planned (${fit})`;
  const device = fit.choice?.device ?? fit.options[fit.options.length - 1].device;
  const each = fit.options
    .filter((o) => o.device === device)
    .map((o) => `${o.precision} ${formatBytes(o.requiredBytes)} ${o.status}${hasQuantizedWeights(c.dir, o.precision) ? ' (on disk)' : ''}`);
  const pick = fit.choice ? `auto loads ${fit.choice.precision} in ${device.name}` : `nothing fits in ${device.name}`;
  return `precisions (context ${DEFAULT_CONTEXT_LENGTH}): ${each.join(', ')}; ${pick}`;
}

export const listCommand: CliCommand = {
  name: 'list',
  summary: 'the models on this machine, built-in one included; * marks the one in use',
  usage: `usage: pixtral models list [--model DIR] [--json]

Lists the models the other commands can use, in the order they are tried: the folder given with
--model, the Hugging Face caches, Pixtral's storage folder, then the built-in model. Each entry says
whether the model can load, the memory it needs at each weight precision (bf16, 8-bit q8_0, 4-bit
q4_0; "on disk": quantized by an earlier load) and the precision the other commands load by default
(auto: the best that fits); * marks the model they use (with the same --model).

options:
  --model DIR         a model folder, as given to the other commands
  --json              machine-readable output

environment: HF_HUB_CACHE, HF_HOME, PIXTRAL_MODELS_DIR (Pixtral's storage folder)`,
  options: { model: { type: 'string' }, json: { type: 'boolean' } },
  operands: NO_OPERANDS,
  async run({ values }, io) {
    const { candidates, used } = await listModels(values.model as string | undefined);
    const fits = candidates.map(fitOf);
    if (values.json) {
      const listed = candidates.map((c, i) => ({ ...c, fit: fits[i] }));
      io.stdout.write(`${JSON.stringify({ used: used?.dir ?? null, candidates: listed }, null, 2)}\n`);
      return 0;
    }
    if (candidates.length === 0) {
      const env = modelEnv();
      io.stdout.write(`No Pixtral model found (searched ${[...env.hubCaches, env.storageDir].join(', ')}).\nRun "pixtral models download" to get one.\n`);
      return 0;
    }
    for (const [i, c] of candidates.entries()) {
      io.stdout.write(`${c === used ? '* ' : '  '}${c.check.ok ? 'ok     ' : 'PROBLEM'}  ${describe(c)}\n           ${c.dir}\n`);
      const fit = fits[i];
      if (fit) io.stdout.write(`           ${describeFit(c, fit)}\n`);
      for (const problem of c.check.problems) io.stdout.write(`           - ${problem}\n`);
    }
    io.stdout.write(used ? `\n* is the model the other commands use.\n` : `\nNo usable model: fix one above or run "pixtral models download".\n`);
    return 0;
  },
};
