// `pixtral models verify [DIR]`: checks a model folder (the one in use when none is given): files
// and sizes, hashes of cached files, every tensor through the engine, and whether it fits in memory.
import { inspectWithEngine, planPrecisions } from '../../../models/engine-check';
import { assessFit, verifyModel, type VerifyReport } from '../../../models/index';
import { formatBytes } from '../../../models/units';
import { CliError, integerFlag, type CliCommand, type CliIo } from '../../command';
import { chooseModel } from '../../model-choice';
import { progressPrinter } from './progress';

const DEFAULT_CONTEXT = 8192;

function printReport(report: VerifyReport, fitMessage: string | undefined, io: CliIo): void {
  const w = (s: string) => io.stdout.write(`${s}\n`);
  w(`Model folder: ${report.dir}`);
  w(`  files:  ${report.check.ok ? `ok (${report.check.layout} layout, weights ${formatBytes(report.check.weightBytes)})` : 'PROBLEMS'}`);
  for (const problem of report.check.problems) w(`    - ${problem}`);
  for (const h of report.hashes) w(`  ${h.algorithm} ${h.file}: ${h.ok ? 'ok' : `MISMATCH (expected ${h.expected}, got ${h.actual}): download it again`}`);
  if (report.unhashed.length > 0) w(`  not hashed (no reference hash outside a cache): ${report.unhashed.join(', ')}`);
  const e = report.engine;
  if (e) w(`  engine: ${e.status === 'ok' ? `ok (${e.tensorCount} tensors, ${formatBytes(e.weightBytes)})` : e.status === 'failed' ? `FAILED: ${e.message}` : e.message}`);
  if (fitMessage) w(`  memory: ${fitMessage}`);
  w(report.ok ? 'OK' : 'PROBLEMS FOUND');
}

export const verifyCommand: CliCommand = {
  name: 'verify',
  summary: 'check a model folder: files, hashes, tensors (engine), whether it fits in memory',
  usage: `usage: pixtral models verify [DIR] [options]

Checks the model folder DIR (default: the model in use, the one "pixtral models list" marks):
every file and its size, the sha256 of files in a Hugging Face cache, every tensor through the
engine, and whether it fits in memory. Exit 1 when a problem is found.

options:
  --context N         context length in tokens for the memory check (default ${DEFAULT_CONTEXT})
  --quick             skip hashing the files
  --json              machine-readable output`,
  options: {
    context: { type: 'string' },
    quick: { type: 'boolean' },
    json: { type: 'boolean' },
  },
  operands: { name: 'model folder', min: 0, max: 1 },
  async run({ values, positionals }, io) {
    // A broken model is still worth verifying: the report says what is wrong with it.
    const dir = await chooseModel(positionals[0], { orBroken: true });
    if (!dir) throw new CliError('no Pixtral model found; run "pixtral models download", or give a model folder');
    const context = integerFlag(values, 'context') ?? DEFAULT_CONTEXT;
    const progress = progressPrinter(io.stderr);
    const report = await verifyModel(dir, { hashes: !values.quick, inspect: inspectWithEngine, signal: io.signal, onProgress: (p) => progress.update(p) });
    progress.end();
    const fit = report.check.dims && report.engine?.status === 'ok'
      ? assessFit({ dims: report.check.dims, plans: planPrecisions(dir, { contextLength: context }), contextLength: context })
      : undefined;
    if (values.json) io.stdout.write(`${JSON.stringify({ ...report, fit }, null, 2)}\n`);
    else printReport(report, fit?.message, io);
    return report.ok ? 0 : 1;
  },
};
