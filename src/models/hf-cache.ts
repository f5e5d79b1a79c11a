// The Hugging Face hub cache layout, so that what we download is reused by other tools and what
// they downloaded is reused by us:
//   <root>/models--{org}--{name}/blobs/<sha256 or git sha1>        file contents, by hash
//   <root>/models--{org}--{name}/blobs/<hash>.incomplete           a download in progress
//   <root>/models--{org}--{name}/snapshots/<commit>/<path>         relative symlink to ../../blobs/<hash>
//   <root>/models--{org}--{name}/refs/<revision>                   the commit hash the revision points to
// A loader only looks in snapshots/, and an entry appears there only once its blob is complete.
import { copyFile, link, mkdir, readdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';

export interface CacheRepo {
  root: string;
  repo: string;
  /** <root>/models--{org}--{name} */
  dir: string;
}

export function repoFolderName(repo: string): string {
  return `models--${repo.split('/').join('--')}`;
}

/** `models--org--name` → `org/name`; undefined for anything else (datasets--, .locks, ...). */
export function repoFromFolderName(name: string): string | undefined {
  const m = /^models--([^/\\]+?)--([^/\\]+)$/.exec(name);
  return m ? `${m[1]}/${m[2]}` : undefined;
}

export function cacheRepo(root: string, repo: string): CacheRepo {
  return { root, repo, dir: path.join(root, repoFolderName(repo)) };
}

export function blobPath(r: CacheRepo, hash: string): string {
  return path.join(r.dir, 'blobs', hash);
}

export function snapshotDir(r: CacheRepo, commit: string): string {
  return path.join(r.dir, 'snapshots', commit);
}

/** The repository folders under a cache root (none if the root does not exist). */
export async function listCacheRepos(root: string): Promise<CacheRepo[]> {
  const names = await readdir(root).catch(() => [] as string[]);
  return names.flatMap((name) => {
    const repo = repoFromFolderName(name);
    return repo ? [{ root, repo, dir: path.join(root, name) }] : [];
  });
}

/** Commits that have a snapshot folder. */
export async function listSnapshots(r: CacheRepo): Promise<string[]> {
  const entries = await readdir(path.join(r.dir, 'snapshots'), { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isDirectory()).map((e) => e.name);
}

/** Revision name → commit, from refs/ (names may have slashes, e.g. refs/pr/1). */
export async function readRefs(r: CacheRepo): Promise<Map<string, string>> {
  const refsDir = path.join(r.dir, 'refs');
  const files = await readdir(refsDir, { recursive: true, withFileTypes: true }).catch(() => []);
  const refs = new Map<string, string>();
  for (const f of files) {
    if (!f.isFile()) continue;
    const full = path.join(f.parentPath ?? f.path, f.name);
    const commit = (await readFile(full, 'utf8').catch(() => '')).trim();
    if (commit) refs.set(path.relative(refsDir, full).split(path.sep).join('/'), commit);
  }
  return refs;
}

/** Recognizes `<root>/models--{org}--{name}/snapshots/<commit>` (a model folder inside a cache). */
export function parseSnapshotDir(dir: string): { repo: CacheRepo; commit: string } | undefined {
  const abs = path.resolve(dir);
  const commit = path.basename(abs);
  const snapshots = path.dirname(abs);
  const repoDir = path.dirname(snapshots);
  const repo = repoFromFolderName(path.basename(repoDir));
  if (path.basename(snapshots) !== 'snapshots' || !repo) return undefined;
  return { repo: { root: path.dirname(repoDir), repo, dir: repoDir }, commit };
}

async function replaceAtomically(target: string, create: (tmp: string) => Promise<void>): Promise<void> {
  await mkdir(path.dirname(target), { recursive: true });
  const tmp = `${target}.tmp-${process.pid}`;
  await rm(tmp, { force: true });
  await create(tmp);
  await rename(tmp, target);
}

/**
 * Makes `snapshots/<commit>/<file>` point at a complete blob: a relative symlink as
 * huggingface_hub makes it; where symlinks are not allowed (Windows without developer mode) a
 * hard link, else a copy. The entry replaces any previous one in a single rename.
 */
export async function linkSnapshotFile(r: CacheRepo, commit: string, file: string, hash: string): Promise<void> {
  const target = path.join(snapshotDir(r, commit), ...file.split('/'));
  const blob = blobPath(r, hash);
  await replaceAtomically(target, async (tmp) => {
    try {
      await symlink(path.relative(path.dirname(target), blob), tmp, 'file');
    } catch (err) {
      if (!['EPERM', 'EACCES', 'ENOTSUP', 'EINVAL'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err;
      await link(blob, tmp).catch(() => copyFile(blob, tmp));
    }
  });
}

/** Records that `revision` (a branch or tag name) points to `commit`. */
export async function writeRef(r: CacheRepo, revision: string, commit: string): Promise<void> {
  await replaceAtomically(path.join(r.dir, 'refs', ...revision.split('/')), (tmp) => writeFile(tmp, commit));
}
