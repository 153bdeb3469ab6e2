// The fused kernels, one pass per row where possible, arithmetic in f64 and one
// rounding per stored value (the CPU reference's rule). Rows and elements are
// split among threads; every reduction stays inside one thread, in a fixed
// order, so results are bitwise identical for any thread count.
#include "vector-math.h"

#define ROWS_OF_THREAD(total) int32_t r0 = (int32_t)split_begin(total, tid, nt), r1 = (int32_t)split_end(total, tid, nt)
// Elementwise kernels whose SIMD and scalar paths round differently split at multiples of 4,
// so the scalar tail is always the last n % 4 elements, whatever the thread count.
#define ELEMENTS_OF_THREAD(total) int32_t r0 = (int32_t)split_begin(total, tid, nt) & ~3, \
  r1 = tid == nt - 1 ? (int32_t)(total) : (int32_t)split_end(total, tid, nt) & ~3

EXPORT(k_softmax) void k_softmax(const void* x, int32_t rows, int32_t cols, int isLog, void* out, int dt, int tid, int nt) {
  ROWS_OF_THREAD(rows);
  if (dt == DT_F32) {
    // f32: SIMD exp, the exps stored once and scaled in place.
    for (int32_t r = r0; r < r1; r++) {
      const float* xr = (const float*)x + (int64_t)r * cols;
      float* o = (float*)out + (int64_t)r * cols;
      float max = row_max_f32(xr, cols);
      double sum = row_sum_exp_f32(xr, cols, max, isLog ? 0 : o);
      if (isLog) {
        double shift = (double)max + math_log(sum);
        for (int32_t c = 0; c < cols; c++) o[c] = (float)(xr[c] - shift);
      } else {
        float inv = (float)(1.0 / sum);
        int32_t c = 0;
        v128_t vi = wasm_f32x4_splat(inv);
        for (; c + 4 <= cols; c += 4) wasm_v128_store(o + c, wasm_f32x4_mul(wasm_v128_load(o + c), vi));
        for (; c < cols; c++) o[c] *= inv;
      }
    }
    return;
  }
  for (int32_t r = r0; r < r1; r++) {
    int32_t base = r * cols;
    double max = -1.0 / 0.0;
    for (int32_t c = 0; c < cols; c++) { double v = load_f64(x, dt, base + c); max = v > max || v != v ? v : max; }
    double sum = 0;
    for (int32_t c = 0; c < cols; c++) sum += math_exp(load_f64(x, dt, base + c) - max);
    double logSum = math_log(sum);
    for (int32_t c = 0; c < cols; c++) {
      double v = load_f64(x, dt, base + c);
      store_f64(out, dt, base + c, isLog ? v - max - logSum : math_exp(v - max) / sum);
    }
  }
}

EXPORT(k_softmax_backward) void k_softmax_backward(const void* y, const void* g, int32_t rows, int32_t cols, int isLog, void* gx, int dt, int tid, int nt) {
  ROWS_OF_THREAD(rows);
  for (int32_t r = r0; r < r1; r++) {
    int32_t base = r * cols;
    double dot = 0;
    for (int32_t c = 0; c < cols; c++) dot += isLog ? load_f64(g, dt, base + c) : load_f64(g, dt, base + c) * load_f64(y, dt, base + c);
    for (int32_t c = 0; c < cols; c++) {
      double yv = load_f64(y, dt, base + c), gv = load_f64(g, dt, base + c);
      store_f64(gx, dt, base + c, isLog ? gv - math_exp(yv) * dot : yv * (gv - dot));
    }
  }
}

/** rstd is f32. y = round_to_x_dtype(x * rstd) * w (Meta's RMSNorm: normalize, type_as, scale). */
EXPORT(k_rms_norm) void k_rms_norm(const void* x, const void* w, int32_t rows, int32_t cols, double eps, void* y, float* rstd, int dt, int tid, int nt) {
  ROWS_OF_THREAD(rows);
  for (int32_t r = r0; r < r1; r++) {
    int32_t base = r * cols;
    double ss = 0;
    for (int32_t c = 0; c < cols; c++) { double v = load_f64(x, dt, base + c); ss += v * v; }
    rstd[r] = (float)(1.0 / __builtin_sqrt(ss / cols + eps));
    double rs = rstd[r];
    for (int32_t c = 0; c < cols; c++) store_f64(y, dt, base + c, round_to(dt, load_f64(x, dt, base + c) * rs) * load_f64(w, dt, c));
  }
}

EXPORT(k_rms_norm_backward) void k_rms_norm_backward(const void* x, const void* w, const float* rstd, const void* g, int32_t rows, int32_t cols, void* gx, void* gw, int dt, int tid, int nt) {
  ROWS_OF_THREAD(rows);
  for (int32_t r = r0; r < r1; r++) {
    int32_t base = r * cols;
    double rs = rstd[r];
    double dot = 0;
    for (int32_t c = 0; c < cols; c++) dot += load_f64(g, dt, base + c) * load_f64(w, dt, c) * load_f64(x, dt, base + c) * rs;
    dot /= cols;
    for (int32_t c = 0; c < cols; c++) {
      double n = load_f64(x, dt, base + c) * rs;
      store_f64(gx, dt, base + c, rs * (load_f64(g, dt, base + c) * load_f64(w, dt, c) - n * dot));
    }
  }
  // gw by columns: each column summed over all rows, in row order, by one thread.
  int32_t c0 = (int32_t)split_begin(cols, tid, nt), c1 = (int32_t)split_end(cols, tid, nt);
  for (int32_t c = c0; c < c1; c++) {
    double acc = 0;
    for (int32_t r = 0; r < rows; r++) acc += load_f64(g, dt, r * cols + c) * (load_f64(x, dt, r * cols + c) * (double)rstd[r]);
    store_f64(gw, dt, c, acc);
  }
}

EXPORT(k_rotary) void k_rotary(const void* x, const float* cosT, const float* sinT, int32_t batch, int32_t seq, int32_t heads, int32_t headDim, int inverse, void* out, int dt, int tid, int nt) {
  int32_t half = headDim / 2;
  double sign = inverse ? -1 : 1;
  ROWS_OF_THREAD(batch * seq * heads);
  for (int32_t row = r0; row < r1; row++) {
    int32_t s = (row / heads) % seq;
    int32_t base = row * headDim;
    for (int32_t i = 0; i < half; i++) {
      double c = cosT[s * half + i], sn = sign * sinT[s * half + i];
      double x0 = load_f64(x, dt, base + 2 * i), x1 = load_f64(x, dt, base + 2 * i + 1);
      store_f64(out, dt, base + 2 * i, x0 * c - x1 * sn);
      store_f64(out, dt, base + 2 * i + 1, x0 * sn + x1 * c);
    }
  }
}

/** sigmoid per lane: 1 / (1 + exp(-x)), about 3 ulp. */
INLINE v128_t sigmoid_f32x4(v128_t x) {
  const v128_t one = wasm_f32x4_splat(1.0f);
  return wasm_f32x4_div(one, wasm_f32x4_add(one, exp_f32x4(wasm_f32x4_neg(x))));
}

EXPORT(k_silu_mul) void k_silu_mul(const void* a, const void* b, int32_t n, void* out, int dt, int tid, int nt) {
  ELEMENTS_OF_THREAD(n);
  if (dt == DT_F32) {
    const float* av = (const float*)a; const float* bv = (const float*)b; float* o = (float*)out;
    int32_t i = r0;
    for (; i + 4 <= r1; i += 4) {
      v128_t x = wasm_v128_load(av + i);
      wasm_v128_store(o + i, wasm_f32x4_mul(wasm_f32x4_mul(x, sigmoid_f32x4(x)), wasm_v128_load(bv + i)));
    }
    r0 = i;  // the tail below
  }
  for (int32_t i = r0; i < r1; i++) {
    double av = load_f64(a, dt, i);
    store_f64(out, dt, i, av * math_sigmoid(av) * load_f64(b, dt, i));
  }
}

EXPORT(k_silu_mul_backward) void k_silu_mul_backward(const void* a, const void* b, const void* g, int32_t n, void* ga, void* gb, int dt, int tid, int nt) {
  ELEMENTS_OF_THREAD(n);
  if (dt == DT_F32) {
    const float* av = (const float*)a; const float* bv = (const float*)b; const float* gv = (const float*)g;
    float* gav = (float*)ga; float* gbv = (float*)gb;
    const v128_t one = wasm_f32x4_splat(1.0f);
    int32_t i = r0;
    for (; i + 4 <= r1; i += 4) {
      v128_t x = wasm_v128_load(av + i), y = wasm_v128_load(bv + i), gr = wasm_v128_load(gv + i);
      v128_t s = sigmoid_f32x4(x);
      // ga = g * b * s * (1 + a * (1 - s)), gb = g * a * s
      v128_t dsilu = wasm_f32x4_mul(s, wasm_f32x4_add(one, wasm_f32x4_mul(x, wasm_f32x4_sub(one, s))));
      wasm_v128_store(gav + i, wasm_f32x4_mul(wasm_f32x4_mul(gr, y), dsilu));
      wasm_v128_store(gbv + i, wasm_f32x4_mul(wasm_f32x4_mul(gr, x), s));
    }
    r0 = i;
  }
  for (int32_t i = r0; i < r1; i++) {
    double av = load_f64(a, dt, i), bv = load_f64(b, dt, i), gv = load_f64(g, dt, i);
    double s = math_sigmoid(av);
    store_f64(ga, dt, i, gv * bv * s * (1 + av * (1 - s)));
    store_f64(gb, dt, i, gv * av * s);
  }
}

/** loss and lse are f32. */
EXPORT(k_cross_entropy) void k_cross_entropy(const void* logits, const int32_t* labels, int32_t rows, int32_t cols, int32_t ignoreIndex, float* loss, float* lse, int dt, int tid, int nt) {
  ROWS_OF_THREAD(rows);
  for (int32_t r = r0; r < r1; r++) {
    int32_t base = r * cols;
    double max = -1.0 / 0.0, sum = 0;
    if (dt == DT_F32) {
      const float* xr = (const float*)logits + base;
      float m = row_max_f32(xr, cols);
      max = m;
      sum = row_sum_exp_f32(xr, cols, m, 0);
    } else {
      for (int32_t c = 0; c < cols; c++) { double v = load_f64(logits, dt, base + c); max = v > max || v != v ? v : max; }
      for (int32_t c = 0; c < cols; c++) sum += math_exp(load_f64(logits, dt, base + c) - max);
    }
    double l = max + math_log(sum);
    lse[r] = (float)l;
    int32_t label = labels[r];
    if (label == ignoreIndex) loss[r] = 0;
    else if (label < 0 || label >= cols) loss[r] = 0.0f / 0.0f;
    else loss[r] = (float)(l - load_f64(logits, dt, base + label));
  }
}

EXPORT(k_cross_entropy_backward) void k_cross_entropy_backward(const void* logits, const float* lse, const int32_t* labels, const float* gRow, int32_t rows, int32_t cols, int32_t ignoreIndex, void* gLogits, int dt, int tid, int nt) {
  ROWS_OF_THREAD(rows);
  for (int32_t r = r0; r < r1; r++) {
    int32_t base = r * cols;
    int32_t label = labels[r];
    if (label == ignoreIndex) { for (int32_t c = 0; c < cols; c++) store_f64(gLogits, dt, base + c, 0); continue; }
    double l = lse[r], gr = gRow[r];
    if (dt == DT_F32) {
      // p * g with SIMD exp, then the label's -g.
      const float* xr = (const float*)logits + base;
      float* o = (float*)gLogits + base;
      v128_t vl = wasm_f32x4_splat((float)l), vg = wasm_f32x4_splat((float)gr);
      int32_t c = 0;
      for (; c + 4 <= cols; c += 4) wasm_v128_store(o + c, wasm_f32x4_mul(exp_f32x4(wasm_f32x4_sub(wasm_v128_load(xr + c), vl)), vg));
      for (; c < cols; c++) o[c] = (float)(math_exp((double)xr[c] - l) * gr);
      if (label >= 0 && label < cols) o[label] = (float)((math_exp((double)xr[label] - l) - 1) * gr);
      continue;
    }
    for (int32_t c = 0; c < cols; c++) {
      double p = math_exp(load_f64(logits, dt, base + c) - l);
      store_f64(gLogits, dt, base + c, (p - (c == label ? 1 : 0)) * gr);
    }
  }
}

EXPORT(k_causal_mask) void k_causal_mask(const void* x, int32_t batch, int32_t rows, int32_t cols, double value, void* out, int dt, int tid, int nt) {
  int32_t shift = cols - rows;
  ROWS_OF_THREAD(batch * rows);
  for (int32_t br = r0; br < r1; br++) {
    int32_t i = br % rows;
    int32_t base = br * cols;
    for (int32_t j = 0; j < cols; j++) store_f64(out, dt, base + j, j <= i + shift ? load_f64(x, dt, base + j) : value);
  }
}

/** f32 only: PyTorch's single-tensor AdamW in its order of operations. */
EXPORT(k_adamw) void k_adamw(float* param, const float* grad, float* m, float* v, int32_t n, double lr, double beta1, double beta2, double eps, double weightDecay, double biasCorrection1, double biasCorrection2Sqrt, int tid, int nt) {
  double stepSize = lr / biasCorrection1;
  double decay = 1 - lr * weightDecay;
  ROWS_OF_THREAD(n);
  // Two lanes of f64 at a time: the same operations, in the same order, as the scalar loop below.
  int32_t i = r0;
  const v128_t b1 = wasm_f64x2_splat(1 - beta1), b2 = wasm_f64x2_splat(beta2), nb2 = wasm_f64x2_splat(1 - beta2);
  const v128_t bc2 = wasm_f64x2_splat(biasCorrection2Sqrt), veps = wasm_f64x2_splat(eps), vdecay = wasm_f64x2_splat(decay), vstep = wasm_f64x2_splat(stepSize);
  for (; i + 2 <= r1; i += 2) {
    v128_t g = wasm_f64x2_promote_low_f32x4(wasm_v128_load64_zero(grad + i));
    v128_t mo = wasm_f64x2_promote_low_f32x4(wasm_v128_load64_zero(m + i));
    v128_t vo = wasm_f64x2_promote_low_f32x4(wasm_v128_load64_zero(v + i));
    v128_t po = wasm_f64x2_promote_low_f32x4(wasm_v128_load64_zero(param + i));
    v128_t mi = wasm_f32x4_demote_f64x2_zero(wasm_f64x2_add(mo, wasm_f64x2_mul(b1, wasm_f64x2_sub(g, mo))));
    v128_t vi = wasm_f32x4_demote_f64x2_zero(wasm_f64x2_add(wasm_f64x2_mul(vo, b2), wasm_f64x2_mul(wasm_f64x2_mul(nb2, g), g)));
    wasm_v128_store64_lane(m + i, mi, 0);
    wasm_v128_store64_lane(v + i, vi, 0);
    v128_t mid = wasm_f64x2_promote_low_f32x4(mi), vid = wasm_f64x2_promote_low_f32x4(vi);
    v128_t denom = wasm_f64x2_add(wasm_f64x2_div(wasm_f64x2_sqrt(vid), bc2), veps);
    v128_t p = wasm_f64x2_sub(wasm_f64x2_mul(po, vdecay), wasm_f64x2_mul(vstep, wasm_f64x2_div(mid, denom)));
    wasm_v128_store64_lane(param + i, wasm_f32x4_demote_f64x2_zero(p), 0);
  }
  for (; i < r1; i++) {
    double g = grad[i];
    double mi = (float)(m[i] + (1 - beta1) * (g - m[i]));
    double vi = (float)(v[i] * beta2 + (1 - beta2) * g * g);
    m[i] = (float)mi;
    v[i] = (float)vi;
    double denom = __builtin_sqrt(vi) / biasCorrection2Sqrt + eps;
    param[i] = (float)(param[i] * decay - stepSize * (mi / denom));
  }
}

/** foundInf is f32; threads only ever write 1 into it, so concurrent writes agree. */
EXPORT(k_unscale_grads) void k_unscale_grads(void* grad, int32_t n, double invScale, float* foundInf, int dt, int tid, int nt) {
  ROWS_OF_THREAD(n);
  int found = 0;
  for (int32_t i = r0; i < r1; i++) {
    double g = load_f64(grad, dt, i);
    if (g - g != 0) found = 1;  // inf or NaN
    store_f64(grad, dt, i, g * invScale);
  }
  if (found) foundInf[0] = 1.0f;
}
