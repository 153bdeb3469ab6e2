// Row-wise fused kernels: one workgroup per row, a shared-memory tree for
// each row statistic (max, sum of exp, sum of squares, dot products), then
// a pass writing the row. softmax / log-softmax and their backward, RMSNorm
// forward and backward, and cross-entropy forward. With packed f16 outputs
// the writing pass walks the words covering the row, storing whole words and
// only the edge halves through the half-word atomics.

import type { BackendBuffer } from '../../backend.js';
import type { KernelHost } from '../kernel-host.js';
import { f32, i32, ParamLayout, u32, type ParamDecl } from '../params.js';
import { buildProgram, grid1d, gridItems } from '../program.js';
import { ACCURATE_MATH } from '../wgsl/accurate-math.js';
import { ENTRY_BUILTINS, LINEAR_WORKGROUP } from '../wgsl/common.js';
import { DENSE_WORKGROUP, denseInvocations, denseMapProgram } from '../wgsl/dense-map.js';
import { isPacked, valueCodec, type Binding, type Codec } from '../wgsl/storage.js';
import { requireDType, requireNonNegativeInts, requireNumel, requireSameDType } from '../validate.js';

/** Small rows get small workgroups so short rows do not leave most invocations idle. */
const workgroupFor = (cols: number) => (cols <= 1024 ? 64 : 256);

const REDUCTIONS = (wg: number) => /* wgsl */ `
var<workgroup> red: array<f32, ${wg}>;

fn combine_max(acc: f32, v: f32) -> f32 { return select(acc, v, (v > acc || is_nan(v)) && !is_nan(acc)); }

fn wg_sum(v: f32, lid: u32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var step_ = ${wg / 2}u; step_ > 0u; step_ = step_ >> 1u) {
    if (lid < step_) { red[lid] = red[lid] + red[lid + step_]; }
    workgroupBarrier();
  }
  let total = red[0];
  workgroupBarrier();
  return total;
}

fn wg_max(v: f32, lid: u32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var step_ = ${wg / 2}u; step_ > 0u; step_ = step_ >> 1u) {
    if (lid < step_) { red[lid] = combine_max(red[lid], red[lid + step_]); }
    workgroupBarrier();
  }
  let total = red[0];
  workgroupBarrier();
  return total;
}
`;

/** The loop writing out[base + c] = value(c) for c in [0, cols). */
function rowStore(out: string, codec: Codec, wg: number, value: (c: string) => string): string {
  if (!isPacked(codec)) {
    return `  for (var c = lid; c < cols; c = c + ${wg}u) { st_${out}(base + c, ${value('c')}); }\n`;
  }
  return `  {
    let first = base >> 1u;
    let last = (base + cols - 1u) >> 1u;
    for (var w = first + lid; w <= last; w = w + ${wg}u) {
      let e0 = 2u * w;
      let in0 = e0 >= base;
      let in1 = e0 + 1u < base + cols;
      if (in0 && in1) { st2_${out}(w, ${value('(e0 - base)')}, ${value('(e0 + 1u - base)')}); }
      else if (in0) { st_${out}(e0, ${value('(e0 - base)')}); }
      else { st_${out}(e0 + 1u, ${value('(e0 + 1u - base)')}); }
    }
  }\n`;
}

interface RowKernel {
  readonly key: string;
  readonly label: string;
  readonly bindings: readonly Binding[];
  readonly params: readonly ParamDecl[];
  readonly wg: number;
  /** Statements after `row`, `base` (= row * cols) and `lid` are defined. */
  readonly body: string;
  readonly helpers?: string;
}

function runRows(host: KernelHost, k: RowKernel, buffers: readonly BackendBuffer[], rows: number, values: Record<string, number>): void {
  if (rows === 0) return;
  const params = new ParamLayout([u32('rows'), u32('cols'), ...k.params]);
  host.run(k.key, () => buildProgram({
    key: k.key, label: k.label, bindings: k.bindings, params,
    body: `${REDUCTIONS(k.wg)}${ACCURATE_MATH}${k.helpers ?? ''}
@compute @workgroup_size(${k.wg})
fn main(${ENTRY_BUILTINS}) {
${params.lets()}  let row = ${LINEAR_WORKGROUP};
  if (row >= rows) { return; }
  let base = row * cols;
${k.body}}
`,
  }), buffers, { rows, ...values }, gridItems(rows, host.maxWorkgroupsPerDimension));
}

function rowMaxAndSumExp(wg: number): string {
  return `  var mx = f32_inf(true);
  for (var c = lid; c < cols; c = c + ${wg}u) { mx = combine_max(mx, ld_x(base + c)); }
  mx = wg_max(mx, lid);
  var s = 0.0;
  for (var c = lid; c < cols; c = c + ${wg}u) { s = s + exp(ld_x(base + c) - mx); }
  s = wg_sum(s, lid);
`;
}

const rw = (name: string, codec: Codec): Binding => ({ name, codec, access: 'readwrite' });
const ro = (name: string, codec: Codec): Binding => ({ name, codec, access: 'read' });

function checkRows(op: string, rows: number, cols: number, buffers: Record<string, [BackendBuffer, number]>): void {
  requireNonNegativeInts(op, { rows, cols });
  for (const [what, [buffer, numel]] of Object.entries(buffers)) requireNumel(op, what, buffer, numel, `rows ${rows}, cols ${cols}`);
}

export function softmax(host: KernelHost, x: BackendBuffer, rows: number, cols: number, log: boolean, out: BackendBuffer): void {
  const name = log ? 'logSoftmax' : 'softmax';
  requireDType(name, 'x', x, ['f32', 'f16']);
  requireSameDType(name, { x, out });
  checkRows(name, rows, cols, { x: [x, rows * cols], out: [out, rows * cols] });
  if (cols === 0) return;
  const codec = valueCodec(x.dtype, host.f16Mode);
  const wg = workgroupFor(cols);
  runRows(host, {
    key: `${name}:${codec}:wg${wg}`, label: `${name}[${x.dtype}]`, wg,
    bindings: [rw('out', codec), ro('x', codec)], params: [],
    body: rowMaxAndSumExp(wg) + (log
      ? `  let logS = log_accurate(s);\n${rowStore('out', codec, wg, (c) => `ld_x(base + ${c}) - mx - logS`)}`
      : rowStore('out', codec, wg, (c) => `exp(ld_x(base + ${c}) - mx) / s`)),
  }, [out, x], rows, { cols });
}

export function softmaxBackward(host: KernelHost, y: BackendBuffer, g: BackendBuffer, rows: number, cols: number, log: boolean, gx: BackendBuffer): void {
  const name = log ? 'logSoftmaxBackward' : 'softmaxBackward';
  requireDType(name, 'y', y, ['f32', 'f16']);
  requireSameDType(name, { y, g, gx });
  checkRows(name, rows, cols, { y: [y, rows * cols], g: [g, rows * cols], gx: [gx, rows * cols] });
  if (cols === 0) return;
  const codec = valueCodec(y.dtype, host.f16Mode);
  const wg = workgroupFor(cols);
  runRows(host, {
    key: `${name}:${codec}:wg${wg}`, label: `${name}[${y.dtype}]`, wg,
    bindings: [rw('gx', codec), ro('y', codec), ro('g', codec)], params: [],
    body: `  var dot = 0.0;
  for (var c = lid; c < cols; c = c + ${wg}u) { dot = dot + ${log ? 'ld_g(base + c)' : 'ld_g(base + c) * ld_y(base + c)'}; }
  dot = wg_sum(dot, lid);
${rowStore('gx', codec, wg, (c) => (log ? `ld_g(base + ${c}) - exp(ld_y(base + ${c})) * dot` : `ld_y(base + ${c}) * (ld_g(base + ${c}) - dot)`))}`,
  }, [gx, y, g], rows, { cols });
}

/** Rounds an f32 to the storage dtype and back (Meta's RMSNorm casts the normalized row back with type_as). */
function roundToStorage(codec: Codec): string {
  switch (codec) {
    case 'f16': return 'fn round_in(v: f32) -> f32 { return f32(f16(v)); }\n';
    case 'f16p': return 'fn round_in(v: f32) -> f32 { return f16_value(f16_bits(v)); }\n';
    default: return 'fn round_in(v: f32) -> f32 { return v; }\n';
  }
}

export function rmsNorm(host: KernelHost, x: BackendBuffer, w: BackendBuffer, rows: number, cols: number, eps: number, y: BackendBuffer, rstd: BackendBuffer): void {
  const name = 'rmsNorm';
  requireDType(name, 'x', x, ['f32', 'f16']);
  requireSameDType(name, { x, w, y });
  requireDType(name, 'rstd', rstd, 'f32');
  checkRows(name, rows, cols, { x: [x, rows * cols], w: [w, cols], y: [y, rows * cols], rstd: [rstd, rows] });
  if (cols === 0) return;
  const codec = valueCodec(x.dtype, host.f16Mode);
  const wg = workgroupFor(cols);
  runRows(host, {
    key: `rmsNorm:${codec}:wg${wg}`, label: `rmsNorm[${x.dtype}]`, wg,
    bindings: [rw('y', codec), rw('rstd', 'f32'), ro('x', codec), ro('w', codec)], params: [f32('eps')],
    helpers: roundToStorage(codec),
    body: `  var ss = 0.0;
  for (var c = lid; c < cols; c = c + ${wg}u) { let xv = ld_x(base + c); ss = ss + xv * xv; }
  ss = wg_sum(ss, lid);
  let rs = inverseSqrt(ss / f32(cols) + eps);
  if (lid == 0u) { st_rstd(row, rs); }
${rowStore('y', codec, wg, (c) => `round_in(ld_x(base + ${c}) * rs) * ld_w(${c})`)}`,
  }, [y, rstd, x, w], rows, { cols, eps });
}

/** Rows summed per chunk in the first pass of the weight gradient. */
const GW_CHUNK_ROWS = 64;

export function rmsNormBackward(
  host: KernelHost, x: BackendBuffer, w: BackendBuffer, rstd: BackendBuffer, g: BackendBuffer, rows: number, cols: number, gx: BackendBuffer, gw: BackendBuffer,
): void {
  const name = 'rmsNormBackward';
  requireDType(name, 'x', x, ['f32', 'f16']);
  requireSameDType(name, { x, w, g, gx, gw });
  requireDType(name, 'rstd', rstd, 'f32');
  checkRows(name, rows, cols, { x: [x, rows * cols], w: [w, cols], rstd: [rstd, rows], g: [g, rows * cols], gx: [gx, rows * cols], gw: [gw, cols] });
  if (cols === 0) return;
  const codec = valueCodec(x.dtype, host.f16Mode);
  const wg = workgroupFor(cols);
  // gx, one row per workgroup: rs * (g*w - n * mean(g*w*n)), n = x * rs.
  runRows(host, {
    key: `rmsNormBackward.gx:${codec}:wg${wg}`, label: `rmsNormBackward[${x.dtype}]`, wg,
    bindings: [rw('gx', codec), ro('x', codec), ro('w', codec), ro('rstd', 'f32'), ro('g', codec)], params: [],
    body: `  let rs = ld_rstd(row);
  var dot = 0.0;
  for (var c = lid; c < cols; c = c + ${wg}u) { dot = dot + ld_g(base + c) * ld_w(c) * ld_x(base + c) * rs; }
  dot = wg_sum(dot, lid) / f32(cols);
${rowStore('gx', codec, wg, (c) => `rs * (ld_g(base + ${c}) * ld_w(${c}) - ld_x(base + ${c}) * rs * dot)`)}`,
  }, [gx, x, w, rstd, g], rows, { cols });
  // gw (cols) = sum over rows of g * x * rstd: per-chunk partial sums in f32, then a sum of the chunks.
  const chunks = Math.max(1, Math.ceil(rows / GW_CHUNK_ROWS));
  const partial = host.scratch('f32', chunks * cols);
  try {
    const partialOutputs: Binding[] = [rw('part', 'f32')];
    const partialKey = `rmsNormBackward.gwPartial:${codec}`;
    host.run(partialKey, () => denseMapProgram({
      key: partialKey, label: `rmsNormBackward[${x.dtype}]`, outputs: partialOutputs,
      inputs: [ro('x', codec), ro('rstd', 'f32'), ro('g', codec)],
      params: [u32('rows'), u32('cols'), u32('chunkRows')], value: 'f32',
      compute: `  let c = e % cols;
  let r0 = (e / cols) * chunkRows;
  let r1 = min(rows, r0 + chunkRows);
  var acc = 0.0;
  for (var r = r0; r < r1; r = r + 1u) { acc = acc + ld_g(r * cols + c) * ld_x(r * cols + c) * ld_rstd(r); }
  return acc;`,
    }), [partial, x, rstd, g], { count: chunks * cols, rows, cols, chunkRows: GW_CHUNK_ROWS },
    grid1d(chunks * cols, DENSE_WORKGROUP, host.maxWorkgroupsPerDimension));
    const gwOutputs: Binding[] = [rw('gw', codec)];
    const sumKey = `rmsNormBackward.gwSum:${codec}`;
    host.run(sumKey, () => denseMapProgram({
      key: sumKey, label: `rmsNormBackward[${x.dtype}]`, outputs: gwOutputs,
      inputs: [ro('part', 'f32')], params: [u32('cols'), u32('chunks')], value: 'f32',
      compute: `  var acc = 0.0;
  for (var k = 0u; k < chunks; k = k + 1u) { acc = acc + ld_part(k * cols + e); }
  return acc;`,
    }), [gw, partial], { count: cols, cols, chunks },
    grid1d(denseInvocations(cols, gwOutputs), DENSE_WORKGROUP, host.maxWorkgroupsPerDimension));
  } finally {
    host.release(partial);
  }
}

export function crossEntropy(
  host: KernelHost, logits: BackendBuffer, labels: BackendBuffer, rows: number, cols: number, ignoreIndex: number, loss: BackendBuffer, lse: BackendBuffer,
): void {
  const name = 'crossEntropy';
  requireDType(name, 'logits', logits, ['f32', 'f16']);
  requireDType(name, 'labels', labels, 'i32');
  requireDType(name, 'loss', loss, 'f32');
  requireDType(name, 'lse', lse, 'f32');
  checkRows(name, rows, cols, { logits: [logits, rows * cols], labels: [labels, rows], loss: [loss, rows], lse: [lse, rows] });
  if (!Number.isInteger(ignoreIndex)) throw new Error(`webgpu crossEntropy: ignoreIndex must be an integer, got ${ignoreIndex}`);
  if (cols === 0) return;
  const codec = valueCodec(logits.dtype, host.f16Mode);
  const wg = workgroupFor(cols);
  runRows(host, {
    key: `crossEntropy:${codec}:wg${wg}`, label: `crossEntropy[${logits.dtype}]`, wg,
    bindings: [rw('loss', 'f32'), rw('lse', 'f32'), ro('x', codec), ro('labels', 'i32')], params: [i32('ignoreIndex')],
    body: `${rowMaxAndSumExp(wg)}  let logSumExp = mx + log_accurate(s);
  if (lid == 0u) {
    let label = ld_labels(row);
    var l = 0.0;
    if (label != ignoreIndex) {
      if (label < 0 || label >= i32(cols)) { l = f32_nan(); } else { l = logSumExp - ld_x(base + u32(label)); }
    }
    st_loss(row, l);
    st_lse(row, logSumExp);
  }
`,
  }, [loss, lse, logits, labels], rows, { cols, ignoreIndex });
}
