// `pixtral models rm`: deletes a downloaded model from a hub cache. A repository id removes the
// whole repository folder from every cache searched; a snapshot folder removes that revision, its
// refs, and the blobs no other snapshot uses. Folders outside a cache are the user's own and are
// not deleted, except plain folders in our own storage folder. Refuses while a download is running.
import { lstat, readdir, readlink, rm } from 'node:fs/promises';
import path from 'node:path';
import { modelEnv, type ModelEnv } from './env';
import { ModelError } from './errors';
import { cacheRepo, listSnapshots, parseSnapshotDir, readRefs, repoFromFolderName, snapshotDir, type CacheRepo } from './hf-cache';
import { isLocked } from './lock';

export class RemoveError extends ModelError {
  override name = 'RemoveError';
}

export interface RemoveResult {
  removed: string[];
  freedBytes: number;
}

/** Bytes of the regular files under `dir` (links are not followed: a snapshot link frees nothing). */
async function diskBytes(dir: string): Promise<number> {
  const info = await lstat(dir).catch(() => undefined);
  if (!info) return 0;
  if (!info.isDirectory()) return info.isFile() ? info.size : 0;
  let total = 0;
  for (const name of await readdir(dir)) total += await diskBytes(path.join(dir, name));
  return total;
}

async function assertNoDownload(repo: CacheRepo): Promise<void> {
  const blobs = path.join(repo.dir, 'blobs');
  for (const name of await readdir(blobs).catch(() => [] as string[])) {
    if (name.endsWith('.lock') && (await isLocked(path.join(blobs, name)))) {
      throw new RemoveError(`${repo.repo} is being downloaded right now (${repo.dir}); stop that download first.`);
    }
  }
}

/** Blob names the snapshot links of a repository point to. */
async function referencedBlobs(repo: CacheRepo): Promise<Set<string>> {
  const used = new Set<string>();
  for (const commit of await listSnapshots(repo)) {
    const entries = await readdir(snapshotDir(repo, commit), { recursive: true, withFileTypes: true });
    for (const e of entries) {
      if (e.isSymbolicLink()) used.add(path.basename(await readlink(path.join(e.parentPath ?? e.path, e.name))));
    }
  }
  return used;
}

async function removeRepoFolder(repo: CacheRepo): Promise<RemoveResult> {
  await assertNoDownload(repo);
  const freedBytes = await diskBytes(repo.dir);
  await rm(repo.dir, { recursive: true, force: true });
  return { removed: [repo.dir], freedBytes };
}

async function removeSnapshot(repo: CacheRepo, commit: string): Promise<RemoveResult> {
  await assertNoDownload(repo);
  const others = (await listSnapshots(repo)).filter((c) => c !== commit);
  if (others.length === 0) return removeRepoFolder(repo);
  const dir = snapshotDir(repo, commit);
  let freedBytes = await diskBytes(dir);
  const removed = [dir];
  await rm(dir, { recursive: true, force: true });
  for (const [name, target] of await readRefs(repo)) {
    if (target === commit) await rm(path.join(repo.dir, 'refs', ...name.split('/')), { force: true });
  }
  const used = await referencedBlobs(repo);
  const blobs = path.join(repo.dir, 'blobs');
  for (const name of await readdir(blobs).catch(() => [] as string[])) {
    if (used.has(name) || name.includes('.')) continue; // in use, or a download's partial/lock files
    const blob = path.join(blobs, name);
    freedBytes += await diskBytes(blob);
    await rm(blob, { force: true });
    removed.push(blob);
  }
  return { removed, freedBytes };
}

/** `target`: a repository id (org/name) or a model folder. `cacheDir` limits a repository id to one cache. */
export async function removeModel(target: string, options: { env?: ModelEnv; cacheDir?: string } = {}): Promise<RemoveResult> {
  const env = options.env ?? modelEnv();
  const abs = path.resolve(target);
  const isFolder = await lstat(abs).then((s) => s.isDirectory(), () => false);
  if (isFolder) {
    const snapshot = parseSnapshotDir(abs);
    if (snapshot) return removeSnapshot(snapshot.repo, snapshot.commit);
    const repo = repoFromFolderName(path.basename(abs));
    if (repo) return removeRepoFolder({ root: path.dirname(abs), repo, dir: abs });
    if (path.dirname(abs) === path.resolve(env.storageDir)) {
      const freedBytes = await diskBytes(abs);
      await rm(abs, { recursive: true, force: true });
      return { removed: [abs], freedBytes };
    }
    throw new RemoveError(`${abs} is not in a Hugging Face cache or in Pixtral's storage folder; it is yours: delete it yourself if you no longer need it.`);
  }
  if (!/^[^/\s]+\/[^/\s]+$/.test(target)) throw new RemoveError(`"${target}" is neither a folder nor a repository id (org/name).`);
  const roots = options.cacheDir ? [path.resolve(options.cacheDir)] : [...env.hubCaches, env.storageDir];
  const result: RemoveResult = { removed: [], freedBytes: 0 };
  for (const root of [...new Set(roots)]) {
    const repo = cacheRepo(root, target);
    if (!(await lstat(repo.dir).then(() => true, () => false))) continue;
    const r = await removeRepoFolder(repo);
    result.removed.push(...r.removed);
    result.freedBytes += r.freedBytes;
  }
  if (result.removed.length === 0) throw new RemoveError(`${target} is not in any cache searched: ${roots.join(', ')}.`);
  return result;
}
