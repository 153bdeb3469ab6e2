// Embedding rows: gather (forward) and scatter-add (backward).
// Scatter-add runs one invocation per column (per pair of columns for packed
// f16 when both fall in one word) that walks the indices in order, so
// duplicate indices accumulate in the same order as the CPU reference and
// the result is deterministic, with no float atomics.
// Out-of-range indices cannot throw on a GPU: gather writes NaN for them and
// scatter-add skips them; the tensor layer raises the error at the next
// readback (src/tensor/deferred-index-checks.ts).

import type { BackendBuffer } from '../../backend.js';
import type { KernelHost } from '../kernel-host.js';
import { ParamLayout, u32 } from '../params.js';
import { buildProgram, grid1d } from '../program.js';
import { ENTRY_BUILTINS, linearInvocation } from '../wgsl/common.js';
import { DENSE_WORKGROUP, denseInvocations, denseMapProgram } from '../wgsl/dense-map.js';
import { bitsCodec, valueCodec, type Binding } from '../wgsl/storage.js';
import { requireDType, requireNonNegativeInts, requireNumel, requireSameDType } from '../validate.js';

export function gatherRows(host: KernelHost, table: BackendBuffer, rows: number, cols: number, indices: BackendBuffer, n: number, out: BackendBuffer): void {
  const name = 'gatherRows';
  requireNonNegativeInts(name, { rows, cols, n });
  requireDType(name, 'table', table, ['f32', 'f16']);
  requireSameDType(name, { table, out });
  requireDType(name, 'indices', indices, 'i32');
  requireNumel(name, 'table', table, rows * cols, `(${rows}, ${cols})`);
  requireNumel(name, 'indices', indices, n);
  requireNumel(name, 'out', out, n * cols, `(${n}, ${cols})`);
  const count = n * cols;
  if (count === 0) return;
  const codec = bitsCodec(table.dtype, host.f16Mode);
  const outputs: Binding[] = [{ name: 'out', codec, access: 'readwrite' }];
  const nanBits = table.dtype === 'f16' ? '0x7e00u' : '0x7fc00000u';
  const key = `gatherRows:${codec}`;
  host.run(key, () => denseMapProgram({
    key, label: `gatherRows[${table.dtype}]`, outputs,
    inputs: [{ name: 'table', codec, access: 'read' }, { name: 'idx', codec: 'i32', access: 'read' }],
    params: [u32('rows'), u32('cols')], value: 'raw',
    compute: `  let r = ld_idx(e / cols);
  if (r < 0 || u32(r) >= rows) { return ${nanBits}; }
  return raw_table(u32(r) * cols + e % cols);`,
  }), [out, table, indices], { count, rows, cols }, grid1d(denseInvocations(count, outputs), DENSE_WORKGROUP, host.maxWorkgroupsPerDimension));
}

export function scatterAddRows(host: KernelHost, src: BackendBuffer, indices: BackendBuffer, n: number, cols: number, out: BackendBuffer, rows: number): void {
  const name = 'scatterAddRows';
  requireNonNegativeInts(name, { rows, cols, n });
  requireDType(name, 'src', src, ['f32', 'f16']);
  requireSameDType(name, { src, out });
  requireDType(name, 'indices', indices, 'i32');
  requireNumel(name, 'src', src, n * cols, `(${n}, ${cols})`);
  requireNumel(name, 'indices', indices, n);
  requireNumel(name, 'out', out, rows * cols, `(${rows}, ${cols})`);
  if (n === 0 || cols === 0 || rows === 0) return;
  const codec = valueCodec(src.dtype, host.f16Mode);
  // Packed f16 with an even row length: column pairs (2c, 2c+1) share a word that no other invocation touches.
  const pairs = codec === 'f16p' && cols % 2 === 0;
  const key = `scatterAddRows:${codec}${pairs ? ':pairs' : ''}`;
  const params = new ParamLayout([u32('rows'), u32('cols'), u32('n')]);
  const bindings: Binding[] = [
    { name: 'out', codec, access: 'readwrite' },
    { name: 'src', codec, access: 'read' },
    { name: 'idx', codec: 'i32', access: 'read' },
  ];
  const loop = pairs
    ? `  let c = 2u * t;
  if (c >= cols) { return; }
  for (var i = 0u; i < n; i = i + 1u) {
    let r = idx[i];
    if (r < 0 || u32(r) >= rows) { continue; }
    let e = u32(r) * cols + c;
    st2_out(e >> 1u, ld_out(e) + ld_src(i * cols + c), ld_out(e + 1u) + ld_src(i * cols + c + 1u));
  }`
    : `  let c = t;
  if (c >= cols) { return; }
  for (var i = 0u; i < n; i = i + 1u) {
    let r = idx[i];
    if (r < 0 || u32(r) >= rows) { continue; }
    add_out(u32(r) * cols + c, ld_src(i * cols + c));
  }`;
  host.run(key, () => buildProgram({
    key, label: `scatterAddRows[${src.dtype}]`, bindings, params,
    body: `
@compute @workgroup_size(${DENSE_WORKGROUP})
fn main(${ENTRY_BUILTINS}) {
${params.lets()}  let t = ${linearInvocation(DENSE_WORKGROUP)};
${loop}
}
`,
  }), [out, src, indices], { rows, cols, n }, grid1d(pairs ? cols / 2 : cols, DENSE_WORKGROUP, host.maxWorkgroupsPerDimension));
}
