// Value kinds shared by the commands that train or model training runs
// (finetune, generate, matrix, memory): the backend or 'auto', LoRA's
// `r,alpha,dropout`, and integers with a lower bound.

import { backendSpec } from './backend-specs.js';
import { DEFAULT_LORA } from '../nn/lora.js';
import { positiveInteger, type ValueKind } from './flags.js';

/** The seed's LoRA (`--lora` with no value): r 16, alpha 32, dropout 0.05, on wq and wv. */
export const SEED_LORA_SPEC = `${DEFAULT_LORA.r},${DEFAULT_LORA.alpha},${DEFAULT_LORA.dropout}`;
export const SEED_LORA_TARGETS: readonly string[] = DEFAULT_LORA.targets;

/** The projections LoRA can adapt (Meta's names). */
export const LORA_TARGETS = ['wq', 'wk', 'wv', 'wo', 'w1', 'w2', 'w3'] as const;

/** `auto` (the fastest backend found, reason printed) or a backend spec. */
export function backendOrAuto(): ValueKind<string> {
  const spec = backendSpec();
  return { placeholder: 'SPEC', accepts: `'auto' or ${spec.accepts}`, parse: (raw) => (raw === 'auto' ? raw : spec.parse(raw)) };
}

/** `r,alpha,dropout` (any prefix; the rest keep the seed's 16, 32, 0.05). */
export function loraSpec(): ValueKind<{ r: number; alpha: number; dropout: number }> {
  return {
    placeholder: 'R,ALPHA,DROPOUT',
    accepts: 'r[,alpha[,dropout]]: a positive integer rank, a positive alpha, a dropout in [0, 1) (default 16,32,0.05)',
    parse(raw) {
      const parts = raw.split(',').map((p) => p.trim());
      if (parts.length > 3 || parts.some((p) => p === '')) throw new Error(`'${raw}' is not r[,alpha[,dropout]]`);
      const [r, alpha, dropout] = [Number(parts[0] ?? DEFAULT_LORA.r), Number(parts[1] ?? DEFAULT_LORA.alpha), Number(parts[2] ?? DEFAULT_LORA.dropout)];
      if (!Number.isSafeInteger(r) || r < 1) throw new Error(`rank '${parts[0]}' is not a positive integer`);
      if (!(alpha > 0) || !Number.isFinite(alpha)) throw new Error(`alpha '${parts[1]}' is not a positive number`);
      if (!(dropout >= 0 && dropout < 1)) throw new Error(`dropout '${parts[2]}' is not in [0, 1)`);
      return { r, alpha, dropout };
    },
  };
}

/** An integer >= min. */
export function integerAtLeast(min: number): ValueKind<number> {
  const base = positiveInteger();
  return {
    placeholder: 'N',
    accepts: `an integer >= ${min}`,
    parse: (raw) => {
      const n = Number(raw.trim());
      if (!/^-?[0-9]+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n < min) throw new Error(`'${raw}' is not an integer >= ${min}`);
      return min >= 1 ? base.parse(raw) : n;
    },
  };
}
