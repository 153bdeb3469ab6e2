// Generates gradlab's embedded instruction data set: short, checkable Alpaca-format tasks
// (arithmetic, unit conversions, string edits, sorting, classification) that a tiny model can
// learn on a CPU in minutes. Deterministic: the same code always writes byte-identical files.
//
//   npx tsx scripts/generate-default-data.ts
//
// writes src/train/data/default/alpaca-train.json (200 records) and alpaca-eval.json
// (40 held-out records; no (instruction, input) pair appears in both).

import { writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { AlpacaRecord } from '../src/train/data/alpaca-prompt.js';
import { Prng32 } from '../src/train/data/prng32.js';

export const DEFAULT_DATA_SEED = 20240601;
export const DEFAULT_TRAIN_COUNT = 200;
export const DEFAULT_EVAL_COUNT = 40;
/** Share of records that use the `input` field (Alpaca has about 40%). */
const INPUT_SHARE = 0.4;

type Rec = Required<AlpacaRecord>;
/** A task kind draws its parameters and returns the record in the chosen form. */
type TaskKind = (rng: Prng32, withInput: boolean) => Rec;

const WORDS = [
  'apple', 'bread', 'chair', 'dog', 'egg', 'fish', 'grape', 'house', 'ink', 'jam', 'kite', 'lemon',
  'moon', 'nest', 'orange', 'pen', 'queen', 'river', 'sun', 'table', 'umbrella', 'van', 'water',
  'box', 'yard', 'zebra', 'cat', 'tree', 'book', 'milk', 'star', 'rain', 'ant', 'owl', 'bird',
  'cup', 'door', 'frog', 'lamp', 'rock', 'ship', 'road', 'hat', 'sand', 'wind', 'idea', 'arm',
  'gold', 'leaf', 'snow',
];

const UNITS: ReadonlyArray<{ from: string; to: string; factor: number }> = [
  { from: 'km', to: 'meters', factor: 1000 },
  { from: 'kg', to: 'grams', factor: 1000 },
  { from: 'hours', to: 'minutes', factor: 60 },
  { from: 'minutes', to: 'seconds', factor: 60 },
  { from: 'meters', to: 'centimeters', factor: 100 },
  { from: 'days', to: 'hours', factor: 24 },
  { from: 'liters', to: 'milliliters', factor: 1000 },
  { from: 'weeks', to: 'days', factor: 7 },
];

const int = (rng: Prng32, lo: number, hi: number): number => lo + rng.nextInt(hi - lo + 1);
const rec = (instruction: string, input: string, output: string): Rec => ({ instruction, input, output });
const isVowel = (c: string): boolean => 'aeiou'.includes(c);

/** k distinct items drawn from a generator. */
function distinct<T>(rng: Prng32, k: number, draw: (rng: Prng32) => T): T[] {
  const out: T[] = [];
  while (out.length < k) {
    const v = draw(rng);
    if (!out.includes(v)) out.push(v);
  }
  return out;
}

const TASKS: readonly TaskKind[] = [
  (rng, withInput) => {
    const a = int(rng, 0, 50), b = int(rng, 0, 50);
    return withInput ? rec('Add the two numbers.', `${a} and ${b}`, `${a + b}`) : rec(`What is ${a} plus ${b}?`, '', `${a + b}`);
  },
  (rng, withInput) => {
    const a = int(rng, 0, 50), b = int(rng, 0, a);
    return withInput
      ? rec('Subtract the second number from the first.', `${a} and ${b}`, `${a - b}`)
      : rec(`What is ${a} minus ${b}?`, '', `${a - b}`);
  },
  (rng, withInput) => {
    const a = int(rng, 2, 12), b = int(rng, 2, 12);
    return withInput ? rec('Multiply the two numbers.', `${a} and ${b}`, `${a * b}`) : rec(`What is ${a} times ${b}?`, '', `${a * b}`);
  },
  (rng, withInput) => {
    const u = rng.pick(UNITS), n = int(rng, 1, 20);
    return withInput
      ? rec(`Convert this to ${u.to}.`, `${n} ${u.from}`, `${n * u.factor}`)
      : rec(`Convert ${n} ${u.from} to ${u.to}.`, '', `${n * u.factor}`);
  },
  (rng, withInput) => {
    const w = rng.pick(WORDS), r = [...w].reverse().join('');
    return withInput ? rec('Reverse the word.', w, r) : rec(`Reverse the word ${w}.`, '', r);
  },
  (rng, withInput) => {
    const w = rng.pick(WORDS);
    return withInput ? rec('Write the word in uppercase.', w, w.toUpperCase()) : rec(`Write ${w} in uppercase.`, '', w.toUpperCase());
  },
  (rng, withInput) => {
    const w = rng.pick(WORDS), r = [...w].filter((c) => !isVowel(c)).join('');
    return withInput ? rec('Remove the vowels from the word.', w, r) : rec(`Remove the vowels from ${w}.`, '', r);
  },
  (rng, withInput) => {
    const w = rng.pick(WORDS);
    return withInput ? rec('Count the letters in the word.', w, `${w.length}`) : rec(`How many letters are in ${w}?`, '', `${w.length}`);
  },
  (rng, withInput) => {
    const xs = distinct(rng, int(rng, 3, 4), (g) => int(g, 0, 99));
    const sorted = [...xs].sort((p, q) => p - q).join(', ');
    return withInput
      ? rec('Sort the numbers in ascending order.', xs.join(', '), sorted)
      : rec(`Sort in ascending order: ${xs.join(', ')}.`, '', sorted);
  },
  (rng, withInput) => {
    const xs = distinct(rng, int(rng, 3, 4), (g) => int(g, 0, 99));
    const sorted = [...xs].sort((p, q) => q - p).join(', ');
    return withInput
      ? rec('Sort the numbers in descending order.', xs.join(', '), sorted)
      : rec(`Sort in descending order: ${xs.join(', ')}.`, '', sorted);
  },
  (rng, withInput) => {
    const ws = distinct(rng, 3, (g) => g.pick(WORDS));
    const sorted = [...ws].sort().join(', ');
    return withInput ? rec('Sort the words alphabetically.', ws.join(', '), sorted) : rec(`Sort alphabetically: ${ws.join(', ')}.`, '', sorted);
  },
  (rng, withInput) => {
    const n = int(rng, 0, 99), a = n % 2 === 0 ? 'even' : 'odd';
    return withInput ? rec('Classify the number as even or odd.', `${n}`, a) : rec(`Is ${n} even or odd?`, '', a);
  },
  (rng, withInput) => {
    const m = int(rng, 1, 50), n = rng.nextInt(2) === 0 ? m : -m, a = n > 0 ? 'positive' : 'negative';
    return withInput ? rec('Classify the number as positive or negative.', `${n}`, a) : rec(`Is ${n} positive or negative?`, '', a);
  },
  (rng, withInput) => {
    const w = rng.pick(WORDS), a = isVowel(w[0]!) ? 'vowel' : 'consonant';
    return withInput
      ? rec('Does the word start with a vowel or a consonant?', w, a)
      : rec(`Does ${w} start with a vowel or a consonant?`, '', a);
  },
  (rng, withInput) => {
    const [a, b] = distinct(rng, 2, (g) => int(g, 0, 99)) as [number, number];
    return withInput ? rec('Which number is larger?', `${a} or ${b}`, `${Math.max(a, b)}`) : rec(`Which is larger, ${a} or ${b}?`, '', `${Math.max(a, b)}`);
  },
];

/** The default data set: train and eval records, distinct (instruction, input) pairs throughout. */
export function generateDefaultData(): { train: Rec[]; eval: Rec[] } {
  const rng = new Prng32(DEFAULT_DATA_SEED);
  const total = DEFAULT_TRAIN_COUNT + DEFAULT_EVAL_COUNT;
  const seen = new Set<string>();
  const records: Rec[] = [];
  for (let i = 0; records.length < total; i++) {
    const task = TASKS[i % TASKS.length]!;
    const withInput = rng.nextUint32() < INPUT_SHARE * 2 ** 32;
    const r = task(rng, withInput);
    const key = `${r.instruction}\u0000${r.input}`;
    if (seen.has(key)) continue; // a repeat: the next iteration draws the next task kind afresh
    seen.add(key);
    records.push(r);
  }
  // Shuffle so both splits mix all task kinds, then cut.
  for (let i = records.length - 1; i >= 1; i--) {
    const j = rng.nextInt(i + 1);
    [records[i], records[j]] = [records[j]!, records[i]!];
  }
  return { train: records.slice(0, DEFAULT_TRAIN_COUNT), eval: records.slice(DEFAULT_TRAIN_COUNT) };
}

/** File name -> exact file contents (pretty-printed JSON with a final newline). */
export function renderDefaultDataFiles(): Record<'alpaca-train.json' | 'alpaca-eval.json', string> {
  const { train, eval: evalRecords } = generateDefaultData();
  const render = (rs: Rec[]): string => `${JSON.stringify(rs, null, 2)}\n`;
  return { 'alpaca-train.json': render(train), 'alpaca-eval.json': render(evalRecords) };
}

export const DEFAULT_DATA_DIR = new URL('../src/train/data/default/', import.meta.url);

export function writeDefaultDataFiles(dir: URL = DEFAULT_DATA_DIR): string[] {
  return Object.entries(renderDefaultDataFiles()).map(([name, text]) => {
    const path = fileURLToPath(new URL(name, dir));
    writeFileSync(path, text);
    return path;
  });
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const path of writeDefaultDataFiles()) console.log(`wrote ${path}`);
}
