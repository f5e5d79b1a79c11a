// `pixtral models list|download|verify|rm|tokenizer`: the model manager (src/models/) on the command
// line. Results go to stdout, progress to stderr (one rewritten line on a terminal, a line every few
// seconds otherwise). Ctrl-C stops a download cleanly; running the command again resumes it.
import { inspectWithEngine } from '../../models/engine-check';
import {
  assessFit,
  checkModelFolder,
  chooseModelDir,
  downloadModel,
  fetchTekken,
  findModels,
  modelEnv,
  ModelError,
  pickModel,
  PIXTRAL_MISTRAL_REPO,
  removeModel,
  verifyModel,
  type DownloadProgress,
  type ModelCandidate,
  type VerifyReport,
} from '../../models/index';
import { formatBytes, formatDuration } from '../../models/units';
import { CliError, integerFlag, type CliCommand, type CliIo } from '../command';

const DEFAULT_CONTEXT = 8192;

const usage = `usage: pixtral models <list|download|verify|rm|tokenizer> [options]

Find, download, check and remove Pixtral checkpoints.

  list                Pixtral models on this machine (--model folder, Hugging Face caches, Pixtral's
                      storage folder) and whether each can load; the one used is marked
  download [REPO]     download a checkpoint into the Hugging Face cache (default ${PIXTRAL_MISTRAL_REPO});
                      does nothing if a complete copy exists, resumes an interrupted download
  verify              check a model folder: files and sizes, hashes of cached files, tensors (engine),
                      whether it fits in memory
  rm REPO|DIR         delete a downloaded model (a repository from the caches, or one snapshot folder)
  tokenizer           put tekken.json into a transformers-layout folder (--model DIR)

options:
  --model DIR         the model folder (default: the first usable model found)
  --revision REV      download: branch, tag or commit (default main)
  --cache-dir DIR     download, rm: the hub cache to use (default HF_HUB_CACHE, HF_HOME/hub,
                      ~/.cache/huggingface/hub)
  --connections N     download: parallel connections per file (default 8)
  --context N         verify: context length in tokens for the memory check (default ${DEFAULT_CONTEXT})
  --quick             verify: skip hashing the files
  --json              list, verify: machine-readable output

environment: HF_TOKEN (gated repositories), HF_ENDPOINT, HF_HUB_CACHE, HF_HOME, HF_HUB_OFFLINE,
PIXTRAL_MODELS_DIR (Pixtral's storage folder)`;

/** Progress on stderr: a rewritten line on a terminal, otherwise a line every few seconds. */
function progressPrinter(stream: NodeJS.WritableStream): { update(p: DownloadProgress): void; end(): void } {
  const tty = (stream as NodeJS.WriteStream).isTTY === true;
  let lastLine = 0;
  let lastKey = '';
  let open = false;
  return {
    update(p) {
      const pct = p.bytesTotal > 0 ? ((100 * p.bytesDone) / p.bytesTotal).toFixed(1) : '100.0';
      const rate = p.bytesPerSecond > 0 ? `  ${formatBytes(p.bytesPerSecond)}/s` : '';
      const left = p.etaSeconds !== undefined ? `  ETA ${formatDuration(p.etaSeconds)}` : '';
      const line = `${p.phase} ${p.file}  ${formatBytes(p.bytesDone)} / ${formatBytes(p.bytesTotal)} (${pct}%)${rate}${left}`;
      const key = `${p.phase} ${p.file}`;
      if (tty) {
        stream.write(`\r\x1b[2K${line}`);
        open = true;
      } else if (key !== lastKey || Date.now() - lastLine > 3000) {
        stream.write(`${line}\n`);
        lastLine = Date.now();
      }
      lastKey = key;
    },
    end() {
      if (open) stream.write('\n');
      open = false;
    },
  };
}

function describeCandidate(c: ModelCandidate): string {
  const name = c.repo ? `${c.repo} (${[...c.refs, c.commit?.slice(0, 10)].filter(Boolean).join(', ')})` : c.dir;
  const size = c.check.weightBytes > 0 ? `, ${formatBytes(c.check.weightBytes)}` : '';
  const layout = c.check.layout ? `${c.check.layout === 'mistral' ? 'Mistral' : 'transformers'} layout` : 'no model';
  return `${name}  [${c.source}] ${layout}${size}`;
}

async function list(values: Record<string, unknown>, io: CliIo): Promise<number> {
  const candidates = await findModels({ settingDir: values.model as string | undefined });
  const used = pickModel(candidates);
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
    const mark = c === used ? '* ' : '  ';
    io.stdout.write(`${mark}${c.check.ok ? 'ok     ' : 'PROBLEM'}  ${describeCandidate(c)}\n           ${c.dir}\n`);
    for (const problem of c.check.problems) io.stdout.write(`           - ${problem}\n`);
  }
  io.stdout.write(used ? `\n* is the model Pixtral uses (the first that is ok).\n` : `\nNo usable model: fix one above or run "pixtral models download".\n`);
  return 0;
}

async function download(values: Record<string, unknown>, positionals: string[], io: CliIo): Promise<number> {
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
}

function printVerify(report: VerifyReport, fitMessage: string | undefined, io: CliIo): void {
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

async function verify(values: Record<string, unknown>, io: CliIo): Promise<number> {
  // A broken model is still worth verifying: the report says what is wrong with it.
  const dir = await chooseModelDir(values.model as string | undefined, { orBroken: true });
  if (!dir) throw new CliError('no Pixtral model found; run "pixtral models download", or pass --model DIR');
  const context = integerFlag(values, 'context') ?? DEFAULT_CONTEXT;
  const progress = progressPrinter(io.stderr);
  const report = await verifyModel(dir, { hashes: !values.quick, inspect: inspectWithEngine, signal: io.signal, onProgress: (p) => progress.update(p) });
  progress.end();
  const fit = report.check.dims ? assessFit({ dims: report.check.dims, contextLength: context }) : undefined;
  if (values.json) io.stdout.write(`${JSON.stringify({ ...report, fit }, null, 2)}\n`);
  else printVerify(report, fit?.message, io);
  return report.ok ? 0 : 1;
}

async function remove(values: Record<string, unknown>, positionals: string[], io: CliIo): Promise<number> {
  const target = positionals[0] ?? (values.model as string | undefined);
  if (!target) throw new CliError('pixtral models rm needs a repository id (org/name) or a model folder', 2);
  const result = await removeModel(target, { cacheDir: values['cache-dir'] as string | undefined });
  for (const p of result.removed) io.stdout.write(`removed ${p}\n`);
  io.stdout.write(`freed ${formatBytes(result.freedBytes)}\n`);
  return 0;
}

async function tokenizer(values: Record<string, unknown>, io: CliIo): Promise<number> {
  if (typeof values.model !== 'string') throw new CliError('pixtral models tokenizer needs --model DIR (a transformers-layout folder)', 2);
  const check = await checkModelFolder(values.model);
  if (check.layout !== 'hf') throw new CliError(`${values.model} is not a transformers-layout model folder; tekken.json comes with the Mistral layout download`);
  const file = await fetchTekken(values.model, { signal: io.signal });
  io.stdout.write(`${file}\n`);
  return 0;
}

export const modelsCommand: CliCommand = {
  name: 'models',
  summary: 'list, download, verify or remove Pixtral checkpoints',
  usage,
  options: {
    model: { type: 'string' },
    revision: { type: 'string' },
    'cache-dir': { type: 'string' },
    connections: { type: 'string' },
    context: { type: 'string' },
    quick: { type: 'boolean' },
    json: { type: 'boolean' },
  },
  async run({ values, positionals }, io) {
    const [sub, ...rest] = positionals;
    try {
      switch (sub) {
        case 'list':
          return await list(values, io);
        case 'download':
          return await download(values, rest, io);
        case 'verify':
          return await verify(values, io);
        case 'rm':
          return await remove(values, rest, io);
        case 'tokenizer':
          return await tokenizer(values, io);
        default:
          throw new CliError(`${sub ? `unknown models command "${sub}"` : 'missing models command'}\n\n${usage}`, 2);
      }
    } catch (err) {
      // The model manager's errors are written for the user: print them without a stack.
      if (err instanceof ModelError) throw new CliError(err.message);
      throw err;
    }
  },
};
