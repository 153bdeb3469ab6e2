// "f16 frozen base" (beyond PyTorch): stores the frozen weight matrices in f16
// instead of f32. Under autocast a frozen f32 weight is cast to f16 at every
// use and, under LoRA, the tape keeps each copy until backward, so mixed
// precision pays for two copies of the base model (the seed's finding that
// mixed precision *raised* peak memory with LoRA). With the base stored in
// f16 there is no f32 copy and no cast: the matmul saves the parameter itself.
//
// Only frozen matrices (rank 2: linear weights, the embedding table) are
// converted; norm weights stay f32 (tiny, and RMSNorm runs in f32 anyway), and
// trainable parameters keep their f32 master copy. Use it with autocast: an
// f32 activation meeting an f16 weight outside autocast promotes the weight
// back to f32 at every use.

import { noGrad } from '../autograd/grad-mode.js';
import { cast } from '../tensor/kernel-ops.js';
import type { Module } from './module.js';

export interface FrozenHalfPrecisionResult {
  /** Dotted names of the converted parameters. */
  readonly converted: string[];
  /** Parameter bytes before and after. */
  readonly bytesBefore: number;
  readonly bytesAfter: number;
}

/** Converts every frozen f32 matrix parameter of `model` to f16 in place (the f32 storage is freed). */
export function storeFrozenWeightsInF16(model: Module): FrozenHalfPrecisionResult {
  const converted: string[] = [];
  let bytesBefore = 0;
  let bytesAfter = 0;
  for (const [path, module] of model.namedModules()) {
    for (const [name, p] of module.namedParameters().filter(([n]) => !n.includes('.'))) {
      if (p.requiresGrad || p.dtype !== 'f32' || p.rank !== 2) continue;
      const half = noGrad(() => cast(p, 'f16'));
      const old = module.replaceParameter(name, half);
      bytesBefore += old.bytes;
      bytesAfter += half.bytes;
      old.dispose();
      converted.push(path ? `${path}.${name}` : name);
    }
  }
  return { converted, bytesBefore, bytesAfter };
}
