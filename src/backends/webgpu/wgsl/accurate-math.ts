// Elementary functions with error bounds WGSL does not promise for its builtins.

/**
 * Accurate f32 log and cos(2 pi u) written out, because WGSL only bounds the
 * builtins' error absolutely (log near 1, cos on [-pi, pi] to 2^-11), which is
 * too loose for Box-Muller near u = 1. Both are within a few ulp on any GPU.
 */
export const ACCURATE_MATH = /* wgsl */ `
fn log_accurate(x: f32) -> f32 {
  if (!(x > 0.0) || !is_finite(x)) {
    if (x == 0.0) { return f32_inf(true); }
    if (is_nan(x) || x < 0.0) { return f32_nan(); }
    return x;
  }
  let bits = bitcast<u32>(x);
  var e = i32((bits >> 23u) & 0xffu) - 127;
  var f = bitcast<f32>((bits & 0x7fffffu) | 0x3f800000u);
  if (f > 1.41421356) { f = f * 0.5; e = e + 1; }
  // log f = 2 atanh(s), s = (f-1)/(f+1), |s| < 0.172: the series to s^11 is below f32 resolution.
  let s = (f - 1.0) / (f + 1.0);
  let s2 = s * s;
  let tail = s2 * (0.6666666666666666 + s2 * (0.4 + s2 * (0.2857142857142857 + s2 * (0.2222222222222222 + s2 * 0.18181818181818182))));
  return f32(e) * 0.6931471805599453 + (2.0 * s + s * tail);
}

fn cos_2pi(u: f32) -> f32 {
  // Quadrant q and remainder r in [-1/8, 1/8] turns; both steps are exact for u a multiple of 2^-24.
  let t = u - round(u);
  let q = round(t * 4.0);
  let a = 6.283185307179586 * (t - q * 0.25);
  let a2 = a * a;
  let c = 1.0 + a2 * (-0.5 + a2 * (0.041666666666666664 + a2 * (-0.001388888888888889 + a2 * 2.48015873015873e-5)));
  let s = a * (1.0 + a2 * (-0.16666666666666666 + a2 * (0.008333333333333333 + a2 * (-0.0001984126984126984 + a2 * 2.7557319223985893e-6))));
  let qi = i32(q) & 3;
  if (qi == 0) { return c; }
  if (qi == 1) { return -s; }
  if (qi == 2) { return -c; }
  return s;
}
`;

