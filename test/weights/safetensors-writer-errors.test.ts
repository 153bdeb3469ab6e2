// The safetensors writer's and reader's argument checks: each misuse names
// the tensor and what was wrong, and a refused save leaves no file behind (and
// an existing file untouched). StrykerJS found these messages and branches
// unchecked (bench/results/mutation-score.md).

import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import * as g from '../../src/index.js';
import { saveSafetensors } from '../../src/train/weights/safetensors-writer.js';
import { SafetensorsReader } from '../../src/train/weights/safetensors-reader.js';

const dir = mkdtempSync(join(tmpdir(), 'gradlab-st-errors-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeEach(() => { g.useBackend(new g.CpuBackend()); });

describe('saveSafetensors refuses bad arguments before writing anything', () => {
  it('names the problem: bad names, duplicates, disposed tensors, dtypes, metadata', async () => {
    const file = join(dir, 'refused.safetensors');
    const a = g.ones([2]);
    const gone = g.ones([1]);
    gone.dispose();
    const cases: [Parameters<typeof saveSafetensors>[1], Parameters<typeof saveSafetensors>[2], string][] = [
      [[['', a]], {}, 'cannot save: invalid tensor name ""'],
      [[['__metadata__', a]], {}, 'cannot save: invalid tensor name "__metadata__"'],
      [[['w', a], ['w', a]], {}, "cannot save: tensor name 'w' appears twice"],
      [{ w: gone }, {}, "cannot save: tensor 'w' was disposed"],
      [{ w: a }, { dtypes: { w: 'U8' as never } }, "cannot save: tensor 'w': unsupported file dtype 'U8' (use F64, F32, F16, BF16, I64, I32)"],
      [{ w: a }, { dtypes: { w: 'I32' } }, "cannot save: tensor 'w' (" + a.describe() + ') cannot be stored as I32'],
      [{ i: g.tensor([1], { dtype: 'i32' }) }, { dtypes: { i: 'F32' } }, "cannot save: tensor 'i' ("],
      [{ w: a }, { dtypes: { v: 'F16' } }, "cannot save: options.dtypes names 'v', which is not among the tensors"],
      [{ w: a }, { metadata: { step: 3 as unknown as string } }, "cannot save: metadata value for 'step' must be a string"],
    ];
    for (const [tensors, options, message] of cases) {
      await expect(saveSafetensors(file, tensors, options), message).rejects.toThrow(message);
      expect(existsSync(file), message).toBe(false);
    }
  });

  it('a refused save leaves the previous file byte for byte', async () => {
    const file = join(dir, 'kept.safetensors');
    await saveSafetensors(file, { w: g.full([3], 7) });
    const before = readFileSync(file);
    await expect(saveSafetensors(file, { w: g.ones([1]) }, { dtypes: { x: 'F32' } })).rejects.toThrow('options.dtypes names');
    expect(readFileSync(file).equals(before)).toBe(true);
  });

  it('takes a Map, an array of pairs or a record, in that order of names', async () => {
    const file = join(dir, 'kinds.safetensors');
    const [x, y] = [g.full([1], 1), g.full([2], 2)];
    for (const tensors of [new Map([['y', y], ['x', x]]), [['y', y], ['x', x]] as const, { y, x }]) {
      await saveSafetensors(file, tensors);
      const r = await SafetensorsReader.open(file);
      try {
        expect(r.names()).toEqual(['y', 'x']);
        expect(Array.from(await r.readHost('y'))).toEqual([2, 2]);
      } finally {
        await r.close();
      }
    }
  });
});

describe('SafetensorsReader names what is wrong', () => {
  it('an unknown tensor lists what the file holds (the first 8)', async () => {
    const file = join(dir, 'many.safetensors');
    await saveSafetensors(file, Array.from({ length: 10 }, (_, i) => [`t${i}`, g.ones([1])] as const));
    const r = await SafetensorsReader.open(file);
    try {
      await expect(r.readTensor('nope')).rejects.toThrow("no tensor 'nope' (the file holds 10: t0, t1, t2, t3, t4, t5, t6, t7, ...)");
    } finally {
      await r.close();
    }
  });

  it('readInto refuses a target of another shape or a non-dense view, and fills a dense one in any chunk size', async () => {
    const file = join(dir, 'into.safetensors');
    await saveSafetensors(file, { w: g.tensor([[1, 2, 3], [4, 5, 6]]) });
    const r = await SafetensorsReader.open(file);
    try {
      await expect(r.readInto('w', g.zeros([3, 2]))).rejects.toThrow("tensor 'w' is [2, 3] but the target is");
      const wide = g.zeros([3, 2]);
      await expect(r.readInto('w', wide.transpose(0, 1))).rejects.toThrow('must be dense');
      const target = g.zeros([2, 3]);
      await r.readInto('w', target, 8); // two elements per read
      expect(await target.toArray()).toEqual([[1, 2, 3], [4, 5, 6]]);
    } finally {
      await r.close();
    }
  });
});
