// Reads the AdamW goldens written by scripts/make-optimizer-goldens.py
// (PyTorch's torch.optim.AdamW): the cases' description from JSON and the
// tensors as host arrays straight from the safetensors bytes (no backend
// involved, so the expected values never pass through the code under test).

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const GOLDEN_DIR = fileURLToPath(new URL('../../goldens/optimizer/', import.meta.url));

export interface GoldenParam { shape: number[]; requires_grad: boolean }

export interface GoldenCase {
  hyper: { lr: number; betas: [number, number]; eps: number; weight_decay: number };
  /** The lr set on the param group before each step. */
  lrs: number[];
  params: GoldenParam[];
  /** grads[k][i]: parameter i has a gradient at step k. */
  grads: boolean[][];
  /** torch's final state_dict()['state'][i]['step'] per index that has state. */
  final_state_steps: Record<string, number>;
}

export const GOLDEN_CASES = ['general', 'tiny-eps'] as const;
export type GoldenCaseName = (typeof GOLDEN_CASES)[number];

export function goldenCase(name: GoldenCaseName): GoldenCase {
  const all = JSON.parse(readFileSync(`${GOLDEN_DIR}adamw-cases.json`, 'utf8')) as { cases: Record<string, GoldenCase> };
  return all.cases[name];
}

export type GoldenArrays = Map<string, Float32Array | Float64Array>;

/** Every tensor of adamw-<case>-<dtype>.safetensors as a host array. */
export function goldenArrays(name: GoldenCaseName, dtype: 'f32' | 'f64'): GoldenArrays {
  const bytes = readFileSync(`${GOLDEN_DIR}adamw-${name}-${dtype}.safetensors`);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8')) as Record<string, { dtype: string; data_offsets: [number, number] }>;
  const base = 8 + headerLength;
  const out: GoldenArrays = new Map();
  for (const [key, entry] of Object.entries(header)) {
    if (key === '__metadata__') continue;
    const [start, end] = entry.data_offsets;
    const slice = bytes.buffer.slice(bytes.byteOffset + base + start, bytes.byteOffset + base + end);
    if (entry.dtype === 'F32') out.set(key, new Float32Array(slice));
    else if (entry.dtype === 'F64') out.set(key, new Float64Array(slice));
    else throw new Error(`${name}-${dtype} golden: ${key} has unexpected dtype ${entry.dtype}`);
  }
  return out;
}

export function golden(arrays: GoldenArrays, key: string): Float32Array | Float64Array {
  const a = arrays.get(key);
  if (!a) throw new Error(`optimizer golden: no tensor '${key}'`);
  return a;
}
