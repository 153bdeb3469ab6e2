// Importing Karpathy's llama2.c legacy (version 0) checkpoints, e.g.
// stories15M.bin. Layout (little-endian): 7 int32 (dim, hidden_dim,
// n_layers, n_heads, n_kv_heads, vocab_size, seq_len; a negative vocab_size
// means the classifier is not shared with the embedding), then f32 arrays:
// token embedding (vocab, dim); rms_att (L, dim); wq, wk, wv, wo stacked over
// layers, each layer's matrix exactly its PyTorch weight (out, in); rms_ffn
// (L, dim); w1, w2, w3 stacked; rms_final (dim); two RoPE tables (seq_len,
// head_dim/2) that are ignored (gradlab computes its own); and the classifier
// (vocab, dim) when unshared. Tensors stream section by section into the
// model's parameters under Meta's names; a shared classifier is copied into
// output.weight (Meta's layout never ties them).

import type { FileHandle } from 'node:fs/promises';
import type { ModelArgs } from '../../nn/model-args.js';
import { validateModelArgs } from '../../nn/model-args.js';
import { Transformer, type TransformerOptions } from '../../nn/transformer.js';
import type { Tensor } from '../../tensor/tensor.js';
import { assertLittleEndianHost, decodeElements } from './host-dtypes.js';
import { DEFAULT_CHUNK_BYTES, readExactly } from './safetensors-reader.js';
import { WeightFileError } from './weight-file-error.js';
import { openWeightFile } from './open-weight-file.js';

export interface Llama2cHeader {
  readonly dim: number;
  readonly hiddenDim: number;
  readonly nLayers: number;
  readonly nHeads: number;
  readonly nKvHeads: number;
  readonly vocabSize: number;
  readonly seqLen: number;
  /** Positive vocab_size in the file: the classifier is the token embedding. */
  readonly sharedClassifier: boolean;
}

const HEADER_BYTES = 7 * 4;
/** llama2.c's versioned exports (v1, v2) start with this magic ("ak42"). */
const VERSIONED_MAGIC = 0x616b3432;

/** One f32 array of the file: where it goes, how many elements, and where it starts. */
interface Section {
  readonly what: string;
  readonly elements: number;
  /** Parameter names it fills, one per layer for stacked arrays (null: skipped). */
  readonly targets: readonly (string | null)[];
}

function sectionsOf(h: Llama2cHeader): Section[] {
  const { dim, hiddenDim: F, nLayers: L, vocabSize: V, seqLen } = h;
  const hd = dim / h.nHeads;
  const kvDim = h.nKvHeads * hd;
  const perLayer = (what: string, name: string, each: number): Section => ({
    what, elements: L * each, targets: Array.from({ length: L }, (_, i) => `layers.${i}.${name}`),
  });
  const sections: Section[] = [
    { what: 'token embedding', elements: V * dim, targets: h.sharedClassifier ? ['tok_embeddings.weight', 'output.weight'] : ['tok_embeddings.weight'] },
    perLayer('rms_att weights', 'attention_norm.weight', dim),
    perLayer('wq', 'attention.wq.weight', dim * dim),
    perLayer('wk', 'attention.wk.weight', kvDim * dim),
    perLayer('wv', 'attention.wv.weight', kvDim * dim),
    perLayer('wo', 'attention.wo.weight', dim * dim),
    perLayer('rms_ffn weights', 'ffn_norm.weight', dim),
    perLayer('w1', 'feed_forward.w1.weight', F * dim),
    perLayer('w2', 'feed_forward.w2.weight', dim * F),
    perLayer('w3', 'feed_forward.w3.weight', F * dim),
    { what: 'rms_final weight', elements: dim, targets: ['norm.weight'] },
    { what: 'RoPE cos table', elements: (seqLen * hd) / 2, targets: [null] },
    { what: 'RoPE sin table', elements: (seqLen * hd) / 2, targets: [null] },
  ];
  if (!h.sharedClassifier) sections.push({ what: 'classifier', elements: V * dim, targets: ['output.weight'] });
  return sections;
}

/** ModelArgs that rebuild a llama2.c model in Meta's layout (the file's hidden size is taken as given). */
export function llama2cModelArgs(h: Llama2cHeader): ModelArgs {
  return validateModelArgs({
    dim: h.dim, nLayers: h.nLayers, nHeads: h.nHeads, nKvHeads: h.nKvHeads, vocabSize: h.vocabSize,
    multipleOf: 32, hiddenDim: h.hiddenDim, normEps: 1e-5, maxSeqLen: h.seqLen, ropeTheta: 10000,
  });
}

function parseHeader(bytes: Uint8Array, fileBytes: number, file: string): Llama2cHeader {
  if (fileBytes < HEADER_BYTES) throw new WeightFileError(file, `truncated llama2.c checkpoint: ${fileBytes} bytes, shorter than the 28-byte header`);
  const v = new Int32Array(bytes.buffer, bytes.byteOffset, 7);
  if ((v[0] >>> 0) === VERSIONED_MAGIC) {
    throw new WeightFileError(file, "a versioned llama2.c export (magic 'ak42'); only the legacy version-0 format (export.py --version 0 / the published stories*.bin) is supported");
  }
  const [dim, hiddenDim, nLayers, nHeads, nKvHeads, vocab, seqLen] = Array.from(v);
  const h: Llama2cHeader = { dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize: Math.abs(vocab), seqLen, sharedClassifier: vocab > 0 };
  const fields = { dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize: vocab, seqLen };
  const positive = [dim, hiddenDim, nLayers, nHeads, nKvHeads, seqLen].every((x) => x > 0) && vocab !== 0;
  if (!positive || dim % nHeads !== 0 || nHeads % nKvHeads !== 0 || (dim / nHeads) % 2 !== 0) {
    throw new WeightFileError(file, `not a llama2.c legacy checkpoint: implausible header ${JSON.stringify(fields)} (dim must split into nHeads even-sized heads, nHeads into nKvHeads groups)`);
  }
  return h;
}

/** Reads and checks the header of a llama2.c legacy checkpoint, including that the file size fits it exactly. */
export async function readLlama2cHeader(file: string): Promise<Llama2cHeader> {
  const fh = await openFile(file);
  try {
    return (await checkedHeader(fh, file)).header;
  } finally {
    await fh.close();
  }
}

async function openFile(file: string): Promise<FileHandle> {
  assertLittleEndianHost();
  return (await openWeightFile(file)).fh;
}

async function checkedHeader(fh: FileHandle, file: string): Promise<{ header: Llama2cHeader; sections: Section[] }> {
  const { size } = await fh.stat();
  const header = parseHeader(await readExactly(fh, file, 0, Math.min(HEADER_BYTES, size), 'the header'), size, file);
  const sections = sectionsOf(header);
  let at = HEADER_BYTES;
  for (const s of sections) {
    const end = at + 4 * s.elements;
    if (end > size) {
      throw new WeightFileError(file, `truncated llama2.c checkpoint: the ${s.what} needs bytes [${at}, ${end}) but the file has ${size} bytes (header: ${JSON.stringify(header)})`);
    }
    at = end;
  }
  if (at !== size) {
    throw new WeightFileError(file, `${size - at} unexpected bytes after the last array (the header ${JSON.stringify(header)} accounts for ${at}); not a legacy llama2.c checkpoint, or a different model`);
  }
  return { header, sections };
}

export interface LoadLlama2cOptions extends Omit<TransformerOptions, 'init'> {
  /** Read at most this many bytes at a time (default 64 MiB). */
  chunkBytes?: number;
}

/** Builds a Transformer from a llama2.c legacy checkpoint and streams its weights in. */
export async function loadLlama2cCheckpoint(file: string, options: LoadLlama2cOptions = {}): Promise<{ model: Transformer; header: Llama2cHeader }> {
  const fh = await openFile(file);
  try {
    const { header, sections } = await checkedHeader(fh, file);
    const { chunkBytes = DEFAULT_CHUNK_BYTES, ...modelOptions } = options;
    const model = new Transformer(llama2cModelArgs(header), { ...modelOptions, init: 'zeros' });
    try {
      const params = model.stateDict();
      let at = HEADER_BYTES;
      for (const s of sections) {
        const layers = s.targets.length;
        // Stacked arrays hold one block per layer; the shared embedding goes to two targets from one block.
        const stacked = s.targets.length > 1 && s.what !== 'token embedding';
        const perTarget = stacked ? s.elements / layers : s.elements;
        for (let i = 0; i < (stacked ? layers : 1); i++) {
          const targets = (stacked ? [s.targets[i]] : s.targets).filter((t): t is string => t !== null).map((n) => {
            const p = params.get(n);
            if (!p) throw new Error(`internal: llama2.c import has no parameter '${n}'`);
            if (p.numel !== perTarget) throw new Error(`internal: '${n}' is ${p.describe()} but the ${s.what} block has ${perTarget} elements`);
            return p;
          });
          if (targets.length > 0) await streamF32(fh, file, at + i * perTarget * 4, perTarget, targets, s.what, chunkBytes);
        }
        at += 4 * s.elements;
      }
    } catch (err) {
      model.dispose();
      throw err;
    }
    return { model, header };
  } finally {
    await fh.close();
  }
}

/** Streams `count` f32 values at byte `position` into each target parameter, converting to its dtype. */
async function streamF32(fh: FileHandle, file: string, position: number, count: number, targets: Tensor[], what: string, chunkBytes: number): Promise<void> {
  const perChunk = Math.max(1, Math.floor(chunkBytes / 4));
  for (let first = 0; first < count; first += perChunk) {
    const n = Math.min(perChunk, count - first);
    const bytes = await readExactly(fh, file, position + first * 4, n * 4, `the ${what}`);
    for (const t of targets) {
      const values = decodeElements(bytes, 'F32', n, t.dtype, () => what);
      t.context.kernels.write(t.storage.buffer, values, first);
    }
  }
  for (const t of targets) t.storage.version++;
}
