// Philox4x32-10 (Random123), the counter-based generator every backend shares:
// word w of a stream is lane w%4 of block floor(w/4) keyed by the seed. Uniform
// variates and dropout masks are bitwise identical to the CPU reference.
#include "common.h"

INLINE void philox_block(uint64_t counter, uint32_t k0, uint32_t k1, uint32_t out[4]) {
  uint32_t c0 = (uint32_t)counter, c1 = (uint32_t)(counter >> 32), c2 = 0, c3 = 0;
  for (int round = 0; round < 10; round++) {
    uint64_t p0 = (uint64_t)0xD2511F53u * c0;
    uint64_t p1 = (uint64_t)0xCD9E8D57u * c2;
    uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
    uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
    c1 = (uint32_t)p1;
    c3 = (uint32_t)p0;
    c0 = n0;
    c2 = n2;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
}

/** Word `w` of the stream keyed by (k0, k1), caching the last block. */
typedef struct { uint32_t k0, k1; uint64_t block; uint32_t words[4]; } PhiloxStream;

INLINE uint32_t philox_word(PhiloxStream* s, uint64_t w) {
  uint64_t b = w >> 2;
  if (b != s->block) { philox_block(b, s->k0, s->k1, s->words); s->block = b; }
  return s->words[w & 3];
}

INLINE double uniform_from_word(uint32_t word) { return ((double)(word >> 9) * 2 + 1) * 5.960464477539063e-8; }

/** The seed and word offset arrive as f64 (integers below 2^53). */
INLINE PhiloxStream philox_stream(double seed) {
  uint64_t s = (uint64_t)seed;
  PhiloxStream st = { (uint32_t)s, (uint32_t)(s >> 32), ~0ull, { 0, 0, 0, 0 } };
  return st;
}

EXPORT(k_random) void k_random(void* out, int dt, int32_t n, int normal, double seed, double offset, double a, double b, int tid, int nt) {
  PhiloxStream st = philox_stream(seed);
  uint64_t base = (uint64_t)offset;
  int32_t i0 = (int32_t)split_begin(n, tid, nt), i1 = (int32_t)split_end(n, tid, nt);
  for (int32_t i = i0; i < i1; i++) {
    double v;
    if (!normal) {
      v = a + (b - a) * uniform_from_word(philox_word(&st, base + (uint64_t)i));
    } else {
      double u1 = uniform_from_word(philox_word(&st, base + 2 * (uint64_t)i));
      double u2 = uniform_from_word(philox_word(&st, base + 2 * (uint64_t)i + 1));
      v = a + b * (__builtin_sqrt(-2 * math_log(u1)) * js_cos(2 * 3.141592653589793 * u2));
    }
    store_f64(out, dt, i, v);
  }
}

EXPORT(k_dropout) void k_dropout(const void* x, int32_t n, double p, double seed, double offset, void* out, int dt, int tid, int nt) {
  PhiloxStream st = philox_stream(seed);
  uint64_t base = (uint64_t)offset;
  double scale = p >= 1 ? 0 : 1 / (1 - p);
  int32_t i0 = (int32_t)split_begin(n, tid, nt), i1 = (int32_t)split_end(n, tid, nt);
  for (int32_t i = i0; i < i1; i++) {
    double keep = uniform_from_word(philox_word(&st, base + (uint64_t)i)) >= p;
    store_f64(out, dt, i, keep ? load_f64(x, dt, i) * scale : 0);
  }
}
