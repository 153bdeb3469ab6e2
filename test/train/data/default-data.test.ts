import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderDefaultDataFiles } from '../../../scripts/generate-default-data.js';
import { defaultAlpacaPath, llamaTokenizer, loadDefaultAlpaca, loadLlama2cTokenizer, tokenizeAlpacaExample, type AlpacaRecord } from '../../../src/train/data/index.js';

type Rec = Required<AlpacaRecord>;

// Each checker recognises one task form from the instruction/input text alone and derives the
// answer itself (unit factors and word rules are plain facts, not the generator's tables).
const FACTORS: Record<string, number> = {
  'km>meters': 1000, 'kg>grams': 1000, 'hours>minutes': 60, 'minutes>seconds': 60,
  'meters>centimeters': 100, 'days>hours': 24, 'liters>milliliters': 1000, 'weeks>days': 7,
};
const num = (s: string): number => Number.parseInt(s, 10);
const list = (s: string): string[] => s.split(', ');
const vowels = new Set(['a', 'e', 'i', 'o', 'u']);

type Checker = { kind: string; answer: (r: Rec) => string | undefined };
const pair = (r: Rec, q: RegExp, instr: string, input: RegExp, f: (a: number, b: number) => number): string | undefined => {
  const m = r.input === '' ? q.exec(r.instruction) : r.instruction === instr ? input.exec(r.input) : null;
  return m ? String(f(num(m[1]!), num(m[2]!))) : undefined;
};
const one = (r: Rec, q: RegExp, instr: string, f: (x: string) => string): string | undefined => {
  if (r.input === '') {
    const m = q.exec(r.instruction);
    return m ? f(m[1]!) : undefined;
  }
  return r.instruction === instr ? f(r.input) : undefined;
};
const CHECKERS: Checker[] = [
  { kind: 'add', answer: (r) => pair(r, /^What is (\d+) plus (\d+)\?$/, 'Add the two numbers.', /^(\d+) and (\d+)$/, (a, b) => a + b) },
  { kind: 'sub', answer: (r) => pair(r, /^What is (\d+) minus (\d+)\?$/, 'Subtract the second number from the first.', /^(\d+) and (\d+)$/, (a, b) => a - b) },
  { kind: 'mul', answer: (r) => pair(r, /^What is (\d+) times (\d+)\?$/, 'Multiply the two numbers.', /^(\d+) and (\d+)$/, (a, b) => a * b) },
  { kind: 'larger', answer: (r) => pair(r, /^Which is larger, (\d+) or (\d+)\?$/, 'Which number is larger?', /^(\d+) or (\d+)$/, (a, b) => (a > b ? a : b)) },
  {
    kind: 'convert',
    answer: (r) => {
      const m = r.input === '' ? /^Convert (\d+) (\w+) to (\w+)\.$/.exec(r.instruction) : null;
      const t = r.input !== '' ? /^Convert this to (\w+)\.$/.exec(r.instruction) : null;
      const i = t ? /^(\d+) (\w+)$/.exec(r.input) : null;
      const [n, from, to] = m ? [m[1]!, m[2]!, m[3]!] : t && i ? [i[1]!, i[2]!, t[1]!] : [];
      const factor = from === undefined ? undefined : FACTORS[`${from}>${to}`];
      return factor === undefined ? undefined : String(num(n!) * factor);
    },
  },
  { kind: 'reverse', answer: (r) => one(r, /^Reverse the word (\w+)\.$/, 'Reverse the word.', (w) => w.split('').reverse().join('')) },
  { kind: 'upper', answer: (r) => one(r, /^Write (\w+) in uppercase\.$/, 'Write the word in uppercase.', (w) => w.toUpperCase()) },
  { kind: 'novowels', answer: (r) => one(r, /^Remove the vowels from (\w+)\.$/, 'Remove the vowels from the word.', (w) => w.replace(/[aeiou]/g, '')) },
  { kind: 'length', answer: (r) => one(r, /^How many letters are in (\w+)\?$/, 'Count the letters in the word.', (w) => String(w.length)) },
  { kind: 'sortup', answer: (r) => one(r, /^Sort in ascending order: (.+)\.$/, 'Sort the numbers in ascending order.', (s) => list(s).map(num).sort((a, b) => a - b).join(', ')) },
  { kind: 'sortdown', answer: (r) => one(r, /^Sort in descending order: (.+)\.$/, 'Sort the numbers in descending order.', (s) => list(s).map(num).sort((a, b) => b - a).join(', ')) },
  { kind: 'sortwords', answer: (r) => one(r, /^Sort alphabetically: (.+)\.$/, 'Sort the words alphabetically.', (s) => list(s).sort((a, b) => (a < b ? -1 : 1)).join(', ')) },
  { kind: 'parity', answer: (r) => one(r, /^Is (\d+) even or odd\?$/, 'Classify the number as even or odd.', (s) => (num(s) % 2 === 0 ? 'even' : 'odd')) },
  { kind: 'sign', answer: (r) => one(r, /^Is (-?\d+) positive or negative\?$/, 'Classify the number as positive or negative.', (s) => (num(s) > 0 ? 'positive' : 'negative')) },
  { kind: 'initial', answer: (r) => one(r, /^Does (\w+) start with a vowel or a consonant\?$/, 'Does the word start with a vowel or a consonant?', (w) => (vowels.has(w[0]!) ? 'vowel' : 'consonant')) },
];

describe('default instruction data set', async () => {
  const train = await loadDefaultAlpaca('train');
  const evalSet = await loadDefaultAlpaca('eval');

  it('has 200 train and 40 eval records, about 40% with input', () => {
    expect(train.length).toBe(200);
    expect(evalSet.length).toBe(40);
    const share = [...train, ...evalSet].filter((r) => r.input !== '').length / 240;
    expect(share).toBeGreaterThan(0.3);
    expect(share).toBeLessThan(0.5);
  });

  it('every answer is re-derived from its instruction and input', () => {
    const kindsSeen = new Set<string>();
    for (const [split, records] of [['train', train], ['eval', evalSet]] as const) {
      records.forEach((r, i) => {
        const hits = CHECKERS.map((c) => ({ kind: c.kind, answer: c.answer(r) })).filter((h) => h.answer !== undefined);
        expect(hits.length, `${split}[${i}] ${JSON.stringify(r)} matched ${hits.length} task forms`).toBe(1);
        expect(r.output, `${split}[${i}] ${JSON.stringify(r)}`).toBe(hits[0]!.answer);
        if (split === 'train') kindsSeen.add(hits[0]!.kind);
      });
    }
    expect([...kindsSeen].sort()).toEqual(CHECKERS.map((c) => c.kind).sort());
  });

  it('has short prompts and answers, no duplicates and no train/eval overlap', async () => {
    const key = (r: Rec): string => `${r.instruction}\u0000${r.input}`;
    expect(new Set(train.map(key)).size).toBe(200);
    expect(new Set(evalSet.map(key)).size).toBe(40);
    const trainKeys = new Set(train.map(key));
    expect(evalSet.filter((r) => trainKeys.has(key(r)))).toEqual([]);
    const tok = await loadLlama2cTokenizer('../shared/data/tok512.bin');
    for (const r of [...train, ...evalSet]) {
      expect(r.output.length).toBeLessThanOrEqual(24);
      // The reference preamble dominates: 110..185 tokens with tok512, 43..89 with LLaMA's.
      expect(tokenizeAlpacaExample(r, tok).inputIds.length).toBeLessThanOrEqual(192);
      expect(tokenizeAlpacaExample(r, llamaTokenizer()).inputIds.length).toBeLessThanOrEqual(96);
    }
  });

  it('the generator regenerates the committed files byte for byte', () => {
    const files = renderDefaultDataFiles();
    expect(readFileSync(defaultAlpacaPath('train'), 'utf8')).toBe(files['alpaca-train.json']);
    expect(readFileSync(defaultAlpacaPath('eval'), 'utf8')).toBe(files['alpaca-eval.json']);
  });
});
