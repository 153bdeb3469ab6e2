// Native gpu.js versions of the fused kernels that dominate training: softmax
// (+ backward), RMSNorm (+ backward), cross-entropy (+ backward), AdamW, grad
// unscaling, silu-times-gate and dropout. Each is two or three gpu.js kernels
// (row statistics, then an elementwise pass) instead of the composite's dozen
// core calls; per-row statistics live in small f32 scratch buffers from the
// backend's pool. Rotary and the causal mask use the composite defaults.

import type { DType } from '../../tensor/dtype.js';
import type { AdamWHyper, BackendBuffer, FusedKernels } from '../backend.js';
import type { KernelCall } from './kernel-source/program.js';
import {
  adamMomentCall, adamParamCall, adamSecondMomentCall, crossEntropyBackwardCall, crossEntropyLossCall, mergeFlagsCall,
  nonFiniteChunksCall, rmsApplyCall, rmsBackwardDotCall, rmsBackwardInputCall, rmsBackwardWeightCall, rmsStatCall,
  rowDotCall, rowLogSumExpCall, scaleCall, siluMulBackwardCall, siluMulCall, softmaxApplyCall, softmaxBackwardApplyCall,
} from './kernel-source/fused.js';
import { dropoutCall } from './kernel-source/random.js';

export type NativeFusedKernels = Pick<FusedKernels,
  'softmax' | 'softmaxBackward' | 'rmsNorm' | 'rmsNormBackward' | 'crossEntropy' | 'crossEntropyBackward' |
  'adamw' | 'unscaleGrads' | 'siluMul' | 'siluMulBackward' | 'dropout'>;

export interface FusedContext {
  launch(call: KernelCall, out: BackendBuffer): void;
  scratch(dtype: DType, numel: number): BackendBuffer;
  release(buffer: BackendBuffer): void;
  /** The backend's live buffer, of `dtype` when given (throws otherwise). */
  check(buffer: BackendBuffer, what: string, dtype?: DType): BackendBuffer;
}

/** Elements per thread when scanning gradients for inf/NaN. */
const NON_FINITE_CHUNK = 1024;

export function fusedKernelsFor(ctx: FusedContext): NativeFusedKernels {
  const sized = (op: string, buffer: BackendBuffer, numel: number, what: string, dtype?: DType) => {
    ctx.check(buffer, `${op} ${what}`, dtype);
    if (buffer.numel < numel) throw new Error(`${op}: ${what} buffer of ${buffer.numel} ${buffer.dtype} elements is smaller than the ${numel} it needs`);
    if (buffer.dtype === 'i32' && dtype !== 'i32') throw new Error(`${op}: ${what} is i32; expected a float buffer`);
    return buffer;
  };
  /** Runs `fn` with an f32 scratch vector, released afterwards (queue order makes that safe). */
  const withScratch = (numel: number, fn: (scratch: BackendBuffer) => void) => {
    const scratch = ctx.scratch('f32', Math.max(1, numel));
    try { fn(scratch); } finally { ctx.release(scratch); }
  };

  return {
    softmax(x, rows, cols, log, out) {
      const op = log ? 'logSoftmax' : 'softmax';
      sized(op, x, rows * cols, 'input');
      sized(op, out, rows * cols, 'output', x.dtype);
      if (rows * cols === 0) return;
      withScratch(rows, (lse) => {
        ctx.launch(rowLogSumExpCall(x, rows, cols), lse);
        ctx.launch(softmaxApplyCall(x, lse, rows, cols, log, out), out);
      });
    },

    softmaxBackward(y, g, rows, cols, log, gx) {
      const op = log ? 'logSoftmaxBackward' : 'softmaxBackward';
      sized(op, y, rows * cols, 'y');
      sized(op, g, rows * cols, 'grad', y.dtype);
      sized(op, gx, rows * cols, 'output', y.dtype);
      if (rows * cols === 0) return;
      withScratch(rows, (dot) => {
        ctx.launch(rowDotCall(g, log ? null : y, rows, cols), dot);
        ctx.launch(softmaxBackwardApplyCall(y, g, dot, rows, cols, log, gx), gx);
      });
    },

    rmsNorm(x, w, rows, cols, eps, y, rstd) {
      sized('rmsNorm', x, rows * cols, 'input');
      sized('rmsNorm', w, cols, 'weight', x.dtype);
      sized('rmsNorm', y, rows * cols, 'output', x.dtype);
      sized('rmsNorm', rstd, rows, 'rstd', 'f32');
      if (rows === 0) return;
      ctx.launch(rmsStatCall(x, rows, cols, eps, rstd), rstd);
      ctx.launch(rmsApplyCall(x, w, rstd, rows, cols, y), y);
    },

    rmsNormBackward(x, w, rstd, g, rows, cols, gx, gw) {
      sized('rmsNormBackward', x, rows * cols, 'input');
      sized('rmsNormBackward', w, cols, 'weight', x.dtype);
      sized('rmsNormBackward', rstd, rows, 'rstd', 'f32');
      sized('rmsNormBackward', g, rows * cols, 'grad', x.dtype);
      sized('rmsNormBackward', gx, rows * cols, 'input grad', x.dtype);
      sized('rmsNormBackward', gw, cols, 'weight grad', x.dtype);
      if (rows > 0) {
        withScratch(rows, (dot) => {
          ctx.launch(rmsBackwardDotCall(x, w, rstd, g, rows, cols), dot);
          ctx.launch(rmsBackwardInputCall(x, w, rstd, g, dot, rows, cols, gx), gx);
        });
      }
      // gw is written, not accumulated: zero rows give zeros.
      ctx.launch(rmsBackwardWeightCall(x, rstd, g, rows, cols, gw), gw);
    },

    crossEntropy(logits, labels, rows, cols, ignoreIndex, loss, lse) {
      sized('crossEntropy', logits, rows * cols, 'logits');
      sized('crossEntropy', labels, rows, 'labels', 'i32');
      sized('crossEntropy', loss, rows, 'loss', 'f32');
      sized('crossEntropy', lse, rows, 'logsumexp', 'f32');
      if (rows === 0) return;
      ctx.launch(rowLogSumExpCall(logits, rows, cols), lse);
      ctx.launch(crossEntropyLossCall(logits, lse, labels, rows, cols, ignoreIndex, loss), loss);
    },

    crossEntropyBackward(logits, lse, labels, gRow, rows, cols, ignoreIndex, gLogits) {
      sized('crossEntropyBackward', logits, rows * cols, 'logits');
      sized('crossEntropyBackward', lse, rows, 'logsumexp', 'f32');
      sized('crossEntropyBackward', labels, rows, 'labels', 'i32');
      sized('crossEntropyBackward', gRow, rows, 'row grad', 'f32');
      sized('crossEntropyBackward', gLogits, rows * cols, 'logits grad', logits.dtype);
      if (rows * cols === 0) return;
      ctx.launch(crossEntropyBackwardCall(logits, lse, labels, gRow, rows, cols, ignoreIndex, gLogits), gLogits);
    },

    adamw(param, grad, m, v, numel, h: AdamWHyper) {
      sized('adamw', param, numel, 'param');
      sized('adamw', grad, numel, 'grad');
      sized('adamw', m, numel, 'exp_avg', param.dtype);
      sized('adamw', v, numel, 'exp_avg_sq', param.dtype);
      if (numel === 0) return;
      // PyTorch's single-tensor AdamW, in its order of operations (as the CPU reference).
      ctx.launch(adamMomentCall(m, grad, numel, h.beta1, m), m);
      ctx.launch(adamSecondMomentCall(v, grad, numel, h.beta2, v), v);
      const stepSize = h.lr / (1 - h.beta1 ** h.step);
      const inverseBiasCorrection2Sqrt = 1 / Math.sqrt(1 - h.beta2 ** h.step);
      ctx.launch(adamParamCall(param, m, v, numel, 1 - h.lr * h.weightDecay, stepSize, inverseBiasCorrection2Sqrt, h.eps, param), param);
    },

    unscaleGrads(grad, numel, invScale, foundInf) {
      sized('unscaleGrads', grad, numel, 'grad');
      sized('unscaleGrads', foundInf, 1, 'found-inf flag', 'f32');
      if (numel === 0) return;
      const chunks = Math.ceil(numel / NON_FINITE_CHUNK);
      withScratch(chunks, (flags) => {
        ctx.launch(nonFiniteChunksCall(grad, numel, NON_FINITE_CHUNK), flags);
        ctx.launch(mergeFlagsCall(flags, chunks, foundInf), foundInf);
      });
      ctx.launch(scaleCall(grad, numel, invScale, grad), grad);
    },

    siluMul(a, b, numel, out) {
      sized('siluMul', a, numel, 'a');
      sized('siluMul', b, numel, 'b', a.dtype);
      sized('siluMul', out, numel, 'output', a.dtype);
      ctx.launch(siluMulCall(a, b, numel, out), out);
    },

    siluMulBackward(a, b, g, numel, ga, gb) {
      sized('siluMulBackward', a, numel, 'a');
      sized('siluMulBackward', b, numel, 'b', a.dtype);
      sized('siluMulBackward', g, numel, 'grad', a.dtype);
      sized('siluMulBackward', ga, numel, 'a grad', a.dtype);
      sized('siluMulBackward', gb, numel, 'b grad', a.dtype);
      ctx.launch(siluMulBackwardCall(a, b, g, numel, 'a', ga), ga);
      ctx.launch(siluMulBackwardCall(a, b, g, numel, 'b', gb), gb);
    },

    dropout(x, numel, p, seed, offset, out) {
      sized('dropout', x, numel, 'input');
      sized('dropout', out, numel, 'output', x.dtype);
      ctx.launch(dropoutCall(x, numel, p, seed, offset, out), out);
    },
  };
}
