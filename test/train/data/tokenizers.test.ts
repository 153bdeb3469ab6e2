import { readFileSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import llamaTokenizerJs from 'llama-tokenizer-js';
import { DataFileError, Llama2cTokenizer, buildAlpacaPrompt, llamaTokenizer, loadLlama2cTokenizer, type Tokenizer } from '../../../src/train/data/index.js';

const TOK512 = '../shared/data/tok512.bin';
const ALPACA200 = '../shared/data/alpaca200.json';

describe('LlamaTokenizer (llama-tokenizer-js)', () => {
  const tok = llamaTokenizer();

  it('encodes "Hello world!" to the published ids and decodes back', () => {
    expect(tok.vocabSize).toBe(32000);
    expect([tok.bosId, tok.eosId]).toEqual([1, 2]);
    expect(tok.encode('Hello world!')).toEqual([1, 15043, 3186, 29991]);
    expect(tok.encode('Hello world!', { bos: false })).toEqual([15043, 3186, 29991]);
    expect(tok.encode('Hello world!', { eos: true })).toEqual([1, 15043, 3186, 29991, 2]);
    expect(tok.decode([1, 15043, 3186, 29991])).toBe('Hello world!');
    expect(tok.decode([1, 15043, 3186, 29991, 2])).toBe('Hello world!');
  });

  it('gives [BOS] for empty text, and round-trips non-ASCII and whitespace', () => {
    expect(tok.encode('')).toEqual([1]);
    expect(tok.encode('', { bos: false })).toEqual([]);
    for (const s of ['café ☃ 日本', 'a\n  b\tc', '### Response:42']) expect(tok.decode(tok.encode(s, { eos: true }))).toBe(s);
  });

  it('rejects ids outside the vocabulary', () => {
    expect(() => tok.decode([1, 32000])).toThrow(/id 32000 at position 1/);
    expect(() => tok.decode([-1])).toThrow(/outside the vocabulary/);
  });
});

describe('Llama2cTokenizer (tok512.bin)', () => {
  it('loads 512 pieces with the special and byte pieces where llama2.c expects them', async () => {
    const tok = await loadLlama2cTokenizer(TOK512);
    expect(tok.vocabSize).toBe(512);
    expect(tok.maxTokenLength).toBe(7);
    const text = (id: number): string => new TextDecoder().decode(tok.pieces[id]);
    expect([text(0), text(1), text(2), text(3), text(258)]).toEqual(['<unk>', '\n<s>\n', '\n</s>\n', '<0x00>', '<0xFF>']);
  });

  // Expected ids from an independent Python transcription of llama2.c run.c encode() over the
  // same file (written for this test); 265 is the piece " the", 403 " Once", 229..134 are the
  // byte pieces of U+2603 (E2 98 83) + 3.
  it('encodes like llama2.c and round-trips', async () => {
    const tok = await loadLlama2cTokenizer(TOK512, { vocabSize: 512 });
    expect(tok.encode('the')).toEqual([1, 265]);
    const story = 'Once upon a time, there was a little girl named Lily.';
    expect(tok.encode(story)).toEqual([1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426]);
    expect(tok.encode('Hello world!', { bos: false, eos: true })).toEqual([346, 306, 414, 263, 304, 341, 443, 2]);
    expect(tok.encode('café ☃')).toEqual([1, 280, 412, 431, 485, 410, 229, 155, 134]);
    expect(tok.encode('')).toEqual([1]);
    for (const s of [story, 'Hello world!', 'café ☃', 'Sort: 5, 2, 9.\n### Response:2, 5, 9', '  two  spaces ']) {
      expect(tok.decode(tok.encode(s, { eos: true }))).toBe(s);
    }
    expect(() => tok.decode([512])).toThrow(/id 512 at position 0/);
  });

  it('agrees with llama-tokenizer-js on all of Alpaca-200 given LLaMA\'s vocabulary in .bin form', () => {
    // LLaMA's 32000 pieces from llama-tokenizer-js, written in llama2.c's format. Scores: BPE
    // pieces rank by id (score -(id - 259)); pieces made only of spaces go last (-1e9), as
    // they do in llama-tokenizer-js's merge list. The two encoders are independent code.
    const enc = new TextEncoder();
    const pieces = llamaTokenizerJs.vocabById.map((p, id) => enc.encode(id >= 3 && id < 259 ? p : p.replaceAll('\u2581', ' ')));
    const chunks: Uint8Array[] = [new Uint8Array(new Int32Array([Math.max(...pieces.map((p) => p.length))]).buffer)];
    pieces.forEach((p, id) => {
      const head = new DataView(new ArrayBuffer(8));
      const spacesOnly = /^\u2581{2,}$/.test(llamaTokenizerJs.vocabById[id]!);
      head.setFloat32(0, id < 259 ? 0 : spacesOnly ? -1e9 : -(id - 259), true);
      head.setInt32(4, p.length, true);
      chunks.push(new Uint8Array(head.buffer), p);
    });
    const bytes = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
    chunks.reduce((offset, c) => (bytes.set(c, offset), offset + c.length), 0);
    const asBin: Tokenizer = Llama2cTokenizer.fromBytes(bytes, 'llama-vocab.bin', { vocabSize: 32000 });
    const records = JSON.parse(readFileSync(ALPACA200, 'utf8')) as { instruction: string; input: string; output: string }[];
    expect(records.length).toBe(200);
    for (const r of records) {
      const text = buildAlpacaPrompt(r) + r.output;
      expect(asBin.encode(text)).toEqual(llamaTokenizer().encode(text));
    }
  });
});

describe('Llama2cTokenizer malformed files', () => {
  const good = new Uint8Array(readFileSync(TOK512));
  const dir = mkdtempSync(join(tmpdir(), 'gradlab-tok-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const header = (maxLen: number): Uint8Array => new Uint8Array(new Int32Array([maxLen]).buffer);

  it('names the file and the problem', async () => {
    const cases: [Uint8Array, RegExp][] = [
      [new Uint8Array(2), /bad\.bin: is 2 bytes, too short/],
      [header(0), /bad\.bin: max_token_length is 0/],
      [good.slice(0, 1000), /bad\.bin: truncated at token \d+/],
      [Uint8Array.from([...header(1), 0, 0, 0, 0, 5, 0, 0, 0, 65, 66, 67, 68, 69]), /bad\.bin: token 0 has byte length 5, expected 0\.\.max_token_length 1/],
      [Uint8Array.from([...header(4), 0, 0, 0xc0, 0x7f, 1, 0, 0, 0, 65]), /bad\.bin: token 0 has a non-finite score NaN/],
      [header(4), /bad\.bin: has 0 tokens, fewer than the 259/],
    ];
    for (const [bytes, pattern] of cases) {
      const path = join(dir, 'bad.bin');
      writeFileSync(path, bytes);
      const err = await loadLlama2cTokenizer(path).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DataFileError);
      expect((err as Error).message).toMatch(pattern);
      expect((err as DataFileError).file).toBe(path);
    }
  });

  it('checks an expected vocabulary size, the byte pieces and the space piece', () => {
    expect(() => Llama2cTokenizer.fromBytes(good, 'tok512.bin', { vocabSize: 511 })).toThrow(/tok512\.bin: has \d+ bytes after the 511 expected tokens/);
    expect(() => Llama2cTokenizer.fromBytes(good, 'tok512.bin', { vocabSize: 513 })).toThrow(/tok512\.bin: truncated at token 512/);
    // Piece 3 ("<0x00>") starts after the header and tokens 0..2: 4 + (8+5) + (8+5) + (8+6) bytes.
    const broken = good.slice();
    const piece3 = 4 + 13 + 13 + 14 + 8;
    expect(new TextDecoder().decode(broken.subarray(piece3, piece3 + 6))).toBe('<0x00>');
    broken[piece3 + 5] = 0x21; // '<0x00!'
    expect(() => Llama2cTokenizer.fromBytes(broken, 'x.bin')).toThrow(/x\.bin: token 3 is "<0x00!", expected the byte piece <0x00>/);
  });

  it('names a file that cannot be read', async () => {
    await expect(loadLlama2cTokenizer(join(dir, 'missing.bin'))).rejects.toThrow(/missing\.bin: cannot be read/);
  });
});
