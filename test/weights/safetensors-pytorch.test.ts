// A safetensors file whose bytes come from PyTorch tensors (F64, F32, F16,
// BF16, I64, I32; a scalar, an empty tensor; inf, nan, -0, subnormals),
// written by scripts/make-goldens.py, read back by gradlab and compared with
// the values torch itself reports (JSON written by the same script).

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as g from '../../src/index.js';

const DIR = fileURLToPath(new URL('../goldens/safetensors-dtypes/', import.meta.url));
const FILE = `${DIR}torch-dtypes.safetensors`;

interface Expected { dtype: string; shape: number[]; values: (number | string)[] }
const expected = JSON.parse(readFileSync(`${DIR}torch-dtypes.expected.json`, 'utf8')) as { metadata: Record<string, string>; tensors: Record<string, Expected> };
const decode = (v: number | string) => (v === 'nan' ? NaN : v === 'inf' ? Infinity : v === '-inf' ? -Infinity : v === '-0' ? -0 : (v as number));

describe('reading a safetensors file written from PyTorch tensors', () => {
  let reader: g.SafetensorsReader;
  beforeAll(async () => { reader = await g.SafetensorsReader.open(FILE); });
  afterAll(async () => { await reader.close(); });

  it('lists every tensor with its dtype and shape, and the metadata', () => {
    expect(reader.names().sort()).toEqual(Object.keys(expected.tensors).sort());
    for (const [name, e] of Object.entries(expected.tensors)) {
      expect(reader.entry(name).dtype, name).toBe(e.dtype);
      expect([...reader.entry(name).shape], name).toEqual(e.shape);
    }
    expect(reader.metadata).toEqual(expected.metadata);
  });

  it('loads each dtype as gradlab stores it: F64 f64, F32 f32, F16 f16, BF16 f32 (exactly), I64 and I32 i32', () => {
    expect(['f64', 'f32', 'f16', 'bf16', 'i64', 'i32'].map((n) => reader.nativeDType(n))).toEqual(['f64', 'f32', 'f16', 'f32', 'i32', 'i32']);
  });

  for (const name of ['f64', 'f32', 'f16', 'bf16', 'i64', 'i32', 'scalar', 'empty']) {
    it(`'${name}' holds exactly the values torch reports`, async () => {
      const t = await reader.readTensor(name);
      expect([...t.shape]).toEqual(expected.tensors[name].shape);
      const got = Array.from(await t.data());
      const want = expected.tensors[name].values.map(decode);
      expect(got.length).toBe(want.length);
      // Object.is: NaN equals NaN, -0 differs from +0.
      got.forEach((v, i) => expect(Object.is(v, want[i]), `${name}[${i}]: ${v} vs ${want[i]}`).toBe(true));
      t.dispose();
    });
  }

  it('widens F16 to f32/f64 on request, and refuses to load floats as integers', async () => {
    const asF64 = await reader.readHost('f16', 'f64');
    expect(Array.from(asF64)).toEqual(expected.tensors.f16.values.map(decode));
    await expect(reader.readHost('f32', 'i32')).rejects.toThrow(/torch-dtypes\.safetensors: tensor 'f32' is F32; it cannot be loaded as i32/);
  });

  it('names the tensor and the value when an I64 does not fit in i32', async () => {
    await expect(reader.readTensor('i64_too_big')).rejects.toThrow(/torch-dtypes\.safetensors: tensor 'i64_too_big': I64 element 1 = 1099511627776 does not fit in i32/);
  });

  it('loadSafetensors fails as a whole on the bad I64 and frees the tensors it had already loaded', async () => {
    const before = g.memoryReport().liveTotal;
    await expect(g.loadSafetensors(FILE, { dtype: 'f64' })).rejects.toThrow(/'i64_too_big'/);
    expect(g.memoryReport().liveTotal).toBe(before);
  });
});
