// Building the model a fine-tuning run trains: a preset or pretrained
// weights, its tokenizer, the checkpointing mode, LoRA, and the f16 frozen
// base, in the order that makes each technique see the right parameters
// (LoRA freezes the base; only then can the frozen base go to f16).

import { stat } from 'node:fs/promises';
import { applyLora, markOnlyLoraAsTrainable } from '../nn/lora.js';
import { storeFrozenWeightsInF16, type FrozenHalfPrecisionResult } from '../nn/frozen-half-precision.js';
import { presetArgs } from '../nn/model-args.js';
import { Transformer } from '../nn/transformer.js';
import { manualSeed } from '../tensor/generator.js';
import type { Tokenizer } from './data/tokenizer.js';
import { llamaTokenizer } from './data/llama-tokenizer.js';
import { loadLlama2cTokenizer } from './data/llama2c-tokenizer.js';
import type { FinetuneConfig } from './finetune-config.js';
import { loadHuggingFaceLlama } from './weights/hf-llama.js';
import { loadLlama2cCheckpoint } from './weights/llama2c.js';
import { loadStateDictFromSafetensors } from './weights/state-dict-files.js';

export interface PreparedModel {
  readonly model: Transformer;
  readonly tokenizer: Tokenizer;
  /** Where the weights came from, in words. */
  readonly source: string;
  /** Dotted paths of the LoRA-adapted projections (empty for full fine-tuning). */
  readonly loraAdapted: string[];
  readonly frozenHalf: FrozenHalfPrecisionResult | null;
}

type ModelConfig = Pick<FinetuneConfig, 'preset' | 'weights' | 'layers' | 'seed' | 'checkpointing' | 'lora' | 'f16Base' | 'tokenizer'>;

async function loadWeights(config: ModelConfig): Promise<{ model: Transformer; source: string }> {
  const path = config.weights!;
  let isDirectory: boolean;
  try {
    isDirectory = (await stat(path)).isDirectory();
  } catch (err) {
    throw new Error(`finetune: cannot read weights '${path}': ${(err as Error).message}`);
  }
  const layersFixed = () => {
    if (config.layers !== null) throw new Error(`finetune: --layers cannot change a pretrained checkpoint's depth ('${path}' defines its own)`);
  };
  if (isDirectory) {
    layersFixed();
    const { model } = await loadHuggingFaceLlama(path);
    return { model, source: `Hugging Face LLaMA directory ${path}` };
  }
  if (path.endsWith('.bin')) {
    layersFixed();
    const { model, header } = await loadLlama2cCheckpoint(path);
    return { model, source: `llama2.c checkpoint ${path} (dim ${header.dim}, ${header.nLayers} layers, vocab ${header.vocabSize})` };
  }
  if (path.endsWith('.safetensors')) {
    const args = presetArgs(config.preset, config.layers !== null ? { layers: config.layers } : {});
    const model = new Transformer(args, { init: 'zeros' });
    await loadStateDictFromSafetensors(model, path);
    return { model, source: `safetensors state dict ${path} (shapes of preset '${config.preset}', ${args.nLayers} layers)` };
  }
  throw new Error(`finetune: weights '${path}' must be a Hugging Face directory, a llama2.c '.bin' or a gradlab '.safetensors' file`);
}

/** The model, tokenizer and techniques of a run; the seed fixes every random initialization. */
export async function prepareModel(config: ModelConfig): Promise<PreparedModel> {
  manualSeed(config.seed);
  const { model, source } = config.weights
    ? await loadWeights(config)
    : {
        model: Transformer.fromPreset(config.preset, config.layers !== null ? { layers: config.layers } : {}),
        source: `preset '${config.preset}', randomly initialized (seed ${config.seed})`,
      };
  try {
    const tokenizer = config.tokenizer ? await loadLlama2cTokenizer(config.tokenizer) : llamaTokenizer();
    if (tokenizer.vocabSize !== model.args.vocabSize) {
      throw new Error(`finetune: the tokenizer has ${tokenizer.vocabSize} pieces but the model's vocabulary is ${model.args.vocabSize}` +
        (config.tokenizer ? '' : ' (pass the model\'s own tokenizer with --tokenizer FILE)'));
    }
    model.checkpointing = config.checkpointing;
    let loraAdapted: string[] = [];
    if (config.lora) {
      loraAdapted = applyLora(model, { ...config.lora, mergeWeights: false });
      markOnlyLoraAsTrainable(model);
    }
    const frozenHalf = config.f16Base ? storeFrozenWeightsInF16(model) : null;
    return { model, tokenizer, source, loraAdapted, frozenHalf };
  } catch (err) {
    model.dispose();
    throw err;
  }
}
