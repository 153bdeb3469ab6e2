// Reading safetensors files one tensor at a time through a file handle, so a
// multi-gigabyte checkpoint never sits in host memory whole: each tensor is
// read in chunks (64 MiB by default), converted, and written straight into
// its device buffer.

import type { FileHandle } from 'node:fs/promises';
import { allocHostArray, type DType, type HostArray } from '../../tensor/dtype.js';
import { emptyTensor } from '../../tensor/kernel-ops.js';
import { currentContext } from '../../tensor/runtime.js';
import type { Tensor } from '../../tensor/tensor.js';
import { formatShape } from '../../tensor/shape.js';
import { assertLittleEndianHost, canConvert, decodeElements, NATIVE_DTYPE, SAFETENSORS_BYTES, SAFETENSORS_DTYPES, type SafetensorsDType } from './host-dtypes.js';
import { parseHeaderJson, parseHeaderLength, type SafetensorsEntry, type SafetensorsHeader } from './safetensors-header.js';
import { WeightFileError } from './weight-file-error.js';
import { openWeightFile } from './open-weight-file.js';

export const DEFAULT_CHUNK_BYTES = 64 * 1024 * 1024;

/** Reads exactly `length` bytes at `position` into a fresh 8-aligned buffer, or fails naming the file. */
export async function readExactly(fh: FileHandle, file: string, position: number, length: number, what: string): Promise<Uint8Array> {
  const bytes = new Uint8Array(new ArrayBuffer(length));
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(bytes, done, length - done, position + done);
    if (bytesRead === 0) throw new WeightFileError(file, `truncated: reading ${what} needed bytes [${position}, ${position + length}) but the file ends at ${position + done}`);
    done += bytesRead;
  }
  return bytes;
}

export class SafetensorsReader {
  private constructor(private readonly fh: FileHandle, readonly header: SafetensorsHeader) {}

  /** Opens a file and validates its header (nothing else is read yet). */
  static async open(file: string): Promise<SafetensorsReader> {
    assertLittleEndianHost();
    const { fh, size } = await openWeightFile(file);
    try {
      const prefix = await readExactly(fh, file, 0, Math.min(8, size), 'the header length');
      const headerLength = parseHeaderLength(prefix, size, file);
      const headerBytes = await readExactly(fh, file, 8, headerLength, 'the header');
      return new SafetensorsReader(fh, parseHeaderJson(headerBytes, size - 8 - headerLength, file));
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  get file(): string { return this.header.file; }
  get metadata(): Readonly<Record<string, string>> | null { return this.header.metadata; }

  /** Tensor names in the order the header lists them. */
  names(): string[] {
    return [...this.header.entries.keys()];
  }

  entry(name: string): SafetensorsEntry {
    const e = this.header.entries.get(name);
    if (!e) throw new WeightFileError(this.file, `no tensor '${name}' (the file holds ${this.header.entries.size}: ${this.names().slice(0, 8).join(', ')}${this.header.entries.size > 8 ? ', ...' : ''})`);
    return e;
  }

  /** The gradlab dtype a tensor loads as by default (F64 -> f64, F32/BF16 -> f32, F16 -> f16, I32/I64 -> i32). */
  nativeDType(name: string): DType {
    return NATIVE_DTYPE[this.supportedDType(this.entry(name))];
  }

  private supportedDType(e: SafetensorsEntry): SafetensorsDType {
    if (!(SAFETENSORS_DTYPES as readonly string[]).includes(e.dtype)) {
      throw new WeightFileError(this.file, `tensor '${e.name}' has dtype ${e.dtype}, which gradlab does not load (it reads ${SAFETENSORS_DTYPES.join(', ')})`);
    }
    return e.dtype as SafetensorsDType;
  }

  /**
   * Streams a tensor's elements, converted to `to`, in chunks of at most
   * `chunkBytes` file bytes: onChunk(values, firstElementIndex).
   */
  async stream(name: string, to: DType, onChunk: (values: HostArray, elementOffset: number) => void, chunkBytes = DEFAULT_CHUNK_BYTES): Promise<void> {
    const e = this.entry(name);
    const from = this.supportedDType(e);
    if (!canConvert(from, to)) throw new WeightFileError(this.file, `tensor '${name}' is ${from}; it cannot be loaded as ${to} (floats load as float dtypes, integers as i32)`);
    const size = SAFETENSORS_BYTES[from];
    const total = (e.end - e.begin) / size;
    const perChunk = Math.max(1, Math.floor(chunkBytes / size));
    for (let first = 0; first < total; first += perChunk) {
      const count = Math.min(perChunk, total - first);
      const bytes = await readExactly(this.fh, this.file, this.header.dataStart + e.begin + first * size, count * size, `tensor '${name}'`);
      let values: HostArray;
      try {
        values = decodeElements(bytes, from, count, to, () => `tensor '${name}'`);
      } catch (err) {
        throw new WeightFileError(this.file, (err as Error).message);
      }
      onChunk(values, first);
    }
  }

  /** A whole tensor's values on the host, converted to `dtype` (default: its native dtype). */
  async readHost(name: string, dtype?: DType): Promise<HostArray> {
    const to = dtype ?? this.nativeDType(name);
    const out = allocHostArray(to, this.entry(name).shape.reduce((a, b) => a * b, 1));
    await this.stream(name, to, (values, at) => out.set(values as never, at));
    return out;
  }

  /** A tensor on the current backend (dtype defaults to the native one), filled chunk by chunk. */
  async readTensor(name: string, options: { dtype?: DType; chunkBytes?: number } = {}): Promise<Tensor> {
    const e = this.entry(name);
    const dtype = options.dtype ?? this.nativeDType(name);
    const ctx = currentContext();
    const t = emptyTensor(ctx, e.shape, dtype);
    try {
      await this.stream(name, dtype, (values, at) => { if (values.length > 0) ctx.kernels.write(t.storage.buffer, values, at); }, options.chunkBytes);
    } catch (err) {
      t.dispose();
      throw err;
    }
    return t;
  }

  /** Streams a tensor into an existing dense tensor of the same shape (a parameter), converting to its dtype. */
  async readInto(name: string, target: Tensor, chunkBytes?: number): Promise<void> {
    const e = this.entry(name);
    if (e.shape.length !== target.shape.length || e.shape.some((d, i) => d !== target.shape[i])) {
      throw new WeightFileError(this.file, `tensor '${name}' is ${formatShape(e.shape)} but the target is ${target.describe()}`);
    }
    if (!target.isDense) throw new Error(`readInto: target ${target.describe()} must be dense`);
    await this.stream(name, target.dtype, (values, at) => {
      if (values.length > 0) target.context.kernels.write(target.storage.buffer, values, at);
    }, chunkBytes);
    target.storage.version++;
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}

/** Opens a file, runs fn with the reader, and closes it however fn ends. */
export async function withSafetensors<T>(file: string, fn: (reader: SafetensorsReader) => Promise<T>): Promise<T> {
  const reader = await SafetensorsReader.open(file);
  try {
    return await fn(reader);
  } finally {
    await reader.close();
  }
}

/** Every tensor of a file on the current backend (native dtypes unless `dtype` is given for floats). */
export async function loadSafetensors(file: string, options: { dtype?: DType } = {}): Promise<Map<string, Tensor>> {
  return withSafetensors(file, async (reader) => {
    const out = new Map<string, Tensor>();
    try {
      for (const name of reader.names()) {
        const native = reader.nativeDType(name);
        const dtype = options.dtype && native !== 'i32' ? options.dtype : native;
        out.set(name, (await reader.readTensor(name, { dtype })).keep());
      }
    } catch (err) {
      for (const t of out.values()) t.dispose();
      throw err;
    }
    return out;
  });
}
