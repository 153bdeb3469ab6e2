import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DataFileError, loadAlpacaFile, parseAlpacaRecords } from '../../../src/train/data/index.js';

describe('loadAlpacaFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gradlab-alpaca-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, text: string): string => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  it('loads the real Alpaca-200: 200 records, 118 with a non-empty input', async () => {
    const records = await loadAlpacaFile('../shared/data/alpaca200.json');
    expect(records.length).toBe(200);
    expect(records.filter((r) => r.input !== '').length).toBe(118);
    expect(records[0]!.instruction).toBe('Give three tips for staying healthy.');
    expect(records[5]).toEqual({ instruction: 'Identify the odd one out.', input: 'Twitter, Instagram, Telegram', output: 'Telegram' });
  });

  it('accepts a missing input and ignores extra keys', async () => {
    const path = write('ok.json', JSON.stringify([{ instruction: 'a', output: 'b', extra: 1 }, { instruction: 'c', input: 'd', output: '' }]));
    expect(await loadAlpacaFile(path)).toEqual([
      { instruction: 'a', input: '', output: 'b' },
      { instruction: 'c', input: 'd', output: '' },
    ]);
  });

  it('rejects malformed files and records, naming file, record index and field', async () => {
    const cases: [string, string, RegExp, number | undefined, string | undefined][] = [
      ['notjson.json', '[{"instruction": "a",', /notjson\.json: is not valid JSON/, undefined, undefined],
      ['object.json', '{"instruction": "a", "output": "b"}', /object\.json: must hold a JSON array of records, got an object/, undefined, undefined],
      ['string.json', '"hello"', /string\.json: must hold a JSON array of records, got a string/, undefined, undefined],
      ['notobject.json', '[{"instruction":"a","output":"b"}, 7]', /notobject\.json: record 1 is not an object \(got a number\)/, 1, undefined],
      ['nullrecord.json', '[null]', /nullrecord\.json: record 0 is not an object \(got null\)/, 0, undefined],
      ['arrayrecord.json', '[{"instruction":"a","output":"b"},{"instruction":"a","output":"b"},["x"]]', /arrayrecord\.json: record 2 is not an object \(got an array\)/, 2, undefined],
      ['noinstr.json', '[{"instruction":"a","output":"b"},{"input":"x","output":"b"}]', /noinstr\.json: record 1 field 'instruction' is missing/, 1, 'instruction'],
      ['nooutput.json', '[{"instruction":"a"}]', /nooutput\.json: record 0 field 'output' is missing/, 0, 'output'],
      ['numoutput.json', '[{"instruction":"a","output":"b"},{"instruction":"a","output":"b"},{"instruction":"a","output":"b"},{"instruction":"a","output":12}]', /numoutput\.json: record 3 field 'output' must be a string, got a number/, 3, 'output'],
      ['nullinput.json', '[{"instruction":"a","input":null,"output":"b"}]', /nullinput\.json: record 0 field 'input' must be a string, got null/, 0, 'input'],
      ['objinstr.json', '[{"instruction":{"t":"a"},"output":"b"}]', /objinstr\.json: record 0 field 'instruction' must be a string, got an object/, 0, 'instruction'],
    ];
    for (const [name, text, pattern, index, field] of cases) {
      const path = write(name, text);
      const err = await loadAlpacaFile(path).catch((e: unknown) => e);
      expect(err, name).toBeInstanceOf(DataFileError);
      expect((err as Error).message, name).toMatch(pattern);
      expect((err as DataFileError).file).toBe(path);
      expect((err as DataFileError).recordIndex, name).toBe(index);
      expect((err as DataFileError).field, name).toBe(field);
    }
  });

  it('names a file that cannot be read', async () => {
    await expect(loadAlpacaFile(join(dir, 'missing.json'))).rejects.toThrow(/missing\.json: cannot be read/);
  });

  it('validates already-parsed values too', () => {
    expect(() => parseAlpacaRecords([{ instruction: 'a', output: true }], 'mem')).toThrow(/mem: record 0 field 'output' must be a string, got a boolean/);
  });
});
