// The Transformer's gradient checkpointing ('block' and the seed's
// 'two-segments'): gradients bitwise identical to the plain run on the CPU
// with LoRA dropout on, and saved-activation bytes that follow the formula:
// through the forward only the checkpoint inputs (plus the head), and during
// the backward those of the blocks not yet done plus one recomputed segment.

import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as g from '../../src/index.js';
import { getPhase } from '../../src/tensor/work-counter.js';

beforeAll(() => {
  g.useBackend(new g.CpuBackend());
});

const ARGS = g.modelArgs({ dim: 16, nLayers: 3, nHeads: 4, nKvHeads: 2, vocabSize: 11, multipleOf: 16, maxSeqLen: 8 });
const BATCH = 2;
const SEQ = 6;
const LORA = { r: 2, alpha: 4, dropout: 0.1, targets: ['wq', 'wv'] as g.ProjectionName[] };

const owned: { dispose(): void }[] = [];
afterEach(() => { for (const o of owned.splice(0)) o.dispose(); });

/** The seed's setup on a tiny model: LoRA on wq/wv with dropout, only LoRA trainable (or everything). */
function buildModel(mode: g.CheckpointingMode, dtype: 'f32' | 'f64', everythingTrainable = false): g.Transformer {
  g.manualSeed(2024);
  const model = new g.Transformer(ARGS, { dtype, checkpointing: mode });
  g.applyLora(model, LORA);
  // B = 0 at init would zero every lora_A gradient and make the comparison weak.
  for (const [name, p] of model.namedParameters()) {
    if (name.endsWith('lora_B')) g.tidy(() => model.loadStateDict(new Map([[name, g.randn([...p.shape], { dtype, std: 0.3 })]]), { strict: false }));
  }
  g.markOnlyLoraAsTrainable(model);
  if (everythingTrainable) model.requiresGrad_(true);
  owned.push(model);
  return model;
}

function batch() {
  const tokens = g.tensor(Int32Array.from([3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8]), [BATCH, SEQ]).keep();
  const labels = g.tensor(Int32Array.from([-100, -100, 4, 1, 5, 9, 2, 6, 5, 3, -100, -100]), [BATCH, SEQ]).keep();
  owned.push(tokens, labels);
  return { tokens, labels };
}

/** One training step from a fixed generator state; returns the loss and every gradient's raw values. */
async function step(model: g.Transformer, seed: number): Promise<{ loss: number; grads: Map<string, Float32Array | Float64Array> }> {
  const { tokens, labels } = batch();
  g.manualSeed(seed);
  const loss = g.tidy(() => {
    const logits = model.forward(tokens);
    return g.crossEntropy(g.slice(logits, 1, 0, SEQ - 1), g.slice(labels, 1, 1));
  }).keep();
  loss.backward();
  const grads = new Map<string, Float32Array | Float64Array>();
  for (const [name, p] of model.namedParameters()) if (p.grad) grads.set(name, (await p.grad.data()) as Float32Array | Float64Array);
  const value = await loss.item();
  loss.dispose();
  return { loss: value, grads };
}

/** Same names, and every element equal bit for bit (Object.is also separates 0 from -0). */
function expectBitwiseEqual(a: Map<string, ArrayLike<number>>, b: Map<string, ArrayLike<number>>): void {
  expect([...a.keys()]).toEqual([...b.keys()]);
  for (const [name, va] of a) {
    const vb = b.get(name)!;
    const differing = Array.from(va).findIndex((v, i) => !Object.is(v, vb[i]));
    expect(differing, `${name} differs at element ${differing}`).toBe(-1);
  }
}

describe('checkpointed gradients are bitwise identical to the plain run (CPU, LoRA dropout 0.1)', () => {
  for (const dtype of ['f32', 'f64'] as const) {
    for (const everythingTrainable of [false, true]) {
      it(`${dtype}, ${everythingTrainable ? 'all parameters trainable' : 'only LoRA trainable (the seed)'}`, async () => {
        const model = buildModel('none', dtype, everythingTrainable);
        const plain = await step(model, 7);
        // Every trainable parameter got a gradient (4 LoRA factors per layer in the seed's setup).
        expect(plain.grads.size).toBe(everythingTrainable ? model.namedParameters().length : 4 * ARGS.nLayers);
        for (const mode of ['block', 'two-segments'] as const) {
          const checkpointed = await step(buildModel(mode, dtype, everythingTrainable), 7);
          expect(Object.is(checkpointed.loss, plain.loss)).toBe(true);
          expectBitwiseEqual(checkpointed.grads, plain.grads);
        }
      });
    }
  }

  it('the dropout is live: another generator seed gives other gradients', async () => {
    const a = await step(buildModel('two-segments', 'f32'), 7);
    const b = await step(buildModel('two-segments', 'f32'), 8);
    const name = 'layers.0.attention.wq.lora_A';
    expect(Array.from(a.grads.get(name)!)).not.toEqual(Array.from(b.grads.get(name)!));
  });
});

describe('saved activations under checkpointing, to the byte', () => {
  const N = BATCH * SEQ;
  const s = 4; // f32
  const X = N * ARGS.dim * s; // one (batch, seq, dim) activation
  const headBytes = X + N * 4; // the final norm keeps its input and its f32 rstd rows
  const blockSpec = (layer: number, dropout = LORA.dropout): g.BlockActivationSpec => ({
    batch: BATCH, seq: SEQ, dim: ARGS.dim, nHeads: ARGS.nHeads, nKvHeads: ARGS.nKvHeads!, hiddenDim: g.hiddenDimOf(ARGS), dtype: 'f32',
    // The frozen embedding's output needs no grad; every later block input does (LoRA sits in the blocks before it).
    inputRequiresGrad: layer > 0, baseTrainable: false, lora: { ...LORA, dropout },
  });
  const savesX = (layer: number) => blockSpec(layer).inputRequiresGrad; // attention_norm records only if x needs grad

  interface Probe { module: string; phase: string; saved: number }

  /** Forward (probing saved bytes at hooked modules), checks the post-forward bytes, then backward. */
  function runProbed(mode: g.CheckpointingMode, hookOn: (layer: g.TransformerBlock) => [string, g.Module][]): { afterForward: number; probes: Probe[]; afterBackward: number } {
    const model = buildModel(mode, 'f32');
    const { tokens } = batch();
    const probes: Probe[] = [];
    for (const layer of model.layers) {
      for (const [label, m] of hookOn(layer)) {
        m.registerForwardHook(() => probes.push({ module: label, phase: getPhase(), saved: g.memoryReport().live.savedActivations }));
      }
    }
    g.manualSeed(3);
    const before = g.memoryReport().live.savedActivations;
    expect(before).toBe(0);
    const loss = g.tidy(() => g.sum(model.forward(tokens))).keep();
    const afterForward = g.memoryReport().live.savedActivations;
    loss.backward();
    loss.dispose();
    return { afterForward, probes, afterBackward: g.memoryReport().live.savedActivations };
  }

  it("'none': the forward keeps every block's activations (formula per block) plus the head", () => {
    const { afterForward, afterBackward } = runProbed('none', () => []);
    const blocks = [0, 1, 2].reduce((sum, i) => sum + g.blockSavedActivationBytes(blockSpec(i)).totalBytes, 0);
    expect(afterForward).toBe(blocks + headBytes);
    expect(afterBackward).toBe(0);
  });

  it("'block': the forward keeps one input per block; each recomputation adds one block on top of the blocks not yet done", () => {
    const { afterForward, probes, afterBackward } = runProbed('block', (layer) => [[`block ${layer.layerId}`, layer]]);
    expect(afterForward).toBe(ARGS.nLayers * g.checkpointedBlockBytes(blockSpec(0), 'block') + headBytes);
    const expected: Probe[] = [];
    for (let i = 0; i < ARGS.nLayers; i++) expected.push({ module: `block ${i}`, phase: 'forward', saved: (i + 1) * X });
    for (let i = ARGS.nLayers - 1; i >= 0; i--) {
      // inputs of blocks 0..i, plus block i's recomputed activations (its input already counted)
      const block = g.blockSavedActivationBytes(blockSpec(i)).totalBytes - (savesX(i) ? X : 0);
      expected.push({ module: `block ${i}`, phase: 'recomputation', saved: (i + 1) * X + block });
    }
    expect(probes).toEqual(expected);
    expect(afterBackward).toBe(0);
  });

  it("'two-segments' (the seed): x and h per block; each recomputation adds one half-block", () => {
    const { afterForward, probes, afterBackward } = runProbed('two-segments', (layer) => [
      [`attention ${layer.layerId}`, layer.attention], [`feed_forward ${layer.layerId}`, layer.feed_forward],
    ]);
    expect(afterForward).toBe(ARGS.nLayers * g.checkpointedBlockBytes(blockSpec(0), 'two-segments') + headBytes);
    const expected: Probe[] = [];
    for (let i = 0; i < ARGS.nLayers; i++) {
      expected.push({ module: `attention ${i}`, phase: 'forward', saved: 2 * i * X + X });
      expected.push({ module: `feed_forward ${i}`, phase: 'forward', saved: 2 * i * X + 2 * X });
    }
    for (let i = ARGS.nLayers - 1; i >= 0; i--) {
      const bytes = g.blockSavedActivationBytes(blockSpec(i));
      // FFN half first: x_i, and the FFN segment (h_i, its input, is one of its terms).
      expected.push({ module: `feed_forward ${i}`, phase: 'recomputation', saved: 2 * i * X + X + bytes.feedForwardBytes });
      // Then the attention half: h_i is gone; x_i counts once.
      expected.push({ module: `attention ${i}`, phase: 'recomputation', saved: 2 * i * X + bytes.attentionBytes + (savesX(i) ? 0 : X) });
    }
    expect(probes).toEqual(expected);
    expect(afterBackward).toBe(0);
  });

  it('eval mode never checkpoints (and LoRA dropout is off): the plain amounts', () => {
    const model = buildModel('two-segments', 'f32');
    model.eval();
    const { tokens } = batch();
    const out = g.tidy(() => model.forward(tokens));
    const blocks = [0, 1, 2].reduce((sum, i) => sum + g.blockSavedActivationBytes(blockSpec(i, 0)).totalBytes, 0);
    expect(g.memoryReport().live.savedActivations).toBe(blocks + headBytes);
    out.dispose();
    expect(g.memoryReport().live.savedActivations).toBe(0);
  });
});
