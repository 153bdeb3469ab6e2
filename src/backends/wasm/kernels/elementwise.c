// Strided copy, cast, and the elementwise unary and binary maps. Every value
// is computed in f64 and rounded once on store (the CPU reference's rule), with
// f32 SIMD paths for the binary ops whose f32 result is the same correctly
// rounded value (+, -, *, /) on contiguous or broadcast operands.
#include "nd-iter.h"

enum { U_NEG, U_EXP, U_LOG, U_SQRT, U_RSQRT, U_SIGMOID, U_SILU, U_ABS, U_SIN, U_COS, U_SQUARE, U_RECIPROCAL, U_RELU,
       U_ADD_SCALAR, U_MUL_SCALAR, U_POW_SCALAR };
enum { B_ADD, B_SUB, B_MUL, B_DIV, B_MAXIMUM, B_MINIMUM, B_EQ, B_GT };

/** dst[layout] = src[layout] (same dtype): a bit copy, so f16 and i32 pass through untouched. */
EXPORT(k_copy) void k_copy(const int32_t* desc, const uint8_t* src, uint8_t* dst, int elemBytes, int tid, int nt) {
  int64_t total = nd_numel(desc);
  int64_t b = split_begin(total, tid, nt), e = split_end(total, tid, nt);
  NdIter it; nd_init(&it, desc, b, e - b);
  int32_t si = nd_inner(&it, 0), di = nd_inner(&it, 1);
  int32_t len, off[ND_MAX_OPS];
  while (nd_next(&it, &len, off)) {
    if (elemBytes == 4) {
      const uint32_t* s = (const uint32_t*)src + off[0];
      uint32_t* d = (uint32_t*)dst + off[1];
      if (si == 1 && di == 1) __builtin_memcpy(d, s, (uint32_t)len * 4);
      else for (int32_t i = 0; i < len; i++) d[i * di] = s[i * si];
    } else {
      const uint16_t* s = (const uint16_t*)src + off[0];
      uint16_t* d = (uint16_t*)dst + off[1];
      if (si == 1 && di == 1) __builtin_memcpy(d, s, (uint32_t)len * 2);
      else for (int32_t i = 0; i < len; i++) d[i * di] = s[i * si];
    }
  }
}

/** out = x converted to out's dtype (floats round to nearest even once; to i32 truncates). */
EXPORT(k_cast) void k_cast(const int32_t* desc, const void* x, int xdt, void* out, int odt, int tid, int nt) {
  int64_t total = nd_numel(desc);
  int64_t b = split_begin(total, tid, nt), e = split_end(total, tid, nt);
  NdIter it; nd_init(&it, desc, b, e - b);
  int32_t xi = nd_inner(&it, 0);
  int32_t len, off[ND_MAX_OPS];
  while (nd_next(&it, &len, off)) {
    for (int32_t i = 0; i < len; i++) {
      double v = load_f64(x, xdt, off[0] + i * xi);
      if (odt == DT_I32) v = __builtin_trunc(v);
      store_f64(out, odt, off[1] + i, v);
    }
  }
}

INLINE double unary_apply(int op, double x, double c) {
  switch (op) {
    case U_NEG: return -x;
    case U_EXP: return math_exp(x);
    case U_LOG: return math_log(x);
    case U_SQRT: return __builtin_sqrt(x);
    case U_RSQRT: return 1.0 / __builtin_sqrt(x);
    case U_SIGMOID: return math_sigmoid(x);
    case U_SILU: return x * math_sigmoid(x);
    case U_ABS: return __builtin_fabs(x);
    case U_SIN: return js_sin(x);
    case U_COS: return js_cos(x);
    case U_SQUARE: return x * x;
    case U_RECIPROCAL: return 1.0 / x;
    case U_RELU: return x > 0 ? x : 0;
    case U_ADD_SCALAR: return x + c;
    case U_MUL_SCALAR: return x * c;
    default: return js_pow(x, c);
  }
}

EXPORT(k_unary) void k_unary(int op, const int32_t* desc, const void* x, void* out, int dt, double c, int tid, int nt) {
  int64_t total = nd_numel(desc);
  int64_t b = split_begin(total, tid, nt), e = split_end(total, tid, nt);
  NdIter it; nd_init(&it, desc, b, e - b);
  int32_t xi = nd_inner(&it, 0);
  int32_t len, off[ND_MAX_OPS];
  while (nd_next(&it, &len, off)) {
    if (dt == DT_F32) {
      const float* xs = (const float*)x + off[0];
      float* o = (float*)out + off[1];
#define UNARY_LOOP(OP) for (int32_t i = 0; i < len; i++) o[i] = (float)unary_apply(OP, xs[i * xi], c); break;
      switch (op) {
        case U_NEG: UNARY_LOOP(U_NEG) case U_EXP: UNARY_LOOP(U_EXP) case U_LOG: UNARY_LOOP(U_LOG)
        case U_SQRT: UNARY_LOOP(U_SQRT) case U_RSQRT: UNARY_LOOP(U_RSQRT) case U_SIGMOID: UNARY_LOOP(U_SIGMOID)
        case U_SILU: UNARY_LOOP(U_SILU) case U_ABS: UNARY_LOOP(U_ABS) case U_SIN: UNARY_LOOP(U_SIN)
        case U_COS: UNARY_LOOP(U_COS) case U_SQUARE: UNARY_LOOP(U_SQUARE) case U_RECIPROCAL: UNARY_LOOP(U_RECIPROCAL)
        case U_RELU: UNARY_LOOP(U_RELU) case U_ADD_SCALAR: UNARY_LOOP(U_ADD_SCALAR) case U_MUL_SCALAR: UNARY_LOOP(U_MUL_SCALAR)
        default: UNARY_LOOP(U_POW_SCALAR)
      }
#undef UNARY_LOOP
    } else {
      for (int32_t i = 0; i < len; i++) store_f64(out, dt, off[1] + i, unary_apply(op, load_f64(x, dt, off[0] + i * xi), c));
    }
  }
}

INLINE double binary_apply(int op, double a, double b) {
  switch (op) {
    case B_ADD: return a + b;
    case B_SUB: return a - b;
    case B_MUL: return a * b;
    case B_DIV: return a / b;
    case B_MAXIMUM: return (a != a || b != b) ? a + b : (a >= b ? a : b);
    case B_MINIMUM: return (a != a || b != b) ? a + b : (a <= b ? a : b);
    case B_EQ: return a == b ? 1.0 : 0.0;
    default: return a > b ? 1.0 : 0.0;
  }
}

/** f32 a op b over one segment with inner strides 0 or 1 (SIMD); returns 0 if the segment needs the scalar path. */
INLINE int binary_f32_simd(int op, const float* a, int32_t ai, const float* b, int32_t bi, float* o, int32_t len) {
  if (op > B_DIV || (ai != 0 && ai != 1) || (bi != 0 && bi != 1)) return 0;
  int32_t i = 0;
  v128_t as = wasm_f32x4_splat(a[0]), bs = wasm_f32x4_splat(b[0]);
  for (; i + 4 <= len; i += 4) {
    v128_t va = ai ? wasm_v128_load(a + i) : as;
    v128_t vb = bi ? wasm_v128_load(b + i) : bs;
    v128_t r;
    switch (op) {
      case B_ADD: r = wasm_f32x4_add(va, vb); break;
      case B_SUB: r = wasm_f32x4_sub(va, vb); break;
      case B_MUL: r = wasm_f32x4_mul(va, vb); break;
      default: r = wasm_f32x4_div(va, vb); break;
    }
    wasm_v128_store(o + i, r);
  }
  for (; i < len; i++) o[i] = (float)binary_apply(op, a[i * ai], b[i * bi]);
  return 1;
}

EXPORT(k_binary) void k_binary(int op, const int32_t* desc, const void* a, const void* b, void* out, int dt, int tid, int nt) {
  int64_t total = nd_numel(desc);
  int64_t bg = split_begin(total, tid, nt), e = split_end(total, tid, nt);
  NdIter it; nd_init(&it, desc, bg, e - bg);
  int32_t ai = nd_inner(&it, 0), bi = nd_inner(&it, 1);
  int32_t len, off[ND_MAX_OPS];
  while (nd_next(&it, &len, off)) {
    if (dt == DT_F32) {
      const float* as = (const float*)a + off[0];
      const float* bs = (const float*)b + off[1];
      float* o = (float*)out + off[2];
      if (binary_f32_simd(op, as, ai, bs, bi, o, len)) continue;
      for (int32_t i = 0; i < len; i++) o[i] = (float)binary_apply(op, as[i * ai], bs[i * bi]);
    } else {
      for (int32_t i = 0; i < len; i++) {
        store_f64(out, dt, off[2] + i, binary_apply(op, load_f64(a, dt, off[0] + i * ai), load_f64(b, dt, off[1] + i * bi)));
      }
    }
  }
}
