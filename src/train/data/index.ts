// Instruction data for fine-tuning: Alpaca records, prompts, tokenizers, batching, evaluation.

export { DataFileError } from './data-file-error.js';
export { ALPACA_PROMPT_INPUT, ALPACA_PROMPT_NO_INPUT, buildAlpacaPrompt, type AlpacaRecord, type AlpacaPromptOptions } from './alpaca-prompt.js';
export { parseAlpacaRecords, parseAlpacaJson, loadAlpacaFile } from './alpaca-file.js';
export { LLAMA_UNK_ID, LLAMA_BOS_ID, LLAMA_EOS_ID, type Tokenizer, type EncodeOptions } from './tokenizer.js';
export { LlamaTokenizer, llamaTokenizer, LLAMA_VOCAB_SIZE } from './llama-tokenizer.js';
export { Llama2cTokenizer, loadLlama2cTokenizer, type Llama2cTokenizerOptions } from './llama2c-tokenizer.js';
export {
  IGNORE_INDEX, DEFAULT_MAX_LENGTH, tokenizeAlpacaExample, tokenizeAlpacaDataset,
  type TokenizedExample, type TokenizeAlpacaOptions,
} from './alpaca-tokenize.js';
export { collateBatch, type CollateInput, type CollateOptions, type CollatedBatch } from './collate.js';
export { Prng32, fmix32 } from './prng32.js';
export { DataOrder, epochPermutation, type DataOrderOptions, type DataOrderState } from './data-order.js';
export { defaultAlpacaPath, loadDefaultAlpaca, type DefaultAlpacaSplit } from './default-data.js';
export { normalizeAnswer, exactMatch, exactMatchRate } from './exact-match.js';
