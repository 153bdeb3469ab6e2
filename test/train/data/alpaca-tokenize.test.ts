import { describe, expect, it } from 'vitest';
import llamaTokenizerJs from 'llama-tokenizer-js';
import { IGNORE_INDEX, llamaTokenizer, tokenizeAlpacaDataset, tokenizeAlpacaExample, type Tokenizer } from '../../../src/train/data/index.js';

/** One id per character (code + 3), BOS 1, EOS 2: token counts equal character counts + 1. */
const charTokenizer: Tokenizer = {
  vocabSize: 131,
  bosId: 1,
  eosId: 2,
  encode(text, options = {}) {
    return [...((options.bos ?? true) ? [1] : []), ...Array.from(text, (c) => c.charCodeAt(0) + 3), ...(options.eos ? [2] : [])];
  },
  decode(ids) {
    return Array.from(ids).filter((id) => id > 2).map((id) => String.fromCharCode(id - 3)).join('');
  },
};

// The prompt written out by hand from the reference template (see alpaca-prompt.test.ts).
const SOURCE =
  'Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n' +
  '### Instruction:\nAdd 2 and 3.\n\n### Response:';
const codes = (s: string): number[] => Array.from(s, (c) => c.charCodeAt(0) + 3);

describe('tokenizeAlpacaExample', () => {
  const record = { instruction: 'Add 2 and 3.', input: '', output: '5!' };
  const sourceTokens = 1 + SOURCE.length; // BOS + one token per character

  it('masks the BOS+source prefix and appends EOS (character tokenizer, counts by hand)', () => {
    const ex = tokenizeAlpacaExample(record, charTokenizer);
    expect(ex.sourceLength).toBe(sourceTokens);
    expect(Array.from(ex.inputIds)).toEqual([1, ...codes(SOURCE), ...codes('5!'), 2]);
    expect(Array.from(ex.labels)).toEqual([...new Array(sourceTokens).fill(IGNORE_INDEX), ...codes('5!'), 2]);
    expect(ex.truncated).toBe(false);
  });

  it('truncates to maxLength, dropping EOS first, and can mask everything', () => {
    const cut = tokenizeAlpacaExample(record, charTokenizer, sourceTokens + 1);
    expect(Array.from(cut.inputIds)).toEqual([1, ...codes(SOURCE), codes('5')[0]]);
    expect(Array.from(cut.labels)).toEqual([...new Array(sourceTokens).fill(IGNORE_INDEX), codes('5')[0]]);
    expect(cut.truncated).toBe(true);
    const inPrompt = tokenizeAlpacaExample(record, charTokenizer, { maxLength: 10 });
    expect(Array.from(inPrompt.inputIds)).toEqual([1, ...codes(SOURCE.slice(0, 9))]);
    expect(Array.from(inPrompt.labels)).toEqual(new Array(10).fill(IGNORE_INDEX));
    expect(inPrompt.sourceLength).toBe(10);
  });

  it('applies the response separator to the source', () => {
    const ex = tokenizeAlpacaExample(record, charTokenizer, { responseSeparator: '\n' });
    expect(ex.sourceLength).toBe(sourceTokens + 1);
    expect(Array.from(ex.inputIds.slice(sourceTokens - 1))).toEqual([...codes(':\n5!'), 2]);
  });

  it('with LLaMA\'s tokenizer: source counted by llama-tokenizer-js itself, EOS appended (Alpaca record 5)', () => {
    const r = { instruction: 'Identify the odd one out.', input: 'Twitter, Instagram, Telegram', output: 'Telegram' };
    const source =
      'Below is an instruction that describes a task, paired with an input that provides further context. ' +
      'Write a response that appropriately completes the request.\n\n' +
      '### Instruction:\nIdentify the odd one out.\n\n### Input:\nTwitter, Instagram, Telegram\n\n### Response:';
    const sourceIds = llamaTokenizerJs.encode(source, true, true);
    const fullIds = [...llamaTokenizerJs.encode(source + 'Telegram', true, true), 2];
    const ex = tokenizeAlpacaExample(r, llamaTokenizer());
    expect(ex.sourceLength).toBe(sourceIds.length);
    expect(Array.from(ex.inputIds)).toEqual(fullIds);
    expect(Array.from(ex.labels.slice(0, sourceIds.length)).every((v) => v === IGNORE_INDEX)).toBe(true);
    expect(Array.from(ex.labels.slice(sourceIds.length))).toEqual(fullIds.slice(sourceIds.length));
    expect(llamaTokenizer().decode(ex.inputIds.slice(sourceIds.length))).toBe('Telegram');
  });

  it('rejects a bad maxLength and names the record in dataset errors', () => {
    expect(() => tokenizeAlpacaExample(record, charTokenizer, 0)).toThrow(/maxLength must be an integer >= 1, got 0/);
    expect(() => tokenizeAlpacaDataset([record, record], charTokenizer, { maxLength: 1.5 })).toThrow(/record 0: .*maxLength/);
  });
});
