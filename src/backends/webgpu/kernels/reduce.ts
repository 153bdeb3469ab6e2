// Sum or max over one axis of a strided input. Two shapes of launch:
//  - one invocation per output (a dense map) when the reduced axis is short,
//    or strided while there are many outputs: neighbouring invocations then
//    read neighbouring elements. Sums run in blocks of 64 (pairwise-ish), so
//    the f32 error grows with 64 + L/64 rather than with L.
//  - one workgroup per output with a shared-memory tree when the axis is long
//    and contiguous, or when there are too few outputs to fill the GPU.

import type { BackendBuffer, ReduceOp, StridedInput } from '../../backend.js';
import type { KernelHost } from '../kernel-host.js';
import { ParamLayout, u32, i32 } from '../params.js';
import { buildProgram, grid1d, gridItems } from '../program.js';
import { ENTRY_BUILTINS, LINEAR_WORKGROUP } from '../wgsl/common.js';
import { DENSE_WORKGROUP, denseInvocations, denseMapProgram } from '../wgsl/dense-map.js';
import { valueCodec, type Binding } from '../wgsl/storage.js';
import { coalesce, rankClassOf, stridedOffsets, stridedParamDecls, stridedParamValues } from '../wgsl/strided.js';
import { fmtShape, numelOf, requireDType, requireNumel, requireSameDType, requireStridedInBounds } from '../validate.js';

const TREE_WORKGROUP = 256;

/** NaN-sticky max (the CPU reference keeps the first NaN it meets). */
const COMBINE = /* wgsl */ `
fn combine_max(acc: f32, v: f32) -> f32 { return select(acc, v, (v > acc || is_nan(v)) && !is_nan(acc)); }
`;

export function reduce(host: KernelHost, op: ReduceOp, shape: readonly number[], x: StridedInput, axis: number, out: BackendBuffer): void {
  const name = `reduce.${op}`;
  if (op !== 'sum' && op !== 'max') throw new Error(`webgpu: unknown reduce op '${op}'`);
  requireDType(name, 'x', x.buffer, ['f32', 'f16']);
  requireSameDType(name, { x: x.buffer, out });
  if (!Number.isInteger(axis) || axis < 0 || axis >= shape.length) {
    throw new Error(`webgpu ${name}: axis ${axis} is out of range for shape ${fmtShape(shape)}`);
  }
  const kept = shape.filter((_, i) => i !== axis);
  const outCount = numelOf(kept);
  requireNumel(name, 'out', out, outCount, `shape ${fmtShape(shape)} without axis ${axis}`);
  if (outCount === 0) return;
  requireStridedInBounds(name, 'x', shape, x, x.buffer);
  const length = shape[axis];
  const axisStride = x.strides[axis];
  const keptStrides = x.strides.filter((_, i) => i !== axis);
  const outStrides = new Array<number>(kept.length);
  for (let i = kept.length - 1, s = 1; i >= 0; i--) { outStrides[i] = s; s *= kept[i]; }
  const c = coalesce(kept, [{ offset: x.offset, strides: keptStrides }, { offset: 0, strides: outStrides }]);
  const rank = rankClassOf(c, name);
  const codec = valueCodec(x.buffer.dtype, host.f16Mode);
  const strided = stridedParamValues(rank, c, ['x'], [x.offset]);
  const values = { ...strided, len_: length, axisStride };
  const label = `${name}[${x.buffer.dtype}]`;
  const identity = op === 'sum' ? '0.0' : 'f32_inf(true)';
  const fold = (acc: string, v: string) => (op === 'sum' ? `${acc} + ${v}` : `combine_max(${acc}, ${v})`);
  const useTree = length >= 256 && (axisStride === 1 || outCount < 4096);
  if (!useTree) {
    const outputs: Binding[] = [{ name: 'out', codec, access: 'readwrite' }];
    const key = `${name}:${codec}:${rank}:serial`;
    host.run(key, () => denseMapProgram({
      key, label, outputs,
      inputs: [{ name: 'x', codec, access: 'read' }],
      params: [...stridedParamDecls(rank, ['x']), u32('len_'), i32('axisStride')],
      value: 'f32', helpers: COMBINE,
      compute: (params) => `${stridedOffsets(rank, params, ['x'], 'e')}
  var acc = ${identity};
  var r = 0u;
  loop {
    if (r >= len_) { break; }
    let blockEnd = min(len_, r + 64u);
    var part = ${identity};
    for (; r < blockEnd; r = r + 1u) { part = ${fold('part', 'ld_x(off_x + r * u32(axisStride))')}; }
    acc = ${fold('acc', 'part')};
  }
  return acc;`,
    }), [out, x.buffer], { count: outCount, ...values },
    grid1d(denseInvocations(outCount, outputs), DENSE_WORKGROUP, host.maxWorkgroupsPerDimension));
    return;
  }
  const key = `${name}:${codec}:${rank}:tree`;
  const params = new ParamLayout([u32('count'), ...stridedParamDecls(rank, ['x']), u32('len_'), i32('axisStride')]);
  host.run(key, () => buildProgram({
    key, label, params,
    bindings: [{ name: 'out', codec, access: 'readwrite' }, { name: 'x', codec, access: 'read' }],
    body: `${COMBINE}
var<workgroup> partial: array<f32, ${TREE_WORKGROUP}>;

@compute @workgroup_size(${TREE_WORKGROUP})
fn main(${ENTRY_BUILTINS}) {
${params.lets()}  let item = ${LINEAR_WORKGROUP};
  if (item >= count) { return; }
${stridedOffsets(rank, params, ['x'], 'item')}  var acc = ${identity};
  for (var r = lid; r < len_; r = r + ${TREE_WORKGROUP}u) { acc = ${fold('acc', 'ld_x(off_x + r * u32(axisStride))')}; }
  partial[lid] = acc;
  workgroupBarrier();
  for (var step_ = ${TREE_WORKGROUP / 2}u; step_ > 0u; step_ = step_ >> 1u) {
    if (lid < step_) { partial[lid] = ${fold('partial[lid]', 'partial[lid + step_]')}; }
    workgroupBarrier();
  }
  if (lid == 0u) { st_out(item, partial[0]); }
}
`,
  }), [out, x.buffer], { count: outCount, ...values }, gridItems(outCount, host.maxWorkgroupsPerDimension));
}
