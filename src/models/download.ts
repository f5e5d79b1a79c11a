// One file from the hub to a content-addressed destination: parallel HTTP Range requests, resumable
// across runs, retried with backoff, checked against its hash, published by a single rename.
//
// On disk while it runs (nothing a loader would pick up):
//   <dest>.incomplete          the bytes, written at their offsets (huggingface_hub's name: a file
//                              it left half-way is adopted as a finished prefix, and vice versa)
//   <dest>.incomplete.parts    how many bytes of each part are safely on disk (synced first)
//   <dest>.incomplete.lock     the process that owns the download
// A wrong hash deletes the partial file: those bytes cannot be trusted for a resume.
import { constants } from 'node:fs';
import { open, readFile, rename, rm, stat, writeFile, type FileHandle } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { ModelError } from './errors';
import { hashFile } from './file-hash';
import { HubError, hubFetch, type HubContext, type RepoFile } from './hub-api';
import { acquireLock } from './lock';

export interface TransferTuning {
  /** Range requests in flight per file. */
  connections: number;
  /** Bytes per range request; also the unit of resume bookkeeping. */
  partSize: number;
  /** Failed attempts in a row (without a byte of progress) before a part gives up. */
  maxRetries: number;
  /** First pause after a failure; doubles each time, capped at 30 s, with jitter. */
  retryBaseMs: number;
  /** A request that delivers no byte for this long is dropped and retried. */
  stallTimeoutMs: number;
}

export const DEFAULT_TUNING: TransferTuning = {
  connections: 8,
  partSize: 64 << 20,
  maxRetries: 8,
  retryBaseMs: 1000,
  stallTimeoutMs: 60_000,
};

/** The downloaded bytes do not hash to what the hub announced. */
export class IntegrityError extends ModelError {
  override name = 'IntegrityError';
}

export interface BlobJob {
  /** The file's resolve URL (the hub redirects it to the CDN). */
  url: string;
  /** Final path; it exists only once complete and verified. */
  dest: string;
  /** Repository path of the file, for messages. */
  label: string;
  size: number;
  hash: RepoFile['hash'];
}

export interface BlobEvents {
  /** Bytes already on disk from an earlier run, reported once before any transfer. */
  onResumed?(bytes: number): void;
  onBytes?(bytes: number): void;
  onVerifyBytes?(bytes: number): void;
  /** Fired when verification starts. */
  onVerifying?(): void;
}

interface PartsFile {
  version: 1;
  size: number;
  hash: string;
  partSize: number;
  /** Bytes of part i (starting at i * partSize) that are on disk. */
  done: number[];
}

function partLength(state: PartsFile, i: number): number {
  return Math.min(state.partSize, state.size - i * state.partSize);
}

function emptyParts(job: BlobJob, partSize: number): PartsFile {
  const count = Math.ceil(job.size / partSize);
  return { version: 1, size: job.size, hash: job.hash.hex, partSize, done: new Array<number>(count).fill(0) };
}

async function writeJsonAtomically(file: string, value: unknown): Promise<void> {
  await writeFile(`${file}.tmp`, JSON.stringify(value));
  await rename(`${file}.tmp`, file);
}

/**
 * What is already on disk: our parts file if it matches this job, else a partial file left by
 * huggingface_hub (written front to back, so its length is a finished prefix), else nothing.
 * The parts file is written before any byte so it never under-describes the data file's origin.
 */
async function loadParts(job: BlobJob, incomplete: string, partsPath: string, partSize: number): Promise<PartsFile> {
  const fileSize = await stat(incomplete).then((s) => s.size, () => undefined);
  let state: PartsFile | undefined;
  if (fileSize !== undefined) {
    const saved = await readFile(partsPath, 'utf8').then((t) => JSON.parse(t) as PartsFile, () => undefined);
    if (saved) {
      const usable = saved.version === 1 && saved.size === job.size && saved.hash === job.hash.hex && saved.partSize > 0 &&
        Array.isArray(saved.done) && saved.done.length === Math.ceil(job.size / saved.partSize);
      if (usable) {
        // Never trust more than the data file holds.
        saved.done = saved.done.map((d, i) => Math.max(0, Math.min(d, partLength(saved, i), fileSize - i * saved.partSize)));
        state = saved;
      }
    } else {
      const adopted = emptyParts(job, partSize);
      const prefix = Math.min(fileSize, job.size);
      adopted.done = adopted.done.map((_, i) => Math.max(0, Math.min(partLength(adopted, i), prefix - i * partSize)));
      state = adopted;
    }
  }
  if (!state) {
    await rm(incomplete, { force: true });
    state = emptyParts(job, partSize);
  }
  await writeJsonAtomically(partsPath, state);
  return state;
}

function backoffMs(failures: number, baseMs: number): number {
  return Math.min(30_000, baseMs * 2 ** (failures - 1)) * (0.5 + Math.random() / 2);
}

/** Checks that a response carries the bytes starting at `from` of a file of `size` bytes. */
function checkRangeResponse(res: Response, from: number, size: number, label: string): void {
  if (res.status === 200) {
    if (from === 0) return; // the whole file: we read what we asked for and stop
    throw new HubError(`the server ignored the byte range requested for ${label}; cannot download in parts`, 'protocol');
  }
  const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(res.headers.get('content-range') ?? '');
  if (res.status !== 206 || !m || Number(m[1]) !== from) {
    throw new HubError(`unexpected answer to a range request for ${label}: HTTP ${res.status}, Content-Range "${res.headers.get('content-range') ?? ''}"`, 'protocol');
  }
  if (m[3] !== '*' && Number(m[3]) !== size) {
    throw new HubError(`${label} on the server has ${m[3]} bytes, the hub listing said ${size}; the repository changed, start again`, 'protocol');
  }
}

/** Downloads `job` unless `job.dest` already exists. Throws HubError, IntegrityError, LockedError or the abort reason. */
export async function downloadBlob(job: BlobJob, ctx: HubContext, tuning: TransferTuning, events: BlobEvents = {}): Promise<void> {
  const incomplete = `${job.dest}.incomplete`;
  const partsPath = `${incomplete}.parts`;
  const release = await acquireLock(`${incomplete}.lock`, job.label);
  try {
    if (await stat(job.dest).then((s) => s.size === job.size, () => false)) return;
    const state = await loadParts(job, incomplete, partsPath, tuning.partSize);
    events.onResumed?.(state.done.reduce((a, b) => a + b, 0));
    const fh = await open(incomplete, constants.O_RDWR | constants.O_CREAT);
    try {
      await fetchParts(job, ctx, tuning, events, fh, state, partsPath);
      await fh.truncate(job.size);
      await fh.sync();
    } finally {
      await fh.close();
    }
    events.onVerifying?.();
    const actual = await hashFile(incomplete, job.hash.algorithm, { onBytes: events.onVerifyBytes, signal: ctx.signal });
    if (actual !== job.hash.hex) {
      await rm(incomplete, { force: true });
      await rm(partsPath, { force: true });
      throw new IntegrityError(
        `${job.label} is corrupt: its ${job.hash.algorithm} is ${actual}, the hub announced ${job.hash.hex}. The partial file was deleted; download again.`,
      );
    }
    await rename(incomplete, job.dest);
    await rm(partsPath, { force: true });
  } finally {
    await release();
  }
}

async function fetchParts(
  job: BlobJob,
  ctx: HubContext,
  tuning: TransferTuning,
  events: BlobEvents,
  fh: FileHandle,
  state: PartsFile,
  partsPath: string,
): Promise<void> {
  const queue = state.done.flatMap((d, i) => (d < partLength(state, i) ? [i] : []));
  if (queue.length === 0) return;

  // Record progress only after the bytes it describes are synced, so a crash never over-claims.
  let saving = Promise.resolve();
  const save = () =>
    (saving = saving.catch(() => undefined).then(async () => {
      const done = state.done.slice();
      await fh.datasync();
      await writeJsonAtomically(partsPath, { ...state, done });
    }));
  const saver = setInterval(() => void save().catch(() => undefined), 1000);

  const stop = new AbortController(); // one part failing for good stops the others
  const signal = ctx.signal ? AbortSignal.any([ctx.signal, stop.signal]) : stop.signal;
  let failure: unknown;
  const worker = async () => {
    for (let i = queue.shift(); i !== undefined && failure === undefined; i = queue.shift()) {
      try {
        await fetchPart(i);
      } catch (err) {
        failure ??= err;
        stop.abort(err);
      }
    }
  };

  const fetchPart = async (i: number) => {
    const start = i * state.partSize;
    const end = start + partLength(state, i) - 1;
    let failures = 0;
    while (state.done[i] < partLength(state, i)) {
      const before = state.done[i];
      try {
        await fetchRange(start + state.done[i], end, (n) => {
          state.done[i] += n;
          events.onBytes?.(n);
        });
      } catch (err) {
        if (signal.aborted || !(err instanceof HubError) || !err.retryable) throw err;
        failures = state.done[i] > before ? 1 : failures + 1;
        if (failures > tuning.maxRetries) {
          throw new HubError(`gave up on ${job.label} after ${failures} failed attempts: ${err.message}`, err.kind, err.status);
        }
        await sleep(backoffMs(failures, tuning.retryBaseMs), undefined, { signal });
      }
    }
  };

  // One request for bytes from..to (inclusive), written in place as they arrive.
  const fetchRange = async (from: number, to: number, onWritten: (n: number) => void) => {
    const attempt = new AbortController();
    const attemptSignal = AbortSignal.any([signal, attempt.signal]);
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => attempt.abort(), tuning.stallTimeoutMs);
    };
    const lost = (err: unknown) => {
      if (signal.aborted) return err;
      const why = attempt.signal.aborted ? `no data for ${tuning.stallTimeoutMs / 1000} s` : (err as Error).message;
      return err instanceof HubError ? err : new HubError(`connection lost while downloading ${job.label} (${why})`, 'network');
    };
    // fetch does not always settle a pending body read when its signal aborts mid-stream (seen
    // with Node 20's undici under load), so every wait also races the signal itself.
    const aborted = new Promise<never>((_, reject) => {
      const fail = () => reject(attemptSignal.reason);
      if (attemptSignal.aborted) fail();
      else attemptSignal.addEventListener('abort', fail, { once: true });
    });
    aborted.catch(() => undefined);
    arm();
    try {
      let res: Response;
      try {
        res = await Promise.race([hubFetch(job.url, { ...ctx, signal: attemptSignal }, { range: [from, to] }), aborted]);
      } catch (err) {
        throw lost(err);
      }
      try {
        checkRangeResponse(res, from, job.size, job.label);
      } catch (err) {
        res.body?.cancel().catch(() => undefined);
        throw err;
      }
      if (!res.body) throw new HubError(`empty answer for ${job.label}`, 'network');
      const reader = res.body.getReader();
      let pos = from;
      try {
        while (pos <= to) {
          let chunk: ReadableStreamReadResult<Uint8Array>;
          try {
            chunk = await Promise.race([reader.read(), aborted]);
          } catch (err) {
            throw lost(err);
          }
          if (chunk.done) throw new HubError(`connection closed early while downloading ${job.label}`, 'network');
          arm();
          const n = Math.min(chunk.value.length, to + 1 - pos);
          await fh.write(chunk.value, 0, n, pos);
          pos += n;
          onWritten(n);
        }
      } finally {
        reader.cancel().catch(() => undefined); // not awaited: it may hang like read()
      }
    } finally {
      clearTimeout(timer);
    }
  };

  try {
    await Promise.all(Array.from({ length: Math.min(tuning.connections, queue.length) }, worker));
  } finally {
    clearInterval(saver);
    await save().catch(() => undefined);
  }
  if (ctx.signal?.aborted) throw ctx.signal.reason;
  if (failure !== undefined) throw failure;
}
