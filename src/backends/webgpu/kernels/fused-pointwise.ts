// Fused kernels where each output element depends on a few inputs at the
// same (or a fixed related) position: rotary, silu-gate and its backward,
// cross-entropy backward, causal mask, dropout, AdamW and grad unscaling.
// Each is one dense-map dispatch; intermediates stay in registers in f32.

import type { AdamWHyper, BackendBuffer } from '../../backend.js';
import type { KernelHost } from '../kernel-host.js';
import { f32, i32, u32 } from '../params.js';
import { grid1d } from '../program.js';
import { DENSE_WORKGROUP, denseInvocations, denseMapProgram, type DenseMapSpec } from '../wgsl/dense-map.js';
import { PHILOX } from '../wgsl/philox.js';
import { valueCodec, type Binding } from '../wgsl/storage.js';
import { requireDType, requireNonNegativeInts, requireNumel, requireSameDType } from '../validate.js';
import { seedValues } from './random.js';

function runDense(host: KernelHost, spec: DenseMapSpec, buffers: readonly BackendBuffer[], count: number, values: Record<string, number>): void {
  if (count === 0) return;
  host.run(spec.key, () => denseMapProgram(spec), buffers, { count, ...values },
    grid1d(denseInvocations(count, spec.outputs), DENSE_WORKGROUP, host.maxWorkgroupsPerDimension));
}

const out = (name: string, codec: ReturnType<typeof valueCodec>): Binding => ({ name, codec, access: 'readwrite' });
const input = (name: string, codec: ReturnType<typeof valueCodec>): Binding => ({ name, codec, access: 'read' });

export function rotary(
  host: KernelHost, x: BackendBuffer, cos: BackendBuffer, sin: BackendBuffer,
  batch: number, seq: number, heads: number, headDim: number, inverse: boolean, result: BackendBuffer,
): void {
  const name = inverse ? 'rotaryInverse' : 'rotary';
  requireNonNegativeInts(name, { batch, seq, heads, headDim });
  if (headDim % 2 !== 0) throw new Error(`webgpu ${name}: headDim ${headDim} must be even (adjacent pairs are rotated)`);
  requireDType(name, 'x', x, ['f32', 'f16']);
  requireSameDType(name, { x, out: result });
  requireDType(name, 'cos', cos, 'f32');
  requireDType(name, 'sin', sin, 'f32');
  const count = batch * seq * heads * headDim;
  const shape = `(${batch}, ${seq}, ${heads}, ${headDim})`;
  requireNumel(name, 'x', x, count, shape);
  requireNumel(name, 'out', result, count, shape);
  requireNumel(name, 'cos', cos, (seq * headDim) / 2, `(${seq}, ${headDim / 2})`);
  requireNumel(name, 'sin', sin, (seq * headDim) / 2, `(${seq}, ${headDim / 2})`);
  const codec = valueCodec(x.dtype, host.f16Mode);
  runDense(host, {
    key: `rotary:${codec}`, label: `rotary[${x.dtype}]`,
    outputs: [out('out', codec)], inputs: [input('x', codec), input('cosT', 'f32'), input('sinT', 'f32')],
    params: [u32('seq'), u32('heads'), u32('headDim'), f32('sign')], value: 'f32',
    compute: `  let d = e % headDim;
  let token = e / headDim;
  let i = d / 2u;
  let s = (token / heads) % seq;
  let c = ld_cosT(s * (headDim / 2u) + i);
  let sn = sign * ld_sinT(s * (headDim / 2u) + i);
  let x0 = ld_x(token * headDim + 2u * i);
  let x1 = ld_x(token * headDim + 2u * i + 1u);
  if ((d & 1u) == 0u) { return x0 * c - x1 * sn; }
  return x0 * sn + x1 * c;`,
  }, [result, x, cos, sin], count, { seq, heads, headDim, sign: inverse ? -1 : 1 });
}

export function siluMul(host: KernelHost, a: BackendBuffer, b: BackendBuffer, numel: number, result: BackendBuffer): void {
  const name = 'siluMul';
  requireNonNegativeInts(name, { numel });
  requireDType(name, 'a', a, ['f32', 'f16']);
  requireSameDType(name, { a, b, out: result });
  for (const [what, buf] of [['a', a], ['b', b], ['out', result]] as const) requireNumel(name, what, buf, numel);
  const codec = valueCodec(a.dtype, host.f16Mode);
  runDense(host, {
    key: `siluMul:${codec}`, label: `siluMul[${a.dtype}]`,
    outputs: [out('out', codec)], inputs: [input('a', codec), input('b', codec)], params: [], value: 'f32',
    compute: '  return silu_f(ld_a(e)) * ld_b(e);',
  }, [result, a, b], numel, {});
}

export function siluMulBackward(host: KernelHost, a: BackendBuffer, b: BackendBuffer, g: BackendBuffer, numel: number, ga: BackendBuffer, gb: BackendBuffer): void {
  const name = 'siluMulBackward';
  requireNonNegativeInts(name, { numel });
  requireDType(name, 'a', a, ['f32', 'f16']);
  requireSameDType(name, { a, b, g, ga, gb });
  for (const [what, buf] of [['a', a], ['b', b], ['g', g], ['ga', ga], ['gb', gb]] as const) requireNumel(name, what, buf, numel);
  const codec = valueCodec(a.dtype, host.f16Mode);
  runDense(host, {
    key: `siluMulBackward:${codec}`, label: `siluMulBackward[${a.dtype}]`,
    outputs: [out('ga', codec), out('gb', codec)], inputs: [input('a', codec), input('b', codec), input('g', codec)],
    params: [], value: 'f32',
    // silu'(a) = s * (1 + a * (1 - s)) with s = sigmoid(a)
    compute: `  let av = ld_a(e);
  let s = sigmoid_f(av);
  let gv = ld_g(e);
  return vec2<f32>(gv * ld_b(e) * s * (1.0 + av * (1.0 - s)), gv * av * s);`,
  }, [ga, gb, a, b, g], numel, {});
}

export function crossEntropyBackward(
  host: KernelHost, logits: BackendBuffer, lse: BackendBuffer, labels: BackendBuffer, gRow: BackendBuffer,
  rows: number, cols: number, ignoreIndex: number, gLogits: BackendBuffer,
): void {
  const name = 'crossEntropyBackward';
  requireNonNegativeInts(name, { rows, cols });
  requireDType(name, 'logits', logits, ['f32', 'f16']);
  requireSameDType(name, { logits, gLogits });
  requireDType(name, 'lse', lse, 'f32');
  requireDType(name, 'gRow', gRow, 'f32');
  requireDType(name, 'labels', labels, 'i32');
  requireNumel(name, 'logits', logits, rows * cols, `(${rows}, ${cols})`);
  requireNumel(name, 'gLogits', gLogits, rows * cols, `(${rows}, ${cols})`);
  for (const [what, buf] of [['lse', lse], ['labels', labels], ['gRow', gRow]] as const) requireNumel(name, what, buf, rows);
  const codec = valueCodec(logits.dtype, host.f16Mode);
  runDense(host, {
    key: `crossEntropyBackward:${codec}`, label: `crossEntropyBackward[${logits.dtype}]`,
    outputs: [out('gx', codec)],
    inputs: [input('x', codec), input('lse', 'f32'), input('labels', 'i32'), input('grow', 'f32')],
    params: [u32('cols'), i32('ignoreIndex')], value: 'f32',
    compute: `  let r = e / cols;
  let label = ld_labels(r);
  if (label == ignoreIndex) { return 0.0; }
  // A label outside [0, cols) has no gradient: NaN (as its loss), never a finite wrong value.
  if (label < 0 || label >= i32(cols)) { return f32_nan(); }
  let p = exp(ld_x(e) - ld_lse(r));
  let onehot = select(0.0, 1.0, i32(e % cols) == label);
  return (p - onehot) * ld_grow(r);`,
  }, [gLogits, logits, lse, labels, gRow], rows * cols, { cols, ignoreIndex });
}

export function causalMask(host: KernelHost, x: BackendBuffer, batch: number, rows: number, cols: number, value: number, result: BackendBuffer): void {
  const name = 'causalMask';
  requireNonNegativeInts(name, { batch, rows, cols });
  requireDType(name, 'x', x, ['f32', 'f16']);
  requireSameDType(name, { x, out: result });
  requireNumel(name, 'x', x, batch * rows * cols, `(${batch}, ${rows}, ${cols})`);
  requireNumel(name, 'out', result, batch * rows * cols, `(${batch}, ${rows}, ${cols})`);
  const codec = valueCodec(x.dtype, host.f16Mode);
  runDense(host, {
    key: `causalMask:${codec}`, label: `causalMask[${x.dtype}]`,
    outputs: [out('out', codec)], inputs: [input('x', codec)],
    params: [u32('rows'), u32('cols'), f32('fill')], value: 'f32',
    compute: `  let j = i32(e % cols);
  let i = i32((e / cols) % rows);
  if (j <= i + i32(cols) - i32(rows)) { return ld_x(e); }
  return fill;`,
  }, [result, x], batch * rows * cols, { rows, cols, fill: value });
}

export function dropout(host: KernelHost, x: BackendBuffer, numel: number, p: number, seed: number, offset: number, result: BackendBuffer): void {
  const name = 'dropout';
  requireNonNegativeInts(name, { numel });
  requireDType(name, 'x', x, ['f32', 'f16']);
  requireSameDType(name, { x, out: result });
  requireNumel(name, 'x', x, numel);
  requireNumel(name, 'out', result, numel);
  if (!(p >= 0 && p <= 1)) throw new Error(`webgpu dropout: p must lie in [0, 1], got ${p}`);
  const codec = valueCodec(x.dtype, host.f16Mode);
  // keep = uniform >= p, decided on the integer numerator: (2m+1) * 2^-24 >= p  <=>  2m+1 >= ceil(p * 2^24).
  const threshold = Math.min(2 ** 24, Math.max(0, Math.ceil(p * 2 ** 24)));
  runDense(host, {
    key: `dropout:${codec}`, label: `dropout[${x.dtype}]`,
    outputs: [out('out', codec)], inputs: [input('x', codec)],
    params: [u32('seedLo'), u32('seedHi'), u32('offLo'), u32('offHi'), u32('threshold'), f32('scale')], value: 'f32',
    helpers: PHILOX,
    compute: `  let w = philox_word(vec2<u32>(seedLo, seedHi), vec2<u32>(offLo, offHi), vec2<u32>(e, 0u));
  if (uniform_numerator(w) >= threshold) { return ld_x(e) * scale; }
  return 0.0;`,
  }, [result, x], numel, { ...seedValues(seed, offset, name), threshold, scale: p >= 1 ? 0 : 1 / (1 - p) });
}

export function adamw(host: KernelHost, param: BackendBuffer, grad: BackendBuffer, m: BackendBuffer, v: BackendBuffer, numel: number, h: AdamWHyper): void {
  const name = 'adamw';
  requireNonNegativeInts(name, { numel });
  requireDType(name, 'param', param, 'f32');
  requireDType(name, 'exp_avg', m, 'f32');
  requireDType(name, 'exp_avg_sq', v, 'f32');
  requireDType(name, 'grad', grad, ['f32', 'f16']);
  for (const [what, buf] of [['param', param], ['grad', grad], ['exp_avg', m], ['exp_avg_sq', v]] as const) requireNumel(name, what, buf, numel);
  if (!Number.isInteger(h.step) || h.step < 1) throw new Error(`webgpu adamw: step must be a positive integer, got ${h.step}`);
  const gradCodec = valueCodec(grad.dtype, host.f16Mode);
  // PyTorch's single-tensor AdamW in its order of operations; the scalar
  // factors are computed once in f64 here.
  runDense(host, {
    key: `adamw:f32:${gradCodec}`, label: 'adamw[f32]',
    outputs: [out('p', 'f32'), out('m', 'f32'), out('v', 'f32')], inputs: [input('g', gradCodec)],
    params: ['oneMinusBeta1', 'beta2', 'oneMinusBeta2', 'biasCorrection2Sqrt', 'stepSize', 'decay', 'eps'].map(f32), value: 'f32',
    compute: `  let g = ld_g(e);
  let m0 = ld_m(e);
  let m1 = m0 + oneMinusBeta1 * (g - m0);
  let v1 = ld_v(e) * beta2 + oneMinusBeta2 * g * g;
  let denom = sqrt(v1) / biasCorrection2Sqrt + eps;
  return vec3<f32>(ld_p(e) * decay - stepSize * (m1 / denom), m1, v1);`,
  }, [param, m, v, grad], numel, {
    oneMinusBeta1: 1 - h.beta1, beta2: h.beta2, oneMinusBeta2: 1 - h.beta2,
    biasCorrection2Sqrt: Math.sqrt(1 - h.beta2 ** h.step), stepSize: h.lr / (1 - h.beta1 ** h.step),
    decay: 1 - h.lr * h.weightDecay, eps: h.eps,
  });
}

export function unscaleGrads(host: KernelHost, grad: BackendBuffer, numel: number, invScale: number, foundInf: BackendBuffer): void {
  const name = 'unscaleGrads';
  requireNonNegativeInts(name, { numel });
  requireDType(name, 'grad', grad, ['f32', 'f16']);
  requireDType(name, 'foundInf', foundInf, 'f32');
  requireNumel(name, 'grad', grad, numel);
  requireNumel(name, 'foundInf', foundInf, 1);
  const codec = valueCodec(grad.dtype, host.f16Mode);
  runDense(host, {
    key: `unscaleGrads:${codec}`, label: `unscaleGrads[${grad.dtype}]`,
    outputs: [out('g', codec)], inputs: [{ name: 'found', codec: 'a32', access: 'readwrite' }],
    params: [f32('invScale')], value: 'f32',
    // Every invocation that sees a non-finite value stores the same 1.0f; atomics make that race-free.
    compute: `  let gv = ld_g(e);
  if (!is_finite(gv)) { set_found(0u, 0x3f800000u); }
  return gv * invScale;`,
  }, [grad, foundInf], numel, { invScale });
}
