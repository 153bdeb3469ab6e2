// The small tokenizer interface the data layer and the trainer use, so a LLaMA (32000-piece)
// tokenizer and a llama2.c `.bin` tokenizer are interchangeable.

export interface EncodeOptions {
  /** Prepend the BOS id (default true, as LLaMA's tokenizer does). */
  bos?: boolean;
  /** Append the EOS id (default false; LLaMA's tokenizer never adds it by itself). */
  eos?: boolean;
}

export interface Tokenizer {
  readonly vocabSize: number;
  readonly bosId: number;
  readonly eosId: number;
  /** Text -> ids. A leading space piece is added before the text (SentencePiece's dummy prefix). */
  encode(text: string, options?: EncodeOptions): number[];
  /** Ids -> text. BOS and EOS ids are dropped and the dummy-prefix space is removed. */
  decode(ids: ArrayLike<number>): string;
}

/** LLaMA's special ids (shared by llama2.c's tokenizers). */
export const LLAMA_UNK_ID = 0;
export const LLAMA_BOS_ID = 1;
export const LLAMA_EOS_ID = 2;

/** Check every id is an integer in [0, vocabSize); `who` names the tokenizer in the error. */
export function checkTokenIds(who: string, ids: ArrayLike<number>, vocabSize: number): void {
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
      throw new Error(`${who}.decode: id ${id} at position ${i} is outside the vocabulary [0, ${vocabSize})`);
    }
  }
}
