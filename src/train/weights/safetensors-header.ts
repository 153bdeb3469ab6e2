// The safetensors header: an 8-byte little-endian length N, N bytes of JSON
// mapping tensor names to {dtype, shape, data_offsets: [begin, end)} (plus an
// optional "__metadata__" string map), then the tensors' bytes, row-major,
// packed with no holes. Parsing checks everything the format promises, so a
// truncated or hand-edited file fails here, naming the file and the problem,
// before any tensor is read.

import { WeightFileError } from './weight-file-error.js';

/** Element sizes of every safetensors dtype, so any valid file's layout can be checked. */
const ELEMENT_BYTES: Record<string, number> = {
  BOOL: 1, U8: 1, I8: 1, F8_E5M2: 1, F8_E4M3: 1, I16: 2, U16: 2, F16: 2, BF16: 2, I32: 4, U32: 4, F32: 4, F64: 8, I64: 8, U64: 8,
};

/** The official implementation's limit on the header size. */
export const MAX_HEADER_BYTES = 100_000_000;

export interface SafetensorsEntry {
  readonly name: string;
  /** The file's dtype string (F32, BF16, ...). */
  readonly dtype: string;
  readonly shape: readonly number[];
  /** Byte range within the data section (after the header). */
  readonly begin: number;
  readonly end: number;
}

export interface SafetensorsHeader {
  readonly file: string;
  /** Where the data section starts: 8 + header length. */
  readonly dataStart: number;
  readonly entries: ReadonlyMap<string, SafetensorsEntry>;
  readonly metadata: Readonly<Record<string, string>> | null;
}

/** Reads the 8-byte header length; `fileBytes` is the whole file's size. */
export function parseHeaderLength(prefix: Uint8Array, fileBytes: number, file: string): number {
  if (fileBytes < 8 || prefix.length < 8) {
    throw new WeightFileError(file, `not a safetensors file: it is ${fileBytes} bytes long, shorter than the 8-byte header length that starts the format`);
  }
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) {
    throw new WeightFileError(file, `safetensors header length ${n} is over the format's ${MAX_HEADER_BYTES}-byte limit (not a safetensors file, or a corrupt one)`);
  }
  const length = Number(n);
  if (8 + length > fileBytes) {
    throw new WeightFileError(file, `truncated: the safetensors header length says ${length} bytes, but only ${fileBytes - 8} bytes follow it`);
  }
  if (length < 2) throw new WeightFileError(file, `safetensors header length ${length} is too short to hold a JSON object`);
  return length;
}

const isIndex = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/**
 * Parses and validates the JSON header. `dataBytes` is the size of the data
 * section (file size - 8 - header length).
 */
export function parseHeaderJson(headerBytes: Uint8Array, dataBytes: number, file: string): SafetensorsHeader {
  const fail = (problem: string): never => { throw new WeightFileError(file, `malformed safetensors header: ${problem}`); };
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes);
  } catch {
    return fail('the header is not valid UTF-8');
  }
  if (!text.startsWith('{')) fail(`the header must be a JSON object starting with '{', got ${JSON.stringify(text.slice(0, 20))}`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return fail(`the header is not valid JSON (${(err as Error).message})`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) return fail('the header must be a JSON object');

  let metadata: Record<string, string> | null = null;
  const entries: SafetensorsEntry[] = [];
  for (const [name, raw] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) fail('"__metadata__" must be an object of strings');
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`"__metadata__" value for "${k}" must be a string, got ${JSON.stringify(v)}`);
      }
      metadata = raw as Record<string, string>;
      continue;
    }
    const where = `tensor '${name}'`;
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return fail(`${where}: entry must be an object with dtype, shape and data_offsets`);
    const { dtype, shape, data_offsets: offsets, ...extra } = raw as Record<string, unknown>;
    if (Object.keys(extra).length > 0) fail(`${where}: unknown field(s) ${Object.keys(extra).join(', ')}`);
    if (typeof dtype !== 'string') return fail(`${where}: dtype must be a string, got ${JSON.stringify(dtype)}`);
    // Own keys only: a dtype named 'constructor' or 'toString' is unknown, not Object.prototype's member.
    const size = Object.hasOwn(ELEMENT_BYTES, dtype) ? ELEMENT_BYTES[dtype] : undefined;
    if (size === undefined) return fail(`${where}: unknown dtype '${dtype}' (known: ${Object.keys(ELEMENT_BYTES).join(', ')})`);
    if (!Array.isArray(shape) || !shape.every(isIndex)) return fail(`${where}: shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isIndex) || offsets[0] > offsets[1]) {
      return fail(`${where}: data_offsets must be [begin, end] with 0 <= begin <= end, got ${JSON.stringify(offsets)}`);
    }
    const numel = (shape as number[]).reduce((a, b) => a * b, 1);
    const [begin, end] = offsets as [number, number];
    if (end - begin !== numel * size) {
      fail(`${where}: data_offsets [${begin}, ${end}) span ${end - begin} bytes, but ${dtype} [${(shape as number[]).join(', ')}] needs ${numel * size}`);
    }
    entries.push({ name, dtype, shape: shape as number[], begin, end });
  }

  // The data section is the tensors back to back: sorted by offset they must tile [0, dataBytes) exactly.
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  for (const e of sorted) {
    if (e.begin !== at) {
      if (e.begin < at) fail(`tensor '${e.name}' (bytes [${e.begin}, ${e.end})) overlaps the tensor before it, which ends at ${at}`);
      fail(`there is a hole in the data: no tensor covers bytes [${at}, ${e.begin})`);
    }
    at = e.end;
  }
  if (at > dataBytes) {
    throw new WeightFileError(file, `truncated: the header describes ${at} bytes of tensor data, but only ${dataBytes} bytes follow the header`);
  }
  if (at < dataBytes) fail(`${dataBytes - at} bytes follow the last tensor's data (byte ${at}); the format allows none`);
  return { file, dataStart: 8 + headerBytes.length, entries: new Map(entries.map((e) => [e.name, e])), metadata };
}
