// Malformed and truncated safetensors files are rejected with an error that
// names the file and what is wrong. The files are assembled byte by byte
// here, independently of gradlab's writer.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as g from '../../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'gradlab-malformed-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let counter = 0;
/** A file of: 8-byte LE length (the header's, unless overridden), the header text, then `data`. */
function craft(header: string | object, data: Uint8Array = new Uint8Array(0), lengthOverride?: bigint): string {
  const text = typeof header === 'string' ? header : JSON.stringify(header);
  const body = Buffer.from(text, 'utf8');
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(lengthOverride ?? BigInt(body.length));
  const file = join(dir, `case-${counter++}.safetensors`);
  writeFileSync(file, Buffer.concat([prefix, body, data]));
  return file;
}

const f32 = (...values: number[]) => new Uint8Array(Float32Array.from(values).buffer);

async function openError(file: string): Promise<string> {
  try {
    const r = await g.SafetensorsReader.open(file);
    await r.close();
  } catch (err) {
    expect(err).toBeInstanceOf(g.WeightFileError);
    expect((err as g.WeightFileError).file).toBe(file);
    expect((err as Error).message.startsWith(file)).toBe(true);
    return (err as Error).message;
  }
  throw new Error(`${file} was accepted`);
}

describe('malformed safetensors files are rejected with a clear message', () => {
  it('a well-formed file opens (the control case)', async () => {
    const file = craft({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, f32(1, 2));
    const r = await g.SafetensorsReader.open(file);
    expect(Array.from(await r.readHost('a'))).toEqual([1, 2]);
    await r.close();
  });

  it('too short for the length prefix', async () => {
    const file = join(dir, 'short.safetensors');
    writeFileSync(file, Buffer.from([1, 2, 3]));
    expect(await openError(file)).toMatch(/not a safetensors file: it is 3 bytes long, shorter than the 8-byte header length/);
  });

  it('a header length beyond the end of the file (truncated)', async () => {
    expect(await openError(craft('{}', undefined, 500n))).toMatch(/truncated: the safetensors header length says 500 bytes, but only 2 bytes follow it/);
  });

  it('an absurd header length (not a safetensors file)', async () => {
    expect(await openError(craft('{}', undefined, 1n << 40n))).toMatch(/header length 1099511627776 is over the format's 100000000-byte limit/);
  });

  it('a header that is not UTF-8, not JSON, or not an object', async () => {
    const file = join(dir, 'latin1.safetensors');
    const prefix = Buffer.alloc(8);
    prefix.writeBigUInt64LE(4n);
    writeFileSync(file, Buffer.concat([prefix, Buffer.from([0x7b, 0xff, 0xfe, 0x7d])]));
    expect(await openError(file)).toMatch(/malformed safetensors header: the header is not valid UTF-8/);
    expect(await openError(craft('{"a": '))).toMatch(/the header is not valid JSON/);
    expect(await openError(craft('[1, 2]'))).toMatch(/must be a JSON object starting with '\{'/);
  });

  it('entries without a dtype, with an unknown dtype, a bad shape, or bad offsets', async () => {
    expect(await openError(craft({ w: { shape: [1], data_offsets: [0, 4] } }, f32(0)))).toMatch(/tensor 'w': dtype must be a string, got undefined/);
    expect(await openError(craft({ w: { dtype: 'F31', shape: [1], data_offsets: [0, 4] } }, f32(0)))).toMatch(/tensor 'w': unknown dtype 'F31'/);
    expect(await openError(craft({ w: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, f32(0)))).toMatch(/tensor 'w': shape must be an array of non-negative integers, got \[-1\]/);
    expect(await openError(craft({ w: { dtype: 'F32', shape: [1], data_offsets: [4, 0] } }, f32(0)))).toMatch(/tensor 'w': data_offsets must be \[begin, end\] with 0 <= begin <= end, got \[4,0\]/);
    expect(await openError(craft({ w: { dtype: 'F32', shape: [1], data_offsets: [0, 4], extra: 1 } }, f32(0)))).toMatch(/tensor 'w': unknown field\(s\) extra/);
  });

  it('offsets that disagree with the shape and dtype', async () => {
    expect(await openError(craft({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, f32(1, 2))))
      .toMatch(/tensor 'w': data_offsets \[0, 8\) span 8 bytes, but F32 \[3\] needs 12/);
  });

  it('holes, overlaps and bytes after the last tensor', async () => {
    const hole = { a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] } };
    expect(await openError(craft(hole, f32(1, 2, 3)))).toMatch(/hole in the data: no tensor covers bytes \[4, 8\)/);
    const overlap = { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } };
    expect(await openError(craft(overlap, f32(1, 2)))).toMatch(/tensor 'b' \(bytes \[4, 8\)\) overlaps the tensor before it, which ends at 8/);
    expect(await openError(craft({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, f32(1, 2)))).toMatch(/4 bytes follow the last tensor's data/);
  });

  it('tensor data cut short (a truncated download)', async () => {
    const header = { a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } };
    expect(await openError(craft(header, f32(1, 2, 3)))).toMatch(/truncated: the header describes 16 bytes of tensor data, but only 12 bytes follow the header/);
  });

  it('metadata that is not a map of strings', async () => {
    expect(await openError(craft({ __metadata__: { step: 3 } }))).toMatch(/"__metadata__" value for "step" must be a string, got 3/);
  });

  it('a valid file with a dtype gradlab cannot load opens, and reading that tensor says so', async () => {
    const file = craft({ mask: { dtype: 'BOOL', shape: [4], data_offsets: [0, 4] } }, new Uint8Array([1, 0, 1, 1]));
    const r = await g.SafetensorsReader.open(file);
    await expect(r.readTensor('mask')).rejects.toThrow(/tensor 'mask' has dtype BOOL, which gradlab does not load/);
    await expect(r.readTensor('nothing')).rejects.toThrow(/no tensor 'nothing' \(the file holds 1: mask\)/);
    await r.close();
  });

  it('header lengths at the edges: an 8-byte file, lengths 0 and 1, exactly the format limit', async () => {
    const eight = join(dir, 'eight.safetensors');
    writeFileSync(eight, Buffer.alloc(8)); // a length prefix of 0 and nothing else
    expect(await openError(eight)).toMatch(/safetensors header length 0 is too short to hold a JSON object/);
    const seven = join(dir, 'seven.safetensors');
    writeFileSync(seven, Buffer.alloc(7));
    expect(await openError(seven)).toMatch(/it is 7 bytes long, shorter than the 8-byte header length/);
    expect(await openError(craft('{'))).toMatch(/safetensors header length 1 is too short to hold a JSON object/);
    // 100000000 is allowed by the format; this file is merely truncated.
    expect(await openError(craft('{}', undefined, 100_000_000n))).toMatch(/truncated: the safetensors header length says 100000000 bytes/);
  });

  it('metadata and entries that are not JSON objects', async () => {
    for (const metadata of [null, [], 'x']) {
      expect(await openError(craft({ __metadata__: metadata }))).toMatch(/"__metadata__" must be an object of strings/);
    }
    for (const entry of [null, [0, 4], 7]) {
      expect(await openError(craft({ w: entry }, f32(0)))).toMatch(/tensor 'w': entry must be an object with dtype, shape and data_offsets/);
    }
  });

  it('shapes and offsets that are not arrays of non-negative safe integers', async () => {
    const entry = (shape: unknown, offsets: unknown) => craft({ w: { dtype: 'F32', shape, data_offsets: offsets } }, f32(0));
    for (const shape of [3, [1.5], [2 ** 53], ['1']]) {
      expect(await openError(entry(shape, [0, 4]))).toMatch(/tensor 'w': shape must be an array of non-negative integers/);
    }
    for (const offsets of [[0], [0, 4, 8], [0, 4.5], [-1, 3], '0,4', [0, '4']]) {
      expect(await openError(entry([1], offsets))).toMatch(/tensor 'w': data_offsets must be \[begin, end\] with 0 <= begin <= end/);
    }
  });

  it('the messages list every unknown field, every known dtype and the full shape', async () => {
    expect(await openError(craft({ w: { dtype: 'F32', shape: [1], data_offsets: [0, 4], extra: 1, more: 2 } }, f32(0))))
      .toMatch(/tensor 'w': unknown field\(s\) extra, more/);
    expect(await openError(craft({ w: { dtype: 'F31', shape: [1], data_offsets: [0, 4] } }, f32(0))))
      .toMatch(/\(known: BOOL, U8, I8, F8_E5M2, F8_E4M3, I16, U16, F16, BF16, I32, U32, F32, F64, I64, U64\)/);
    expect(await openError(craft({ w: { dtype: 'F32', shape: [2, 3], data_offsets: [0, 8] } }, f32(1, 2))))
      .toMatch(/data_offsets \[0, 8\) span 8 bytes, but F32 \[2, 3\] needs 24/);
  });

  it("a dtype named after an Object.prototype member ('constructor', 'toString') is an unknown dtype", async () => {
    for (const dtype of ['constructor', 'toString', '__proto__']) {
      expect(await openError(craft({ w: { dtype, shape: [1], data_offsets: [0, 4] } }, f32(0)))).toMatch(new RegExp(`tensor 'w': unknown dtype '${dtype}'`));
    }
  });

  it('zero-size tensors may share an offset with the tensor after them, in any header order', async () => {
    const header = {
      b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] },
      empty: { dtype: 'F32', shape: [0, 3], data_offsets: [4, 4] },
      a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] },
    };
    const r = await g.SafetensorsReader.open(craft(header, f32(1, 2)));
    try {
      expect(Array.from(await r.readHost('a'))).toEqual([1]);
      expect(Array.from(await r.readHost('b'))).toEqual([2]);
      expect(Array.from(await r.readHost('empty'))).toEqual([]);
    } finally {
      await r.close();
    }
  });

  it('a missing file names itself', async () => {
    await expect(g.SafetensorsReader.open(join(dir, 'absent.safetensors'))).rejects.toThrow(/absent\.safetensors: cannot open: ENOENT/);
  });
});
