// Weight files: safetensors (read, write, state dicts) and llama2.c import.

export { WeightFileError } from './weight-file-error.js';
export { SAFETENSORS_DTYPES, type SafetensorsDType } from './host-dtypes.js';
export { MAX_HEADER_BYTES, type SafetensorsEntry, type SafetensorsHeader } from './safetensors-header.js';
export { SafetensorsReader, withSafetensors, loadSafetensors, DEFAULT_CHUNK_BYTES } from './safetensors-reader.js';
export { saveSafetensors, type SaveSafetensorsOptions, type NamedTensors } from './safetensors-writer.js';
export { loadStateDictFromSafetensors, saveStateDictToSafetensors, type SaveStateDictOptions } from './state-dict-files.js';
export { loadLlama2cCheckpoint, readLlama2cHeader, llama2cModelArgs, type Llama2cHeader, type LoadLlama2cOptions } from './llama2c.js';
