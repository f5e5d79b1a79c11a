// Tokenizer stage 1 of 2: reads a `tekken.json` (spec h.1/h.2) and checks every field the tokenizer
// relies on, turning a malformed file into one clear message instead of a crash deep inside the
// tiktoken WASM core (which aborts with "unreachable" on bad base64 or duplicate ranks).
// Stage 2 (tokenizer.ts) builds the BPE encoder and the decoders from what this returns.
import { readFileSync } from 'node:fs';

/** The checked content of a tekken.json, trimmed to the ranks the tokenizer actually uses. */
export interface TekkenData {
  /** Pre-tokenizer split regex, verbatim from the file (spec h.3 step 1). */
  pattern: string;
  version: string;
  numSpecial: number;
  /** Base64 bytes of ranks 0 … n−1 (n = default_vocab_size − num_special), canonical form. */
  rankBase64: string[];
  /** Bytes of all used ranks back to back: rank r is rankBytes[rankOffsets[r] … rankOffsets[r+1]). */
  rankBytes: Uint8Array;
  rankOffsets: Uint32Array; // [n + 1]
  /** token_str of special ids 0 … numSpecial−1. */
  specialNames: string[];
  /** The `multimodal` (pre-2025) or `image` section, absent for text-only tokenizers. */
  image: { patchSize: number; maxImageSize: number } | null;
}

export class TokenizerFileError extends Error {
  override name = 'TokenizerFileError';
}

// Names of the v3 special ids for files that omit `special_tokens` (spec h.2 table); the rest of
// 0 … num_special−1 are `<SPECIAL_{id}>`.
const V3_SPECIAL_NAMES = [
  '<unk>', '<s>', '</s>', '[INST]', '[/INST]', '[AVAILABLE_TOOLS]', '[/AVAILABLE_TOOLS]',
  '[TOOL_RESULTS]', '[/TOOL_RESULTS]', '[TOOL_CALLS]', '[IMG]', '<pad>', '[IMG_BREAK]', '[IMG_END]',
  '[PREFIX]', '[MIDDLE]', '[SUFFIX]', '[SYSTEM_PROMPT]', '[/SYSTEM_PROMPT]', '[TOOL_CONTENT]',
];

// Canonical standard base64 (padding present, unused trailing bits zero): the only form tiktoken's
// Rust decoder accepts, and a form in which equal bytes always give equal strings.
const CANONICAL_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/][AQgw]==|[A-Za-z0-9+/]{2}[AEIMQUYcgkosw048]=)?$/;

const FIX_HINT = 'Use the tekken.json that ships with the Pixtral model download.';

export function readTekkenFile(path: string): TekkenData {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const problem = e.code === 'ENOENT' ? 'does not exist' : `cannot be read (${e.message})`;
    throw new TokenizerFileError(`tokenizer file ${path} ${problem}. Pass the path of a tekken.json (it lies in the model folder).`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new TokenizerFileError(`${path} is not valid JSON (${(err as Error).message}). ${FIX_HINT}`);
  }
  return parseTekken(json, path);
}

/** Checks a parsed tekken.json; `sourceName` names it in error messages. */
export function parseTekken(json: unknown, sourceName: string): TekkenData {
  const fail: Fail = (where, problem) => {
    throw new TokenizerFileError(`${sourceName}: ${where} ${problem}. ${FIX_HINT}`);
  };
  if (!isObject(json)) return fail('the file', 'is not a JSON object');
  const config = json.config;
  if (!isObject(config)) return fail('"config"', 'is missing or not an object');

  const pattern = config.pattern;
  if (typeof pattern !== 'string' || pattern === '') fail('config.pattern', 'must be a non-empty string');
  const version = config.version;
  if (typeof version !== 'string') fail('config.version', `must be a string such as "v3" (got ${show(version)})`);
  const numSpecial = config.default_num_special_tokens;
  if (!isCount(numSpecial)) return fail('config.default_num_special_tokens', `must be a non-negative integer (got ${show(numSpecial)})`);
  const vocabSize = config.default_vocab_size;
  if (!isCount(vocabSize) || vocabSize < numSpecial + 256) {
    return fail('config.default_vocab_size', `must be an integer ≥ default_num_special_tokens + 256 (got ${show(vocabSize)})`);
  }

  // Only the first default_vocab_size − num_special ranks are used; files carry more on purpose.
  const used = vocabSize - numSpecial;
  const vocab = json.vocab;
  if (!Array.isArray(vocab)) return fail('"vocab"', 'is missing or not an array');
  if (vocab.length < used) {
    fail('"vocab"', `has ${vocab.length} entries but default_vocab_size − default_num_special_tokens = ${used} are needed`);
  }
  const ranks = readRanks(vocab, used, fail);

  return {
    pattern,
    version,
    numSpecial,
    ...ranks,
    specialNames: readSpecialNames(json.special_tokens, numSpecial, fail),
    image: readImageSection(json, fail),
  };
}

type Fail = (where: string, problem: string) => never;

function readRanks(vocab: unknown[], used: number, fail: Fail) {
  const rankBase64 = new Array<string>(used);
  let capacity = 0;
  for (let r = 0; r < used; r++) {
    const entry = vocab[r];
    if (!isObject(entry) || entry.rank !== r) fail(`vocab[${r}]`, `must be an object with "rank": ${r} (ranks are listed in order)`);
    const b64 = entry.token_bytes;
    if (typeof b64 !== 'string' || b64 === '' || !CANONICAL_BASE64.test(b64)) {
      return fail(`vocab[${r}].token_bytes`, `must be non-empty standard base64 (got ${show(b64)})`);
    }
    rankBase64[r] = b64;
    capacity += (b64.length / 4) * 3;
  }

  const seen = new Map<string, number>();
  for (let r = 0; r < used; r++) {
    const earlier = seen.get(rankBase64[r]);
    if (earlier !== undefined) fail(`vocab[${r}].token_bytes`, `repeats the bytes of rank ${earlier}`);
    seen.set(rankBase64[r], r);
  }

  const rankBytes = Buffer.allocUnsafe(capacity);
  const rankOffsets = new Uint32Array(used + 1);
  let end = 0;
  for (let r = 0; r < used; r++) {
    rankOffsets[r] = end;
    end += rankBytes.write(rankBase64[r], end, 'base64');
  }
  rankOffsets[used] = end;

  // Ranks 0…255 must be the single bytes, so that every input has an encoding (spec h.1).
  for (let r = 0; r < 256; r++) {
    if (rankOffsets[r + 1] - rankOffsets[r] !== 1 || rankBytes[rankOffsets[r]] !== r) {
      fail(`vocab[${r}].token_bytes`, `must be the single byte 0x${r.toString(16).padStart(2, '0')}`);
    }
  }
  return { rankBase64, rankBytes: rankBytes.subarray(0, end), rankOffsets };
}

function readSpecialNames(list: unknown, numSpecial: number, fail: Fail): string[] {
  const names: (string | undefined)[] = new Array(numSpecial);
  if (list === undefined) {
    V3_SPECIAL_NAMES.slice(0, numSpecial).forEach((name, id) => (names[id] = name));
  } else {
    if (!Array.isArray(list)) return fail('"special_tokens"', 'must be an array when present');
    const ids = new Map<string, number>();
    list.forEach((entry, i) => {
      const where = `special_tokens[${i}]`;
      if (!isObject(entry)) return fail(where, 'must be an object {rank, token_str}');
      const { rank, token_str: name } = entry;
      if (!isCount(rank) || rank >= numSpecial) {
        return fail(`${where}.rank`, `must be an integer below default_num_special_tokens = ${numSpecial} (got ${show(rank)})`);
      }
      if (typeof name !== 'string' || name === '') return fail(`${where}.token_str`, 'must be a non-empty string');
      if (names[rank] !== undefined) fail(`${where}.rank`, `${rank} is listed twice`);
      if (ids.has(name)) fail(`${where}.token_str`, `"${name}" is already special id ${ids.get(name)}`);
      names[rank] = name;
      ids.set(name, rank);
    });
  }
  return Array.from(names, (name, id) => name ?? `<SPECIAL_${id}>`);
}

function readImageSection(json: Record<string, unknown>, fail: Fail): TekkenData['image'] {
  const key = 'image' in json ? 'image' : 'multimodal';
  const section = json[key];
  if (section === undefined || section === null) return null;
  if (!isObject(section)) return fail(`"${key}"`, 'must be an object');
  const { image_patch_size: patchSize, max_image_size: maxImageSize } = section;
  if (!isCount(patchSize) || patchSize === 0) return fail(`${key}.image_patch_size`, `must be a positive integer (got ${show(patchSize)})`);
  if (!isCount(maxImageSize) || maxImageSize < patchSize) {
    return fail(`${key}.max_image_size`, `must be an integer ≥ image_patch_size (got ${show(maxImageSize)})`);
  }
  return { patchSize, maxImageSize };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isCount(v: unknown): v is number {
  return Number.isSafeInteger(v) && (v as number) >= 0;
}

function show(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}
