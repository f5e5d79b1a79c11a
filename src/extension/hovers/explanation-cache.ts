// Chart explanations already made, so hovering the same chart again answers at once. The key is a
// hash of everything that changes an answer: the image bytes, the model (where it runs, which
// weights), its precision, the prompt's id and version, and the image token budget. A model
// switch or a prompt change therefore never serves a stale answer. Kept in memory and as one
// Markdown file per key under the extension's global storage.
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';

export interface ExplanationKeyParts {
  image: Uint8Array;
  /** ModelIdentity.key from backend-factory.ts (backend, model folder or endpoint, precision). */
  model: string;
  prompt: { id: string; version: number };
  tokenBudget: number;
}

export function explanationKey(parts: ExplanationKeyParts): string {
  const hash = createHash('sha256');
  hash.update(createHash('sha256').update(parts.image).digest());
  hash.update(JSON.stringify([parts.model, parts.prompt.id, parts.prompt.version, parts.tokenBudget]));
  return hash.digest('hex');
}

export class ExplanationCache {
  private readonly memory = new Map<string, string>();
  /** Lookups answered and not answered since the cache was made: the log reports them, so a
   *  hover served from the cache can be told from one that ran the model. */
  readonly counts = { hits: 0, misses: 0 };

  constructor(private readonly dir: string) {}

  async get(key: string): Promise<string | undefined> {
    const text = this.memory.get(key) ?? (await readFile(this.file(key), 'utf8').catch(() => undefined));
    if (text === undefined) {
      this.counts.misses++;
      return undefined;
    }
    this.counts.hits++;
    this.memory.set(key, text);
    return text;
  }

  /** Only from memory: for hovers, which must not wait on the disk. */
  peek(key: string): string | undefined {
    return this.memory.get(key);
  }

  async set(key: string, text: string): Promise<void> {
    this.memory.set(key, text);
    await mkdir(this.dir, { recursive: true });
    // Written aside then renamed, so a reader never sees half an explanation.
    const temp = `${this.file(key)}.${process.pid}.tmp`;
    await writeFile(temp, text, 'utf8');
    await rename(temp, this.file(key));
  }

  private file(key: string): string {
    if (!/^[0-9a-f]{64}$/.test(key)) throw new Error(`not a cache key: ${key}`);
    return path.join(this.dir, `${key}.md`);
  }
}
