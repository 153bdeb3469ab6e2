// LLaMA's SentencePiece tokenizer (vocab 32000) through the npm package llama-tokenizer-js,
// which embeds exactly LLaMA's vocabulary and merges (see SEMANTICS.md "LLaMA tokenizer").

import llamaTokenizerJs from 'llama-tokenizer-js';
import { LLAMA_BOS_ID, LLAMA_EOS_ID, checkTokenIds, type EncodeOptions, type Tokenizer } from './tokenizer.js';

export const LLAMA_VOCAB_SIZE = 32000;

export class LlamaTokenizer implements Tokenizer {
  readonly vocabSize = LLAMA_VOCAB_SIZE;
  readonly bosId = LLAMA_BOS_ID;
  readonly eosId = LLAMA_EOS_ID;

  encode(text: string, options: EncodeOptions = {}): number[] {
    const bos = options.bos ?? true;
    // The package returns [] for '' even with BOS; Hugging Face's LLaMA tokenizer gives [BOS].
    const ids = text === '' ? (bos ? [LLAMA_BOS_ID] : []) : llamaTokenizerJs.encode(text, bos, true);
    if (options.eos ?? false) ids.push(LLAMA_EOS_ID);
    return ids;
  }

  decode(ids: ArrayLike<number>): string {
    checkTokenIds('LlamaTokenizer', ids, this.vocabSize);
    // The package would print BOS/EOS as '<s>'/'</s>' text; drop them (like skip_special_tokens).
    const text = Array.from(ids).filter((id) => id !== LLAMA_BOS_ID && id !== LLAMA_EOS_ID);
    return llamaTokenizerJs.decode(text, false, true);
  }
}

let shared: LlamaTokenizer | undefined;

/** The LLaMA tokenizer (one shared instance; the package decodes its vocabulary at import). */
export function llamaTokenizer(): LlamaTokenizer {
  shared ??= new LlamaTokenizer();
  return shared;
}
