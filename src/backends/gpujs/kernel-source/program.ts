// A kernel program is the JavaScript source gpu.js compiles, its argument
// types, and the helpers it calls, under a cache key that names every choice
// baked into the source (kernel, dtypes, rank, variant). Values that change
// per call (sizes, strides, offsets, scalars) are arguments, so one compiled
// kernel serves every shape of its rank.
//
// Generators build a program and the argument values for one call together,
// so the parameter list and the values cannot drift apart.

import type { BackendBuffer } from '../../backend.js';
import type { GpuJsArgumentType, GpuJsFunctionDefinition } from '../gpujs-library.js';
import { helperDefinitions, helpersCalledIn } from './helpers.js';

export interface KernelProgram {
  readonly key: string;
  readonly source: string;
  readonly argumentTypes: Record<string, GpuJsArgumentType>;
  readonly functions: readonly GpuJsFunctionDefinition[];
}

export type ArgumentValue = BackendBuffer | number;

/** One kernel launch: a program, its argument values in parameter order, and its output grid. */
export interface KernelCall {
  readonly program: KernelProgram;
  readonly values: readonly ArgumentValue[];
  /** gpu.js's output dimensions, x (fastest) first; written densely, x + X * (y + Y * z). */
  readonly output: readonly number[];
  readonly outputNumel: number;
}

export class ProgramBuilder {
  private readonly names: string[] = [];
  private readonly types: Record<string, GpuJsArgumentType> = {};
  private readonly values: ArgumentValue[] = [];

  constructor(private key: string) {}

  /** Appends a choice made while generating (e.g. an index space's grid) to the cache key. */
  keyPart(fragment: string): void {
    this.key += `|${fragment}`;
  }

  /** A buffer argument, read as a flat array. Returns its name for use in the body. */
  array(name: string, buffer: BackendBuffer): string {
    return this.add(name, 'Array', buffer);
  }

  /** An i32 argument (index math). */
  int(name: string, value: number): string {
    if (!Number.isInteger(value) || Math.abs(value) >= 2 ** 31) {
      throw new Error(`gpujs backend: internal error: kernel argument ${name} = ${value} is not an i32`);
    }
    return this.add(name, 'Integer', value);
  }

  /** An f32 argument. */
  float(name: string, value: number): string {
    return this.add(name, 'Float', value);
  }

  has(name: string): boolean {
    return name in this.types;
  }

  /** Finishes the program: `body` is the kernel function's body; `output` its length or its gpu.js output grid. */
  build(body: string, output: number | readonly number[]): KernelCall {
    const grid = typeof output === 'number' ? [output] : [...output];
    const outputNumel = grid.reduce((a, b) => a * b, 1);
    const source = `function (${this.names.join(', ')}) {\n${body}\n}`;
    const functions = helperDefinitions(helpersCalledIn(body));
    // Helpers call helpers; the closure above already follows their `uses`.
    return {
      program: { key: this.key, source, argumentTypes: { ...this.types }, functions },
      values: this.values.slice(),
      output: grid,
      outputNumel,
    };
  }

  private add(name: string, type: GpuJsArgumentType, value: ArgumentValue): string {
    if (name in this.types) throw new Error(`gpujs backend: internal error: kernel argument ${name} declared twice`);
    this.names.push(name);
    this.types[name] = type;
    this.values.push(value);
    return name;
  }
}
