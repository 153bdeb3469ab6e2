// loralib's model-level helpers: wrap chosen projections in LoRALinear,
// freeze everything but the LoRA factors, and pick out the LoRA state dict.

import type { Tensor } from '../tensor/tensor.js';
import { Linear } from './linear.js';
import { LoRALinear, validateLoRAOptions, type LoRAOptions } from './lora-linear.js';
import type { Module } from './module.js';

export interface ApplyLoraOptions extends Partial<LoRAOptions> {
  /** Names of the projections to adapt (the last part of their path); the seed: wq and wv. */
  targets?: readonly string[];
}

/** The seed's LoRA configuration. */
export const DEFAULT_LORA: Required<ApplyLoraOptions> = { r: 16, alpha: 32, dropout: 0.05, mergeWeights: false, targets: ['wq', 'wv'] };

/**
 * Replaces every Linear child whose name is in `targets` with a LoRALinear
 * around the same weight tensor (frozen, as in loralib); returns the dotted
 * paths of the adapted modules. Other parameters keep their requiresGrad:
 * call markOnlyLoraAsTrainable to freeze them.
 */
export function applyLora(model: Module, options: ApplyLoraOptions = {}): string[] {
  const config = { ...DEFAULT_LORA, ...options };
  validateLoRAOptions(config, 'applyLora');
  const targets = new Set(config.targets);
  if (targets.size === 0) throw new Error('applyLora: targets is empty; name the projections to adapt, e.g. ["wq", "wv"]');
  const adapted: string[] = [];
  const linearNames = new Set<string>();
  for (const [path, parent] of model.namedModules()) {
    for (const [name, child] of parent.namedChildren()) {
      const childPath = path ? `${path}.${name}` : name;
      if (child instanceof LoRALinear && targets.has(name)) throw new Error(`applyLora: '${childPath}' already has a LoRA adapter`);
      if (!(child instanceof Linear)) continue;
      linearNames.add(name);
      if (!targets.has(name)) continue;
      const lora = new LoRALinear({ weight: child.weight, bias: child.bias }, config);
      parent.replaceModule(name, lora);
      lora.train(parent.training); // an eval-mode model with mergeWeights gets merged adapters at once
      adapted.push(childPath);
    }
  }
  const unmatched = [...targets].filter((t) => !linearNames.has(t));
  if (unmatched.length > 0) {
    throw new Error(`applyLora: no Linear named ${unmatched.map((t) => `'${t}'`).join(', ')} in ${model.typeName} (Linear layers here: ${[...linearNames].join(', ') || 'none'})`);
  }
  return adapted;
}

export type LoraBiasMode = 'none' | 'all' | 'lora_only';

/**
 * loralib's mark_only_lora_as_trainable: every parameter whose name lacks
 * 'lora_' is frozen; bias 'all' keeps every bias trainable, 'lora_only' the
 * biases of LoRA layers.
 */
export function markOnlyLoraAsTrainable(model: Module, bias: LoraBiasMode = 'none'): void {
  if (!['none', 'all', 'lora_only'].includes(bias)) throw new Error(`markOnlyLoraAsTrainable: bias must be 'none', 'all' or 'lora_only', got '${bias}'`);
  const named = model.namedParameters();
  if (!named.some(([n]) => n.includes('lora_'))) throw new Error(`markOnlyLoraAsTrainable: ${model.typeName} has no LoRA parameters; call applyLora first`);
  for (const [name, p] of named) if (!name.includes('lora_')) p.requiresGrad = false;
  if (bias === 'all') {
    for (const [name, p] of named) if (name.includes('bias')) p.requiresGrad = true;
  } else if (bias === 'lora_only') {
    for (const [, m] of model.namedModules()) if (m instanceof LoRALinear && m.bias) m.bias.requiresGrad = true;
  }
}

/** loralib's lora_state_dict: the LoRA factors (and biases per `bias`) by dotted name. */
export function loraStateDict(model: Module, bias: LoraBiasMode = 'none'): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  const loraBiases = new Set<Tensor>();
  for (const [, m] of model.namedModules()) if (m instanceof LoRALinear && m.bias) loraBiases.add(m.bias);
  for (const [name, p] of model.namedParameters()) {
    const keep = name.includes('lora_') || (bias === 'all' && name.includes('bias')) || (bias === 'lora_only' && loraBiases.has(p));
    if (keep) out.set(name, p);
  }
  return out;
}
