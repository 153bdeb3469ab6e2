// Issue 11, item 15: the safetensors writer with Unicode tensor names and
// metadata. Padding the header by UTF-16 length instead of UTF-8 bytes went
// unseen because every name was ASCII and files were read back only by
// gradlab's own reader. Here the file is read by a minimal parser written
// from the format's definition (8-byte little-endian header length, UTF-8
// JSON header, data starting 8-byte aligned, contiguous data_offsets), and
// by gradlab's reader.

import * as fc from 'fast-check';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as g from '../../src/index.js';
import { saveSafetensors } from '../../src/train/weights/safetensors-writer.js';
import { SafetensorsReader } from '../../src/train/weights/safetensors-reader.js';

const dir = mkdtempSync(join(tmpdir(), 'gradlab-st-unicode-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeAll(() => { g.useBackend(new g.CpuBackend()); });

interface ParsedFile {
  headerLength: number;
  header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] } | Record<string, string>>;
  data: Uint8Array;
}

/** The format, independently of src/: u64 LE N, N bytes of UTF-8 JSON, then the data. */
function parseSafetensors(bytes: Uint8Array): ParsedFile {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  const json = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength));
  return { headerLength, header: JSON.parse(json), data: bytes.subarray(8 + headerLength) };
}

// Any Unicode text (astral planes, combining marks, RTL, CJK) without lone surrogates, which UTF-8 cannot carry.
const unicodeText = fc.string({ unit: 'binary', minLength: 1, maxLength: 12 });

describe('safetensors writer: Unicode names and metadata', () => {
  it('data starts 8-byte aligned and an independent parser reads every name, shape, value and metadata entry', async () => {
    let multiByteNames = 0;
    await fc.assert(fc.asyncProperty(
      fc.uniqueArray(unicodeText.filter((n) => n !== '__metadata__'), { minLength: 1, maxLength: 4 }),
      fc.dictionary(unicodeText, fc.string({ unit: 'binary', maxLength: 10 }), { maxKeys: 3 }),
      fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 0, maxLength: 2 }),
      fc.integer({ min: 0, max: 1_000_000 }),
      async (names, metadata, shape, seed) => {
        if (names.some((n) => new TextEncoder().encode(n).length !== n.length)) multiByteNames++;
        g.manualSeed(seed);
        const tensors = names.map((name) => [name, g.randn(shape)] as const);
        const expected = await Promise.all(tensors.map(async ([, t]) => Array.from(await t.data())));
        const file = join(dir, 'unicode.safetensors');
        await saveSafetensors(file, tensors, { metadata });

        const bytes = new Uint8Array(readFileSync(file));
        const parsed = parseSafetensors(bytes);
        expect((8 + parsed.headerLength) % 8).toBe(0);
        expect(parsed.header.__metadata__ ?? {}).toEqual(metadata);
        let end = 0;
        names.forEach((name, i) => {
          const entry = parsed.header[name] as { dtype: string; shape: number[]; data_offsets: [number, number] };
          expect(entry, name).toBeDefined();
          expect(entry.dtype).toBe('F32');
          expect(entry.shape).toEqual(shape);
          const [from, to] = entry.data_offsets;
          expect(from).toBe(end); // contiguous, in order
          end = to;
          const dv = new DataView(parsed.data.buffer, parsed.data.byteOffset + from, to - from);
          const values = Array.from({ length: (to - from) / 4 }, (_, k) => dv.getFloat32(4 * k, true));
          expect(values).toEqual(expected[i]);
        });
        expect(parsed.data.length).toBe(end);

        const reader = await SafetensorsReader.open(file);
        try {
          expect(reader.names().sort()).toEqual([...names].sort());
          expect(reader.metadata ?? {}).toEqual(metadata);
        } finally {
          await reader.close();
        }
        g.dispose(tensors.map(([, t]) => t));
      },
    ), { numRuns: 60 });
    expect(multiByteNames).toBeGreaterThan(10); // the generator really produced non-ASCII names
  });

  it('a name whose UTF-16 length and UTF-8 length differ by 1 mod 8 still aligns (hand-picked case)', async () => {
    // 'é' is 1 UTF-16 unit and 2 UTF-8 bytes; '😀' is 2 units and 4 bytes.
    const file = join(dir, 'hand.safetensors');
    await saveSafetensors(file, { 'é': g.ones([1]), '😀x': g.ones([2]) });
    const parsed = parseSafetensors(new Uint8Array(readFileSync(file)));
    expect((8 + parsed.headerLength) % 8).toBe(0);
    expect(Object.keys(parsed.header).sort()).toEqual(['é', '😀x'].sort());
  });

  it('names that are Object.prototype keys ("__proto__", "constructor", "toString") are written as own header keys', async () => {
    // Found by the property above (seed 1830287840): a plain {} header turned
    // header["__proto__"] = entry into a prototype assignment that JSON.stringify dropped.
    const file = join(dir, 'proto.safetensors');
    const names = ['__proto__', 'constructor', 'toString'];
    await saveSafetensors(file, names.map((n, i) => [n, g.full([i + 1], i + 1)] as const), { dtypes: { constructor: 'F16' as const } });
    const parsed = parseSafetensors(new Uint8Array(readFileSync(file)));
    expect(Object.keys(parsed.header).sort()).toEqual([...names].sort());
    const proto = Object.getOwnPropertyDescriptor(parsed.header, '__proto__')?.value as { dtype: string; shape: number[] };
    expect(proto).toMatchObject({ dtype: 'F32', shape: [1] });
    expect((parsed.header.constructor as unknown as { dtype: string }).dtype).toBe('F16');
    const reader = await SafetensorsReader.open(file);
    try {
      expect(reader.names().sort()).toEqual([...names].sort());
      expect(Array.from(await (await reader.readTensor('toString')).data())).toEqual([3, 3, 3]);
    } finally {
      await reader.close();
    }
  });
});
