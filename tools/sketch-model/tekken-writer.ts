// Writes learned ranks (bpe.ts) as a tekken.json in exactly the schema of the real Pixtral file
// (spec h.1): the same pre-tokenizer regex and the same 1000 control tokens, copied from a
// reference tekken.json (the fixture model's, whose config and specials are the real v3 ones), and
// a `multimodal` section with the model's own image size.
import { readFileSync } from 'node:fs';
import type { Ranks } from './bpe';

export interface ReferenceTekken {
  pattern: string;
  numSpecial: number;
  specialTokens: { rank: number; token_str: string; is_control: boolean }[];
}

export function readReferenceTekken(path: string): ReferenceTekken {
  const json = JSON.parse(readFileSync(path, 'utf8'));
  return {
    pattern: json.config.pattern,
    numSpecial: json.config.default_num_special_tokens,
    specialTokens: json.special_tokens,
  };
}

export function tekkenJson(ranks: Ranks, reference: ReferenceTekken, image: { patchSize: number; maxImageSize: number }): string {
  const strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  const vocab = ranks.map((bytes, rank) => {
    let text: string | null;
    try {
      text = strict.decode(bytes);
    } catch {
      text = null; // not valid UTF-8 on its own (a byte of a multi-byte character), as in the real file
    }
    return { rank, token_bytes: Buffer.from(bytes).toString('base64'), token_str: text };
  });
  const file = {
    config: {
      pattern: reference.pattern,
      num_vocab_tokens: ranks.length,
      default_vocab_size: reference.numSpecial + ranks.length,
      default_num_special_tokens: reference.numSpecial,
      version: 'v3',
    },
    vocab,
    special_tokens: reference.specialTokens,
    multimodal: { image_patch_size: image.patchSize, max_image_size: image.maxImageSize },
  };
  return JSON.stringify(file);
}
