// f32x4 math for the hot row kernels (softmax, cross-entropy, SiLU): exp to
// about 2 ulp, and f64 accumulation of f32x4 sums so long rows (32000 logits)
// keep their precision.
#pragma once
#include "common.h"

/** exp(x) per lane: Cody-Waite reduction by ln 2, degree-7 Taylor polynomial, 2^n by exponent bits. Exact 0 below -87.3, inf above 88.7, NaN stays NaN. */
INLINE v128_t exp_f32x4(v128_t x) {
  const v128_t lo = wasm_f32x4_splat(-87.33654f), hi = wasm_f32x4_splat(88.72283f);
  v128_t under = wasm_f32x4_lt(x, lo), over = wasm_f32x4_gt(x, hi);
  v128_t xc = wasm_f32x4_max(wasm_f32x4_min(x, hi), lo);
  v128_t n = wasm_f32x4_nearest(wasm_f32x4_mul(xc, wasm_f32x4_splat(1.44269504088896341f)));
  v128_t r = wasm_f32x4_sub(xc, wasm_f32x4_mul(n, wasm_f32x4_splat(0.693359375f)));
  r = wasm_f32x4_sub(r, wasm_f32x4_mul(n, wasm_f32x4_splat(-2.12194440e-4f)));
  v128_t p = wasm_f32x4_splat(1.0f / 5040);
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.0f / 720));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.0f / 120));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.0f / 24));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.0f / 6));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(0.5f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.0f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.0f));
  // 2^n in two halves so n = 128 (x near 88.7) does not overflow the exponent field.
  v128_t ni = wasm_i32x4_trunc_sat_f32x4(n);
  v128_t n1 = wasm_i32x4_shr(ni, 1), n2 = wasm_i32x4_sub(ni, n1);
  v128_t s1 = wasm_i32x4_shl(wasm_i32x4_add(n1, wasm_i32x4_splat(127)), 23);
  v128_t s2 = wasm_i32x4_shl(wasm_i32x4_add(n2, wasm_i32x4_splat(127)), 23);
  v128_t y = wasm_f32x4_mul(wasm_f32x4_mul(p, s1), s2);
  y = wasm_v128_andnot(y, under);  // exactly 0 (also for -inf)
  y = wasm_v128_bitselect(wasm_f32x4_splat(1.0f / 0.0f), y, over);
  // NaN in, NaN out (the clamps above would have made it finite).
  v128_t isnan = wasm_f32x4_ne(x, x);
  return wasm_v128_bitselect(x, y, isnan);
}

/** Adds the four lanes of v into two f64 partial sums (lanes 0,1 and 2,3). */
INLINE void add_f32x4_to_f64x2(v128_t v, v128_t* acc) {
  *acc = wasm_f64x2_add(*acc, wasm_f64x2_add(wasm_f64x2_promote_low_f32x4(v), wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(v, v, 2, 3, 0, 1))));
}

INLINE double f64x2_sum(v128_t acc) { return wasm_f64x2_extract_lane(acc, 0) + wasm_f64x2_extract_lane(acc, 1); }

/** max over a row of f32 (NaN if any element is NaN). */
INLINE float row_max_f32(const float* x, int32_t n) {
  v128_t m = wasm_f32x4_splat(-1.0f / 0.0f);
  int32_t i = 0;
  for (; i + 4 <= n; i += 4) m = wasm_f32x4_max(m, wasm_v128_load(x + i));  // wasm max propagates NaN
  float r = wasm_f32x4_extract_lane(m, 0);
  for (int l = 1; l < 4; l++) { float v = l == 1 ? wasm_f32x4_extract_lane(m, 1) : l == 2 ? wasm_f32x4_extract_lane(m, 2) : wasm_f32x4_extract_lane(m, 3); r = (v > r || v != v) ? v : r; }
  for (; i < n; i++) r = (x[i] > r || x[i] != x[i]) ? x[i] : r;
  if (r != r) return r;
  return r;
}

/** sum of exp(x[i] - shift) over a row, accumulated in f64; if out != 0 the exps are stored there. */
INLINE double row_sum_exp_f32(const float* x, int32_t n, float shift, float* out) {
  v128_t acc = wasm_f64x2_splat(0), s = wasm_f32x4_splat(shift);
  int32_t i = 0;
  for (; i + 4 <= n; i += 4) {
    v128_t e = exp_f32x4(wasm_f32x4_sub(wasm_v128_load(x + i), s));
    if (out) wasm_v128_store(out + i, e);
    add_f32x4_to_f64x2(e, &acc);
  }
  double sum = f64x2_sum(acc);
  for (; i < n; i++) { double e = math_exp((double)x[i] - shift); if (out) out[i] = (float)e; sum += e; }
  return sum;
}
