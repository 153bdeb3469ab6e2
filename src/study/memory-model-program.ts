// The training step the memory model runs symbolically: the LLaMA-2 model of
// src/nn (embedding, blocks with their two halves, final norm, output),
// LoRA's branch, checkpointing per block or per half, autocast and the f16
// frozen base, then the loop of src/train/finetune.ts: micro-batch loss,
// GradScaler's scale, backward, GradScaler's found-inf flag, AdamW's lazily
// created state, zeroGrad. Module paths and op names are the ones the real
// code reports, so the predicted peak is located the way the timeline is.

import { headDimOf, hiddenDimOf, kvHeadsOf } from '../nn/model-args.js';
import type { CategoryBytes } from '../tensor/memory-ledger.js';
import {
  autocast, backward, cast, causalMask, checkpoint, crossEntropy, dropout, embedding, linear, matmul, mulScalar, permute, reshape,
  resetAutograd, rmsNorm, rotary, siluMul, slice, softmax, add,
} from './memory-model-autograd.js';
import {
  emptyTensor, fromHost, full, noGrad, simulate, tidy, withModule, withOp, withPhase, type SimDType, type SimLedger, type SimPlace, type SimStorageSnapshot, type SimTensor,
} from './memory-model-engine.js';
import type { TrainingMemorySpec } from './memory-model-spec.js';

export interface SimulatedStep {
  readonly peakTotal: number;
  readonly peak: CategoryBytes;
  readonly maxByCategory: CategoryBytes;
  /** Where the step's peak allocation happened (null if the step never rose above its starting bytes). */
  readonly place: SimPlace | null;
  /** Live bytes after the step. */
  readonly live: CategoryBytes;
  /** Ledger changes the step made. */
  readonly events: number;
  /** The peak allocation's position among all ledger changes of the simulation (for a snapshot there). */
  readonly peakEvent: number;
}

export interface SimulatedTraining {
  /** Live bytes when training starts: parameters and the rotary tables. */
  readonly start: CategoryBytes;
  readonly steps: SimulatedStep[];
}

interface Param { readonly name: string; readonly tensor: SimTensor }

/** The model's parameters, created as the real constructors, LoRA and the f16 base leave them (registration order). */
function buildParameters(spec: TrainingMemorySpec): Map<string, SimTensor> {
  const a = spec.model;
  const D = a.dim;
  const hd = headDimOf(a);
  const kv = kvHeadsOf(a) * hd;
  const F = hiddenDimOf(a);
  const lora = spec.lora;
  const fullFineTuning = !lora;
  const params: Param[] = [];
  const param = (name: string, shape: number[], trainable: boolean, matrix: boolean) => {
    // The f16 base (storeFrozenWeightsInF16) converts frozen rank-2 parameters only.
    const dtype: SimDType = spec.f16Base && !trainable && matrix ? 'f16' : 'f32';
    const t = withOp('parameters', () => emptyTensor(shape, dtype).keep().setStorageRole('parameter', trainable));
    t.requiresGrad = trainable;
    params.push({ name, tensor: t });
  };
  const projection = (path: string, name: string, out: number, inF: number) => {
    param(`${path}.${name}.weight`, [out, inF], fullFineTuning, true);
    if (lora && (lora.targets as readonly string[]).includes(name)) {
      param(`${path}.${name}.lora_A`, [lora.r, inF], true, true);
      param(`${path}.${name}.lora_B`, [out, lora.r], true, true);
    }
  };
  param('tok_embeddings.weight', [a.vocabSize, D], fullFineTuning, true);
  for (let i = 0; i < a.nLayers; i++) {
    const p = `layers.${i}`;
    projection(`${p}.attention`, 'wq', a.nHeads * hd, D);
    projection(`${p}.attention`, 'wk', kv, D);
    projection(`${p}.attention`, 'wv', kv, D);
    projection(`${p}.attention`, 'wo', D, a.nHeads * hd);
    projection(`${p}.feed_forward`, 'w1', F, D);
    projection(`${p}.feed_forward`, 'w2', D, F);
    projection(`${p}.feed_forward`, 'w3', F, D);
    param(`${p}.attention_norm.weight`, [D], fullFineTuning, false);
    param(`${p}.ffn_norm.weight`, [D], fullFineTuning, false);
  }
  param('norm.weight', [D], fullFineTuning, false);
  param('output.weight', [a.vocabSize, D], fullFineTuning, true);
  return new Map(params.map((p) => [p.name, p.tensor]));
}

/** One symbolic Transformer in training mode (src/nn/transformer.ts and the modules under it). */
class SimModel {
  readonly cos: SimTensor;
  readonly sin: SimTensor;

  constructor(readonly spec: TrainingMemorySpec, readonly params: Map<string, SimTensor>) {
    const hd = headDimOf(spec.model);
    // RotaryEmbedding's tables: (2 * maxSeqLen, hd/2) f32 each, live for the model's lifetime (ledgered as temporaries).
    const table = () => withOp('rotary tables', () => emptyTensor([2 * spec.model.maxSeqLen, hd / 2], 'f32').keep());
    const cosTable = table();
    const sinTable = table();
    const view = (t: SimTensor) => t.view([spec.seqLen, hd / 2], t.strides, 0).keep();
    this.cos = view(cosTable);
    this.sin = view(sinTable);
  }

  private p(name: string): SimTensor {
    const t = this.params.get(name);
    if (!t) throw new Error(`memory model: no parameter ${name} (internal)`);
    return t;
  }

  /** Module.runForward: the module's own tidy scope, attributed to its path. */
  private run(path: string, body: () => SimTensor): SimTensor {
    return withModule(path, () => tidy(body));
  }

  private projection(path: string, name: string, x: SimTensor): SimTensor {
    const modulePath = path ? `${path}.${name}` : name;
    const lora = this.spec.lora;
    return this.run(modulePath, () => {
      const y = linear(x, this.p(`${modulePath}.weight`));
      if (!lora || !(lora.targets as readonly string[]).includes(name)) return y;
      const dropped = dropout(x, lora.dropout, true);
      const update = mulScalar(linear(linear(dropped, this.p(`${modulePath}.lora_A`)), this.p(`${modulePath}.lora_B`)));
      return add(y, update);
    });
  }

  private norm(path: string, x: SimTensor): SimTensor {
    return this.run(path, () => rmsNorm(x, this.p(`${path}.weight`)));
  }

  private attention(path: string, x: SimTensor): SimTensor {
    const a = this.spec.model;
    const [B, S] = x.shape;
    const H = a.nHeads;
    const K = kvHeadsOf(a);
    const R = H / K;
    const hd = headDimOf(a);
    return this.run(path, () => {
      const q = rotary(reshape(this.projection(path, 'wq', x), [B, S, H, hd]), this.cos, this.sin);
      const k = rotary(reshape(this.projection(path, 'wk', x), [B, S, K, hd]), this.cos, this.sin);
      const v = this.projection(path, 'wv', x);
      const qh = permute(reshape(q, [B, S, K, R, hd]), [0, 2, 3, 1, 4]);
      const kT = permute(reshape(k, [B, S, K, 1, hd]), [0, 2, 3, 4, 1]);
      const vh = permute(reshape(v, [B, S, K, 1, hd]), [0, 2, 3, 1, 4]);
      const probs = tidy(() => {
        const scores = causalMask(mulScalar(matmul(qh, kT)));
        if (scores.dtype !== 'f16') return softmax(scores);
        return cast(softmax(cast(scores, 'f32')), scores.dtype);
      });
      const out = matmul(probs, vh);
      const merged = reshape(permute(out, [0, 3, 1, 2, 4]), [B, S, H * hd]);
      return this.projection(path, 'wo', merged);
    });
  }

  private feedForward(path: string, x: SimTensor): SimTensor {
    return this.run(path, () => this.projection(path, 'w2', siluMul(this.projection(path, 'w1', x), this.projection(path, 'w3', x))));
  }

  attentionHalf(i: number, x: SimTensor): SimTensor {
    return add(x, this.attention(`layers.${i}.attention`, this.norm(`layers.${i}.attention_norm`, x)));
  }

  feedForwardHalf(i: number, h: SimTensor): SimTensor {
    return add(h, this.feedForward(`layers.${i}.feed_forward`, this.norm(`layers.${i}.ffn_norm`, h)));
  }

  forward(tokens: SimTensor): SimTensor {
    return this.run('Transformer', () => {
      let h = this.run('tok_embeddings', () => embedding(this.p('tok_embeddings.weight'), tokens));
      if (h.dtype !== 'f32') h = cast(h, 'f32');
      const mode = this.spec.checkpointing;
      for (let i = 0; i < this.spec.model.nLayers; i++) {
        if (mode === 'block') h = checkpoint((x) => this.run(`layers.${i}`, () => this.feedForwardHalf(i, this.attentionHalf(i, x))), h);
        else if (mode === 'two-segments') {
          // As the Transformer: each half in its own scope (see src/nn/transformer.ts).
          h = checkpoint((x) => tidy(() => this.attentionHalf(i, x)), h);
          h = checkpoint((x) => tidy(() => this.feedForwardHalf(i, x)), h);
        } else {
          const input = h;
          h = this.run(`layers.${i}`, () => this.feedForwardHalf(i, this.attentionHalf(i, input)));
        }
      }
      const logits = this.projection('', 'output', this.norm('norm', h));
      return logits.dtype === 'f16' ? cast(logits, 'f32') : logits;
    });
  }
}

/**
 * Runs `steps` optimizer steps of finetune()'s loop symbolically and returns
 * what the ledger would show: the starting bytes, and per step the peak, its
 * breakdown, each category's own maximum and the peak's place.
 */
export function simulateTraining(spec: TrainingMemorySpec, steps = 2, snapshot: { atEvent: number; take: (live: SimStorageSnapshot[]) => void } | null = null): SimulatedTraining {
  return simulate((ledger: SimLedger) => {
    resetAutograd();
    const params = buildParameters(spec);
    const model = new SimModel(spec, params);
    const trainable = [...params.values()].filter((p) => p.requiresGrad);
    const state = new Map<SimTensor, true>();
    const start = { ...ledger.live };
    const { batchSize: B, seqLen: S } = spec;
    const out: SimulatedStep[] = [];
    for (let step = 0; step < steps; step++) {
      ledger.resetPeak();
      const before = ledger.events;
      // Micro-batches 3..k start from the same bytes as micro-batch 2 (the gradients exist from the
      // first one on) and make the same allocations, so they repeat its peak exactly: two suffice.
      for (let micro = 0; micro < Math.min(spec.accumulate, 2); micro++) {
        const loss = tidy(() => {
          const ids = fromHost([B, S], 'i32');
          const labels = fromHost([B, S], 'i32');
          const forward = () => {
            const logits = model.forward(ids);
            const shiftedLogits = slice(logits, 1, 0, logits.shape[1] - 1);
            const shiftedLabels = slice(labels, 1, 1);
            if (spec.accumulationMode === 'seed') {
              const mean = crossEntropy(shiftedLogits, shiftedLabels, 'mean');
              return spec.accumulate === 1 ? mean : mulScalar(mean);
            }
            return mulScalar(crossEntropy(shiftedLogits, shiftedLabels, 'sum'));
          };
          return spec.mixedPrecision ? autocast(forward) : forward();
        });
        const scaled = spec.mixedPrecision ? mulScalar(loss) : loss; // GradScaler.scale
        backward(scaled);
        if (scaled !== loss) scaled.dispose();
        loss.dispose();
      }
      // GradScaler.step: unscale (one found-inf flag per device, read back and freed), then AdamW.
      if (spec.mixedPrecision && trainable.some((p) => p.grad)) {
        const flag = withPhase('optimizer', () => noGrad(() => full([1], 'f32').keep()));
        flag.dispose();
      }
      withPhase('optimizer', () => noGrad(() => {
        for (const p of trainable) {
          if (!p.grad || state.has(p)) continue;
          full(p.shape, p.dtype).keep().setStorageRole('optimizerState');
          full(p.shape, p.dtype).keep().setStorageRole('optimizerState');
          state.set(p, true);
        }
      }));
      for (const p of trainable) { p.grad?.dispose(); p.grad = null; } // zeroGrad (set to none)
      out.push({
        peakTotal: ledger.peakTotal, peak: { ...ledger.peak }, maxByCategory: { ...ledger.maxByCategory }, place: ledger.peakPlace,
        live: { ...ledger.live }, events: ledger.events - before, peakEvent: ledger.peakEvent,
      });
    }
    return { start, steps: out };
  }, snapshot ? { snapshotAtEvent: snapshot.atEvent, onSnapshot: snapshot.take } : {});
}
