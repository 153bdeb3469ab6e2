// Writing safetensors files. The header is computed from shapes and dtypes
// alone, then each tensor is read back from its device and written in turn,
// so at most one tensor's bytes are on the host at a time. The file is
// written under a temporary name in the same directory, flushed to disk and
// renamed over the destination: a crash or error while saving leaves any
// previous file at that path untouched.

import { randomBytes } from 'node:crypto';
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Tensor } from '../../tensor/tensor.js';
import { assertLittleEndianHost, encodeElements, FILE_DTYPE, SAFETENSORS_BYTES, SAFETENSORS_DTYPES, type SafetensorsDType } from './host-dtypes.js';
import { WeightFileError } from './weight-file-error.js';

export interface SaveSafetensorsOptions {
  /** The "__metadata__" string map. */
  metadata?: Record<string, string>;
  /**
   * File dtype per tensor name (default: F64/F32/F16/I32 by the tensor's dtype).
   * Floats may be stored as any float type (BF16 included), i32 as I32 or I64.
   */
  dtypes?: Record<string, SafetensorsDType>;
}

export type NamedTensors = ReadonlyMap<string, Tensor> | Iterable<readonly [string, Tensor]> | Readonly<Record<string, Tensor>>;

function entriesOf(tensors: NamedTensors): [string, Tensor][] {
  if (tensors instanceof Map) return [...tensors.entries()];
  if (Symbol.iterator in (tensors as object)) return [...(tensors as Iterable<readonly [string, Tensor]>)].map(([n, t]) => [n, t]);
  return Object.entries(tensors as Record<string, Tensor>);
}

async function writeAll(fh: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await fh.write(bytes, done, bytes.length - done, position + done);
    done += bytesWritten;
  }
}

/** Writes `tensors` to `file` as safetensors, atomically (temp file + rename). */
export async function saveSafetensors(file: string, tensors: NamedTensors, options: SaveSafetensorsOptions = {}): Promise<void> {
  assertLittleEndianHost();
  const list = entriesOf(tensors);
  const fail = (problem: string): never => { throw new WeightFileError(file, `cannot save: ${problem}`); };
  const seen = new Set<string>();
  // No prototype: a tensor named "__proto__" (legal in the format) must become an own
  // key of the JSON header, not a prototype assignment that JSON.stringify drops.
  const header: Record<string, unknown> = Object.create(null);
  if (options.metadata) {
    for (const [k, v] of Object.entries(options.metadata)) if (typeof v !== 'string') fail(`metadata value for '${k}' must be a string`);
    header.__metadata__ = options.metadata;
  }
  const plan: { name: string; tensor: Tensor; dtype: SafetensorsDType }[] = [];
  let offset = 0;
  for (const [name, t] of list) {
    if (typeof name !== 'string' || name === '' || name === '__metadata__') fail(`invalid tensor name ${JSON.stringify(name)}`);
    if (seen.has(name)) fail(`tensor name '${name}' appears twice`);
    seen.add(name);
    if (t.isDisposed) fail(`tensor '${name}' was disposed`);
    const dtype = (options.dtypes && Object.hasOwn(options.dtypes, name) ? options.dtypes[name] : undefined) ?? FILE_DTYPE[t.dtype];
    if (!(SAFETENSORS_DTYPES as readonly string[]).includes(dtype)) fail(`tensor '${name}': unsupported file dtype '${dtype}' (use ${SAFETENSORS_DTYPES.join(', ')})`);
    const intTarget = dtype === 'I32' || dtype === 'I64';
    if (intTarget !== (t.dtype === 'i32')) fail(`tensor '${name}' (${t.describe()}) cannot be stored as ${dtype}`);
    const bytes = t.numel * SAFETENSORS_BYTES[dtype];
    header[name] = { dtype, shape: [...t.shape], data_offsets: [offset, offset + bytes] };
    offset += bytes;
    plan.push({ name, tensor: t, dtype });
  }
  for (const name of Object.keys(options.dtypes ?? {})) if (!seen.has(name)) fail(`options.dtypes names '${name}', which is not among the tensors`);

  // Pad the JSON with spaces so the data starts 8-byte aligned.
  let json = JSON.stringify(header);
  const jsonBytes = new TextEncoder().encode(json).length;
  json += ' '.repeat((8 - (jsonBytes % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const prefix = new Uint8Array(8);
  new DataView(prefix.buffer).setBigUint64(0, BigInt(headerBytes.length), true);

  const temp = join(dirname(file), `.${basename(file)}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
  let fh: FileHandle | null = null;
  try {
    try {
      fh = await open(temp, 'wx');
    } catch (err) {
      fail(`cannot create a temporary file next to it (${(err as Error).message})`);
    }
    await writeAll(fh!, prefix, 0);
    await writeAll(fh!, headerBytes, 8);
    let position = 8 + headerBytes.length;
    for (const { name, tensor, dtype } of plan) {
      if (tensor.isDisposed) fail(`tensor '${name}' was disposed while saving`);
      const values = await tensor.rawData();
      const bytes = encodeElements(values, tensor.dtype, dtype);
      await writeAll(fh!, bytes, position);
      position += bytes.length;
    }
    await fh!.sync();
    await fh!.close();
    fh = null;
    await rename(temp, file);
  } catch (err) {
    if (fh) await fh.close().catch(() => {});
    await unlink(temp).catch(() => {});
    if (err instanceof WeightFileError) throw err;
    throw new WeightFileError(file, `cannot save: ${(err as Error).message}`);
  }
}
