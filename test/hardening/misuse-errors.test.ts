// Issue 11, items 1-6, 8 and 9 on the CPU: each misuse that used to give a
// wrong result, a runaway allocation or a misleading error now fails with a
// message naming what was wrong. Expected values are written from the issue
// and PyTorch's behaviour, not taken from the code.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as g from '../../src/index.js';
import { CpuBackend } from '../../src/backends/cpu/cpu-backend.js';
import { RotaryEmbedding } from '../../src/nn/rotary.js';
import { readLlama2cHeader } from '../../src/train/weights/llama2c.js';
import { SafetensorsReader } from '../../src/train/weights/safetensors-reader.js';

beforeEach(() => { g.useBackend(new CpuBackend()); });

describe('1. the CPU backend enforces its buffer limit before allocating', () => {
  it('zeros/randn of 6.4 GB and 40 GB fail naming op, shape, dtype and bytes; nothing is allocated', () => {
    const before = g.memoryReport().liveTotal;
    expect(() => g.zeros([40000, 40000])).toThrow("zeros: shape [40000, 40000] f32 needs 6400000000 bytes, more than backend 'cpu' allows in one buffer (maxBufferBytes 2147483648)");
    expect(() => g.randn([40000, 40000])).toThrow('randn: shape [40000, 40000] f32 needs 6400000000 bytes');
    expect(() => g.zeros([1e5, 1e5])).toThrow('zeros: shape [100000, 100000] f32 needs 40000000000 bytes');
    expect(() => g.rand([1e5, 1e5], { dtype: 'f64' })).toThrow('rand: shape [100000, 100000] f64 needs 80000000000 bytes');
    expect(() => g.arange(1e10)).toThrow('arange: shape [10000000000] f32 needs 40000000000 bytes');
    expect(g.memoryReport().liveTotal).toBe(before);
  });

  it('the limit is configurable (constructor, and the backend itself refuses a larger buffer)', () => {
    const small = new CpuBackend({ maxBufferBytes: 1024 });
    expect(small.capabilities.maxBufferBytes).toBe(1024);
    g.useBackend(small);
    expect(g.zeros([256]).numel).toBe(256); // exactly 1024 bytes fit
    expect(() => g.zeros([257])).toThrow('zeros: shape [257] f32 needs 1028 bytes');
    expect(() => g.matmul(g.ones([16, 8]), g.ones([8, 32]))).toThrow('512 x f32 needs 2048 bytes');
    expect(() => small.alloc('f64', 129)).toThrow("cpu alloc: 129 x f64 (1032 bytes) exceeds the CPU backend's buffer limit of 1024 bytes");
    expect(() => new CpuBackend({ maxBufferBytes: 0 })).toThrow('maxBufferBytes must be a positive integer');
  });
});

describe('2. crossEntropy with a label outside [0, vocab) throws on the CPU', () => {
  it('names the position and the label, forward and backward; the ignore index still works', async () => {
    const logits = g.randn([3, 5], { requiresGrad: true });
    expect(() => g.crossEntropy(logits, g.tensor([1, 7, 2], { dtype: 'i32' }))).toThrow('crossEntropy: label 7 at position 1 is out of range [0, 5) for 5 classes (and is not the ignore index -100)');
    expect(() => g.crossEntropy(logits, g.tensor([-1, 0, 2], { dtype: 'i32' }))).toThrow('label -1 at position 0');
    expect(() => g.crossEntropy(logits, g.tensor([0, 4, 5], { dtype: 'i32' }))).toThrow('label 5 at position 2 is out of range [0, 5)'); // the first label past the end
    const ok = g.crossEntropy(logits, g.tensor([1, -100, 4], { dtype: 'i32' }));
    expect(Number.isFinite(await ok.item())).toBe(true);
  });
});

describe('3. a repeated axis is an error in every reduction', () => {
  it('mean(x, [1, 1]) no longer divides by 9; sum and max refuse it too, also as [1, -1]', async () => {
    const x = g.ones([2, 3]);
    expect(() => g.mean(x, [1, 1])).toThrow('mean: axis 1 appears more than once in [1, 1] (rank 2)');
    expect(() => g.sum(x, [1, -1])).toThrow('sum: axis -1 appears more than once in [1, -1] (rank 2)');
    expect(() => g.max(x, [0, 0])).toThrow('max: axis 0 appears more than once');
    expect(await g.mean(g.tensor([[1, 2, 3], [4, 5, 6]]), [1]).toArray()).toEqual([2, 5]);
  });
});

describe('4. tidy(async fn) frees what fn created before throwing', () => {
  it('10 calls leak nothing', async () => {
    const before = g.memoryReport().liveTotal;
    for (let i = 0; i < 10; i++) {
      expect(() => g.tidy((async () => { g.zeros([100]); await Promise.resolve(); }) as unknown as () => void)).toThrow('tidy: the function returned a Promise');
    }
    await new Promise((r) => setTimeout(r, 0));
    expect(g.memoryReport().liveTotal).toBe(before);
  });
});

describe('5. integers: out-of-range creation is an error; the cast rule is stated', () => {
  it('i32 creation from 2^31, 2^40 + 5, -2^31 - 1 or 1.5 throws; the limits themselves are accepted', async () => {
    expect(() => g.tensor([2 ** 31], { dtype: 'i32' })).toThrow('tensor: value at index 0 is 2147483648, not an integer in [-2147483648, 2147483647] as dtype i32 needs');
    expect(() => g.tensor([0, 2 ** 40 + 5], { dtype: 'i32' })).toThrow('value at index 1 is 1099511627781');
    expect(() => g.tensor(new Float64Array([-(2 ** 31) - 1]), [1], { dtype: 'i32' })).toThrow('-2147483649');
    expect(() => g.tensor([1.5], { dtype: 'i32' })).toThrow('1.5');
    expect(() => g.full([2], 2 ** 31, { dtype: 'i32' })).toThrow('full: the fill value is 2147483648');
    expect(await g.tensor([-(2 ** 31), 2 ** 31 - 1], { dtype: 'i32' }).toArray()).toEqual([-(2 ** 31), 2 ** 31 - 1]);
  });

  it('a float -> i32 cast truncates toward zero and otherwise follows ToInt32: NaN and infinities give 0, large values wrap modulo 2^32', async () => {
    const x = g.tensor(new Float64Array([2.7, -2.7, 1e10, -1e10, NaN, Infinity, -Infinity, 2 ** 31]), [8]);
    // Hand-derived: 1e10 mod 2^32 = 1410065408; -1e10 -> -1410065408; 2^31 -> -2^31.
    expect(await g.cast(x, 'i32').toArray()).toEqual([2, -2, 1410065408, -1410065408, 0, 0, 0, -2147483648]);
  });
});

describe('6. settings that produced garbage are validated', () => {
  it('ropeTheta 0 or negative', () => {
    expect(() => g.presetArgs('tiny', { ropeTheta: 0 })).toThrow('ropeTheta must be a finite number > 0 (Meta: 10000), got 0');
    expect(() => g.modelArgs({ ropeTheta: -1 })).toThrow('ropeTheta must be a finite number > 0');
    expect(() => new RotaryEmbedding(8, 4, 'f32', NaN)).toThrow('RotaryEmbedding: theta must be a finite number > 0');
  });

  it('rand with low > high, randn with a negative std', () => {
    expect(() => g.rand([2], { low: 1, high: 0 })).toThrow('rand: the range [low, high) must be finite with low <= high, got low 1, high 0');
    expect(() => g.randn([2], { std: -1 })).toThrow('randn: std must be a finite number >= 0 (as torch.normal requires), got -1');
    expect(() => g.randn([2], { mean: NaN })).toThrow('randn: mean must be a finite number, got NaN');
  });

  it('slice with a NaN or fractional start or end', () => {
    const x = g.ones([4]);
    expect(() => g.slice(x, 0, NaN)).toThrow('slice: start and end must be integers, got start NaN, end 4');
    expect(() => g.slice(x, 0, 1, 2.5)).toThrow('got start 1, end 2.5');
  });

  it("setStorageRole('bogus') and a non-boolean trainable", () => {
    const x = g.ones([4]);
    expect(() => x.setStorageRole('bogus' as never)).toThrow("setStorageRole: unknown role 'bogus'; expected one of activation, parameter, gradient, optimizerState, autocastCopy");
    expect(() => x.setStorageRole('parameter', 'yes' as never)).toThrow('trainable must be a boolean');
    const report = g.memoryReport();
    expect(Object.values(report.live).reduce((a, b) => a + b, 0)).toBe(report.liveTotal);
  });

  it('no gradient flows through a cast to i32 (as in PyTorch), and integers cannot require grad', () => {
    const x = g.tensor([1.5, 2.5], { requiresGrad: true });
    const i = g.cast(x, 'i32');
    expect(i.requiresGrad).toBe(false);
    const back = g.cast(i, 'f32').sum();
    expect(() => back.backward()).toThrow('does not require grad');
    expect(() => g.tensor([1, 2], { dtype: 'i32', requiresGrad: true })).toThrow('requiresGrad: only float tensors can require gradients');
  });
});

describe('8. backward accepts an options object first', () => {
  it('loss.backward({ retainGraph: true }) runs twice; wrong arguments are named', async () => {
    const w = g.tensor([2, 3], { requiresGrad: true });
    const loss = g.mul(w, w).sum();
    loss.backward({ retainGraph: true });
    loss.backward();
    expect(await w.grad!.toArray()).toEqual([8, 12]); // d/dw sum(w^2) = 2w, accumulated twice
    const again = g.mul(w, w).sum();
    expect(() => again.backward({ retain_graph: true } as never)).toThrow('backward: unknown option(s) retain_graph; known: retainGraph');
    expect(() => again.backward(5 as never)).toThrow('backward: the first argument (a gradient Tensor or an options object) must be an options object like { retainGraph: true }, got 5');
  });
});

describe('9. errors that misled now say what the user did wrong', () => {
  it('useBackend(undefined), a spec string, a Promise', () => {
    expect(() => g.useBackend(undefined as never)).toThrow("useBackend: expected a Backend, got undefined; pass a backend, e.g. useBackend(await createBackend('cpu'))");
    expect(() => g.useBackend('cpu' as never)).toThrow("useBackend: expected a Backend, got the string 'cpu'; create it first: useBackend(await createBackend('cpu'))");
    expect(() => g.useBackend(g.createBackend('cpu') as never)).toThrow('got a Promise (await createBackend(...) first)');
  });

  it('a directory passed as a weights file names the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gradlab-weights-'));
    await expect(SafetensorsReader.open(dir)).rejects.toThrow(`${dir}: is a directory, not a weight file`);
    await expect(readLlama2cHeader(dir)).rejects.toThrow(`${dir}: is a directory, not a weight file`);
    await expect(SafetensorsReader.open(join(dir, 'missing.safetensors'))).rejects.toThrow('missing.safetensors: cannot open: ENOENT');
  });

  it('a sequence of length 0 is blamed on the input, not on rotary', () => {
    const model = new g.Transformer(g.presetArgs('tiny', { layers: 1, vocabSize: 16 }));
    expect(() => model.forward(g.zeros([1, 0], { dtype: 'i32' }))).toThrow('Transformer: the token sequence is empty (tokens [1, 0]); pass at least one token per row');
    model.dispose();
  });

  it('an embedding lookup into a table with no rows', () => {
    expect(() => g.embedding(g.zeros([0, 4]), g.tensor([0], { dtype: 'i32' }))).toThrow('embedding: the table [0, 4] f32 has no rows, so none of the 1 indices can be looked up');
  });
});

afterEach(() => { g.useBackend(new CpuBackend()); });
