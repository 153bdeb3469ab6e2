// llama2.c's tokenizer `.bin` format (e.g. stories260K's tok512.bin), with llama2.c's encoder.
//
// File: int32 max_token_length, then per token: f32 merge score, int32 byte length, the
// bytes (little-endian). The vocabulary size is not stored: the file is read to its end, or
// checked against an expected size. Pieces hold real spaces (not U+2581); ids 0/1/2 are
// <unk>/BOS/EOS and ids 3..258 the byte-fallback pieces <0x00>..<0xFF>.
//
// encode() reproduces run.c's encode(): BOS, then the " " piece as a dummy prefix (for
// non-empty text), each UTF-8 code point's piece or its bytes as ids 3 + byte, then
// repeatedly merge the adjacent pair whose concatenated piece exists with the highest score
// (leftmost on ties), then EOS if asked.

import { readFile } from 'node:fs/promises';
import { DataFileError } from './data-file-error.js';
import { LLAMA_BOS_ID, LLAMA_EOS_ID, checkTokenIds, type EncodeOptions, type Tokenizer } from './tokenizer.js';

const BYTE_PIECE_OFFSET = 3;
const FIRST_REGULAR_ID = BYTE_PIECE_OFFSET + 256;

export interface Llama2cTokenizerOptions {
  /** Expected number of pieces (the model's vocab_size); by default the file is read to its end. */
  vocabSize?: number;
}

/** Bytes as a 1-char-per-byte string: a cheap exact map key for byte sequences. */
function byteKey(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]!);
  return s;
}

export class Llama2cTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly bosId = LLAMA_BOS_ID;
  readonly eosId = LLAMA_EOS_ID;
  private readonly pieceKeys: string[];
  private readonly idByKey = new Map<string, number>();
  private readonly dummyPrefixId: number;
  private readonly utf8 = new TextEncoder();

  private constructor(
    readonly maxTokenLength: number,
    readonly pieces: readonly Uint8Array[],
    readonly scores: Float32Array,
    file: string,
  ) {
    this.vocabSize = pieces.length;
    this.pieceKeys = pieces.map(byteKey);
    // Duplicate pieces: the first id wins (llama2.c's bsearch over a sorted copy leaves this unspecified).
    this.pieceKeys.forEach((key, id) => {
      if (!this.idByKey.has(key)) this.idByKey.set(key, id);
    });
    const space = this.idByKey.get(' ');
    if (space === undefined) throw new DataFileError(file, "has no ' ' piece, which encoding needs for the leading space");
    this.dummyPrefixId = space;
  }

  /** Parse a tokenizer file's bytes; `file` names it in errors. */
  static fromBytes(bytes: Uint8Array, file: string, options: Llama2cTokenizerOptions = {}): Llama2cTokenizer {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (bytes.byteLength < 4) throw new DataFileError(file, `is ${bytes.byteLength} bytes, too short for the int32 max_token_length header`);
    const maxTokenLength = view.getInt32(0, true);
    if (maxTokenLength <= 0) throw new DataFileError(file, `max_token_length is ${maxTokenLength}, expected > 0`);
    const expected = options.vocabSize;
    if (expected !== undefined && (!Number.isInteger(expected) || expected < FIRST_REGULAR_ID)) {
      throw new Error(`Llama2cTokenizer: vocabSize must be an integer >= ${FIRST_REGULAR_ID}, got ${expected}`);
    }
    const pieces: Uint8Array[] = [];
    const scores: number[] = [];
    let offset = 4;
    while (expected === undefined ? offset < bytes.byteLength : pieces.length < expected) {
      const token = pieces.length;
      if (offset + 8 > bytes.byteLength) {
        throw new DataFileError(file, `truncated at token ${token} (offset ${offset}): need 8 bytes for its score and length, ${bytes.byteLength - offset} left`);
      }
      const score = view.getFloat32(offset, true);
      const length = view.getInt32(offset + 4, true);
      offset += 8;
      if (!Number.isFinite(score)) throw new DataFileError(file, `token ${token} has a non-finite score ${score}`);
      if (length < 0 || length > maxTokenLength) {
        throw new DataFileError(file, `token ${token} has byte length ${length}, expected 0..max_token_length ${maxTokenLength}`);
      }
      if (offset + length > bytes.byteLength) {
        throw new DataFileError(file, `truncated at token ${token} (offset ${offset}): its ${length} bytes run past the end`);
      }
      pieces.push(bytes.slice(offset, offset + length));
      scores.push(score);
      offset += length;
    }
    if (offset !== bytes.byteLength) {
      throw new DataFileError(file, `has ${bytes.byteLength - offset} bytes after the ${pieces.length} expected tokens`);
    }
    if (pieces.length < FIRST_REGULAR_ID) {
      throw new DataFileError(file, `has ${pieces.length} tokens, fewer than the ${FIRST_REGULAR_ID} special and byte pieces`);
    }
    for (let b = 0; b < 256; b++) {
      const want = `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`;
      const got = byteKey(pieces[BYTE_PIECE_OFFSET + b]!);
      if (got !== want) throw new DataFileError(file, `token ${BYTE_PIECE_OFFSET + b} is ${JSON.stringify(got)}, expected the byte piece ${want}`);
    }
    return new Llama2cTokenizer(maxTokenLength, pieces, Float32Array.from(scores), file);
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    const tokens: number[] = [];
    if (options.bos ?? true) tokens.push(this.bosId);
    if (text !== '') tokens.push(this.dummyPrefixId);
    for (const codePoint of text) {
      const bytes = this.utf8.encode(codePoint);
      const id = this.idByKey.get(byteKey(bytes));
      if (id !== undefined) tokens.push(id);
      else for (const b of bytes) tokens.push(BYTE_PIECE_OFFSET + b);
    }
    // pairMerge[i]: the id of piece(tokens[i]) + piece(tokens[i+1]), or -1. Only the two pairs
    // touching a merge change, so they alone are recomputed; the choice is llama2.c's.
    const pairMerge = (i: number): number => this.idByKey.get(this.pieceKeys[tokens[i]!]! + this.pieceKeys[tokens[i + 1]!]!) ?? -1;
    const pairs: number[] = [];
    for (let i = 0; i + 1 < tokens.length; i++) pairs.push(pairMerge(i));
    for (;;) {
      let bestScore = -Infinity;
      let bestIndex = -1;
      for (let i = 0; i < pairs.length; i++) {
        const id = pairs[i]!;
        if (id !== -1 && this.scores[id]! > bestScore) {
          bestScore = this.scores[id]!;
          bestIndex = i;
        }
      }
      if (bestIndex === -1) break;
      tokens[bestIndex] = pairs[bestIndex]!;
      tokens.splice(bestIndex + 1, 1);
      pairs.splice(bestIndex, 1);
      if (bestIndex > 0) pairs[bestIndex - 1] = pairMerge(bestIndex - 1);
      if (bestIndex < pairs.length) pairs[bestIndex] = pairMerge(bestIndex);
    }
    if (options.eos ?? false) tokens.push(this.eosId);
    return tokens;
  }

  decode(ids: ArrayLike<number>): string {
    checkTokenIds('Llama2cTokenizer', ids, this.vocabSize);
    const bytes: number[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (id === this.bosId || id === this.eosId) continue;
      if (id >= BYTE_PIECE_OFFSET && id < FIRST_REGULAR_ID) bytes.push(id - BYTE_PIECE_OFFSET);
      else for (const b of this.pieces[id]!) bytes.push(b);
    }
    // The dummy prefix: llama2.c strips a piece's leading space right after BOS; we strip it at
    // the start of the sequence, so decode(encode(t)) === t with or without BOS.
    const start = bytes[0] === 0x20 ? 1 : 0;
    return new TextDecoder('utf-8').decode(Uint8Array.from(bytes.slice(start)));
  }
}

/** Read a llama2.c tokenizer `.bin` file. */
export async function loadLlama2cTokenizer(path: string, options: Llama2cTokenizerOptions = {}): Promise<Llama2cTokenizer> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new DataFileError(path, `cannot be read: ${(e as Error).message}`);
  }
  return Llama2cTokenizer.fromBytes(bytes, path, options);
}
