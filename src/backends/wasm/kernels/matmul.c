// Batched GEMM: out (batch, m, n) = A (m, k) @ B (k, n), either operand stored
// transposed, f32 accumulation. The output is cut into tasks (a row chunk x a
// column panel) shared among threads. A task walks k in equal slices: it packs
// its B panel for the slice into NR-column strips once, then, per MC-row block,
// packs A into MR-row strips (transposes and f16 are resolved while packing,
// edges zero-padded) and runs a register-blocked 4x8 f32x4 micro-kernel over
// the block into a dense f32 accumulator, copied to the output at the end.
// Every output element sums its k products in the same order whatever the
// thread count (k is never split across threads), so 1 and N threads give
// bitwise-identical results.
#include "common.h"

#ifndef MR
#define MR 4
#endif
#ifndef NR
#define NR 8
#endif
/** Deepest k slice; k is cut into equal slices no deeper than this (a multiple of 4). */
#ifndef KC
#define KC 384
#endif
/** Rows of A packed at once (kept in L2 while the B panel streams through L1). */
#ifndef MC
#define MC 64
#endif
/** Columns of one task's B panel. */
#ifndef NC
#define NC 128
#endif
/** Rows of one task (a multiple of MC): B is packed once per task and k slice. */
#ifndef CHUNK
#define CHUNK 256
#endif

/** Bytes of per-thread scratch: packed A, packed B, and the task's f32 accumulator. */
EXPORT(k_matmul_workspace_bytes) int32_t k_matmul_workspace_bytes(void) { return (MC * KC + KC * NC + CHUNK * NC) * 4; }

typedef struct {
  const uint8_t* base;  // this batch's matrix
  int32_t rows, cols;   // logical (rows, cols)
  int transposed;       // stored as (cols, rows)
  int dt;
} Operand;

/** Element (r, c) as f32. */
INLINE float op_at(const Operand* o, int32_t r, int32_t c) {
  int32_t i = o->transposed ? c * o->rows + r : r * o->cols + c;
  return o->dt == DT_F32 ? ((const float*)o->base)[i] : f16_to_f32(((const uint16_t*)o->base)[i]);
}

/** Four f16 (bits in the low halves of i32 lanes) to f32, exactly: the magnitude shifted into an
 *  f32 and scaled by 2^112 (normals and subnormals alike), infinities and NaNs patched. */
INLINE v128_t f16x4_to_f32x4(v128_t h) {
  v128_t mag = wasm_i32x4_shl(wasm_v128_and(h, wasm_i32x4_splat(0x7fff)), 13);
  v128_t f = wasm_f32x4_mul(mag, wasm_i32x4_splat(0x77800000));  // * 2^112
  v128_t special = wasm_i32x4_eq(wasm_v128_and(h, wasm_i32x4_splat(0x7c00)), wasm_i32x4_splat(0x7c00));
  f = wasm_v128_bitselect(wasm_v128_or(mag, wasm_i32x4_splat(0x7f800000)), f, special);
  return wasm_v128_or(f, wasm_i32x4_shl(wasm_v128_and(h, wasm_i32x4_splat(0x8000)), 16));
}

/** Four consecutive f16 at p as f32x4. */
INLINE v128_t load_f16x4(const uint16_t* p) { return f16x4_to_f32x4(wasm_u32x4_load16x4(p)); }

/** 4x4 transpose: c[q] = (r0[q], r1[q], r2[q], r3[q]). */
INLINE void transpose4(v128_t r0, v128_t r1, v128_t r2, v128_t r3, v128_t* c0, v128_t* c1, v128_t* c2, v128_t* c3) {
  v128_t t0 = wasm_i32x4_shuffle(r0, r1, 0, 4, 1, 5), t1 = wasm_i32x4_shuffle(r0, r1, 2, 6, 3, 7);
  v128_t t2 = wasm_i32x4_shuffle(r2, r3, 0, 4, 1, 5), t3 = wasm_i32x4_shuffle(r2, r3, 2, 6, 3, 7);
  *c0 = wasm_i32x4_shuffle(t0, t2, 0, 1, 4, 5);
  *c1 = wasm_i32x4_shuffle(t0, t2, 2, 3, 6, 7);
  *c2 = wasm_i32x4_shuffle(t1, t3, 0, 1, 4, 5);
  *c3 = wasm_i32x4_shuffle(t1, t3, 2, 3, 6, 7);
}

/**
 * Packs rows [i0, i0+mc) x depth [p0, p0+kc) of A into MR-row panels: panel q,
 * depth p holds A(i0+q*MR+ii, p0+p) at [q*MR*kc + p*MR + ii] (0 past row m).
 */
static void pack_a(const Operand* A, int32_t i0, int32_t mc, int32_t p0, int32_t kc, float* dst) {
  for (int32_t q = 0; q * MR < mc; q++, dst += MR * kc) {
    int32_t i = i0 + q * MR;
    int full = i + MR <= A->rows && q * MR + MR <= mc;
    if (full && A->dt == DT_F32 && A->transposed) {
      // A(i..i+3, p) is contiguous: one vector per depth step.
      const float* src = (const float*)A->base + (int64_t)p0 * A->rows + i;
      for (int32_t p = 0; p < kc; p++) wasm_v128_store(dst + p * MR, wasm_v128_load(src + (int64_t)p * A->rows));
    } else if (full && A->dt == DT_F32) {
      const float* r0 = (const float*)A->base + (int64_t)i * A->cols + p0;
      const float* r1 = r0 + A->cols, *r2 = r1 + A->cols, *r3 = r2 + A->cols;
      int32_t p = 0;
      for (; p + 4 <= kc; p += 4) {
        v128_t c0, c1, c2, c3;
        transpose4(wasm_v128_load(r0 + p), wasm_v128_load(r1 + p), wasm_v128_load(r2 + p), wasm_v128_load(r3 + p), &c0, &c1, &c2, &c3);
        wasm_v128_store(dst + p * MR, c0);
        wasm_v128_store(dst + (p + 1) * MR, c1);
        wasm_v128_store(dst + (p + 2) * MR, c2);
        wasm_v128_store(dst + (p + 3) * MR, c3);
      }
      for (; p < kc; p++) { dst[p * MR] = r0[p]; dst[p * MR + 1] = r1[p]; dst[p * MR + 2] = r2[p]; dst[p * MR + 3] = r3[p]; }
    } else if (full && A->transposed) {
      const uint16_t* src = (const uint16_t*)A->base + (int64_t)p0 * A->rows + i;
      for (int32_t p = 0; p < kc; p++) wasm_v128_store(dst + p * MR, load_f16x4(src + (int64_t)p * A->rows));
    } else if (full) {
      const uint16_t* r0 = (const uint16_t*)A->base + (int64_t)i * A->cols + p0;
      const uint16_t* r1 = r0 + A->cols, *r2 = r1 + A->cols, *r3 = r2 + A->cols;
      int32_t p = 0;
      for (; p + 4 <= kc; p += 4) {
        v128_t c0, c1, c2, c3;
        transpose4(load_f16x4(r0 + p), load_f16x4(r1 + p), load_f16x4(r2 + p), load_f16x4(r3 + p), &c0, &c1, &c2, &c3);
        wasm_v128_store(dst + p * MR, c0);
        wasm_v128_store(dst + (p + 1) * MR, c1);
        wasm_v128_store(dst + (p + 2) * MR, c2);
        wasm_v128_store(dst + (p + 3) * MR, c3);
      }
      for (; p < kc; p++) { dst[p * MR] = f16_to_f32(r0[p]); dst[p * MR + 1] = f16_to_f32(r1[p]); dst[p * MR + 2] = f16_to_f32(r2[p]); dst[p * MR + 3] = f16_to_f32(r3[p]); }
    } else {
      for (int32_t p = 0; p < kc; p++)
        for (int ii = 0; ii < MR; ii++) dst[p * MR + ii] = (i + ii < A->rows && q * MR + ii < mc) ? op_at(A, i + ii, p0 + p) : 0.0f;
    }
  }
}

/**
 * Packs depth [p0, p0+kc) x columns [j0, j0+nc) of B into NR-column panels:
 * panel q, depth p holds B(p0+p, j0+q*NR+jj) at [q*NR*kc + p*NR + jj] (0 past column n).
 */
static void pack_b(const Operand* B, int32_t p0, int32_t kc, int32_t j0, int32_t nc, float* dst) {
  for (int32_t q = 0; q * NR < nc; q++, dst += NR * kc) {
    int32_t j = j0 + q * NR;
    int full = j + NR <= B->cols && q * NR + NR <= nc;
    if (full && B->dt == DT_F32 && !B->transposed) {
      const float* src = (const float*)B->base + (int64_t)p0 * B->cols + j;
      for (int32_t p = 0; p < kc; p++) {
        wasm_v128_store(dst + p * NR, wasm_v128_load(src + (int64_t)p * B->cols));
        wasm_v128_store(dst + p * NR + 4, wasm_v128_load(src + (int64_t)p * B->cols + 4));
      }
    } else if (full && B->dt == DT_F32) {
      // B(p, j+jj) = stored[(j+jj) * rows + p]: eight columns, contiguous along p; transpose 4x4 blocks.
      const float* c[NR];
      for (int jj = 0; jj < NR; jj++) c[jj] = (const float*)B->base + (int64_t)(j + jj) * B->rows + p0;
      int32_t p = 0;
      for (; p + 4 <= kc; p += 4) {
        v128_t a0, a1, a2, a3, b0, b1, b2, b3;
        transpose4(wasm_v128_load(c[0] + p), wasm_v128_load(c[1] + p), wasm_v128_load(c[2] + p), wasm_v128_load(c[3] + p), &a0, &a1, &a2, &a3);
        transpose4(wasm_v128_load(c[4] + p), wasm_v128_load(c[5] + p), wasm_v128_load(c[6] + p), wasm_v128_load(c[7] + p), &b0, &b1, &b2, &b3);
        wasm_v128_store(dst + p * NR, a0); wasm_v128_store(dst + p * NR + 4, b0);
        wasm_v128_store(dst + (p + 1) * NR, a1); wasm_v128_store(dst + (p + 1) * NR + 4, b1);
        wasm_v128_store(dst + (p + 2) * NR, a2); wasm_v128_store(dst + (p + 2) * NR + 4, b2);
        wasm_v128_store(dst + (p + 3) * NR, a3); wasm_v128_store(dst + (p + 3) * NR + 4, b3);
      }
      for (; p < kc; p++) for (int jj = 0; jj < NR; jj++) dst[p * NR + jj] = c[jj][p];
    } else if (full && !B->transposed) {
      const uint16_t* src = (const uint16_t*)B->base + (int64_t)p0 * B->cols + j;
      for (int32_t p = 0; p < kc; p++) {
        wasm_v128_store(dst + p * NR, load_f16x4(src + (int64_t)p * B->cols));
        wasm_v128_store(dst + p * NR + 4, load_f16x4(src + (int64_t)p * B->cols + 4));
      }
    } else if (full) {
      const uint16_t* c[NR];
      for (int jj = 0; jj < NR; jj++) c[jj] = (const uint16_t*)B->base + (int64_t)(j + jj) * B->rows + p0;
      int32_t p = 0;
      for (; p + 4 <= kc; p += 4) {
        v128_t a0, a1, a2, a3, b0, b1, b2, b3;
        transpose4(load_f16x4(c[0] + p), load_f16x4(c[1] + p), load_f16x4(c[2] + p), load_f16x4(c[3] + p), &a0, &a1, &a2, &a3);
        transpose4(load_f16x4(c[4] + p), load_f16x4(c[5] + p), load_f16x4(c[6] + p), load_f16x4(c[7] + p), &b0, &b1, &b2, &b3);
        wasm_v128_store(dst + p * NR, a0); wasm_v128_store(dst + p * NR + 4, b0);
        wasm_v128_store(dst + (p + 1) * NR, a1); wasm_v128_store(dst + (p + 1) * NR + 4, b1);
        wasm_v128_store(dst + (p + 2) * NR, a2); wasm_v128_store(dst + (p + 2) * NR + 4, b2);
        wasm_v128_store(dst + (p + 3) * NR, a3); wasm_v128_store(dst + (p + 3) * NR + 4, b3);
      }
      for (; p < kc; p++) for (int jj = 0; jj < NR; jj++) dst[p * NR + jj] = f16_to_f32(c[jj][p]);
    } else {
      for (int32_t p = 0; p < kc; p++)
        for (int jj = 0; jj < NR; jj++) dst[p * NR + jj] = (j + jj < B->cols && q * NR + jj < nc) ? op_at(B, p0 + p, j + jj) : 0.0f;
    }
  }
}

/** C (MR x NR, row stride ldc) = (first ? 0 : C) + Apanel @ Bpanel over kc. */
static void micro_kernel(int32_t kc, const float* a, const float* b, float* c, int32_t ldc, int first) {
  v128_t c00 = wasm_f32x4_splat(0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
  for (int32_t p = 0; p < kc; p++, a += MR, b += NR) {
    v128_t b0 = wasm_v128_load(b), b1 = wasm_v128_load(b + 4);
    v128_t a0 = wasm_v128_load32_splat(a);
    c00 = wasm_f32x4_add(c00, wasm_f32x4_mul(a0, b0)); c01 = wasm_f32x4_add(c01, wasm_f32x4_mul(a0, b1));
    v128_t a1 = wasm_v128_load32_splat(a + 1);
    c10 = wasm_f32x4_add(c10, wasm_f32x4_mul(a1, b0)); c11 = wasm_f32x4_add(c11, wasm_f32x4_mul(a1, b1));
    v128_t a2 = wasm_v128_load32_splat(a + 2);
    c20 = wasm_f32x4_add(c20, wasm_f32x4_mul(a2, b0)); c21 = wasm_f32x4_add(c21, wasm_f32x4_mul(a2, b1));
    v128_t a3 = wasm_v128_load32_splat(a + 3);
    c30 = wasm_f32x4_add(c30, wasm_f32x4_mul(a3, b0)); c31 = wasm_f32x4_add(c31, wasm_f32x4_mul(a3, b1));
  }
  if (!first) {
    c00 = wasm_f32x4_add(c00, wasm_v128_load(c)); c01 = wasm_f32x4_add(c01, wasm_v128_load(c + 4));
    c10 = wasm_f32x4_add(c10, wasm_v128_load(c + ldc)); c11 = wasm_f32x4_add(c11, wasm_v128_load(c + ldc + 4));
    c20 = wasm_f32x4_add(c20, wasm_v128_load(c + 2 * ldc)); c21 = wasm_f32x4_add(c21, wasm_v128_load(c + 2 * ldc + 4));
    c30 = wasm_f32x4_add(c30, wasm_v128_load(c + 3 * ldc)); c31 = wasm_f32x4_add(c31, wasm_v128_load(c + 3 * ldc + 4));
  }
  wasm_v128_store(c, c00); wasm_v128_store(c + 4, c01);
  wasm_v128_store(c + ldc, c10); wasm_v128_store(c + ldc + 4, c11);
  wasm_v128_store(c + 2 * ldc, c20); wasm_v128_store(c + 2 * ldc + 4, c21);
  wasm_v128_store(c + 3 * ldc, c30); wasm_v128_store(c + 3 * ldc + 4, c31);
}

/** An edge block: the full MR x NR product into a temporary, then only the valid rows x cols stored or added. */
static void micro_kernel_edge(int32_t kc, const float* a, const float* b, float* c, int32_t ldc, int first, int32_t rows, int32_t cols) {
  float tmp[MR * NR];
  micro_kernel(kc, a, b, tmp, NR, 1);
  for (int32_t i = 0; i < rows; i++)
    for (int32_t j = 0; j < cols; j++) c[i * ldc + j] = first ? tmp[i * NR + j] : c[i * ldc + j] + tmp[i * NR + j];
}

EXPORT(k_matmul) void k_matmul(int32_t batch, int32_t m, int32_t n, int32_t k,
                               const uint8_t* a, int32_t aBatchStride, int aTransposed,
                               const uint8_t* b, int32_t bBatchStride, int bTransposed,
                               uint8_t* out, int dt, uint8_t* workspaces, int32_t workspaceBytes, int tid, int nt) {
  uint8_t* workspace = workspaces + (int64_t)tid * workspaceBytes;
  int elem = dt == DT_F32 ? 4 : 2;
  float* packA = (float*)workspace;
  float* packB = packA + MC * KC;
  // The task's C block accumulates in a dense scratch, not in the output: with a
  // power-of-two row stride (n = 1024, 32000 * 4 bytes = 2^7 * 1000) the output's rows
  // share cache sets and evict each other between micro-kernel calls.
  float* acc = packB + KC * NC;
  // Equal k slices no deeper than KC, so no slice is a thin leftover.
  int32_t slices = (k + KC - 1) / KC;
  int32_t sliceDepth = slices == 0 ? 0 : ((k + slices - 1) / slices + 3) & ~3;
  if (sliceDepth > KC) sliceDepth = KC;
  // Tasks: equal row chunks (at most CHUNK rows) x equal column panels (at most NC
  // columns, a multiple of NR). With too few tasks to keep every thread busy, chunks
  // shrink towards MC rows first (B is cheaper to repack than A is wide), then panels.
  int32_t mChunks = (m + CHUNK - 1) / CHUNK, nPanels = (n + NC - 1) / NC;
  while ((int64_t)batch * mChunks * nPanels < 2 * nt && (m + mChunks) / (mChunks + 1) >= MC) mChunks++;
  while ((int64_t)batch * mChunks * nPanels < 2 * nt && (n + nPanels) / (nPanels + 1) >= 2 * NR) nPanels++;
  int32_t chunkRows = (m + mChunks - 1) / mChunks;
  chunkRows = (chunkRows + MR - 1) / MR * MR;
  int32_t panelCols = (n + nPanels - 1) / nPanels;
  panelCols = (panelCols + NR - 1) / NR * NR;
  if (panelCols > NC) panelCols = NC;
  mChunks = (m + chunkRows - 1) / chunkRows;
  nPanels = (n + panelCols - 1) / panelCols;
  int64_t total = (int64_t)batch * mChunks * nPanels;
  int64_t t0 = split_begin(total, tid, nt), t1 = split_end(total, tid, nt);
  for (int64_t t = t0; t < t1; t++) {
    int32_t bi = (int32_t)(t / ((int64_t)mChunks * nPanels));
    int32_t rem = (int32_t)(t % ((int64_t)mChunks * nPanels));
    int32_t jt = rem / mChunks, ct = rem % mChunks;
    int32_t i0 = ct * chunkRows, j0 = jt * panelCols;
    int32_t rows = m - i0 < chunkRows ? m - i0 : chunkRows, nc = n - j0 < panelCols ? n - j0 : panelCols;
    Operand A = { a + (int64_t)bi * aBatchStride * elem, m, k, aTransposed, dt };
    Operand B = { b + (int64_t)bi * bBatchStride * elem, k, n, bTransposed, dt };
    float* c = acc;
    const int32_t ldc = NC;
    if (k == 0) {
      for (int32_t i = 0; i < rows; i++) for (int32_t j = 0; j < nc; j++) c[i * ldc + j] = 0;
    }
    for (int32_t p0 = 0; p0 < k; p0 += sliceDepth) {
      int32_t kc = k - p0 < sliceDepth ? k - p0 : sliceDepth;
      int first = p0 == 0;
      pack_b(&B, p0, kc, j0, nc, packB);
      for (int32_t ib = 0; ib < rows; ib += MC) {
        int32_t mc = rows - ib < MC ? rows - ib : MC;
        pack_a(&A, i0 + ib, mc, p0, kc, packA);
        for (int32_t jr = 0; jr < nc; jr += NR) {
          int32_t cols = nc - jr < NR ? nc - jr : NR;
          for (int32_t ir = 0; ir < mc; ir += MR) {
            int32_t rr = mc - ir < MR ? mc - ir : MR;
            float* cb = c + (int64_t)(ib + ir) * ldc + jr;
            if (rr == MR && cols == NR) micro_kernel(kc, packA + ir * kc, packB + jr * kc, cb, ldc, first);
            else micro_kernel_edge(kc, packA + ir * kc, packB + jr * kc, cb, ldc, first, rr, cols);
          }
        }
      }
    }
    for (int32_t i = 0; i < rows; i++) {
      int64_t row = ((int64_t)bi * m + i0 + i) * n + j0;
      if (dt == DT_F32) __builtin_memcpy((float*)out + row, acc + i * NC, (uint32_t)nc * 4);
      else for (int32_t j = 0; j < nc; j++) ((uint16_t*)out)[row + j] = f64_to_f16(acc[i * NC + j]);
    }
  }
}
