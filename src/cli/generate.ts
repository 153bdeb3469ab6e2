// `gradlab generate`: greedy completions of a prompt from a fine-tuned run
// (`--from DIR`, a `gradlab finetune --save` directory), from pretrained
// weights, or from pretrained weights plus a PEFT LoRA adapter.

import { createBackend } from '../backends/registry.js';
import { chooseBestBackend } from '../backends/best-backend.js';
import { useBackend } from '../tensor/runtime.js';
import { manualSeed } from '../tensor/generator.js';
import { buildAlpacaPrompt } from '../train/data/alpaca-prompt.js';
import { greedyGenerate } from '../train/generate.js';
import { prepareModel, type PreparedModel } from '../train/model-setup.js';
import { loadFinetunedModel } from '../train/run-checkpoint.js';
import { loadPeftAdapter } from '../train/weights/peft-adapter.js';
import { PRESET_NAMES } from '../nn/model-args.js';
import { backendSpecDetails } from './backend-specs.js';
import { backendOrAuto } from './technique-flags.js';
import { defineCommand, oneOf, path, positiveInteger } from './flags.js';

export const generateCommand = defineCommand({
  name: 'generate',
  summary: 'greedy completions of a prompt from a fine-tuned run, pretrained weights, or weights + a PEFT adapter',
  description: 'With --from, the model of a `gradlab finetune --save DIR` run (its latest checkpoint). ' +
    'Otherwise --weights (or a --preset, randomly initialized) with an optional --adapter (PEFT LoRA directory). ' +
    '--alpaca wraps the prompt in the Alpaca template as an instruction (with --input as its input), the form the fine-tuned model saw.',
  options: {
    from: { type: 'string', description: 'a `gradlab finetune --save` directory', value: path({ mustBe: 'directory' }) },
    weights: { type: 'string', short: 'w', description: 'pretrained weights (llama2.c .bin, Hugging Face directory, gradlab .safetensors)', value: path({ mustBe: 'any' }) },
    preset: { type: 'string', short: 'p', description: 'preset (shapes for a .safetensors file, or random weights)', value: oneOf(PRESET_NAMES), default: 'tiny' },
    adapter: { type: 'string', description: 'a PEFT LoRA adapter directory to apply', value: path({ mustBe: 'directory' }) },
    tokenizer: { type: 'string', description: 'llama2.c tokenizer .bin (default: LLaMA\'s)', value: path({ mustBe: 'file' }) },
    alpaca: { type: 'boolean', description: 'wrap the prompt in the Alpaca template as the instruction' },
    input: { type: 'string', description: 'the Alpaca input field (with --alpaca)', value: { placeholder: 'TEXT', accepts: 'any text', parse: (raw: string) => raw } },
    'max-new-tokens': { type: 'string', short: 'n', description: 'tokens to generate at most', value: positiveInteger(), default: '48' },
    backend: { type: 'string', short: 'b', description: "backend, or 'auto'", value: backendOrAuto(), default: 'auto', details: backendSpecDetails() },
    'mixed-precision': { type: 'boolean', short: 'm', description: 'run the forward under autocast f16' },
  },
  positionals: [{ name: 'prompt', description: 'the text to continue (or the instruction, with --alpaca)', required: true }],
  examples: [
    'gradlab generate --from runs/a --alpaca "Add the numbers." --input "3 and 4"',
    'gradlab generate --weights ../shared/data/stories260K.bin --tokenizer ../shared/data/tok512.bin "Once upon a time"',
  ],
  async run(f, [prompt]) {
    if (f.from && (f.weights || f.adapter || f.tokenizer)) throw new Error('--from restores the saved run\'s own model and tokenizer; do not combine it with --weights, --adapter or --tokenizer');
    if (f.input !== undefined && !f.alpaca) throw new Error('--input is the Alpaca input field; it needs --alpaca');
    const backend = f.backend === 'auto' ? (await chooseBestBackend()).backend : await createBackend(f.backend);
    useBackend(backend);
    let prepared: PreparedModel | null = null;
    try {
      if (f.from) prepared = await loadFinetunedModel(f.from);
      else {
        prepared = await prepareModel({ preset: f.preset, weights: f.weights ?? null, layers: null, seed: 0, checkpointing: 'none', lora: null, f16Base: false, tokenizer: f.tokenizer ?? null });
        if (f.adapter) await loadPeftAdapter(prepared.model, f.adapter);
      }
      manualSeed(0);
      const text = f.alpaca ? buildAlpacaPrompt({ instruction: prompt, input: f.input ?? '', output: '' }) : prompt;
      const promptIds = prepared.tokenizer.encode(text, { bos: true });
      const ids = await greedyGenerate(prepared.model, prepared.tokenizer, promptIds, { maxNewTokens: f['max-new-tokens'], mixedPrecision: f['mixed-precision'] });
      // Decoding prompt and continuation together keeps the space a continuation's first piece carries.
      console.log(prepared.tokenizer.decode([...promptIds, ...ids]));
      return 0;
    } finally {
      prepared?.model.dispose();
      backend.destroy();
    }
  },
});
