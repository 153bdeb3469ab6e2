// Walks a flat range of an N-d index space in segments along the last axis,
// for up to three strided operands at once. The JS side collapses axes first,
// so most walks are one long segment per row.
//
// Descriptor layout (int32): [rank, shape[rank], nops, (offset, strides[rank]) x nops].
#pragma once
#include "common.h"

#define ND_MAX_RANK 16
#define ND_MAX_OPS 3

typedef struct {
  int rank, nops;
  const int32_t* shape;
  const int32_t* strides[ND_MAX_OPS];
  int32_t off[ND_MAX_OPS];   // offsets at the current position
  int32_t idx[ND_MAX_RANK];
  int64_t remaining;
} NdIter;

INLINE int64_t nd_numel(const int32_t* desc) {
  int64_t n = 1;
  for (int i = 0; i < desc[0]; i++) n *= desc[1 + i];
  return n;
}

/** Positions the walk at flat element `begin`, to cover `count` elements. */
INLINE void nd_init(NdIter* it, const int32_t* desc, int64_t begin, int64_t count) {
  it->rank = desc[0];
  it->shape = desc + 1;
  it->nops = desc[1 + it->rank];
  const int32_t* p = desc + 2 + it->rank;
  for (int j = 0; j < it->nops; j++) {
    it->off[j] = p[0];
    it->strides[j] = p + 1;
    p += 1 + it->rank;
  }
  int64_t rest = begin;
  for (int a = it->rank - 1; a >= 0; a--) {
    int32_t d = it->shape[a];
    it->idx[a] = (int32_t)(rest % d);
    rest /= d;
    for (int j = 0; j < it->nops; j++) it->off[j] += it->idx[a] * it->strides[j][a];
  }
  it->remaining = count;
}

/** The next segment: its length, and operand j's offset in off[j] and inner stride in inner[j]. Returns 0 when done. */
INLINE int nd_next(NdIter* it, int32_t* len, int32_t off[ND_MAX_OPS]) {
  if (it->remaining <= 0) return 0;
  int last = it->rank - 1;
  if (last < 0) { *len = 1; for (int j = 0; j < it->nops; j++) off[j] = it->off[j]; it->remaining = 0; return 1; }
  int32_t avail = it->shape[last] - it->idx[last];
  int32_t n = it->remaining < avail ? (int32_t)it->remaining : avail;
  *len = n;
  for (int j = 0; j < it->nops; j++) off[j] = it->off[j];
  it->remaining -= n;
  // Advance by n along the last axis, carrying into outer axes.
  it->idx[last] += n;
  for (int j = 0; j < it->nops; j++) it->off[j] += n * it->strides[j][last];
  for (int a = last; a > 0 && it->idx[a] == it->shape[a]; a--) {
    for (int j = 0; j < it->nops; j++) it->off[j] += it->strides[j][a - 1] - it->shape[a] * it->strides[j][a];
    it->idx[a] = 0;
    it->idx[a - 1]++;
  }
  return 1;
}

INLINE int32_t nd_inner(const NdIter* it, int j) { return it->rank == 0 ? 1 : it->strides[j][it->rank - 1]; }
