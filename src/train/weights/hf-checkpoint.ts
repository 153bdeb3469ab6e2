// The safetensors files of a Hugging Face model directory: `model.safetensors`,
// or the shards `model.safetensors.index.json` lists in its weight_map
// (`{"metadata": {"total_size"}, "weight_map": {tensor name: shard file}}`).
// Opening reads every shard's header (not its data) and checks the index
// against the shards: each listed shard exists, holds the tensors the index
// puts there, and holds nothing the index does not list.

import { access, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { SafetensorsEntry } from './safetensors-header.js';
import { SafetensorsReader } from './safetensors-reader.js';
import { WeightFileError } from './weight-file-error.js';

export const HF_SINGLE_FILE = 'model.safetensors';
export const HF_INDEX_FILE = 'model.safetensors.index.json';

/** One tensor of the checkpoint: the open shard that holds it and its header entry. */
export interface HfTensorLocation {
  readonly reader: SafetensorsReader;
  readonly entry: SafetensorsEntry;
}

/** Every shard open (headers read), and where each tensor lives. Close it when done. */
export interface HuggingFaceCheckpoint {
  readonly dir: string;
  /** The file that lists the tensors: the index, or model.safetensors itself. */
  readonly listing: string;
  readonly readers: readonly SafetensorsReader[];
  readonly tensors: ReadonlyMap<string, HfTensorLocation>;
  close(): Promise<void>;
}

const exists = (file: string) => access(file).then(() => true, () => false);

const listSome = (names: readonly string[], max = 6) => names.slice(0, max).map((n) => `'${n}'`).join(', ') + (names.length > max ? `, ... (${names.length} in all)` : '');

/** Reads and validates the index: a weight_map of tensor names to plain file names in the same directory. */
async function readIndex(file: string): Promise<Map<string, string>> {
  const fail = (problem: string): never => { throw new WeightFileError(file, `malformed shard index: ${problem}`); };
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    return fail(`${(err as Error).message}`);
  }
  const weightMap = (json as { weight_map?: unknown } | null)?.weight_map;
  if (weightMap === null || typeof weightMap !== 'object' || Array.isArray(weightMap)) return fail("it needs a 'weight_map' object of tensor name -> shard file");
  const map = new Map<string, string>();
  for (const [name, shard] of Object.entries(weightMap as Record<string, unknown>)) {
    if (typeof shard !== 'string' || shard === '' || basename(shard) !== shard || shard === '..') {
      fail(`weight_map['${name}'] must be a file name in the model directory, got ${JSON.stringify(shard)}`);
    }
    map.set(name, shard as string);
  }
  if (map.size === 0) fail('weight_map is empty');
  return map;
}

/** Opens the checkpoint files of a Hugging Face model directory (headers only) and cross-checks the index. */
export async function openHuggingFaceCheckpoint(dir: string): Promise<HuggingFaceCheckpoint> {
  const indexFile = join(dir, HF_INDEX_FILE);
  const singleFile = join(dir, HF_SINGLE_FILE);
  let weightMap: Map<string, string> | null = null;
  let listing: string;
  let shardNames: string[];
  if (await exists(indexFile)) {
    weightMap = await readIndex(indexFile);
    listing = indexFile;
    shardNames = [...new Set(weightMap.values())];
    const missing: string[] = [];
    for (const shard of shardNames) {
      if (!(await exists(join(dir, shard)))) {
        const held = [...weightMap].filter(([, s]) => s === shard).map(([n]) => n);
        missing.push(`'${shard}' (listed for ${listSome(held, 3)})`);
      }
    }
    if (missing.length > 0) throw new WeightFileError(indexFile, `${missing.length} shard file(s) the index lists do not exist in ${dir}: ${missing.join('; ')}`);
  } else if (await exists(singleFile)) {
    listing = singleFile;
    shardNames = [HF_SINGLE_FILE];
  } else {
    const pickles = (await exists(join(dir, 'pytorch_model.bin'))) || (await exists(join(dir, 'pytorch_model.bin.index.json')));
    throw new WeightFileError(dir, `no ${HF_SINGLE_FILE} or ${HF_INDEX_FILE} in this directory${pickles ? ' (it has pytorch_model*.bin pickles, which gradlab does not read: convert them to safetensors)' : ''}`);
  }

  const readers: SafetensorsReader[] = [];
  const close = async () => { for (const r of readers.splice(0)) await r.close(); };
  try {
    const tensors = new Map<string, HfTensorLocation>();
    const problems: string[] = [];
    const misplaced = new Set<string>();
    for (const shard of shardNames) {
      const reader = await SafetensorsReader.open(join(dir, shard));
      readers.push(reader);
      for (const [name, entry] of reader.header.entries) {
        const listedIn = weightMap?.get(name);
        if (weightMap && listedIn === undefined) problems.push(`${shard} holds '${name}', which the index does not list`);
        else if (weightMap && listedIn !== shard) {
          problems.push(`${shard} holds '${name}', which the index places in ${listedIn}`);
          misplaced.add(name);
        }
        else tensors.set(name, { reader, entry });
      }
    }
    for (const [name, shard] of weightMap ?? []) {
      if (!tensors.has(name) && !misplaced.has(name)) problems.push(`the index places '${name}' in ${shard}, which does not hold it`);
    }
    if (problems.length > 0) throw new WeightFileError(listing, `the shards do not match the index: ${problems.length} problem(s):\n  ${problems.join('\n  ')}`);
    return { dir, listing, readers, tensors, close };
  } catch (err) {
    await close();
    throw err;
  }
}
