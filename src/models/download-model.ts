// Downloading a whole checkpoint into a Hugging Face cache: never twice (a complete copy anywhere we
// look is used as is), only the files the engine needs, small files first (so a gated repository
// fails within a second, not after 25 GB), after a disk-space check, and published as a snapshot
// only once every blob is complete and verified. A transformers-layout repository gets tekken.json
// from the official repository. This is the API the CLI and the VS Code commands call.
import { stat, statfs } from 'node:fs/promises';
import path from 'node:path';
import { PIXTRAL_MISTRAL_REPO, selectModelFiles, TEKKEN_FILE, TEKKEN_SOURCE_REPO } from './catalog';
import { DEFAULT_TUNING, downloadBlob, type BlobEvents, type TransferTuning } from './download';
import { modelEnv, type ModelEnv } from './env';
import { ModelError } from './errors';
import { findModels, type ModelCandidate } from './find';
import { blobPath, cacheRepo, linkSnapshotFile, parseSnapshotDir, snapshotDir, writeRef } from './hf-cache';
import { envTokenProvider, fetchRepoInfo, HubError, resolveUrl, type HubContext, type RepoFile, type TokenProvider } from './hub-api';
import { checkModelFolder, type FolderCheck } from './model-folder';
import { eta, RateMeter, throttle, type ProgressCallback } from './progress';
import { formatBytes } from './units';

export interface DownloadOptions {
  env?: ModelEnv;
  /** Hub token source, e.g. VS Code SecretStorage; default HF_TOKEN or the huggingface-cli login file. */
  token?: TokenProvider;
  signal?: AbortSignal;
  onProgress?: ProgressCallback;
  tuning?: Partial<TransferTuning>;
}

export interface DownloadModelOptions extends DownloadOptions {
  /** Default mistralai/Pixtral-12B-2409. */
  repo?: string;
  /** Branch, tag or commit; default main. */
  revision?: string;
  /** Hub cache root to download into; default the HF cache other tools use. */
  cacheDir?: string;
}

export interface DownloadModelResult {
  /** The model folder (a snapshot in the cache). */
  dir: string;
  repo: string;
  commit: string;
  /** A complete copy was found; nothing was downloaded. */
  alreadyPresent: boolean;
  /** Bytes fetched over the network in this call. */
  downloadedBytes: number;
  /** The folder check after the download: `check.ok` means the engine can load `dir`. */
  check: FolderCheck;
  /** Things that went wrong without stopping the download (e.g. tekken.json refused). */
  warnings: string[];
}

export class DiskSpaceError extends ModelError {
  override name = 'DiskSpaceError';
}

const DISK_MARGIN = 64 << 20;

interface Item {
  file: RepoFile;
  url: string;
  dest: string;
  /** Failing to get it is a warning, not an error (tekken.json from the gated repository). */
  optional: boolean;
}

// Progress over a set of files: bytes present, network rate, time left.
class Tracker {
  private readonly meter = new RateMeter();
  private readonly emit: ReturnType<typeof throttle>;
  /** Bytes fetched over the network (not found on disk). */
  downloaded = 0;

  constructor(
    private done: number,
    private readonly total: number,
    onProgress: ProgressCallback | undefined,
  ) {
    this.emit = throttle(onProgress);
  }

  events(file: string, size: number): BlobEvents {
    let verified = 0;
    const verifying = (force = false) =>
      this.emit({ phase: 'verifying', file, bytesDone: verified, bytesTotal: size, bytesPerSecond: 0, etaSeconds: undefined }, force);
    return {
      onResumed: (n) => (this.done += n),
      onBytes: (n) => {
        this.done += n;
        this.downloaded += n;
        this.meter.add(n);
        const rate = this.meter.rate();
        this.emit({ phase: 'downloading', file, bytesDone: this.done, bytesTotal: this.total, bytesPerSecond: rate, etaSeconds: eta(this.total - this.done, rate) });
      },
      onVerifying: () => verifying(true),
      onVerifyBytes: (n) => {
        verified += n;
        verifying(verified === size);
      },
    };
  }
}

async function sizeOf(file: string): Promise<number | undefined> {
  return stat(file).then((s) => s.size, () => undefined);
}

/** Bytes the download still has to write, against the free space of the target's file system. */
async function checkDiskSpace(items: Item[], dir: string): Promise<void> {
  let needed = 0;
  for (const item of items) {
    if ((await sizeOf(item.dest)) === item.file.size) continue;
    // Allocated blocks, not length: a partial file written in parallel parts has holes.
    const partial = await stat(`${item.dest}.incomplete`).then((s) => (s.blocks ?? 0) * 512, () => 0);
    needed += Math.max(0, item.file.size - partial);
  }
  if (needed === 0) return;
  let existing = dir;
  while (!(await stat(existing).then(() => true, () => false)) && path.dirname(existing) !== existing) existing = path.dirname(existing);
  const fs = await statfs(existing);
  const free = fs.bavail * fs.bsize;
  if (free < needed + DISK_MARGIN) {
    throw new DiskSpaceError(
      `not enough disk space in ${existing}: the download needs ${formatBytes(needed)} more and ${formatBytes(free)} is free. ` +
        'Free some space, or download to another disk (--cache-dir, or HF_HUB_CACHE).',
    );
  }
}

async function hubContext(env: ModelEnv, options: DownloadOptions, what: string): Promise<HubContext> {
  if (env.offline) throw new HubError(`HF_HUB_OFFLINE is set, so ${what} cannot be downloaded; unset it or copy the files by hand.`, 'offline');
  const token = await (options.token ?? envTokenProvider(env))();
  return { endpoint: env.endpoint, token: token || undefined, signal: options.signal };
}

/** A complete copy of `repo` at `revision` in any cache we search, or in `cacheDir`. */
async function findPresent(repo: string, revision: string, cacheDir: string, env: ModelEnv): Promise<ModelCandidate | undefined> {
  const candidates = await findModels({ env, settingDir: cacheDir });
  return candidates.find(
    (c) => c.check.ok && c.repo?.toLowerCase() === repo.toLowerCase() && (c.refs.includes(revision) || c.commit === revision),
  );
}

async function tekkenSource(ctx: HubContext): Promise<{ file: RepoFile; url: string }> {
  const info = await fetchRepoInfo(TEKKEN_SOURCE_REPO, 'main', ctx);
  const file = info.files.find((f) => f.path === TEKKEN_FILE);
  if (!file) throw new HubError(`${TEKKEN_SOURCE_REPO} has no ${TEKKEN_FILE}`, 'not-found');
  return { file, url: resolveUrl(ctx.endpoint, TEKKEN_SOURCE_REPO, info.commit, TEKKEN_FILE) };
}

function tekkenWarning(err: HubError): string {
  return `${TEKKEN_FILE} could not be fetched from ${TEKKEN_SOURCE_REPO}: ${err.message}`;
}

export async function downloadModel(options: DownloadModelOptions = {}): Promise<DownloadModelResult> {
  const env = options.env ?? modelEnv();
  const repo = options.repo ?? PIXTRAL_MISTRAL_REPO;
  const revision = options.revision ?? 'main';
  const cacheDir = path.resolve(options.cacheDir ?? env.hubCache);
  const tuning = { ...DEFAULT_TUNING, ...options.tuning };

  const present = await findPresent(repo, revision, cacheDir, env);
  if (present?.commit) {
    return { dir: present.dir, repo, commit: present.commit, alreadyPresent: true, downloadedBytes: 0, check: present.check, warnings: [] };
  }

  const ctx = await hubContext(env, options, repo);
  const info = await fetchRepoInfo(repo, revision, ctx);
  const selection = selectModelFiles(info.files.map((f) => f.path));
  if (!selection) {
    throw new HubError(
      `${repo} holds no Pixtral checkpoint: expected params.json + consolidated.safetensors (Mistral layout) or config.json + model*.safetensors (transformers layout).`,
      'not-found',
    );
  }
  const target = cacheRepo(cacheDir, repo);
  const items: Item[] = info.files
    .filter((f) => selection.files.includes(f.path))
    .map((file) => ({ file, url: resolveUrl(ctx.endpoint, repo, info.commit, file.path), dest: blobPath(target, file.hash.hex), optional: false }));
  const warnings: string[] = [];
  if (selection.needsTekken) {
    try {
      const source = await tekkenSource(ctx);
      items.push({ ...source, dest: blobPath(target, source.file.hash.hex), optional: true });
    } catch (err) {
      if (!(err instanceof HubError) || options.signal?.aborted) throw err;
      warnings.push(tekkenWarning(err));
    }
  }
  items.sort((a, b) => a.file.size - b.file.size);

  await checkDiskSpace(items, path.join(target.dir, 'blobs'));
  const total = items.reduce((sum, i) => sum + i.file.size, 0);
  let alreadyOnDisk = 0;
  for (const item of items) if ((await sizeOf(item.dest)) === item.file.size) alreadyOnDisk += item.file.size;
  const tracker = new Tracker(alreadyOnDisk, total, options.onProgress);

  const fetched: Item[] = [];
  for (const item of items) {
    const job = { url: item.url, dest: item.dest, label: item.file.path, size: item.file.size, hash: item.file.hash };
    try {
      await downloadBlob(job, ctx, tuning, tracker.events(item.file.path, item.file.size));
      fetched.push(item);
    } catch (err) {
      if (!item.optional || !(err instanceof HubError) || options.signal?.aborted) throw err;
      warnings.push(tekkenWarning(err));
    }
  }

  // Every blob is complete: now the snapshot entries, then the ref that names them.
  for (const item of fetched) await linkSnapshotFile(target, info.commit, item.file.path, item.file.hash.hex);
  if (revision !== info.commit) await writeRef(target, revision, info.commit);
  const dir = snapshotDir(target, info.commit);
  return { dir, repo, commit: info.commit, alreadyPresent: false, downloadedBytes: tracker.downloaded, check: await checkModelFolder(dir), warnings };
}

/**
 * Puts tekken.json from the official repository into a transformers-layout model folder. Inside
 * a cache snapshot it becomes a blob of that repository plus a snapshot link; in a plain folder a
 * file written as tekken.json.incomplete and renamed once verified. Returns the file's path.
 */
export async function fetchTekken(dir: string, options: DownloadOptions = {}): Promise<string> {
  const env = options.env ?? modelEnv();
  const dest = path.join(dir, TEKKEN_FILE);
  if ((await sizeOf(dest)) !== undefined) return dest;
  const ctx = await hubContext(env, options, TEKKEN_FILE);
  const { file, url } = await tekkenSource(ctx);
  const snapshot = parseSnapshotDir(dir);
  const blobDest = snapshot ? blobPath(snapshot.repo, file.hash.hex) : dest;
  const items: Item[] = [{ file, url, dest: blobDest, optional: false }];
  await checkDiskSpace(items, path.dirname(blobDest));
  const tracker = new Tracker(0, file.size, options.onProgress);
  await downloadBlob({ url, dest: blobDest, label: TEKKEN_FILE, size: file.size, hash: file.hash }, ctx, { ...DEFAULT_TUNING, ...options.tuning }, tracker.events(TEKKEN_FILE, file.size));
  if (snapshot) await linkSnapshotFile(snapshot.repo, snapshot.commit, TEKKEN_FILE, file.hash.hex);
  return dest;
}
