// The tokenizer metadata llama.cpp needs to load a model with Mistral's tekken vocabulary, built from
// a tekken.json: llama.cpp reads tekken as a byte-level BPE ("gpt2" model, "tekken" pre-tokenizer),
// so every token is written as its bytes mapped through GPT-2's byte-to-unicode table, the first
// num_special ids as control tokens, and the BPE merges that rebuild each rank from two lower ranks
// (tiktoken stores ranks only; llama.cpp requires the merges list). ids = rank + num_special.
import type { GgufValue } from './gguf-writer';
import { readTekkenFile } from '../../src/worker/tekken-file';

/** GPT-2's reversible byte -> printable character map. */
function byteToUnicode(): string[] {
  const table: string[] = new Array(256);
  const printable = (b: number): boolean => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
  let extra = 0;
  for (let b = 0; b < 256; b++) table[b] = String.fromCodePoint(printable(b) ? b : 256 + extra++);
  return table;
}

// llama.cpp token types.
const NORMAL = 1, CONTROL = 3;

/**
 * The merges (as "left right", byte-unicode strings) in rank order: for each rank, the two parts
 * byte-pair encoding of its bytes ends in when only lower ranks may merge, when there are two.
 */
function merges(tokens: Buffer[], encode: (b: Buffer) => string): string[] {
  const rankOf = new Map<string, number>();
  tokens.forEach((t, r) => rankOf.set(t.toString('latin1'), r));
  const out: string[] = [];
  tokens.forEach((token, rank) => {
    if (token.length < 2) return;
    let parts = Array.from(token, (b) => String.fromCharCode(b));  // latin1: one char per byte
    for (;;) {
      let best = -1, bestRank = rank;
      for (let i = 0; i + 1 < parts.length; i++) {
        const r = rankOf.get(parts[i] + parts[i + 1]);
        if (r !== undefined && r < bestRank) [best, bestRank] = [i, r];
      }
      if (best < 0) break;
      parts = [...parts.slice(0, best), parts[best] + parts[best + 1], ...parts.slice(best + 2)];
    }
    if (parts.length === 2) out.push(`${encode(Buffer.from(parts[0], 'latin1'))} ${encode(Buffer.from(parts[1], 'latin1'))}`);
  });
  return out;
}

/** The keys of a vocabulary of `vocabSize` ids with no tokenizer file: 1000 control ids, then
 * single bytes (enough for llama.cpp to load a model that is fed token ids). */
export function byteGgufMetadata(vocabSize: number, numSpecial = 1000): [string, GgufValue][] {
  const table = byteToUnicode();
  const tokens = Array.from({ length: vocabSize }, (_, id) => (id < numSpecial ? `<SPECIAL_${id}>` : table[(id - numSpecial) % 256] + (id - numSpecial >= 256 ? `#${id}` : '')));
  return metadataOf(tokens, numSpecial, []);
}

function metadataOf(tokens: string[], numSpecial: number, mergeList: string[]): [string, GgufValue][] {
  return [
    ['tokenizer.ggml.model', { type: 'string', value: 'gpt2' }],
    ['tokenizer.ggml.pre', { type: 'string', value: 'tekken' }],
    ['tokenizer.ggml.tokens', { type: 'strings', value: tokens }],
    ['tokenizer.ggml.token_type', { type: 'i32s', value: tokens.map((_, id) => (id < numSpecial ? CONTROL : NORMAL)) }],
    ['tokenizer.ggml.merges', { type: 'strings', value: mergeList }],
    ['tokenizer.ggml.unknown_token_id', { type: 'u32', value: 0 }],
    ['tokenizer.ggml.bos_token_id', { type: 'u32', value: 1 }],
    ['tokenizer.ggml.eos_token_id', { type: 'u32', value: 2 }],
    ['tokenizer.ggml.add_bos_token', { type: 'bool', value: true }],
    ['tokenizer.ggml.add_eos_token', { type: 'bool', value: false }],
  ];
}

const made = new Map<string, [string, GgufValue][]>();

/** tokenizer.ggml.* keys for the vocabulary of `tekkenPath`, `vocabSize` ids in all (computed once
 * per file: the merges take seconds). */
export function tekkenGgufMetadata(tekkenPath: string, vocabSize: number): [string, GgufValue][] {
  const key = `${tekkenPath}:${vocabSize}`;
  let keys = made.get(key);
  if (!keys) made.set(key, (keys = tekkenKeys(tekkenPath, vocabSize)));
  return keys;
}

function tekkenKeys(tekkenPath: string, vocabSize: number): [string, GgufValue][] {
  const tekken = readTekkenFile(tekkenPath);
  const table = byteToUnicode();
  const encode = (b: Buffer): string => Array.from(b, (x) => table[x]).join('');
  const ranks = vocabSize - tekken.numSpecial;
  const bytes: Buffer[] = [];
  for (let r = 0; r < ranks; r++) bytes.push(Buffer.from(tekken.rankBytes.subarray(tekken.rankOffsets[r], tekken.rankOffsets[r + 1])));
  return metadataOf([...tekken.specialNames, ...bytes.map(encode)], tekken.numSpecial, merges(bytes, encode));
}
