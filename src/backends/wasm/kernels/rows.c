// Embedding row gather and scatter-add, and dense accumulate.
#include "common.h"

/** Returns -1, or the position of the first out-of-range index (nothing is written then). */
EXPORT(k_gather_rows) int32_t k_gather_rows(const uint8_t* table, int32_t rows, int32_t cols, const int32_t* idx, int32_t n, uint8_t* out, int elemBytes) {
  for (int32_t i = 0; i < n; i++) if (idx[i] < 0 || idx[i] >= rows) return i;
  for (int32_t i = 0; i < n; i++) __builtin_memcpy(out + (int64_t)i * cols * elemBytes, table + (int64_t)idx[i] * cols * elemBytes, (uint32_t)cols * elemBytes);
  return -1;
}

/** out[idx[i]] += src[i] for i in order (serial, so repeated indices sum in a fixed order). */
EXPORT(k_scatter_add_rows) int32_t k_scatter_add_rows(const void* src, const int32_t* idx, int32_t n, int32_t cols, void* out, int32_t rows, int dt) {
  for (int32_t i = 0; i < n; i++) if (idx[i] < 0 || idx[i] >= rows) return i;
  for (int32_t i = 0; i < n; i++) {
    int32_t o = idx[i] * cols, s = i * cols;
    if (dt == DT_F32) {
      float* op = (float*)out + o;
      const float* sp = (const float*)src + s;
      for (int32_t c = 0; c < cols; c++) op[c] += sp[c];
    } else {
      for (int32_t c = 0; c < cols; c++) store_f64(out, dt, o + c, load_f64(out, dt, o + c) + load_f64(src, dt, s + c));
    }
  }
  return -1;
}

EXPORT(k_accumulate) void k_accumulate(void* dst, const void* src, int32_t numel, int dt, int tid, int nt) {
  int32_t b = (int32_t)split_begin(numel, tid, nt) & ~3, e = tid == nt - 1 ? numel : (int32_t)split_end(numel, tid, nt) & ~3;
  if (dt == DT_F32) {
    float* d = (float*)dst;
    const float* s = (const float*)src;
    int32_t i = b;
    for (; i + 4 <= e; i += 4) wasm_v128_store(d + i, wasm_f32x4_add(wasm_v128_load(d + i), wasm_v128_load(s + i)));
    for (; i < e; i++) d[i] += s[i];
  } else {
    for (int32_t i = b; i < e; i++) store_f64(dst, dt, i, load_f64(dst, dt, i) + load_f64(src, dt, i));
  }
}
