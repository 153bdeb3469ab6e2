// Shared definitions for the wasm kernels: dtype codes, exact f16 conversion,
// scalar loads and stores in f64, the math functions (no libc), and how a
// kernel splits its work among threads.
#pragma once
#include <stdint.h>
#include <wasm_simd128.h>

#define EXPORT(name) __attribute__((export_name(#name))) 
#define INLINE static inline __attribute__((always_inline))

// Dtype codes, as the JS side passes them (see wasm-dtypes.ts).
enum { DT_F32 = 0, DT_F16 = 1, DT_I32 = 2 };

// Math the JS host provides (rarely hot: unary sin/cos/pow, Box-Muller's cos).
__attribute__((import_module("env"), import_name("sin"))) double js_sin(double);
__attribute__((import_module("env"), import_name("cos"))) double js_cos(double);
__attribute__((import_module("env"), import_name("pow"))) double js_pow(double, double);

INLINE uint64_t f64_bits(double x) { union { double d; uint64_t u; } v = { x }; return v.u; }
INLINE double f64_from_bits(uint64_t u) { union { uint64_t u; double d; } v = { u }; return v.d; }
INLINE uint32_t f32_bits(float x) { union { float f; uint32_t u; } v = { x }; return v.u; }
INLINE float f32_from_bits(uint32_t u) { union { uint32_t u; float f; } v = { u }; return v.f; }

/** f16 bits -> f32, exact (every f16 is an f32). */
INLINE float f16_to_f32(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f;
  uint32_t man = h & 0x3ff;
  if (exp == 0x1f) return f32_from_bits(sign | 0x7f800000u | (man << 13));
  if (exp == 0) {
    // Subnormal (or zero): man * 2^-24, exact in f32.
    float v = (float)man * 5.9604644775390625e-8f;
    return sign ? -v : v;
  }
  return f32_from_bits(sign | ((exp + 112) << 23) | (man << 13));
}

/** f64 -> f16 bits, rounded to nearest even once (no double rounding through f32). */
INLINE uint16_t f64_to_f16(double x) {
  uint64_t b = f64_bits(x);
  uint16_t sign = (uint16_t)((b >> 48) & 0x8000);
  int exp = (int)((b >> 52) & 0x7ff);
  uint64_t man = b & 0xfffffffffffffull;
  if (exp == 0x7ff) return sign | 0x7c00 | (man ? 0x200 : 0);  // inf or NaN (quiet)
  int e = exp - 1023;  // unbiased
  if (e > 15) return sign | 0x7c00;  // overflow to inf
  if (e < -25) return sign;  // below half the smallest subnormal: rounds to zero
  // Significand with the implicit bit: 53 bits.
  uint64_t sig = man | (1ull << 52);
  // Number of low bits to drop: normal f16 keeps 11 bits; subnormal fewer.
  int shift = e >= -14 ? 42 : 42 + (-14 - e);
  uint64_t kept = sig >> shift;
  uint64_t rest = sig & ((1ull << shift) - 1);
  uint64_t half = 1ull << (shift - 1);
  if (rest > half || (rest == half && (kept & 1))) kept++;
  if (e >= -14) {
    // kept in [2^10, 2^11]; carry may bump the exponent.
    uint32_t he = (uint32_t)(e + 15);
    if (kept == (1ull << 11)) { kept >>= 1; he++; }
    if (he >= 31) return sign | 0x7c00;
    return sign | (uint16_t)(he << 10) | (uint16_t)(kept & 0x3ff);
  }
  // Subnormal: kept is the mantissa directly (a carry to 0x400 is the smallest normal, still right).
  return sign | (uint16_t)kept;
}

INLINE double load_f64(const void* base, int dtype, int32_t i) {
  switch (dtype) {
    case DT_F32: return ((const float*)base)[i];
    case DT_F16: return f16_to_f32(((const uint16_t*)base)[i]);
    default: return ((const int32_t*)base)[i];
  }
}

/** Truncates toward zero, saturating; NaN becomes 0 (as a JS Int32Array store of NaN). */
INLINE int32_t to_i32(double v) {
  if (v != v) return 0;
  if (v >= 2147483647.0) return 2147483647;
  if (v <= -2147483648.0) return (int32_t)0x80000000;
  return (int32_t)v;
}

INLINE void store_f64(void* base, int dtype, int32_t i, double v) {
  switch (dtype) {
    case DT_F32: ((float*)base)[i] = (float)v; break;
    case DT_F16: ((uint16_t*)base)[i] = f64_to_f16(v); break;
    default: ((int32_t*)base)[i] = to_i32(v); break;
  }
}

/** Rounds a value the way storing it into `dtype` would (for kernels that reuse a stored value). */
INLINE double round_to(int dtype, double v) {
  if (dtype == DT_F32) return (float)v;
  if (dtype == DT_F16) return f16_to_f32(f64_to_f16(v));
  return v;
}

// ---- f64 math: exp and log to near double precision (f32/f16 outputs round once) ----

INLINE double math_exp(double x) {
  if (x != x) return x;
  if (x > 709.78) return 1.0 / 0.0;
  if (x < -745.2) return 0.0;
  // x = k ln2 + r, |r| <= ln2/2; exp(r) by a degree-13 Taylor polynomial (error < 1e-17).
  double kf = __builtin_nearbyint(x * 1.4426950408889634);
  double r = (x - kf * 6.93147180369123816490e-01) - kf * 1.90821492927058770002e-10;
  double p = 1.0 / 6227020800.0;
  p = p * r + 1.0 / 479001600.0;
  p = p * r + 1.0 / 39916800.0;
  p = p * r + 1.0 / 3628800.0;
  p = p * r + 1.0 / 362880.0;
  p = p * r + 1.0 / 40320.0;
  p = p * r + 1.0 / 5040.0;
  p = p * r + 1.0 / 720.0;
  p = p * r + 1.0 / 120.0;
  p = p * r + 1.0 / 24.0;
  p = p * r + 1.0 / 6.0;
  p = p * r + 0.5;
  p = p * r + 1.0;
  p = p * r + 1.0;
  int k = (int)kf;
  // Scale by 2^k in two steps so subnormal results and k = 1024 stay exact enough.
  int k1 = k / 2, k2 = k - k1;
  return p * f64_from_bits((uint64_t)(k1 + 1023) << 52) * f64_from_bits((uint64_t)(k2 + 1023) << 52);
}

INLINE double math_log(double x) {
  if (x != x || x < 0) return 0.0 / 0.0;
  if (x == 0) return -1.0 / 0.0;
  if (x == 1.0 / 0.0) return x;
  uint64_t b = f64_bits(x);
  int e = (int)((b >> 52) & 0x7ff);
  if (e == 0) { x *= 18014398509481984.0; b = f64_bits(x); e = (int)((b >> 52) & 0x7ff) - 54; }
  e -= 1023;
  double m = f64_from_bits((b & 0xfffffffffffffull) | 0x3ff0000000000000ull);  // [1, 2)
  if (m > 1.4142135623730951) { m *= 0.5; e++; }
  // log(m) = 2 atanh(s), s = (m-1)/(m+1), |s| <= 0.1716.
  double s = (m - 1.0) / (m + 1.0);
  double s2 = s * s;
  double t = 1.0 / 23;
  t = t * s2 + 1.0 / 21; t = t * s2 + 1.0 / 19; t = t * s2 + 1.0 / 17; t = t * s2 + 1.0 / 15;
  t = t * s2 + 1.0 / 13; t = t * s2 + 1.0 / 11; t = t * s2 + 1.0 / 9; t = t * s2 + 1.0 / 7;
  t = t * s2 + 1.0 / 5; t = t * s2 + 1.0 / 3; t = t * s2 + 1.0;
  return 2.0 * s * t + e * 0.6931471805599453;
}

INLINE double math_sigmoid(double x) {
  if (x >= 0) return 1.0 / (1.0 + math_exp(-x));
  double e = math_exp(x);
  return e / (1.0 + e);
}

// ---- work split: thread `tid` of `nt` takes [begin, end) of `total` items ----
INLINE int64_t split_begin(int64_t total, int tid, int nt) { return total * tid / nt; }
INLINE int64_t split_end(int64_t total, int tid, int nt) { return total * (tid + 1) / nt; }
