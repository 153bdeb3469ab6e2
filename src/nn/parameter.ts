// Parameters are ordinary leaf tensors that outlive every tidy scope and whose
// storage is ledgered as trainable or frozen parameter memory. Setting
// `requiresGrad` on a parameter re-labels its bytes at once, so a memory report
// taken after freezing (e.g. markOnlyLoraAsTrainable) is right to the byte.

import { noGrad } from '../autograd/grad-mode.js';
import { isFloatDType } from '../tensor/dtype.js';
import { cast, copyIntoView } from '../tensor/kernel-ops.js';
import { tidy } from '../tensor/scope.js';
import { formatShape, shapesEqual } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';

const parameters = new WeakSet<Tensor>();

/**
 * Turns t into a parameter: kept out of every scope, ledgered as a
 * (trainable or frozen) parameter, with `requiresGrad` kept in sync with the
 * ledger from now on.
 */
export function asParameter(t: Tensor, requiresGrad = true): Tensor {
  if (parameters.has(t)) {
    t.requiresGrad = requiresGrad;
    return t;
  }
  if (!isFloatDType(t.dtype)) throw new Error(`parameter: ${t.describe()} must have a float dtype`);
  if (!t.isDense) throw new Error(`parameter: ${t.describe()} must own dense storage (pass a fresh tensor, not a view)`);
  t.keep();
  let flag = requiresGrad;
  Object.defineProperty(t, 'requiresGrad', {
    configurable: true,
    enumerable: true,
    get: () => flag,
    set: (value: boolean) => {
      flag = value;
      if (!t.isDisposed) t.setStorageRole('parameter', value);
    },
  });
  t.setStorageRole('parameter', requiresGrad);
  parameters.add(t);
  return t;
}

export function isParameter(t: Tensor): boolean {
  return parameters.has(t);
}

/** Where a copy into a parameter comes from, for error messages ("state dict", a file name, ...). */
export interface AssignSource {
  readonly what: string;
}

/**
 * Copies value into the parameter's storage in place (the handle, and anything
 * holding it such as an optimizer, stays valid). Float dtypes convert like
 * torch's copy_; shapes must match exactly.
 */
export function assignParameter(name: string, param: Tensor, value: Tensor, source: AssignSource): void {
  if (!shapesEqual(param.shape, value.shape)) {
    throw new Error(`${source.what}: '${name}' has shape ${formatShape(value.shape)} but the parameter is ${formatShape(param.shape)}`);
  }
  if (!isFloatDType(value.dtype)) {
    throw new Error(`${source.what}: '${name}' has dtype ${value.dtype} but the parameter is ${param.dtype}; only float values can be loaded into a float parameter`);
  }
  noGrad(() => tidy(() => {
    if (value.context !== param.context) throw new Error(`${source.what}: '${name}' lives on backend '${value.context.name}' but the parameter on '${param.context.name}'`);
    const converted = value.dtype === param.dtype ? value : cast(value, param.dtype);
    copyIntoView(converted, param);
  }));
}
