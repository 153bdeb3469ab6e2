// Writing safetensors: round trips for every dtype (and file dtype
// conversions), the byte layout the format prescribes, streaming reads in
// small chunks, model state dicts and LoRA adapters, and atomic replacement:
// a save that fails midway leaves the previous file as it was.

import * as fc from 'fast-check';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as g from '../../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'gradlab-st-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeAll(() => {
  g.useBackend(new g.CpuBackend());
});

const raw = async (t: g.Tensor) => Array.from(await t.rawData());

describe('safetensors round trips', () => {
  it('f64, f32, f16 and i32 tensors come back bit for bit, with shapes and metadata', async () => {
    await fc.assert(fc.asyncProperty(
      fc.array(fc.record({
        shape: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 }),
        dtype: fc.constantFrom('f64' as const, 'f32' as const, 'f16' as const, 'i32' as const),
        seed: fc.integer({ min: 0, max: 1000 }),
      }), { minLength: 1, maxLength: 5 }),
      async (specs) => {
        g.manualSeed(specs[0].seed);
        const tensors = new Map(specs.map((s, i) => {
          const n = s.shape.reduce((a, b) => a * b, 1);
          const t = s.dtype === 'i32'
            ? g.tensor(Int32Array.from({ length: n }, (_, k) => (k * 7919 + s.seed) % 2001 - 1000), s.shape)
            : g.randn(s.shape, { dtype: s.dtype, std: 100 });
          return [`t${i}.${s.dtype}`, t.keep()] as [string, g.Tensor];
        }));
        const file = join(dir, 'prop.safetensors');
        await g.saveSafetensors(file, tensors, { metadata: { note: 'property' } });
        const back = await g.loadSafetensors(file);
        expect([...back.keys()]).toEqual([...tensors.keys()]);
        for (const [name, t] of tensors) {
          const b = back.get(name)!;
          expect(b.dtype).toBe(t.dtype);
          expect([...b.shape]).toEqual([...t.shape]);
          expect(await raw(b)).toEqual(await raw(t));
        }
        const reader = await g.SafetensorsReader.open(file);
        expect(reader.metadata).toEqual({ note: 'property' });
        await reader.close();
        g.dispose([...tensors.values(), ...back.values()]);
      },
    ), { numRuns: 25 });
  });

  it('lays the file out as the format says: LE length, space-padded JSON, data 8-byte aligned and packed', async () => {
    const file = join(dir, 'layout.safetensors');
    const a = g.tensor([1.5, -2], { dtype: 'f32' });
    const b = g.tensor(Int32Array.from([7]), [1]);
    await g.saveSafetensors(file, { a, b });
    const bytes = readFileSync(file);
    const n = Number(bytes.readBigUInt64LE(0));
    expect((8 + n) % 8).toBe(0);
    const header = bytes.subarray(8, 8 + n).toString('utf8');
    expect(header.trimEnd()).toBe('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"I32","shape":[1],"data_offsets":[8,12]}}');
    expect(/^ *$/.test(header.slice(header.trimEnd().length))).toBe(true);
    expect(bytes.length).toBe(8 + n + 12);
    expect(bytes.readFloatLE(8 + n)).toBe(1.5);
    expect(bytes.readFloatLE(8 + n + 4)).toBe(-2);
    expect(bytes.readInt32LE(8 + n + 8)).toBe(7);
    g.dispose([a, b]);
  });

  it('stores floats as BF16 (round to nearest even) or F16, and i32 as I64, on request', async () => {
    const file = join(dir, 'convert.safetensors');
    // 1 + 2^-8 is a bf16 tie (rounds to even: 1); 1 + 3*2^-8 rounds up to 1 + 2^-6; 65520 rounds to inf in f16.
    const x = g.tensor([1 + 2 ** -8, 1 + 3 * 2 ** -8, -3.5, 65520], { dtype: 'f32' });
    const i = g.tensor(Int32Array.from([-2147483648, 5]), [2]);
    await g.saveSafetensors(file, { x_bf16: x, x_f16: x, i }, { dtypes: { x_bf16: 'BF16', x_f16: 'F16', i: 'I64' } });
    const bytes = readFileSync(file);
    const n = Number(bytes.readBigUInt64LE(0));
    expect(bytes.readBigInt64LE(8 + n + 16)).toBe(-2147483648n); // after 8 bytes of BF16 and 8 of F16
    const back = await g.loadSafetensors(file);
    expect(Array.from(await back.get('x_bf16')!.data())).toEqual([1, 1 + 2 ** -6, -3.5, 65536]);
    expect(Array.from(await back.get('x_f16')!.data())).toEqual([1 + 2 ** -8, 1 + 3 * 2 ** -8, -3.5, Infinity]);
    expect(Array.from(await back.get('i')!.data())).toEqual([-2147483648, 5]);
    await expect(g.saveSafetensors(file, { x }, { dtypes: { x: 'I32' } })).rejects.toThrow(/cannot save: tensor 'x' \(\[4\] f32\) cannot be stored as I32/);
    g.dispose([x, i, ...back.values()]);
  });

  it('streams a tensor in small chunks to the same values', async () => {
    const file = join(dir, 'chunks.safetensors');
    const t = g.randn([37, 5], { dtype: 'f64' });
    await g.saveSafetensors(file, { t });
    await g.withSafetensors(file, async (r) => {
      const chunked = await r.readTensor('t', { dtype: 'f32', chunkBytes: 24 }); // 3 f64 elements per read
      const whole = await r.readTensor('t', { dtype: 'f32' });
      expect(await raw(chunked)).toEqual(await raw(whole));
      g.dispose([chunked, whole]);
    });
    t.dispose();
  });
});

describe('state dict files', () => {
  const ARGS = g.modelArgs({ dim: 8, nLayers: 2, nHeads: 2, nKvHeads: 1, vocabSize: 12, multipleOf: 8, maxSeqLen: 4 });

  it('a model saved and loaded into a fresh one is identical, parameter for parameter', async () => {
    g.manualSeed(11);
    const a = new g.Transformer(ARGS);
    const file = join(dir, 'model.safetensors');
    await g.saveStateDictToSafetensors(a, file, { metadata: { format: 'pt' } });
    const b = new g.Transformer(ARGS, { init: 'zeros' });
    expect(await g.loadStateDictFromSafetensors(b, file)).toEqual({ missingKeys: [], unexpectedKeys: [] });
    for (const [name, p] of a.namedParameters()) expect(await raw(b.getParameter(name)), name).toEqual(await raw(p));
    a.dispose();
    b.dispose();
  });

  it('an f32 file loads into an f64 model (converted), a LoRA adapter loads on its own (non-strict)', async () => {
    g.manualSeed(12);
    const a = new g.Transformer(ARGS);
    g.applyLora(a, { r: 2 });
    g.markOnlyLoraAsTrainable(a);
    const adapter = join(dir, 'adapter.safetensors');
    await g.saveStateDictToSafetensors(a, adapter, { only: 'trainable' });
    const b = new g.Transformer(ARGS, { dtype: 'f64' });
    g.applyLora(b, { r: 2 });
    const result = await g.loadStateDictFromSafetensors(b, adapter, { strict: false });
    expect(result.unexpectedKeys).toEqual([]);
    expect(result.missingKeys.every((k) => !k.includes('lora_'))).toBe(true);
    const name = 'layers.1.attention.wv.lora_A';
    expect(b.getParameter(name).dtype).toBe('f64');
    expect(await raw(b.getParameter(name))).toEqual(await raw(a.getParameter(name)));
    a.dispose();
    b.dispose();
  });

  it('reports every mismatch at once and loads nothing', async () => {
    g.manualSeed(13);
    const small = new g.Transformer(ARGS);
    const file = join(dir, 'small.safetensors');
    await g.saveStateDictToSafetensors(small, file);
    const other = new g.Transformer({ ...ARGS, vocabSize: 13, nLayers: 1 });
    const before = await raw(other.getParameter('norm.weight'));
    let message = '';
    try { await g.loadStateDictFromSafetensors(other, file); } catch (err) { message = (err as Error).message; }
    expect(message).toMatch(/small\.safetensors: cannot load into Transformer: 3 error\(s\)/);
    expect(message).toMatch(/size mismatch for 'tok_embeddings\.weight': the file has \[12, 8\], the parameter is \[13, 8\]/);
    expect(message).toMatch(/size mismatch for 'output\.weight'/);
    expect(message).toMatch(/unexpected key\(s\): 'layers\.1\.attention\.wq\.weight'/);
    expect(await raw(other.getParameter('norm.weight'))).toEqual(before);
    small.dispose();
    other.dispose();
  });
});

describe('atomic saving', () => {
  it('a save that fails midway leaves the previous file untouched and no temporary behind', async () => {
    const file = join(dir, 'atomic', 'weights.safetensors');
    rmSync(join(dir, 'atomic'), { recursive: true, force: true });
    mkdirSync(join(dir, 'atomic'));
    writeFileSync(file, 'the previous checkpoint');
    const good = g.tensor([1, 2, 3]);
    const failing = g.tensor([4, 5]);
    // The device fails while the second tensor is read back, after the header and the first tensor were written.
    Object.defineProperty(failing, 'rawData', { value: async () => { throw new Error('device lost'); } });
    await expect(g.saveSafetensors(file, { good, failing })).rejects.toThrow(/weights\.safetensors: cannot save: device lost/);
    expect(readFileSync(file, 'utf8')).toBe('the previous checkpoint');
    expect(readdirSync(join(dir, 'atomic'))).toEqual(['weights.safetensors']);
    await g.saveSafetensors(file, { good });
    expect(readdirSync(join(dir, 'atomic'))).toEqual(['weights.safetensors']);
    const back = await g.loadSafetensors(file);
    expect(Array.from(await back.get('good')!.data())).toEqual([1, 2, 3]);
    g.dispose([good, failing, ...back.values()]);
  });

  it('names the file when its directory does not exist', async () => {
    const t = g.tensor([1]);
    await expect(g.saveSafetensors(join(dir, 'no', 'such', 'x.safetensors'), { t })).rejects.toThrow(/x\.safetensors: cannot save: cannot create a temporary file next to it/);
    t.dispose();
  });
});
