// Is this folder a complete Pixtral checkpoint the engine can load? A cheap TypeScript check run
// before anything loads: the layout (detected as the engine does), every required file present,
// each safetensors file exactly as long as its header says (a truncated or padded download shows
// here), the config readable and supported, tekken.json present. Every problem is a sentence that
// says what to do. The deep check of tensor names and shapes is the engine's inspectModel.
import { open, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { TEKKEN_FILE, TEKKEN_SOURCE_REPO, type Layout } from './catalog';
import { dimsFromHfConfig, dimsFromParams, type ModelDims } from './model-config';
import { isBuiltInSketchModel, isRandomWeightTestModel } from './embedded';

export interface FolderCheck {
  dir: string;
  layout: Layout | undefined;
  /** The config describes a Pixtral-style vision model. */
  pixtral: boolean;
  ok: boolean;
  /** Required files that are absent (or dangling links), relative to `dir`. */
  missing: string[];
  /** Human sentences, one per problem; empty when ok. */
  problems: string[];
  /** Size of the weight files present. */
  weightBytes: number;
  dims: ModelDims | undefined;
  /** A fixture folder with random weights (see embedded.ts): loadable, but its text means nothing. */
  randomWeights: boolean;
  /** The small built-in sketch model shipped with Pixtral (see embedded.ts). */
  builtIn: boolean;
}

const MAX_HEADER = 100 << 20; // safetensors headers are a few MB at most

async function isFile(file: string): Promise<boolean> {
  return stat(file).then((s) => s.isFile(), () => false);
}

/** Undefined if the file is exactly as long as its header describes, else the problem. */
export async function safetensorsSizeProblem(file: string): Promise<string | undefined> {
  const name = path.basename(file);
  const fh = await open(file, 'r');
  try {
    const size = (await fh.stat()).size;
    const prefix = Buffer.alloc(8);
    if ((await fh.read(prefix, 0, 8, 0)).bytesRead < 8) return `${name} is too short to be a safetensors file (${size} bytes)`;
    const headerLength = prefix.readBigUInt64LE(0);
    if (headerLength > BigInt(Math.min(MAX_HEADER, size - 8))) return `${name} is not a valid safetensors file (header length ${headerLength} with ${size} bytes)`;
    const header = Buffer.alloc(Number(headerLength));
    await fh.read(header, 0, header.length, 8);
    let dataEnd = 0;
    try {
      const tensors = JSON.parse(header.toString('utf8')) as Record<string, { data_offsets?: [number, number] }>;
      for (const [key, t] of Object.entries(tensors)) {
        if (key !== '__metadata__' && Array.isArray(t?.data_offsets)) dataEnd = Math.max(dataEnd, Number(t.data_offsets[1]));
      }
    } catch {
      return `${name} has an unreadable safetensors header`;
    }
    const expected = 8 + header.length + dataEnd;
    if (size < expected) return `${name} is truncated: ${size} bytes where its header describes ${expected}`;
    if (size > expected) return `${name} has ${size - expected} bytes more than its header describes`;
    return undefined;
  } finally {
    await fh.close();
  }
}

/** Shard file names listed in a model.safetensors.index.json. */
async function shardsOf(indexFile: string): Promise<string[]> {
  const index = JSON.parse(await readFile(indexFile, 'utf8')) as { weight_map?: Record<string, string> };
  if (typeof index.weight_map !== 'object' || index.weight_map === null) throw new Error('no "weight_map"');
  return [...new Set(Object.values(index.weight_map))].sort();
}

function detectLayout(has: (f: string) => boolean): Layout | undefined {
  // The engine's order: Mistral when params.json and its weights are there, else transformers.
  if (has('params.json') && has('consolidated.safetensors')) return 'mistral';
  if (has('config.json')) return 'hf';
  if (has('params.json')) return 'mistral';
  return undefined;
}

export async function checkModelFolder(dir: string): Promise<FolderCheck> {
  const result: FolderCheck = {
    dir,
    layout: undefined,
    pixtral: false,
    ok: false,
    missing: [],
    problems: [],
    weightBytes: 0,
    dims: undefined,
    randomWeights: isRandomWeightTestModel(dir),
    builtIn: isBuiltInSketchModel(dir),
  };
  const isDir = await stat(dir).then((s) => s.isDirectory(), () => false);
  if (!isDir) {
    result.problems.push(`${dir} is not a folder or does not exist.`);
    return result;
  }
  const names = ['params.json', 'consolidated.safetensors', 'config.json', 'model.safetensors', 'model.safetensors.index.json', TEKKEN_FILE];
  const present = new Set<string>();
  for (const name of names) if (await isFile(path.join(dir, name))) present.add(name);
  const has = (f: string) => present.has(f);
  const layout = detectLayout(has);
  result.layout = layout;
  if (!layout) {
    result.problems.push(`${dir} holds no model: expected params.json + consolidated.safetensors (Mistral layout) or config.json + model*.safetensors (transformers layout).`);
    return result;
  }

  const configFile = layout === 'mistral' ? 'params.json' : 'config.json';
  try {
    const text = await readFile(path.join(dir, configFile), 'utf8');
    result.dims = layout === 'mistral' ? dimsFromParams(text) : dimsFromHfConfig(text);
    result.pixtral = result.dims.vision !== undefined;
    if (!result.pixtral) result.problems.push(`${configFile} describes a text-only model (no vision encoder); Pixtral needs one.`);
  } catch (err) {
    result.problems.push(`${(err as Error).message}.`);
  }

  let weights: string[] = [];
  if (layout === 'mistral') {
    weights = ['consolidated.safetensors'];
  } else if (has('model.safetensors')) {
    weights = ['model.safetensors'];
  } else if (has('model.safetensors.index.json')) {
    try {
      weights = await shardsOf(path.join(dir, 'model.safetensors.index.json'));
    } catch (err) {
      result.problems.push(`model.safetensors.index.json is unreadable (${(err as Error).message}); download it again.`);
    }
  } else {
    result.missing.push('model.safetensors.index.json');
    result.problems.push('config.json is there but no weights: neither model.safetensors nor model.safetensors.index.json; the download is incomplete.');
  }

  for (const file of weights) {
    const full = path.join(dir, file);
    if (!(await isFile(full))) {
      result.missing.push(file);
      result.problems.push(`${file} is missing; the download is incomplete (run "pixtral models download" again, it resumes).`);
      continue;
    }
    result.weightBytes += (await stat(full)).size;
    const problem = await safetensorsSizeProblem(full);
    if (problem) result.problems.push(`${problem}; download it again.`);
  }

  if (!has(TEKKEN_FILE)) {
    result.missing.push(TEKKEN_FILE);
    result.problems.push(
      layout === 'mistral'
        ? `${TEKKEN_FILE} (the tokenizer) is missing; download the model again.`
        : `${TEKKEN_FILE} (the tokenizer) is missing: transformers-layout folders ship tokenizer.json, whose split regex is wrong for Pixtral, so it is not used. ` +
            `Fetch tekken.json from ${TEKKEN_SOURCE_REPO} with "pixtral models tokenizer --model ${dir}" (that repository is gated: accept its licence on the hub and set HF_TOKEN), or copy it into the folder.`,
    );
  }
  result.ok = result.problems.length === 0;
  return result;
}
