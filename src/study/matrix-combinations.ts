// The technique combinations the study measures: every subset of gradient
// accumulation (GA), gradient checkpointing (CK), mixed precision (MP) and
// LoRA — 16 in all — plus, for each mixed-precision row, the variant whose
// frozen base weights are stored in f16 ("f16-base"). Under full fine-tuning
// no weight is frozen, so that variant converts nothing and must measure the
// same as its MP row; it is run anyway, so the matrix shows it.

export interface Combination {
  readonly accumulation: boolean;
  readonly checkpointing: boolean;
  readonly mixedPrecision: boolean;
  readonly lora: boolean;
  /** Frozen matrices stored in f16 (only with mixedPrecision). */
  readonly f16Base: boolean;
}

export const PLAIN: Combination = { accumulation: false, checkpointing: false, mixedPrecision: false, lora: false, f16Base: false };

/** Short names in a fixed order: "plain", "GA+CK+MP+LoRA", "MP+f16-base+LoRA". */
export function combinationName(c: Combination): string {
  const parts: string[] = [];
  if (c.accumulation) parts.push('GA');
  if (c.checkpointing) parts.push('CK');
  if (c.mixedPrecision) parts.push('MP');
  if (c.f16Base) parts.push('f16-base');
  if (c.lora) parts.push('LoRA');
  return parts.length === 0 ? 'plain' : parts.join('+');
}

const TOKENS: Record<string, keyof Combination> = { ga: 'accumulation', ck: 'checkpointing', mp: 'mixedPrecision', 'f16-base': 'f16Base', lora: 'lora' };

/** Parses a name made of GA, CK, MP, f16-base and LoRA joined by '+' (any order, any case), or "plain". */
export function parseCombinationName(name: string): Combination {
  const trimmed = name.trim();
  if (trimmed.toLowerCase() === 'plain') return PLAIN;
  const flags: Record<keyof Combination, boolean> = { ...PLAIN };
  for (const raw of trimmed.split('+')) {
    const key = TOKENS[raw.trim().toLowerCase()];
    if (!key) throw new Error(`combination '${name}': unknown technique '${raw}'; expected 'plain' or some of GA, CK, MP, f16-base, LoRA joined by '+'`);
    if (flags[key]) throw new Error(`combination '${name}': '${raw}' is given twice`);
    flags[key] = true;
  }
  if (flags.f16Base && !flags.mixedPrecision) throw new Error(`combination '${name}': f16-base needs MP (frozen f16 weights are used directly only under autocast)`);
  return flags;
}

/**
 * All 16 combinations in binary order (LoRA slowest, then MP, CK, GA), each
 * MP row followed by its f16-base variant when `f16BaseVariants` (default) — 24 rows.
 */
export function allCombinations(options: { f16BaseVariants?: boolean } = {}): Combination[] {
  const withVariants = options.f16BaseVariants ?? true;
  const out: Combination[] = [];
  for (let bits = 0; bits < 16; bits++) {
    const c: Combination = {
      accumulation: (bits & 1) !== 0,
      checkpointing: (bits & 2) !== 0,
      mixedPrecision: (bits & 4) !== 0,
      lora: (bits & 8) !== 0,
      f16Base: false,
    };
    out.push(c);
    if (withVariants && c.mixedPrecision) out.push({ ...c, f16Base: true });
  }
  return out;
}

/** `c` with `technique` turned off (MP off also turns f16-base off); null when `c` does not use it. */
export function sameCombinationWithout(c: Combination, technique: keyof Combination): Combination | null {
  if (!c[technique]) return null;
  const off = { ...c, [technique]: false };
  if (technique === 'mixedPrecision') off.f16Base = false;
  return off;
}

export const sameCombination = (a: Combination, b: Combination): boolean =>
  a.accumulation === b.accumulation && a.checkpointing === b.checkpointing && a.mixedPrecision === b.mixedPrecision && a.lora === b.lora && a.f16Base === b.f16Base;
