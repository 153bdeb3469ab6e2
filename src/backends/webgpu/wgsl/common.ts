// WGSL helpers shared by every shader. Special values are detected from bit
// patterns, not with x != x or comparisons against infinity, because WGSL
// lets implementations assume floats are finite, and constant infinities do
// not even compile; bit tests always work.

/** f32 <-> f16 bit conversions written in integer arithmetic, so packed f16 rounds to nearest even on every adapter. */
export const F16_BITS = /* wgsl */ `
// Nearest f16 (ties to even) of an f32, as the low 16 bits of a u32. Inf and NaN are kept, overflow gives inf.
fn f16_bits(v: f32) -> u32 {
  let x = bitcast<u32>(v);
  let sign = (x >> 16u) & 0x8000u;
  let e = (x >> 23u) & 0xffu;
  let m = x & 0x7fffffu;
  if (e == 0xffu) {
    return sign | 0x7c00u | select(0u, 0x200u | (m >> 13u), m != 0u);
  }
  if (e > 142u) { return sign | 0x7c00u; }
  if (e >= 113u) {
    var h = ((e - 112u) << 10u) | (m >> 13u);
    let rest = m & 0x1fffu;
    if (rest > 0x1000u || (rest == 0x1000u && (h & 1u) == 1u)) { h = h + 1u; }
    return sign | h;
  }
  if (e < 102u) { return sign; }
  // f16 subnormal: count units of 2^-24.
  let full = 0x800000u | m;
  let shift = 126u - e;
  var h = full >> shift;
  let rest = full & ((1u << shift) - 1u);
  let halfway = 1u << (shift - 1u);
  if (rest > halfway || (rest == halfway && (h & 1u) == 1u)) { h = h + 1u; }
  return sign | h;
}

// The exact f32 value of f16 bits (low 16 bits of h).
fn f16_value(h: u32) -> f32 {
  let s = (h & 0x8000u) << 16u;
  let e = (h >> 10u) & 0x1fu;
  let m = h & 0x3ffu;
  if (e == 0u) {
    let v = f32(m) * 5.9604644775390625e-8;
    return select(v, -v, s != 0u);
  }
  if (e == 31u) { return bitcast<f32>(s | 0x7f800000u | (m << 13u)); }
  return bitcast<f32>(s | ((e + 112u) << 23u) | (m << 13u));
}

fn half_of(word: u32, e: u32) -> u32 { return (word >> ((e & 1u) * 16u)) & 0xffffu; }
`;

export const FLOAT_TESTS = /* wgsl */ `
fn is_nan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
fn is_finite(x: f32) -> bool { return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u; }
// Read through a private variable: a constant NaN or infinity is a WGSL compile error.
var<private> special_bits_: vec2<u32> = vec2<u32>(0x7fc00000u, 0x7f800000u);
fn f32_nan() -> f32 { return bitcast<f32>(special_bits_.x); }
fn f32_inf(negative: bool) -> f32 { return bitcast<f32>(special_bits_.y | select(0u, 0x80000000u, negative)); }
`;

/** Activation helpers in f32 (sigmoid split by sign so exp never overflows). */
export const ACTIVATIONS = /* wgsl */ `
fn sigmoid_f(x: f32) -> f32 {
  if (x >= 0.0) { return 1.0 / (1.0 + exp(-x)); }
  let z = exp(x);
  return z / (1.0 + z);
}
fn silu_f(x: f32) -> f32 { return x * sigmoid_f(x); }
`;

/** All common helpers; unused functions cost nothing at run time. */
export const COMMON = F16_BITS + FLOAT_TESTS + ACTIVATIONS;

/**
 * Launches wider than this many workgroups fold into rows of exactly this
 * many (see grid1d), so a workgroup's linear index is wid.y * FOLD + wid.x
 * with a constant: reading the num_workgroups builtin instead costs an extra
 * buffer read per invocation on some implementations (it halved lavapipe's
 * throughput).
 */
export const GRID_FOLD = 32768;

/** The index of this workgroup in a 1-D launch folded into 2-D. */
export const LINEAR_WORKGROUP = `(wid.y * ${GRID_FOLD}u + wid.x)`;

/** The index of this invocation in a 1-D launch folded into 2-D. */
export function linearInvocation(workgroupSize: number): string {
  return `${LINEAR_WORKGROUP} * ${workgroupSize}u + lid`;
}

/** Builtins every compute entry point takes. */
export const ENTRY_BUILTINS = '@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32';
