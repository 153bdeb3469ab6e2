// Held-out evaluation: the loss over the records' response tokens (the
// training objective, no dropout, no gradients) and the exact-match accuracy
// of greedy completions against the expected outputs.

import { autocast } from '../autograd/autocast.js';
import { crossEntropy, slice } from '../autograd/functional.js';
import { noGrad } from '../autograd/grad-mode.js';
import { tensor } from '../tensor/creation.js';
import { tidy } from '../tensor/scope.js';
import type { Transformer } from '../nn/transformer.js';
import { buildAlpacaPrompt, type AlpacaRecord } from './data/alpaca-prompt.js';
import { IGNORE_INDEX, tokenizeAlpacaExample } from './data/alpaca-tokenize.js';
import { collateBatch } from './data/collate.js';
import { exactMatch } from './data/exact-match.js';
import type { Tokenizer } from './data/tokenizer.js';
import { greedyGenerate } from './generate.js';
import { targetTokenCount } from './causal-lm-loss.js';

export interface EvaluationOptions {
  maxSeqLen: number;
  batchSize: number;
  maxNewTokens: number;
  mixedPrecision: boolean;
}

export interface EvaluationSample {
  readonly instruction: string;
  readonly input: string;
  readonly expected: string;
  readonly predicted: string;
  readonly correct: boolean;
}

export interface EvaluationResult {
  /** Mean cross-entropy per response token. */
  readonly loss: number;
  readonly tokens: number;
  readonly exactMatch: number;
  readonly correct: number;
  readonly total: number;
  readonly samples: readonly EvaluationSample[];
}

export async function evaluate(model: Transformer, tokenizer: Tokenizer, records: readonly Required<AlpacaRecord>[], options: EvaluationOptions): Promise<EvaluationResult> {
  const wasTraining = model.training;
  model.eval();
  try {
    const examples = records.map((r) => tokenizeAlpacaExample(r, tokenizer, { maxLength: options.maxSeqLen }));
    let lossSum = 0;
    let tokens = 0;
    for (let i = 0; i < examples.length; i += options.batchSize) {
      const batch = collateBatch(examples.slice(i, i + options.batchSize));
      const count = targetTokenCount(batch.labels, batch.batchSize, batch.seqLen);
      if (count === 0) continue;
      const loss = noGrad(() => tidy(() => {
        const ids = tensor(batch.inputIds, batch.shape);
        const labels = tensor(batch.labels, batch.shape);
        const run = () => {
          const logits = model.forward(ids);
          return crossEntropy(slice(logits, 1, 0, batch.seqLen - 1), slice(labels, 1, 1), { ignoreIndex: IGNORE_INDEX, reduction: 'sum' });
        };
        return options.mixedPrecision ? autocast('f16', run) : run();
      }));
      lossSum += await loss.item();
      loss.dispose();
      tokens += count;
    }
    const samples: EvaluationSample[] = [];
    for (const r of records) {
      const promptIds = tokenizer.encode(buildAlpacaPrompt(r), { bos: true }).slice(-options.maxSeqLen);
      const ids = await greedyGenerate(model, tokenizer, promptIds, { maxNewTokens: options.maxNewTokens, mixedPrecision: options.mixedPrecision });
      const predicted = tokenizer.decode(ids);
      samples.push({ instruction: r.instruction, input: r.input, expected: r.output, predicted, correct: exactMatch(predicted, r.output) });
    }
    const correct = samples.filter((s) => s.correct).length;
    return { loss: tokens > 0 ? lossSum / tokens : NaN, tokens, exactMatch: records.length > 0 ? correct / records.length : NaN, correct, total: records.length, samples };
  } finally {
    if (wasTraining) model.train();
  }
}
