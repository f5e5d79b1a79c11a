// Where is a Pixtral model on this machine? In order: the folder the user set; the Hugging Face
// caches (HF_HUB_CACHE, HF_HOME/hub, the default path), a snapshot named by refs/ (main first)
// before older ones; then our own storage folder (cache layout or plain folders). Every candidate
// comes with its folder check, so a broken one is reported with what is missing, never loaded.
// Last, the embedded default model (embedded.ts).
import { realpath, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { KNOWN_CHECKPOINTS } from './catalog';
import { modelEnv, type ModelEnv } from './env';
import { listCacheRepos, listSnapshots, parseSnapshotDir, readRefs, repoFromFolderName, snapshotDir, type CacheRepo } from './hf-cache';
import { embeddedModelDir } from './embedded';
import { checkModelFolder, type FolderCheck } from './model-folder';

export type ModelSource = 'setting' | 'hf-cache' | 'storage' | 'embedded';

export interface ModelCandidate {
  dir: string;
  source: ModelSource;
  /** Cache entries: repository id, commit of the snapshot, and revisions (refs) pointing at it. */
  repo?: string;
  commit?: string;
  refs: string[];
  check: FolderCheck;
}

export interface FindOptions {
  /** The folder the user chose (setting or --model): always listed first, even when broken. */
  settingDir?: string;
  env?: ModelEnv;
  /** Append the embedded default model (embedded.ts) as the last resort. */
  includeEmbedded?: boolean;
}

const knownRank = (repo: string) => {
  const i = KNOWN_CHECKPOINTS.findIndex((k) => k.repo.toLowerCase() === repo.toLowerCase());
  return i < 0 ? KNOWN_CHECKPOINTS.length : i;
};

async function isDir(dir: string): Promise<boolean> {
  return stat(dir).then((s) => s.isDirectory(), () => false);
}

/** Snapshots of one cached repository: those named by a ref first (main before others), then the rest, newest first. */
async function repoCandidates(repo: CacheRepo, source: ModelSource, includeAll: boolean): Promise<ModelCandidate[]> {
  const refs = await readRefs(repo);
  const commits = await listSnapshots(repo);
  const refsOf = (commit: string) => [...refs].filter(([, c]) => c === commit).map(([name]) => name).sort((a, b) => Number(b === 'main') - Number(a === 'main'));
  const mtime = async (commit: string) => stat(snapshotDir(repo, commit)).then((s) => s.mtimeMs, () => 0);
  const keyed = await Promise.all(commits.map(async (commit) => ({ commit, names: refsOf(commit), mtime: await mtime(commit) })));
  keyed.sort((a, b) =>
    Number(b.names.includes('main')) - Number(a.names.includes('main')) ||
    Number(b.names.length > 0) - Number(a.names.length > 0) ||
    b.mtime - a.mtime,
  );
  const out: ModelCandidate[] = [];
  for (const { commit, names } of keyed) {
    const dir = snapshotDir(repo, commit);
    const check = await checkModelFolder(dir);
    // Other models share the cache; list only Pixtral checkpoints (known by name or by config).
    if (includeAll || knownRank(repo.repo) < KNOWN_CHECKPOINTS.length || check.pixtral) {
      out.push({ dir, source, repo: repo.repo, commit, refs: names, check });
    }
  }
  return out;
}

async function cacheCandidates(root: string, source: ModelSource): Promise<ModelCandidate[]> {
  const repos = (await listCacheRepos(root)).sort((a, b) => knownRank(a.repo) - knownRank(b.repo) || a.repo.localeCompare(b.repo));
  const lists = await Promise.all(repos.map((r) => repoCandidates(r, source, false)));
  return lists.flat();
}

/** A folder the user pointed at: a model folder, a cache repository folder, or a whole cache. */
async function settingCandidates(dir: string): Promise<ModelCandidate[]> {
  const abs = path.resolve(dir);
  if (await isDir(path.join(abs, 'snapshots'))) {
    const repo = repoFromFolderName(path.basename(abs)) ?? path.basename(abs);
    const list = await repoCandidates({ root: path.dirname(abs), repo, dir: abs }, 'setting', true);
    if (list.length > 0) return list;
  } else if ((await listCacheRepos(abs)).length > 0) {
    const list = await cacheCandidates(abs, 'setting');
    if (list.length > 0) return list;
  }
  const snapshot = parseSnapshotDir(abs);
  return [{ dir: abs, source: 'setting', repo: snapshot?.repo.repo, commit: snapshot?.commit, refs: [], check: await checkModelFolder(abs) }];
}

/** Our storage folder holds cache-layout repositories and plain model folders side by side. */
async function storageCandidates(root: string): Promise<ModelCandidate[]> {
  const out = await cacheCandidates(root, 'storage');
  const entries = await readdir(root, { withFileTypes: true }).catch(() => []);
  for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    if (e.name.startsWith('.') || e.name.startsWith('models--')) continue;
    const dir = path.join(root, e.name);
    if (!(await isDir(dir))) continue;
    const check = await checkModelFolder(dir);
    if (check.layout) out.push({ dir, source: 'storage', refs: [], check });
  }
  return out;
}

/** Every candidate, in the order they should be tried; the same folder (by real path) once. */
export async function findModels(options: FindOptions = {}): Promise<ModelCandidate[]> {
  const env = options.env ?? modelEnv();
  const lists: ModelCandidate[][] = [];
  if (options.settingDir) lists.push(await settingCandidates(options.settingDir));
  for (const root of env.hubCaches) lists.push(await cacheCandidates(root, 'hf-cache'));
  lists.push(await storageCandidates(env.storageDir));
  // Last resort: the embedded default (the random-weight fixture model until a trained one ships).
  const embedded = options.includeEmbedded ? embeddedModelDir(env.fixturesDir) : undefined;
  if (embedded) lists.push([{ dir: embedded, source: 'embedded', refs: [], check: await checkModelFolder(embedded) }]);

  const seen = new Set<string>();
  const out: ModelCandidate[] = [];
  for (const c of lists.flat()) {
    const key = await realpath(c.dir).catch(() => c.dir);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(c);
  }
  return out;
}

/** The first candidate that passes its check. */
export function pickModel(candidates: readonly ModelCandidate[]): ModelCandidate | undefined {
  return candidates.find((c) => c.check.ok);
}

export interface ChooseOptions extends FindOptions {
  /** With no usable candidate, take the first one anyway: for a command that reports on it. */
  orBroken?: boolean;
}

/**
 * The model folder a command works on: `explicit` (its --model) as given, else the first usable
 * candidate of findModels; undefined when there is none, so each caller words its own error.
 */
export async function chooseModelDir(explicit: string | undefined, options: ChooseOptions = {}): Promise<string | undefined> {
  if (explicit !== undefined) return explicit;
  const candidates = await findModels(options);
  return (pickModel(candidates) ?? (options.orBroken ? candidates[0] : undefined))?.dir;
}
