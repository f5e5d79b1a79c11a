// A lock file that keeps two processes (the editor and a terminal, say) from writing the same
// partial download at once. Created exclusively, holds the owner's pid; a lock whose process is
// gone is stale and taken over.
import { hostname } from 'node:os';
import { mkdir, open, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { ModelError } from './errors';

export class LockedError extends ModelError {
  override name = 'LockedError';
}

interface Owner {
  pid: number;
  host: string;
}

function alive(owner: Owner): boolean {
  // A lock from another machine (shared folder) cannot be checked: assume it is held.
  if (owner.host !== hostname()) return true;
  try {
    process.kill(owner.pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readOwner(file: string): Promise<Owner | undefined> {
  try {
    const owner = JSON.parse(await readFile(file, 'utf8')) as Owner;
    return Number.isInteger(owner.pid) && typeof owner.host === 'string' ? owner : undefined;
  } catch {
    return undefined;
  }
}

/** Takes the lock or throws LockedError naming the holder; returns the release function. */
export async function acquireLock(file: string, what: string): Promise<() => Promise<void>> {
  await mkdir(path.dirname(file), { recursive: true });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(file, 'wx');
      await handle.writeFile(JSON.stringify({ pid: process.pid, host: hostname() } satisfies Owner));
      await handle.close();
      return () => rm(file, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = await readOwner(file);
    if (owner && alive(owner)) {
      throw new LockedError(`${what} is already being downloaded by process ${owner.pid} on ${owner.host}; wait for it or stop it.`);
    }
    // No readable owner: either a crash left it or its owner is writing it right now.
    const age = Date.now() - (await stat(file).then((s) => s.mtimeMs).catch(() => 0));
    if (!owner && age < 5000) throw new LockedError(`${what} is already being downloaded by another process.`);
    await rm(file, { force: true }); // stale: its process is gone
  }
  throw new LockedError(`could not take the lock ${file}`);
}

/** Whether a live process holds the lock (so its files must not be deleted under it). */
export async function isLocked(file: string): Promise<boolean> {
  const owner = await readOwner(file);
  return owner !== undefined && alive(owner);
}
