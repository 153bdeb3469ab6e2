// The shape shared by most kernels: every output is dense from element 0 and
// element e of each output is a pure function `compute(e)` of the inputs.
// With packed f16 outputs each invocation computes two neighbouring elements
// and stores their shared word whole; only an odd last element goes through
// the half-word store, so it never clobbers a neighbour beyond `count`.

import { ParamLayout, u32, type ParamDecl } from '../params.js';
import { buildProgram, type Program } from '../program.js';
import { ENTRY_BUILTINS, linearInvocation } from './common.js';
import { isPacked, type Binding } from './storage.js';

export const DENSE_WORKGROUP = 256;

export type DenseValue = 'f32' | 'i32' | 'raw';

export interface DenseMapSpec {
  readonly key: string;
  readonly label: string;
  /** Written buffers (readwrite), dense over [0, count). They may also be read in `compute`. */
  readonly outputs: readonly Binding[];
  readonly inputs: readonly Binding[];
  /** Params besides `count`, available as lets inside `compute`. */
  readonly params: readonly ParamDecl[];
  /** f32 (stored through st_), i32, or raw bits (stored through strw_). */
  readonly value: DenseValue;
  /**
   * Statements of `fn compute(e: u32) -> T` (T is f32, i32, u32, or vecN<f32> for N outputs); must return.
   * A function receives the final params layout (for slot-indexed params).
   */
  readonly compute: string | ((params: ParamLayout) => string);
  readonly helpers?: string;
  readonly needsF16?: boolean;
}

export function denseMapProgram(spec: DenseMapSpec): Program {
  const outputs = spec.outputs;
  if (outputs.length === 0 || outputs.length > 4) throw new Error(`dense map ${spec.key}: 1..4 outputs`);
  if (outputs.length > 1 && spec.value !== 'f32') throw new Error(`dense map ${spec.key}: several outputs need f32 values`);
  const packed = isPacked(outputs[0].codec);
  if (outputs.some((o) => isPacked(o.codec) !== packed)) throw new Error(`dense map ${spec.key}: outputs mix packed and unpacked storage`);
  const params = new ParamLayout([u32('count'), ...spec.params]);
  const type = outputs.length > 1 ? `vec${outputs.length}<f32>` : spec.value === 'f32' ? 'f32' : spec.value === 'i32' ? 'i32' : 'u32';
  const part = (r: string, j: number) => (outputs.length > 1 ? `${r}.${'xyzw'[j]}` : r);
  const storeOne = (e: string, r: string) =>
    outputs.map((o, j) => `    ${spec.value === 'raw' ? 'strw' : 'st'}_${o.name}(${e}, ${part(r, j)});\n`).join('');
  const storePair = (w: string, r0: string, r1: string) =>
    outputs.map((o, j) => spec.value === 'raw'
      ? `    strw2_${o.name}(${w}, (${part(r0, j)} & 0xffffu) | (${part(r1, j)} << 16u));\n`
      : `    st2_${o.name}(${w}, ${part(r0, j)}, ${part(r1, j)});\n`).join('');
  const main = packed
    ? `  let w = ${linearInvocation(DENSE_WORKGROUP)};
  let e0 = 2u * w;
  if (e0 >= count) { return; }
  let r0 = compute(e0);
  if (e0 + 1u < count) {
    let r1 = compute(e0 + 1u);
${storePair('w', 'r0', 'r1')}  } else {
${storeOne('e0', 'r0')}  }
`
    : `  let e = ${linearInvocation(DENSE_WORKGROUP)};
  if (e >= count) { return; }
  let r = compute(e);
${storeOne('e', 'r')}`;
  const body = `${spec.helpers ?? ''}
fn compute(e: u32) -> ${type} {
${params.lets()}${typeof spec.compute === 'string' ? spec.compute : spec.compute(params)}
}

@compute @workgroup_size(${DENSE_WORKGROUP})
fn main(${ENTRY_BUILTINS}) {
  let count = ${params.expr('count')};
${main}}
`;
  return buildProgram({ key: spec.key, label: spec.label, bindings: [...outputs, ...spec.inputs], params, body, needsF16: spec.needsF16 });
}

/** Invocations a dense map over `count` elements needs. */
export function denseInvocations(count: number, outputs: readonly Binding[]): number {
  return isPacked(outputs[0].codec) ? Math.ceil(count / 2) : count;
}
