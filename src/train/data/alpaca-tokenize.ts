// Turning one Alpaca record into training ids and labels, as Stanford Alpaca's train.py does.
//
// The reference (tatsu-lab/stanford_alpaca train.py, SupervisedDataset + preprocess +
// _tokenize_fn, checked at commit c8ea92b1c360269f787036fb3746b9e2dea120e5):
//   source  = PROMPT_DICT[...].format_map(example)
//   target  = f"{output}{tokenizer.eos_token}"             # the text "</s>"
//   input_ids = tokenizer(source + target, max_length=model_max_length, truncation=True)
//   source_len = count of tokenizer(source, same args) ids != pad_token_id
//   labels = input_ids with labels[:source_len] = IGNORE_INDEX (-100)
// Hugging Face's (slow) LLaMA tokenizer prepends BOS (add_bos_token=True) and never appends
// EOS itself (add_eos_token=False): the EOS id 2 comes from the literal "</s>" in the target,
// which it matches as a special token. Truncation keeps the first model_max_length ids, BOS
// included, so a truncated example loses its EOS. pad_token is the added "[PAD]" (id 32000),
// so source_len is simply min(len(BOS + source ids), model_max_length).
//
// What we do, equivalently: ids = [BOS] + encode(source + output) + [EOS], cut to maxLength;
// sourceLength = min(len([BOS] + encode(source)), maxLength); the first sourceLength labels are
// -100, the rest equal the ids. Like the reference, the source is tokenized on its own, so if
// SentencePiece merges differently across the source/output boundary, the mask is off by that
// token exactly as in the reference. Two deliberate differences: (1) a literal "</s>" inside a
// record's text stays ordinary characters here (the reference would turn it into EOS);
// (2) train.py also sets bos_token="</s>" when the model path contains "llama" (a workaround
// for early LLaMA conversions), which makes HF prepend id 2; we prepend the real BOS id 1
// (SEMANTICS.md). The labels stay aligned with the ids: the loss shifts them
// (logits[..., :-1] against labels[..., 1:]).

import { buildAlpacaPrompt, type AlpacaPromptOptions, type AlpacaRecord } from './alpaca-prompt.js';
import type { Tokenizer } from './tokenizer.js';

/** Label value the loss ignores (PyTorch's cross-entropy ignore_index, the reference's IGNORE_INDEX). */
export const IGNORE_INDEX = -100;

/** The reference's default model_max_length. */
export const DEFAULT_MAX_LENGTH = 512;

export interface TokenizedExample {
  inputIds: Int32Array;
  /** inputIds with the first sourceLength positions set to IGNORE_INDEX. */
  labels: Int32Array;
  /** Ids of the prompt (BOS included) after truncation: the masked prefix length. */
  sourceLength: number;
  /** Whether maxLength cut the example (its EOS, at least, is then gone). */
  truncated: boolean;
}

export interface TokenizeAlpacaOptions extends AlpacaPromptOptions {
  /** model_max_length (default 512). */
  maxLength?: number;
}

/** One record -> ids and labels; the third argument is maxLength or the options. */
export function tokenizeAlpacaExample(
  record: AlpacaRecord,
  tokenizer: Tokenizer,
  maxLengthOrOptions: number | TokenizeAlpacaOptions = {},
): TokenizedExample {
  const options = typeof maxLengthOrOptions === 'number' ? { maxLength: maxLengthOrOptions } : maxLengthOrOptions;
  const maxLength = options.maxLength ?? DEFAULT_MAX_LENGTH;
  if (!Number.isInteger(maxLength) || maxLength < 1) throw new Error(`tokenizeAlpacaExample: maxLength must be an integer >= 1, got ${maxLength}`);
  const source = buildAlpacaPrompt(record, options);
  const full = tokenizer.encode(source + record.output, { bos: true, eos: true });
  const sourceLength = Math.min(tokenizer.encode(source, { bos: true }).length, maxLength);
  const inputIds = Int32Array.from(full.slice(0, maxLength));
  const labels = inputIds.slice();
  labels.fill(IGNORE_INDEX, 0, Math.min(sourceLength, labels.length));
  return { inputIds, labels, sourceLength, truncated: full.length > maxLength };
}

/** tokenizeAlpacaExample over a list; the index of a failing record is in the error. */
export function tokenizeAlpacaDataset(records: readonly AlpacaRecord[], tokenizer: Tokenizer, options: TokenizeAlpacaOptions = {}): TokenizedExample[] {
  return records.map((record, index) => {
    try {
      return tokenizeAlpacaExample(record, tokenizer, options);
    } catch (e) {
      throw new Error(`tokenizeAlpacaDataset: record ${index}: ${(e as Error).message}`);
    }
  });
}
