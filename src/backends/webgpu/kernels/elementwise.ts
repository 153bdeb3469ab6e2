// Strided elementwise kernels: unary and binary maps, cast, strided copy,
// and in-place accumulate. Values are computed in f32 whatever the storage,
// and rounded once on store, as the CPU reference rounds once from f64.

import type { BackendBuffer, BinaryOp, StridedInput, StridedLayout, UnaryOp } from '../../backend.js';
import { BINARY_OPS, UNARY_OPS } from '../../backend.js';
import type { KernelHost } from '../kernel-host.js';
import { f32, ParamLayout, u32 } from '../params.js';
import { buildProgram, grid1d } from '../program.js';
import { ENTRY_BUILTINS, linearInvocation } from '../wgsl/common.js';
import { DENSE_WORKGROUP, denseInvocations, denseMapProgram } from '../wgsl/dense-map.js';
import { bitsCodec, isPacked, valueCodec, type Binding } from '../wgsl/storage.js';
import { coalesce, rankClassOf, stridedOffsets, stridedParamDecls, stridedParamValues } from '../wgsl/strided.js';
import { fmtShape, numelOf, requireDType, requireNumel, requireSameDType, requireStridedInBounds } from '../validate.js';

/** Angle reduction to about [-pi, pi] first: WGSL only bounds sin/cos error there (absolute 2^-11). */
const TRIG = /* wgsl */ `
fn reduce_angle(x: f32) -> f32 {
  // 2*pi split in two parts (6.28125 has 8 significant bits) so k * part is exact for |k| < 2^16.
  let k = round(x * 0.15915494309189535);
  return (x - k * 6.28125) - k * 0.0019353071795864769;
}
fn sin_r(x: f32) -> f32 { return sin(reduce_angle(x)); }
fn cos_r(x: f32) -> f32 { return cos(reduce_angle(x)); }
`;

/** x^c as Math.pow: exact shortcuts for common exponents; integer exponents keep the sign of negative x. */
const POW = /* wgsl */ `
fn pow_s(x: f32, c: f32) -> f32 {
  if (c == 2.0) { return x * x; }
  if (c == 1.0) { return x; }
  if (c == 0.0) { return 1.0; }
  if (c == 0.5 && x > 0.0) { return sqrt(x); }
  if (c == -1.0) { return 1.0 / x; }
  let ax = abs(x);
  var r: f32;
  if (ax == 0.0) {
    r = select(f32_inf(false), 0.0, c > 0.0);
  } else {
    r = exp2(c * log2(ax));
  }
  if (x < 0.0) {
    if (fract(c) != 0.0) { return f32_nan(); }
    if (fract(c * 0.5) != 0.0) { r = -r; }
  }
  return r;
}
`;

const UNARY_WGSL: Record<UnaryOp, string> = {
  neg: '-x', exp: 'exp(x)', log: 'log(x)', sqrt: 'sqrt(x)', rsqrt: 'inverseSqrt(x)',
  sigmoid: 'sigmoid_f(x)', silu: 'silu_f(x)', abs: 'abs(x)', sin: 'sin_r(x)', cos: 'cos_r(x)',
  square: 'x * x', reciprocal: '1.0 / x', relu: 'select(0.0, x, x > 0.0)',
  addScalar: 'x + scalar', mulScalar: 'x * scalar', powScalar: 'pow_s(x, scalar)',
};

const BINARY_WGSL: Record<BinaryOp, string> = {
  add: 'a + b', sub: 'a - b', mul: 'a * b', div: 'a / b',
  // NaN-propagating like torch.maximum / the CPU reference.
  maximum: 'select(select(b, a, a >= b), f32_nan(), is_nan(a) || is_nan(b))',
  minimum: 'select(select(b, a, a <= b), f32_nan(), is_nan(a) || is_nan(b))',
  eq: 'select(0.0, 1.0, a == b)', gt: 'select(0.0, 1.0, a > b)',
};

/** One program serves every unary op: the op is a param selecting a case (a uniform branch). */
const UNARY_SWITCH = `fn unary_op(code: u32, x: f32, scalar: f32) -> f32 {
  switch code {
${UNARY_OPS.map((op, i) => `    case ${i}u: { return ${UNARY_WGSL[op]}; }`).join('\n')}
    default: { return f32_nan(); }
  }
}
`;

const BINARY_SWITCH = `fn binary_op(code: u32, a: f32, b: f32) -> f32 {
  switch code {
${BINARY_OPS.map((op, i) => `    case ${i}u: { return ${BINARY_WGSL[op]}; }`).join('\n')}
    default: { return f32_nan(); }
  }
}
`;

const FLOATS = ['f32', 'f16'] as const;

export function unary(host: KernelHost, op: UnaryOp, shape: readonly number[], x: StridedInput, out: BackendBuffer, scalar: number): void {
  const name = `unary.${op}`;
  if (!(op in UNARY_WGSL)) throw new Error(`webgpu: unknown unary op '${op}'`);
  requireDType(name, 'x', x.buffer, FLOATS);
  requireSameDType(name, { x: x.buffer, out });
  const count = numelOf(shape);
  requireNumel(name, 'out', out, count, `shape ${fmtShape(shape)}`);
  if (count === 0) return;
  requireStridedInBounds(name, 'x', shape, x, x.buffer);
  const c = coalesce(shape, [x]);
  const rank = rankClassOf(c, name);
  const xc = valueCodec(x.buffer.dtype, host.f16Mode);
  const outputs: Binding[] = [{ name: 'out', codec: xc, access: 'readwrite' }];
  const key = `unary:${xc}:${rank}`;
  host.run(key, () => denseMapProgram({
    key, label: `unary[${x.buffer.dtype}]`, outputs,
    inputs: [{ name: 'x', codec: xc, access: 'read' }],
    params: [...stridedParamDecls(rank, ['x']), u32('opcode'), f32('scalar')],
    value: 'f32',
    helpers: TRIG + POW + UNARY_SWITCH,
    compute: (params) => `${stridedOffsets(rank, params, ['x'], 'e')}  return unary_op(opcode, ld_x(off_x), scalar);`,
  }), [out, x.buffer], { count, scalar, opcode: UNARY_OPS.indexOf(op), ...stridedParamValues(rank, c, ['x'], [x.offset]) },
  grid1d(denseInvocations(count, outputs), DENSE_WORKGROUP, host.maxWorkgroupsPerDimension), `${name}[${x.buffer.dtype}]`);
}

export function binary(host: KernelHost, op: BinaryOp, shape: readonly number[], a: StridedInput, b: StridedInput, out: BackendBuffer): void {
  const name = `binary.${op}`;
  if (!(op in BINARY_WGSL)) throw new Error(`webgpu: unknown binary op '${op}'`);
  requireDType(name, 'a', a.buffer, FLOATS);
  requireSameDType(name, { a: a.buffer, b: b.buffer, out });
  const count = numelOf(shape);
  requireNumel(name, 'out', out, count, `shape ${fmtShape(shape)}`);
  if (count === 0) return;
  requireStridedInBounds(name, 'a', shape, a, a.buffer);
  requireStridedInBounds(name, 'b', shape, b, b.buffer);
  const c = coalesce(shape, [a, b]);
  const rank = rankClassOf(c, name);
  const codec = valueCodec(a.buffer.dtype, host.f16Mode);
  const outputs: Binding[] = [{ name: 'out', codec, access: 'readwrite' }];
  const key = `binary:${codec}:${rank}`;
  host.run(key, () => denseMapProgram({
    key, label: `binary[${a.buffer.dtype}]`, outputs,
    inputs: [{ name: 'a', codec, access: 'read' }, { name: 'b', codec, access: 'read' }],
    params: [...stridedParamDecls(rank, ['a', 'b']), u32('opcode')],
    value: 'f32',
    helpers: BINARY_SWITCH,
    compute: (params) => `${stridedOffsets(rank, params, ['a', 'b'], 'e')}  return binary_op(opcode, ld_a(off_a), ld_b(off_b));`,
  }), [out, a.buffer, b.buffer], { count, opcode: BINARY_OPS.indexOf(op), ...stridedParamValues(rank, c, ['a', 'b'], [a.offset, b.offset]) },
  grid1d(denseInvocations(count, outputs), DENSE_WORKGROUP, host.maxWorkgroupsPerDimension), `${name}[${a.buffer.dtype}]`);
}

/** JS's ToInt32(Math.trunc(v)) for f32: NaN and infinities give 0, large values wrap modulo 2^32 (the CPU's Int32Array store). */
const TO_I32 = /* wgsl */ `
fn to_i32_js(v: f32) -> i32 {
  if (!is_finite(v)) { return 0; }
  let t = trunc(v);
  if (abs(t) < 2147483648.0) { return i32(t); }
  let m = t - floor(t / 4294967296.0) * 4294967296.0;
  return bitcast<i32>(u32(m));
}
`;

export function cast(host: KernelHost, shape: readonly number[], x: StridedInput, out: BackendBuffer): void {
  const name = 'cast';
  requireDType(name, 'x', x.buffer, ['f32', 'f16', 'i32']);
  requireDType(name, 'out', out, ['f32', 'f16', 'i32']);
  const count = numelOf(shape);
  requireNumel(name, 'out', out, count, `shape ${fmtShape(shape)}`);
  if (count === 0) return;
  requireStridedInBounds(name, 'x', shape, x, x.buffer);
  const c = coalesce(shape, [x]);
  const rank = rankClassOf(c, name);
  const from = valueCodec(x.buffer.dtype, host.f16Mode);
  const to = valueCodec(out.dtype, host.f16Mode);
  const outputs: Binding[] = [{ name: 'out', codec: to, access: 'readwrite' }];
  const fromInt = from === 'i32';
  const toInt = to === 'i32';
  const expr = toInt ? (fromInt ? 'ld_x(off_x)' : 'to_i32_js(ld_x(off_x))') : fromInt ? 'f32(ld_x(off_x))' : 'ld_x(off_x)';
  const key = `cast:${from}->${to}:${rank}`;
  host.run(key, () => denseMapProgram({
    key, label: `cast[${x.buffer.dtype}->${out.dtype}]`, outputs,
    inputs: [{ name: 'x', codec: from, access: 'read' }],
    params: stridedParamDecls(rank, ['x']),
    value: toInt ? 'i32' : 'f32',
    helpers: TO_I32,
    compute: (params) => `${stridedOffsets(rank, params, ['x'], 'e')}  return ${expr};`,
  }), [out, x.buffer], { count, ...stridedParamValues(rank, c, ['x'], [x.offset]) },
  grid1d(denseInvocations(count, outputs), DENSE_WORKGROUP, host.maxWorkgroupsPerDimension));
}

/**
 * dst[dstLayout] = src[srcLayout], moving bits (NaN payloads survive). With
 * packed f16 and a contiguous destination, each invocation owns a whole
 * destination word; otherwise every element is stored with the half-word
 * atomics, which leave the other half of a shared word alone.
 */
export function copy(host: KernelHost, shape: readonly number[], src: StridedInput, dst: BackendBuffer, dstLayout: StridedLayout): void {
  const name = 'copy';
  requireSameDType(name, { src: src.buffer, dst });
  const count = numelOf(shape);
  if (count === 0) return;
  requireStridedInBounds(name, 'src', shape, src, src.buffer);
  requireStridedInBounds(name, 'dst', shape, dstLayout, dst);
  const c = coalesce(shape, [src, dstLayout]);
  const rank = rankClassOf(c, name);
  const codec = bitsCodec(dst.dtype, host.f16Mode);
  const wordwise = isPacked(codec) && rank === 'r1' && c.strides[1][0] === 1;
  const key = `copy:${codec}:${rank}${wordwise ? ':words' : ''}`;
  const params = new ParamLayout([u32('count'), ...stridedParamDecls(rank, ['s', 'd'])]);
  const bindings: Binding[] = [{ name: 'dst', codec, access: 'readwrite' }, { name: 'src', codec, access: 'read' }];
  const values = { count, ...stridedParamValues(rank, c, ['s', 'd'], [src.offset, dstLayout.offset]) };
  const label = `copy[${dst.dtype}]`;
  if (wordwise) {
    // Destination elements o_d .. o_d+count-1 are contiguous: walk the words covering them.
    const firstWord = Math.floor(dstLayout.offset / 2);
    const words = Math.floor((dstLayout.offset + count - 1) / 2) - firstWord + 1;
    host.run(key, () => buildProgram({
      key, label, bindings, params,
      body: `
@compute @workgroup_size(${DENSE_WORKGROUP})
fn main(${ENTRY_BUILTINS}) {
${params.lets()}  let w = (o_d >> 1u) + ${linearInvocation(DENSE_WORKGROUP)};
  let e0 = 2u * w;
  if (e0 > o_d + count - 1u) { return; }
  let in0 = e0 >= o_d;
  let in1 = e0 + 1u < o_d + count;
  let s0 = o_s + (e0 - o_d) * u32(s_s_0);
  let s1 = o_s + (e0 + 1u - o_d) * u32(s_s_0);
  if (in0 && in1) {
    strw2_dst(w, raw_src(s0) | (raw_src(s1) << 16u));
  } else if (in0) {
    strw_dst(e0, raw_src(s0));
  } else {
    strw_dst(e0 + 1u, raw_src(s1));
  }
}
`,
    }), [dst, src.buffer], values, grid1d(words, DENSE_WORKGROUP, host.maxWorkgroupsPerDimension));
    return;
  }
  host.run(key, () => buildProgram({
    key, label, bindings, params,
    body: `
@compute @workgroup_size(${DENSE_WORKGROUP})
fn main(${ENTRY_BUILTINS}) {
${params.lets()}  let e = ${linearInvocation(DENSE_WORKGROUP)};
  if (e >= count) { return; }
${stridedOffsets(rank, params, ['s', 'd'], 'e')}  strw_dst(off_d, raw_src(off_s));
}
`,
  }), [dst, src.buffer], values, grid1d(count, DENSE_WORKGROUP, host.maxWorkgroupsPerDimension));
}

export function accumulate(host: KernelHost, dst: BackendBuffer, src: BackendBuffer, numel: number): void {
  const name = 'accumulate';
  requireDType(name, 'dst', dst, FLOATS);
  requireSameDType(name, { dst, src });
  requireNumel(name, 'dst', dst, numel);
  requireNumel(name, 'src', src, numel);
  if (numel === 0) return;
  const codec = valueCodec(dst.dtype, host.f16Mode);
  const outputs: Binding[] = [{ name: 'dst', codec, access: 'readwrite' }];
  const key = `accumulate:${codec}`;
  host.run(key, () => denseMapProgram({
    key, label: `accumulate[${dst.dtype}]`, outputs,
    inputs: [{ name: 'src', codec, access: 'read' }],
    params: [], value: 'f32',
    compute: '  return ld_dst(e) + ld_src(e);',
  }), [dst, src], { count: numel }, grid1d(denseInvocations(numel, outputs), DENSE_WORKGROUP, host.maxWorkgroupsPerDimension));
}

/** Fills whole 32-bit words with a pattern (the dtype's bits, doubled for f16). */
export function fillWords(host: KernelHost, buffer: BackendBuffer, words: number, pattern: number): void {
  const key = 'fill:words';
  const params = new ParamLayout([u32('count'), u32('pattern')]);
  host.run(key, () => buildProgram({
    key, label: 'fill', params,
    bindings: [{ name: 'out', codec: 'b32', access: 'readwrite' }],
    body: `
@compute @workgroup_size(${DENSE_WORKGROUP})
fn main(${ENTRY_BUILTINS}) {
${params.lets()}  let w = ${linearInvocation(DENSE_WORKGROUP)};
  if (w < count) { out[w] = pattern; }
}
`,
  }), [buffer], { count: words, pattern }, grid1d(words, DENSE_WORKGROUP, host.maxWorkgroupsPerDimension));
}
