// The Pixtral checkpoints we know by name (spec j) and the rule that picks, from a repository's file
// list, the files the engine needs. Everything else in a repository (README, tokenizer.json, other
// weight formats) is left on the hub.

export type Layout = 'mistral' | 'hf';

export interface KnownCheckpoint {
  repo: string;
  layout: Layout;
  /** Licence acceptance on the hub page needed before files can be downloaded. */
  gated: boolean;
  description: string;
}

/** The official release, Mistral layout: what the product loads by default. */
export const PIXTRAL_MISTRAL_REPO = 'mistralai/Pixtral-12B-2409';
/** The transformers conversion: sharded weights, no tekken.json. */
export const PIXTRAL_HF_REPO = 'mistral-community/pixtral-12b';

export const KNOWN_CHECKPOINTS: readonly KnownCheckpoint[] = [
  { repo: PIXTRAL_MISTRAL_REPO, layout: 'mistral', gated: true, description: 'Pixtral 12B, Mistral layout (official, gated)' },
  { repo: PIXTRAL_HF_REPO, layout: 'hf', gated: false, description: 'Pixtral 12B, transformers layout (sharded)' },
];

/**
 * Where a transformers-layout folder gets its tokenizer: the tokenizer.json of converted repos was
 * generated with the wrong split regex (spec h.3), so the engine only ever reads tekken.json.
 */
export const TEKKEN_FILE = 'tekken.json';
export const TEKKEN_SOURCE_REPO = PIXTRAL_MISTRAL_REPO;

const HF_WEIGHTS = /^model(-\d+-of-\d+)?\.safetensors$/;

export interface FileSelection {
  layout: Layout;
  files: string[];
  /** tekken.json is not in the repository and must come from TEKKEN_SOURCE_REPO. */
  needsTekken: boolean;
}

/** The files to fetch from a repository listing, or undefined if it holds no Pixtral checkpoint. */
export function selectModelFiles(repoFiles: readonly string[]): FileSelection | undefined {
  const has = new Set(repoFiles);
  const tekken = has.has(TEKKEN_FILE) ? [TEKKEN_FILE] : [];
  if (has.has('params.json') && has.has('consolidated.safetensors')) {
    return { layout: 'mistral', files: ['params.json', ...tekken, 'consolidated.safetensors'], needsTekken: tekken.length === 0 };
  }
  const weights = repoFiles.filter((f) => HF_WEIGHTS.test(f)).sort();
  if (has.has('config.json') && weights.length > 0) {
    const index = has.has('model.safetensors.index.json') ? ['model.safetensors.index.json'] : [];
    return { layout: 'hf', files: ['config.json', ...index, ...tekken, ...weights], needsTekken: tekken.length === 0 };
  }
  return undefined;
}
