// gradlab's nn layer: the module system, LLaMA-2's modules, LoRA, and the
// saved-activation formula.

export { Module, type ForwardHook, type ParameterCounts, type LoadStateDictOptions, type LoadStateDictResult, type StateDictSource } from './module.js';
export { asParameter, isParameter } from './parameter.js';
export { type ParameterInit } from './init.js';
export { Linear, type LinearLayer, type LinearOptions } from './linear.js';
export { Embedding, type EmbeddingOptions } from './embedding.js';
export { RMSNorm, type RMSNormOptions } from './rms-norm.js';
export { RotaryEmbedding, rotaryTableValues, type RotaryTables } from './rotary.js';
export { Attention, type AttentionConfig } from './attention.js';
export { FeedForward, type FeedForwardConfig } from './feed-forward.js';
export { TransformerBlock, type TransformerBlockConfig } from './transformer-block.js';
export { Transformer, ModuleList, CHECKPOINTING_MODES, type CheckpointingMode, type TransformerOptions } from './transformer.js';
export {
  DEFAULT_MODEL_ARGS, PRESET_NAMES, modelArgs, presetArgs, validateModelArgs, ffnHiddenDim, hiddenDimOf, kvHeadsOf, headDimOf,
  parameterShapes, countParameters, type ModelArgs, type PresetName,
} from './model-args.js';
export { LoRALinear, type LoRAOptions } from './lora-linear.js';
export { applyLora, markOnlyLoraAsTrainable, loraStateDict, DEFAULT_LORA, type ApplyLoraOptions, type LoraBiasMode } from './lora.js';
export {
  blockSavedActivationBytes, fullFinetuneBlockBytes, checkpointedBlockBytes, PROJECTIONS,
  type BlockActivationSpec, type BlockActivationBytes, type SavedTensorTerm, type ProjectionName,
} from './activation-memory.js';
