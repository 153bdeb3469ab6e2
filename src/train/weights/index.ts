// Weight files: safetensors (read, write, state dicts), llama2.c import, Hugging Face LLaMA import and PEFT adapters.

export { WeightFileError } from './weight-file-error.js';
export { SAFETENSORS_DTYPES, type SafetensorsDType } from './host-dtypes.js';
export { MAX_HEADER_BYTES, type SafetensorsEntry, type SafetensorsHeader } from './safetensors-header.js';
export { SafetensorsReader, withSafetensors, loadSafetensors, DEFAULT_CHUNK_BYTES } from './safetensors-reader.js';
export { saveSafetensors, type SaveSafetensorsOptions, type NamedTensors } from './safetensors-writer.js';
export { loadStateDictFromSafetensors, saveStateDictToSafetensors, type SaveStateDictOptions } from './state-dict-files.js';
export { loadLlama2cCheckpoint, readLlama2cHeader, llama2cModelArgs, type Llama2cHeader, type LoadLlama2cOptions } from './llama2c.js';
export { loadHuggingFaceLlama, loadHuggingFaceLlamaInto, type LoadHuggingFaceLlamaOptions, type LoadHuggingFaceLlamaIntoOptions } from './hf-llama.js';
export { readHuggingFaceLlamaConfig, parseHuggingFaceLlamaConfig, huggingFaceModelArgs, type HuggingFaceLlamaConfig, type HuggingFaceArgsOptions } from './hf-config.js';
export { openHuggingFaceCheckpoint, HF_SINGLE_FILE, HF_INDEX_FILE, type HuggingFaceCheckpoint, type HfTensorLocation } from './hf-checkpoint.js';
export { metaNameOfHf, hfNameOfMeta, hfModuleOfMeta, rotaryHeadsOf, HF_TO_META_PROJECTION, META_TO_HF_PROJECTION, HF_LAYER_PROJECTIONS, type HfProjection, type MetaProjection } from './hf-names.js';
export { hfRowOfMetaRow, metaRowOfHfRow, permuteRotaryRows } from './hf-rotary-permutation.js';
export {
  savePeftAdapter, loadPeftAdapter, readPeftAdapterConfig, parsePeftLoraConfig, peftKeyOf, PEFT_CONFIG_FILE, PEFT_WEIGHTS_FILE,
  type PeftLoraConfig, type SavePeftAdapterOptions, type LoadPeftAdapterResult,
} from './peft-adapter.js';
