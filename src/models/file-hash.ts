// Content hashes as the hub names blobs: sha256 of the bytes for LFS files, and for small files the
// git blob id, sha1("blob <size>\0" + bytes). Streams the file, reporting bytes as they are hashed.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';

export type HashAlgorithm = 'sha256' | 'git-sha1';

export async function hashFile(
  file: string,
  algorithm: HashAlgorithm,
  options: { onBytes?: (n: number) => void; signal?: AbortSignal } = {},
): Promise<string> {
  const hash = createHash(algorithm === 'sha256' ? 'sha256' : 'sha1');
  if (algorithm === 'git-sha1') hash.update(`blob ${(await stat(file)).size}\0`);
  const stream = createReadStream(file, { highWaterMark: 4 << 20, signal: options.signal });
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    hash.update(chunk);
    options.onBytes?.(chunk.length);
  }
  return hash.digest('hex');
}

/** Which algorithm produced a blob name: 64 hex digits are a sha256, 40 a git sha1. */
export function algorithmOfBlobName(name: string): HashAlgorithm | undefined {
  if (/^[0-9a-f]{64}$/.test(name)) return 'sha256';
  if (/^[0-9a-f]{40}$/.test(name)) return 'git-sha1';
  return undefined;
}
