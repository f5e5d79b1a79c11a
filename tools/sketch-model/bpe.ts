// Tokenizer learning for the small built-in sketch model: byte-level BPE over the pieces that the
// tekken pre-tokenizer regex cuts (spec h.3), with the merges' order as ranks, so that tiktoken's
// "merge the lowest-rank pair first" rule (the product's encoder, src/worker/tokenizer.ts) replays
// the learned merges. Written out as tekken.json by tekken-writer.ts.

/** One learned vocabulary: the bytes of rank 0, 1, … (ranks 0–255 are the single bytes). */
export type Ranks = Uint8Array[];

export interface BpeOptions {
  /** Ordinary tokens wanted in total, the 256 single bytes included. */
  vocabSize: number;
  /** Stop early when the best pair occurs fewer times than this. */
  minCount?: number;
}

/** Splits text the way the tokenizer will (config.pattern, JavaScript flavour of the same regex). */
export function pieceCounts(texts: Iterable<string>, pattern: string, counts = new Map<string, number>()): Map<string, number> {
  const re = new RegExp(pattern, 'gu');
  for (const text of texts) {
    for (const m of text.matchAll(re)) counts.set(m[0], (counts.get(m[0]) ?? 0) + 1);
  }
  return counts;
}

/**
 * Learns merges over unique pieces weighted by their counts. Pair counts are kept up to date
 * incrementally: a merge only revisits the pieces that contain its pair.
 * Ties are broken by the smaller pair key, so the result is deterministic.
 */
export function learnBpe(counts: Map<string, number>, options: BpeOptions): Ranks {
  const minCount = options.minCount ?? 2;
  const encoder = new TextEncoder();
  const ranks: Ranks = Array.from({ length: 256 }, (_, b) => Uint8Array.of(b));
  const known = new Map<string, number>(ranks.map((bytes, id) => [key(bytes), id]));

  const words: number[][] = [];
  const weights: number[] = [];
  for (const [piece, count] of counts) {
    const bytes = encoder.encode(piece);
    if (bytes.length < 2) continue;
    words.push(Array.from(bytes));
    weights.push(count);
  }
  // pair (a, b) -> count over all words, and -> the words that contain it (maybe stale).
  const pairCount = new Map<number, number>();
  const pairWords = new Map<number, Set<number>>();
  const SHIFT = 1 << 20; // ids stay far below 2^20, so a·2^20 + b is an exact float
  const addPairs = (w: number, sign: number) => {
    const word = words[w];
    for (let i = 0; i + 1 < word.length; i++) {
      const p = word[i] * SHIFT + word[i + 1];
      pairCount.set(p, (pairCount.get(p) ?? 0) + sign * weights[w]);
      if (sign > 0) {
        let set = pairWords.get(p);
        if (!set) pairWords.set(p, (set = new Set()));
        set.add(w);
      }
    }
  };
  words.forEach((_, w) => addPairs(w, 1));

  while (ranks.length < options.vocabSize) {
    let best = -1;
    let bestCount = 0;
    for (const [p, c] of pairCount) {
      if (c > bestCount || (c === bestCount && p < best)) {
        best = p;
        bestCount = c;
      }
    }
    if (bestCount < minCount) break;
    const a = Math.floor(best / SHIFT);
    const b = best % SHIFT;
    const bytes = concat(ranks[a], ranks[b]);
    // Two different pairs can spell the same bytes ("ab"+"c", "a"+"bc"): a rank must be unique,
    // so the second one reuses the first one's id.
    let id = known.get(key(bytes));
    if (id === undefined) {
      id = ranks.length;
      ranks.push(bytes);
      known.set(key(bytes), id);
    }
    for (const w of pairWords.get(best) ?? []) {
      const word = words[w];
      if (!hasPair(word, a, b)) continue;
      addPairs(w, -1);
      const merged: number[] = [];
      for (let i = 0; i < word.length; i++) {
        if (i + 1 < word.length && word[i] === a && word[i + 1] === b) {
          merged.push(id);
          i++;
        } else merged.push(word[i]);
      }
      words[w] = merged;
      addPairs(w, 1);
    }
    pairCount.delete(best);
    pairWords.delete(best);
  }
  return ranks;
}

function hasPair(word: number[], a: number, b: number): boolean {
  for (let i = 0; i + 1 < word.length; i++) if (word[i] === a && word[i + 1] === b) return true;
  return false;
}

function concat(x: Uint8Array, y: Uint8Array): Uint8Array {
  const out = new Uint8Array(x.length + y.length);
  out.set(x);
  out.set(y, x.length);
  return out;
}

function key(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('latin1');
}
