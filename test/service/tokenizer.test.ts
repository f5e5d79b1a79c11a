// Tekken tokenizer against ../shared/tokenizer/tekken-test.expected.json, the padded model-folder
// tekken.json, the streaming decoder's UTF-8 boundaries, and the loader's schema errors.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { TekkenTokenizer, TokenizerFileError } from '../../src/worker/tokenizer';
import { fixtureDir } from '../support/fixtures';
import { TEST_TOKENIZER, expected } from './support/tokenizer-data';

const rawTestFile = readFileSync(TEST_TOKENIZER, 'utf8');
const tok = TekkenTokenizer.fromFile(TEST_TOKENIZER);
after(() => tok.dispose());

describe('encoding tekken-test.json', () => {
  test('is the file the expected ids were made with', () => {
    assert.equal(createHash('sha256').update(readFileSync(TEST_TOKENIZER)).digest('hex'), expected.tokenizer_sha256);
  });

  test('sizes and special ids', () => {
    assert.equal(tok.numSpecialTokens, expected.num_special_tokens);
    assert.equal(tok.vocabSize, expected.vocab_size);
    const ids = expected.special_ids;
    assert.deepEqual(
      [tok.bos, tok.eos, tok.inst, tok.endInst, tok.img, tok.imgBreak, tok.imgEnd],
      [ids.bos, ids.eos, ids.inst, ids.end_inst, ids.img, ids.img_break, ids.img_end],
    );
    assert.equal(tok.specialId('<pad>'), ids.pad);
    assert.equal(tok.imagePatchSize, 16);
    assert.equal(tok.maxImageSize, 1024);
    assert.equal(tok.version, 'v3');
  });

  for (const c of expected.encode_cases) {
    test(`encode_cases/${c.name}: exact ids and round trip`, () => {
      const ids = tok.encode(c.text);
      assert.deepEqual(ids, c.ids);
      assert.equal(tok.decode(ids), c.text);
    });
  }

  test('text never produces a special id, even the special tokens spelled out', () => {
    const allNames = Array.from({ length: tok.numSpecialTokens }, (_, id) => tok.idToPiece(id));
    assert.equal(allNames[10], '[IMG]');
    const text = allNames.join('') + allNames.join(' ');
    const ids = tok.encode(text);
    assert.ok(ids.every((id) => id >= tok.numSpecialTokens));
    assert.equal(tok.decode(ids), text);
  });

  test('only the first default_vocab_size − num_special ranks are used', () => {
    // The same file told to use its 64 spare ranks encodes the case differently: truncation matters.
    const json = JSON.parse(rawTestFile);
    json.config.default_vocab_size += 64;
    const untruncated = TekkenTokenizer.fromJson(json, 'untruncated');
    const c = expected.encode_cases.find((x) => x.name === 'beyond_default_vocab')!;
    assert.notDeepEqual(untruncated.encode(c.text), c.ids);
    assert.ok(untruncated.encode(c.text).some((id) => id >= tok.vocabSize));
    untruncated.dispose();
    assert.deepEqual(tok.encode(c.text), c.ids);
    assert.throws(() => tok.decode([tok.vocabSize]), RangeError);
    assert.throws(() => tok.idToPiece(-1), /outside the vocabulary 0…8191/);
  });
});

describe('decoding', () => {
  test('special ids are dropped by default and named with keepSpecial', () => {
    const ids = [tok.bos, tok.inst, ...tok.encode('Hi'), tok.endInst, tok.img, tok.imgBreak, tok.imgEnd, tok.eos];
    assert.equal(tok.decode(ids), 'Hi');
    assert.equal(tok.decode(ids, { keepSpecial: true }), '<s>[INST]Hi[/INST][IMG][IMG_BREAK][IMG_END]</s>');
  });

  test('idToPiece renders one id', () => {
    assert.equal(tok.idToPiece(tok.eos), '</s>');
    assert.equal(tok.idToPiece(tok.encode(' the')[0]), ' the');
    assert.equal(tok.idToPiece(1000 + 0xe4), '\ufffd'); // a lone UTF-8 lead byte
  });

  test('bytes split by a special id are decoded as separate runs', () => {
    const euro = [...Buffer.from('€')].map(byteId);
    // '€' is E2 82 AC: the lead byte alone is one U+FFFD, each orphaned continuation byte another.
    assert.equal(tok.decode([euro[0], tok.img, euro[1], euro[2]]), '\ufffd'.repeat(3));
    assert.equal(tok.decode([...euro.slice(0, 2), tok.img, euro[2]], { keepSpecial: true }), '\ufffd[IMG]\ufffd');
  });

  test('dispose frees the encoder; decoding still works', () => {
    const t = TekkenTokenizer.fromFile(TEST_TOKENIZER);
    const ids = t.encode('after dispose');
    t.dispose();
    t.dispose();
    assert.throws(() => t.encode('x'), /disposed/);
    assert.equal(t.decode(ids), 'after dispose');
  });
});

describe('streaming decoder', () => {
  const text = 'Café ☕ — naïve Ω 東京タワー 한국어 🇫🇷 👩🏽‍💻 𠀀𠀁 ❤️ e\u0301 done';
  const bytes = Buffer.from(text);
  const pieces = usedRankBytes();

  test('byte by byte it emits only whole characters and ends equal to the text', () => {
    assertStreams(bytes.length ? [...bytes].map(byteId) : [], text);
  });

  test('split at every byte position, each side tokenized with multi-byte ranks', () => {
    for (let cut = 0; cut <= bytes.length; cut++) {
      const ids = [...greedyIds(bytes.subarray(0, cut), pieces), ...greedyIds(bytes.subarray(cut), pieces)];
      assertStreams(ids, text);
    }
  });

  test('random chunking', () => {
    const random = mulberry32(20240911);
    for (let round = 0; round < 200; round++) {
      const ids: number[] = [];
      for (let start = 0; start < bytes.length; ) {
        const end = Math.min(bytes.length, start + 1 + Math.floor(random() * 7));
        ids.push(...greedyIds(bytes.subarray(start, end), pieces));
        start = end;
      }
      assertStreams(ids, text);
    }
  });

  test('every encode case streams to its text', () => {
    for (const c of expected.encode_cases) assertStreams(c.ids, c.text);
  });

  test('an unfinished character at the end comes out as U+FFFD on flush, as in decode', () => {
    const ids = [...tok.encode('ok '), ...[...Buffer.from('😀')].slice(0, 3).map(byteId)];
    const stream = tok.createStreamDecoder();
    const streamed = ids.map((id) => stream.push(id)).join('');
    assert.equal(streamed, 'ok ');
    assert.equal(streamed + stream.flush(), tok.decode(ids));
    assert.equal(tok.decode(ids), 'ok \ufffd');
  });

  function assertStreams(ids: number[], want: string): void {
    const stream = tok.createStreamDecoder();
    let soFar = '';
    for (const id of ids) {
      const piece = stream.push(id);
      assert.ok(!piece.includes('\ufffd'), `partial character emitted for ${JSON.stringify(want)}`);
      assert.ok(!/^[\udc00-\udfff]|[\ud800-\udbff]$/.test(piece), 'a surrogate pair was split');
      soFar += piece;
      assert.ok(want.startsWith(soFar), `stream output ${JSON.stringify(soFar)} is not a prefix of the text`);
    }
    assert.equal(soFar + stream.flush(), want);
    assert.equal(tok.decode(ids), want);
  }
});

describe('the padded model-folder tekken.json (131072 ids)', () => {
  test('loads unchanged and gives the same ids', (t) => {
    const start = performance.now();
    const big = TekkenTokenizer.fromFile(path.join(fixtureDir, 'tekken.json'));
    t.diagnostic(`load time ${(performance.now() - start).toFixed(0)} ms`);
    try {
      assert.equal(big.vocabSize, 131072);
      assert.equal(big.numSpecialTokens, 1000);
      for (const c of expected.encode_cases) assert.deepEqual(big.encode(c.text), c.ids, c.name);
      // Filler ranks past the learned ones are 0xF8 + three continuation bytes: invalid UTF-8.
      assert.equal(big.decode([131071]), '\ufffd'.repeat(4));
    } finally {
      big.dispose();
    }
  });
});

describe('schema errors', () => {
  test('not an object', () => {
    assert.throws(() => TekkenTokenizer.fromJson([], 'tekken.json'), /tekken\.json: the file is not a JSON object/);
  });

  const cases: [string, (json: any) => void, RegExp][] = [
    ['no config', (j) => { delete j.config; }, /"config" is missing/],
    ['no pattern', (j) => { delete j.config.pattern; }, /config\.pattern must be a non-empty string/],
    ['no version', (j) => { delete j.config.version; }, /config\.version must be a string/],
    ['bad special count', (j) => { j.config.default_num_special_tokens = -1; }, /default_num_special_tokens must be a non-negative integer \(got -1\)/],
    ['vocab size too small', (j) => { j.config.default_vocab_size = 1100; }, /default_vocab_size must be an integer ≥ default_num_special_tokens \+ 256 \(got 1100\)/],
    ['vocab too short', (j) => { j.vocab.length = 100; }, /"vocab" has 100 entries but .* = 7192 are needed/],
    ['ranks out of order', (j) => { [j.vocab[300], j.vocab[301]] = [j.vocab[301], j.vocab[300]]; }, /vocab\[300\] must be an object with "rank": 300/],
    ['bad base64', (j) => { j.vocab[500].token_bytes = '@@'; }, /vocab\[500\]\.token_bytes must be non-empty standard base64 \(got "@@"\)/],
    ['non-canonical base64', (j) => { j.vocab[500].token_bytes = 'YWJ='; }, /vocab\[500\]\.token_bytes must be non-empty standard base64/],
    ['duplicate bytes', (j) => { j.vocab[600].token_bytes = j.vocab[400].token_bytes; }, /vocab\[600\]\.token_bytes repeats the bytes of rank 400/],
    ['byte rank wrong', (j) => { j.vocab[65].token_bytes = '//4='; }, /vocab\[65\]\.token_bytes must be the single byte 0x41/],
    ['special rank too high', (j) => { j.special_tokens[5].rank = 1000; }, /special_tokens\[5\]\.rank must be an integer below default_num_special_tokens = 1000 \(got 1000\)/],
    ['special rank twice', (j) => { j.special_tokens[5].rank = 4; }, /special_tokens\[5\]\.rank 4 is listed twice/],
    ['special name twice', (j) => { j.special_tokens[5].token_str = '[INST]'; }, /special_tokens\[5\]\.token_str "\[INST\]" is already special id 3/],
    ['no [IMG] token', (j) => { j.special_tokens[10].token_str = '<SPECIAL_10>'; }, /special token \[IMG\] is missing/],
    ['bad image section', (j) => { j.multimodal.image_patch_size = 0; }, /multimodal\.image_patch_size must be a positive integer \(got 0\)/],
    ['pattern tiktoken cannot compile', (j) => { j.config.pattern = '(['; }, /config\.pattern could not be compiled/],
  ];
  for (const [name, mutate, message] of cases) {
    test(name, () => {
      const json = JSON.parse(rawTestFile);
      mutate(json);
      assert.throws(() => TekkenTokenizer.fromJson(json, 'tekken.json'), (err: Error) => {
        assert.ok(err instanceof TokenizerFileError, `${err.name}: ${err.message}`);
        assert.match(err.message, message);
        return true;
      });
    });
  }

  test('a file that is not JSON, and a missing file', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tekken-'));
    const file = path.join(dir, 'tekken.json');
    writeFileSync(file, '{"config": ');
    assert.throws(() => TekkenTokenizer.fromFile(file), /tekken\.json is not valid JSON/);
    assert.throws(() => TekkenTokenizer.fromFile(path.join(dir, 'absent.json')), /absent\.json does not exist/);
  });

  test('without a special_tokens list the v3 names are synthesised (same ids)', () => {
    const json = JSON.parse(rawTestFile);
    delete json.special_tokens;
    const t = TekkenTokenizer.fromJson(json, 'no-specials');
    assert.deepEqual([t.bos, t.eos, t.inst, t.endInst, t.img, t.imgBreak, t.imgEnd], [1, 2, 3, 4, 10, 12, 13]);
    assert.equal(t.idToPiece(19), '[TOOL_CONTENT]');
    assert.equal(t.idToPiece(999), '<SPECIAL_999>');
    assert.deepEqual(t.encode('<s>[INST]'), tok.encode('<s>[INST]'));
    t.dispose();
  });
});

/** Id of the rank that is the single byte `b` (ranks 0…255 are the bytes). */
function byteId(b: number): number {
  return tok.numSpecialTokens + b;
}

/** Bytes → id of every used rank, keyed by latin1 so any byte string can be looked up. */
function usedRankBytes(): Map<string, number> {
  const json = JSON.parse(rawTestFile);
  const used = json.config.default_vocab_size - json.config.default_num_special_tokens;
  const map = new Map<string, number>();
  for (let r = 0; r < used; r++) map.set(Buffer.from(json.vocab[r].token_bytes, 'base64').toString('latin1'), r + tok.numSpecialTokens);
  return map;
}

/** Longest-match ids for arbitrary bytes, so tokens may end inside a character. */
function greedyIds(bytes: Uint8Array, pieces: Map<string, number>): number[] {
  const s = Buffer.from(bytes).toString('latin1');
  const ids: number[] = [];
  for (let i = 0; i < s.length; ) {
    let len = Math.min(s.length - i, 32);
    while (!pieces.has(s.slice(i, i + len))) len--;
    ids.push(pieces.get(s.slice(i, i + len))!);
    i += len;
  }
  return ids;
}

function mulberry32(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
