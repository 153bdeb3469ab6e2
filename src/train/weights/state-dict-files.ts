// A module's state dict to and from safetensors files. Loading checks every
// name and shape against the header first (nothing is written to the model
// when anything is wrong), then streams the tensors one by one straight into
// the parameters, converting dtypes on the way.

import type { LoadStateDictOptions, LoadStateDictResult, Module } from '../../nn/module.js';
import { formatShape, shapesEqual } from '../../tensor/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import { canConvert, SAFETENSORS_DTYPES, type SafetensorsDType } from './host-dtypes.js';
import { withSafetensors } from './safetensors-reader.js';
import { saveSafetensors, type SaveSafetensorsOptions } from './safetensors-writer.js';
import { WeightFileError } from './weight-file-error.js';

/**
 * Loads parameters from a safetensors file into `module` in place. With
 * strict (default), names the model has and the file lacks, and names the file
 * has and the model lacks, are errors; shapes and dtypes must fit either way.
 */
export async function loadStateDictFromSafetensors(module: Module, file: string, options: LoadStateDictOptions = {}): Promise<LoadStateDictResult> {
  const strict = options.strict ?? true;
  return withSafetensors(file, async (reader) => {
    const own = module.stateDict();
    const names = reader.names();
    const missingKeys = [...own.keys()].filter((k) => !reader.header.entries.has(k));
    const unexpectedKeys = names.filter((k) => !own.has(k));
    const problems: string[] = [];
    for (const name of names) {
      const param = own.get(name);
      if (!param) continue;
      const e = reader.entry(name);
      if (!shapesEqual(e.shape, param.shape)) problems.push(`size mismatch for '${name}': the file has ${formatShape(e.shape)}, the parameter is ${formatShape(param.shape)}`);
      else if (!(SAFETENSORS_DTYPES as readonly string[]).includes(e.dtype) || !canConvert(e.dtype as SafetensorsDType, param.dtype)) {
        problems.push(`dtype mismatch for '${name}': the file has ${e.dtype}, which cannot be loaded into a ${param.dtype} parameter`);
      }
    }
    if (strict && missingKeys.length > 0) problems.push(`missing key(s): ${missingKeys.map((k) => `'${k}'`).join(', ')}`);
    if (strict && unexpectedKeys.length > 0) problems.push(`unexpected key(s): ${unexpectedKeys.map((k) => `'${k}'`).join(', ')}`);
    if (problems.length > 0) throw new WeightFileError(file, `cannot load into ${module.typeName}: ${problems.length} error(s):\n  ${problems.join('\n  ')}`);
    for (const name of names) {
      const param = own.get(name);
      if (param) await reader.readInto(name, param);
    }
    return { missingKeys, unexpectedKeys };
  });
}

export interface SaveStateDictOptions extends SaveSafetensorsOptions {
  /** Which parameters: all (default), only those with requiresGrad, or a predicate on (name, tensor). */
  only?: 'all' | 'trainable' | ((name: string, p: Tensor) => boolean);
}

/** Saves a module's parameters (Meta names) to a safetensors file, atomically. */
export async function saveStateDictToSafetensors(module: Module, file: string, options: SaveStateDictOptions = {}): Promise<void> {
  const { only = 'all', ...rest } = options;
  const keep = only === 'all' ? () => true : only === 'trainable' ? (_: string, p: Tensor) => p.requiresGrad : only;
  await saveSafetensors(file, module.namedParameters().filter(([n, p]) => keep(n, p)), rest);
}
