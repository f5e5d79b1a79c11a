// Tokenizer stage 2 of 2: Pixtral's tekken tokenizer (spec h.2–h.4). Text → ids runs through the
// npm `tiktoken` WASM core (the Rust BPE that mistral-common uses), built from the file's ranks and
// split pattern with no special tokens, so plain text can never produce a control id. Ids → text is
// done here from the rank bytes, including a streaming decoder for generated tokens.
import { Tiktoken } from 'tiktoken';
import { parseTekken, readTekkenFile, type TekkenData, TokenizerFileError } from './tekken-file';

export { TokenizerFileError } from './tekken-file';

export interface DecodeOptions {
  /** Render special ids as their names (`[IMG]`, `</s>`, …) instead of dropping them (spec h.4). */
  keepSpecial?: boolean;
}

/** Turns generated ids into text as they arrive, never splitting a UTF-8 character. */
export interface TokenStreamDecoder {
  /** Text completed by this id; a trailing incomplete UTF-8 sequence is held back. */
  push(id: number): string;
  /** Ends the stream: held-back bytes come out as U+FFFD, as a full decode would render them. */
  flush(): string;
}

// Frees the WASM encoder of a tokenizer that was dropped without dispose().
const wasmCleanup = new FinalizationRegistry<Tiktoken>((bpe) => bpe.free());

export class TekkenTokenizer {
  /** Total ids: specials plus the used ordinary ranks. */
  readonly vocabSize: number;
  readonly numSpecialTokens: number;
  readonly version: string;
  readonly bos: number;
  readonly eos: number;
  readonly inst: number;
  readonly endInst: number;
  readonly img: number;
  readonly imgBreak: number;
  readonly imgEnd: number;
  /** From the file's image section; undefined for a text-only tokenizer. */
  readonly imagePatchSize: number | undefined;
  readonly maxImageSize: number | undefined;

  private bpe: Tiktoken | null;
  private readonly specialIds: Map<string, number>;

  private constructor(
    private readonly data: TekkenData,
    readonly sourceName: string,
  ) {
    this.numSpecialTokens = data.numSpecial;
    this.vocabSize = data.numSpecial + data.rankBase64.length;
    this.version = data.version;
    this.imagePatchSize = data.image?.patchSize;
    this.maxImageSize = data.image?.maxImageSize;
    this.specialIds = new Map(data.specialNames.map((name, id) => [name, id]));
    const required = (name: string): number => {
      const id = this.specialIds.get(name);
      if (id === undefined) {
        throw new TokenizerFileError(
          `${sourceName}: special token ${name} is missing, so this is not a Pixtral (tekken v3) tokenizer. Use the tekken.json that ships with the Pixtral model download.`,
        );
      }
      return id;
    };
    this.bos = required('<s>');
    this.eos = required('</s>');
    this.inst = required('[INST]');
    this.endInst = required('[/INST]');
    this.img = required('[IMG]');
    this.imgBreak = required('[IMG_BREAK]');
    this.imgEnd = required('[IMG_END]');

    const ranks = data.rankBase64.map((b64, rank) => `${b64} ${rank}`).join('\n');
    try {
      this.bpe = new Tiktoken(ranks, {}, data.pattern);
    } catch (err) {
      // The ranks were checked already, so the core's failure is the regex it could not compile.
      throw new TokenizerFileError(
        `${sourceName}: config.pattern could not be compiled by the tiktoken regex engine (${(err as Error).message}). Use the tekken.json that ships with the Pixtral model download.`,
      );
    }
    wasmCleanup.register(this, this.bpe, this);
  }

  static fromFile(path: string): TekkenTokenizer {
    return new TekkenTokenizer(readTekkenFile(path), path);
  }

  /** From an already parsed tekken.json; `sourceName` names it in error messages. */
  static fromJson(json: unknown, sourceName: string): TekkenTokenizer {
    return new TekkenTokenizer(parseTekken(json, sourceName), sourceName);
  }

  /** Ordinary ids of `text`, without BOS/EOS. Text that looks like `[INST]` stays ordinary text. */
  encode(text: string): number[] {
    if (typeof text !== 'string') throw new TypeError(`encode expects a string, got ${typeof text}`);
    if (!this.bpe) throw new Error(`the tokenizer from ${this.sourceName} was disposed; load it again`);
    const shift = this.numSpecialTokens;
    return Array.from(this.bpe.encode_ordinary(text), (rank) => rank + shift);
  }

  decode(ids: Iterable<number>, options: DecodeOptions = {}): string {
    const stream = this.createStreamDecoder(options);
    let text = '';
    for (const id of ids) text += stream.push(id);
    return text + stream.flush();
  }

  /** One id as text, special ids by name (mistral-common `id_to_piece`). */
  idToPiece(id: number): string {
    this.checkId(id);
    if (this.isSpecial(id)) return this.data.specialNames[id];
    return new TextDecoder('utf-8', { ignoreBOM: true }).decode(this.bytesOf(id));
  }

  isSpecial(id: number): boolean {
    return id < this.numSpecialTokens;
  }

  /** Id of a special token by its name, e.g. `[IMG]`; undefined if the file has no such token. */
  specialId(name: string): number | undefined {
    return this.specialIds.get(name);
  }

  createStreamDecoder(options: DecodeOptions = {}): TokenStreamDecoder {
    // ignoreBOM keeps a U+FEFF the model wrote; stream mode holds back incomplete sequences.
    const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });
    return {
      push: (id) => {
        this.checkId(id);
        if (!this.isSpecial(id)) return utf8.decode(this.bytesOf(id), { stream: true });
        // A special id ends the run of bytes before it, as mistral-common decodes runs separately.
        const before = utf8.decode();
        return options.keepSpecial ? before + this.data.specialNames[id] : before;
      },
      flush: () => utf8.decode(),
    };
  }

  /** Frees the WASM encoder now; decoding still works, encoding throws. */
  dispose(): void {
    if (!this.bpe) return;
    wasmCleanup.unregister(this);
    this.bpe.free();
    this.bpe = null;
  }

  private bytesOf(id: number): Uint8Array {
    const rank = id - this.numSpecialTokens;
    return this.data.rankBytes.subarray(this.data.rankOffsets[rank], this.data.rankOffsets[rank + 1]);
  }

  private checkId(id: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
      throw new RangeError(`token id ${id} is outside the vocabulary 0…${this.vocabSize - 1} of ${this.sourceName}`);
    }
  }
}
