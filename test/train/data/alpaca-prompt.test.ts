import { describe, expect, it } from 'vitest';
import { buildAlpacaPrompt } from '../../../src/train/data/index.js';

// Expected strings written out by hand from PROMPT_DICT in tatsu-lab/stanford_alpaca train.py.
describe('buildAlpacaPrompt', () => {
  it('uses prompt_no_input when input is empty (record 0 of Alpaca)', () => {
    const record = { instruction: 'Give three tips for staying healthy.', input: '', output: 'ignored' };
    expect(buildAlpacaPrompt(record)).toBe(
      'Below is an instruction that describes a task. Write a response that appropriately completes the request.\n' +
        '\n' +
        '### Instruction:\n' +
        'Give three tips for staying healthy.\n' +
        '\n' +
        '### Response:',
    );
  });

  it('uses prompt_input when input is non-empty (record 5 of Alpaca)', () => {
    const record = { instruction: 'Identify the odd one out.', input: 'Twitter, Instagram, Telegram', output: 'Telegram' };
    expect(buildAlpacaPrompt(record)).toBe(
      'Below is an instruction that describes a task, paired with an input that provides further context. ' +
        'Write a response that appropriately completes the request.\n' +
        '\n' +
        '### Instruction:\n' +
        'Identify the odd one out.\n' +
        '\n' +
        '### Input:\n' +
        'Twitter, Instagram, Telegram\n' +
        '\n' +
        '### Response:',
    );
  });

  it('treats a missing input like an empty one', () => {
    expect(buildAlpacaPrompt({ instruction: 'X', output: 'y' })).toBe(buildAlpacaPrompt({ instruction: 'X', input: '', output: 'y' }));
    expect(buildAlpacaPrompt({ instruction: 'X', output: 'y' })).not.toContain('### Input:');
  });

  it('offers a response separator and keeps $ and braces in the data literal', () => {
    const p = buildAlpacaPrompt({ instruction: 'Price $& {input} $1', input: 'a$$b', output: '' }, { responseSeparator: '\n' });
    expect(p.endsWith('### Instruction:\nPrice $& {input} $1\n\n### Input:\na$$b\n\n### Response:\n')).toBe(true);
  });
});
