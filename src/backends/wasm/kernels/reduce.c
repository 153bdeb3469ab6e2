// Sum or max over one axis. Each output element is reduced by one thread, in
// axis order, accumulating in f64, so results do not depend on the thread count.
#include "nd-iter.h"

EXPORT(k_reduce) void k_reduce(int isMax, const int32_t* desc, const void* x, void* out, int dt, int32_t axisLen, int32_t axisStride, int tid, int nt) {
  int64_t total = nd_numel(desc);
  int64_t b = split_begin(total, tid, nt), e = split_end(total, tid, nt);
  NdIter it; nd_init(&it, desc, b, e - b);
  int32_t xi = nd_inner(&it, 0);
  int32_t len, off[ND_MAX_OPS];
  while (nd_next(&it, &len, off)) {
    for (int32_t i = 0; i < len; i++) {
      int32_t base = off[0] + i * xi;
      double acc;
      if (isMax) {
        acc = -1.0 / 0.0;
        for (int32_t r = 0; r < axisLen; r++) {
          double v = load_f64(x, dt, base + r * axisStride);
          if (v != v) { acc = v; break; }
          if (v > acc) acc = v;
        }
      } else if (dt == DT_F32 && axisStride == 1) {
        const float* xs = (const float*)x + base;
        double s0 = 0, s1 = 0;
        int32_t r = 0;
        // Two f64 partial sums in a fixed pattern: the same on every thread count.
        for (; r + 2 <= axisLen; r += 2) { s0 += xs[r]; s1 += xs[r + 1]; }
        if (r < axisLen) s0 += xs[r];
        acc = s0 + s1;
      } else {
        acc = 0;
        for (int32_t r = 0; r < axisLen; r++) acc += load_f64(x, dt, base + r * axisStride);
      }
      store_f64(out, dt, off[1] + i, acc);
    }
  }
}
