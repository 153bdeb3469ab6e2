// Greedy decoding (temperature 0) without a KV cache: each new token reruns
// the model over the whole sequence and takes the argmax of the last
// position's logits. Slow for long outputs, exact, and enough for the short
// answers the evaluation checks.

import { autocast } from '../autograd/autocast.js';
import { noGrad } from '../autograd/grad-mode.js';
import { tensor } from '../tensor/creation.js';
import { tidy } from '../tensor/scope.js';
import type { Transformer } from '../nn/transformer.js';
import type { Tokenizer } from './data/tokenizer.js';

export interface GenerateOptions {
  maxNewTokens?: number;
  /** Stop at the tokenizer's EOS (default true). */
  stopAtEos?: boolean;
  /** Run the forward under autocast f16 (as a mixed-precision run trains). */
  mixedPrecision?: boolean;
}

/** Continues `promptIds` greedily; returns only the new ids (EOS excluded). */
export async function greedyGenerate(model: Transformer, tokenizer: Tokenizer, promptIds: readonly number[], options: GenerateOptions = {}): Promise<number[]> {
  const maxNewTokens = options.maxNewTokens ?? 32;
  if (!Number.isInteger(maxNewTokens) || maxNewTokens < 1) throw new Error(`greedyGenerate: maxNewTokens must be a positive integer, got ${maxNewTokens}`);
  if (promptIds.length === 0) throw new Error('greedyGenerate: the prompt is empty (encode it with a BOS token)');
  const wasTraining = model.training;
  model.eval();
  const ids = [...promptIds];
  const out: number[] = [];
  try {
    for (let i = 0; i < maxNewTokens; i++) {
      const window = ids.slice(-model.args.maxSeqLen);
      const logits = noGrad(() => tidy(() => {
        const tokens = tensor(Int32Array.from(window), [1, window.length]);
        const run = () => model.forward(tokens, { lastPositionOnly: true });
        return options.mixedPrecision ? autocast('f16', run) : run();
      }));
      const values = await logits.data();
      logits.dispose();
      let best = 0;
      for (let v = 1; v < values.length; v++) if (values[v] > values[best]) best = v;
      if (best === tokenizer.eosId && (options.stopAtEos ?? true)) break;
      ids.push(best);
      out.push(best);
    }
  } finally {
    if (wasTraining) model.train();
  }
  return out;
}

/** Prompt text -> completion text. */
export async function completePrompt(model: Transformer, tokenizer: Tokenizer, prompt: string, options: GenerateOptions = {}): Promise<string> {
  const ids = await greedyGenerate(model, tokenizer, tokenizer.encode(prompt, { bos: true }), options);
  return tokenizer.decode(ids);
}
