// One attention task of the CPU backend for many query vectors at once (prefill, vision): the
// query vectors of a block of rows that share one kv head, laid out transposed so every inner loop
// runs over query vectors, contiguous and independent — the compiler vectorises them without
// reassociating sums. Included by each kernels_<isa>.cc, so the same loops are compiled for
// AVX-512, AVX2, NEON and the portable baseline. Online softmax over key blocks: only a
// [keys, vectors] tile of scores exists at a time.
#pragma once
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels.h"

namespace px {
// Internal linkage on purpose: each kernels_<isa>.cc gets its own copy compiled with its own
// instruction set; a shared inline definition would let the linker keep the AVX2 one for all.
namespace {
namespace attention_tile_impl {

constexpr int kKeyBlock = 64;
constexpr int kRows = 4;  // keys (scores) or output dims (P·V) sharing each load of query vectors

// s[r][n] = sum_d k_r[d] * qt[d, n] for kRows keys and C query vectors (a full chunk at n0).
template <int C>
inline void score_rows(const float* const* k, const float* qt, int nv, int hd, float* const* s) {
  float acc[kRows][C] = {};
  for (int d = 0; d < hd; ++d) {
    const float* qd = qt + static_cast<size_t>(d) * nv;
    for (int r = 0; r < kRows; ++r)
      for (int n = 0; n < C; ++n) acc[r][n] += k[r][d] * qd[n];
  }
  for (int r = 0; r < kRows; ++r) std::copy(acc[r], acc[r] + C, s[r]);
}

// o[r][n] += sum_j v[j, d + r] * p[j, n] for kRows output dims and C query vectors.
template <int C>
inline void value_rows(const float* v, size_t kv_stride, int nk, const float* p, int nv, float* const* o) {
  float acc[kRows][C];
  for (int r = 0; r < kRows; ++r) std::copy(o[r], o[r] + C, acc[r]);
  for (int j = 0; j < nk; ++j) {
    const float* vj = v + j * kv_stride;
    const float* pj = p + static_cast<size_t>(j) * nv;
    for (int r = 0; r < kRows; ++r)
      for (int n = 0; n < C; ++n) acc[r][n] += vj[r] * pj[n];
  }
  for (int r = 0; r < kRows; ++r) std::copy(acc[r], acc[r] + C, o[r]);
}

// kChunk: query vectors per register block (a multiple of the vector width; 16 = two AVX2 or four
// NEON registers, 32 = two AVX-512 ones). kRows keys or dims share each load of query vectors, so
// the loops do kRows FMAs per such load rather than one.
template <int kChunk>
inline void run(const AttentionTile& a) {
  const int group = a.H / a.K, nv = a.rows * group, hd = a.hd;
  const size_t q_stride = static_cast<size_t>(a.H) * hd, kv_stride = a.kv_stride;
  thread_local std::vector<float> qt, ot, st, run_max, run_sum, factor;
  qt.resize(static_cast<size_t>(hd) * nv);   // [hd, nv] queries, pre-scaled
  ot.assign(static_cast<size_t>(hd) * nv, 0.f);  // [hd, nv] unnormalised outputs
  st.resize(static_cast<size_t>(kKeyBlock) * nv);  // [keys, nv] scores, then probabilities
  run_max.assign(nv, -INFINITY);
  run_sum.assign(nv, 0.f);
  factor.resize(nv);
  // vector n = (row n / group, head g*group + n % group)
  auto offset = [&](int n) { return (a.row0 + n / group) * q_stride + static_cast<size_t>(a.kv_head * group + n % group) * hd; };
  auto visible = [&](int n) { return a.positions ? std::min(a.Tk, a.positions[a.row0 + n / group] + 1) : a.Tk; };
  for (int n = 0; n < nv; ++n)
    for (int d = 0; d < hd; ++d) qt[static_cast<size_t>(d) * nv + n] = a.q[offset(n) + d] * a.scale;

  const int keys = visible(nv - 1), first_limit = visible(0);
  const float* kbase = a.k;  // already at this kv head
  const float* vbase = a.v;
  for (int j0 = 0; j0 < keys; j0 += kKeyBlock) {
    const int nk = std::min(kKeyBlock, keys - j0);
    // scores[j, n] = sum_d k[j, d] * qt[d, n]: kRows keys x kChunk vectors held in registers over d.
    const int whole = nv / kChunk * kChunk, grouped_keys = nk / kRows * kRows;
    for (int j = 0; j < grouped_keys; j += kRows) {
      const float* k[kRows];
      float* s[kRows];
      for (int r = 0; r < kRows; ++r) k[r] = kbase + (j0 + j + r) * kv_stride;
      for (int n0 = 0; n0 < whole; n0 += kChunk) {
        for (int r = 0; r < kRows; ++r) s[r] = st.data() + static_cast<size_t>(j + r) * nv + n0;
        score_rows<kChunk>(k, qt.data() + n0, nv, hd, s);
      }
    }
    for (int j = 0; j < nk; ++j) {  // keys past the last group of kRows; vectors past the last chunk
      const int n_from = j < grouped_keys ? whole : 0;
      if (n_from == nv) continue;
      float* s = st.data() + static_cast<size_t>(j) * nv;
      const float* kr = kbase + (j0 + j) * kv_stride;
      std::fill(s + n_from, s + nv, 0.f);
      for (int d = 0; d < hd; ++d)
        for (int n = n_from; n < nv; ++n) s[n] += kr[d] * qt[static_cast<size_t>(d) * nv + n];
    }
    if (j0 + nk > first_limit)  // the causal edge crosses this block
      for (int j = 0; j < nk; ++j)
        for (int n = 0; n < nv; ++n)
          if (j0 + j >= visible(n)) st[static_cast<size_t>(j) * nv + n] = -INFINITY;
    for (int n = 0; n < nv; ++n) factor[n] = run_max[n];
    for (int j = 0; j < nk; ++j) {
      const float* s = st.data() + static_cast<size_t>(j) * nv;
      for (int n = 0; n < nv; ++n) run_max[n] = std::max(run_max[n], s[n]);
    }
    for (int n = 0; n < nv; ++n) {
      factor[n] = std::exp(factor[n] - run_max[n]);  // 0 on the first block, 1 when the max holds
      run_sum[n] *= factor[n];
    }
    for (int d = 0; d < hd; ++d) {
      float* o = ot.data() + static_cast<size_t>(d) * nv;
      for (int n = 0; n < nv; ++n) o[n] *= factor[n];
    }
    for (int j = 0; j < nk; ++j) {
      float* s = st.data() + static_cast<size_t>(j) * nv;
      for (int n = 0; n < nv; ++n) {
        s[n] = std::exp(s[n] - run_max[n]);
        run_sum[n] += s[n];
      }
    }
    // ot[d, n] += sum_j v[j, d] * p[j, n]: kRows dims x kChunk vectors held in registers over j.
    const int grouped_dims = hd / kRows * kRows;
    for (int d = 0; d < grouped_dims; d += kRows)
      for (int n0 = 0; n0 < whole; n0 += kChunk) {
        float* o[kRows];
        for (int r = 0; r < kRows; ++r) o[r] = ot.data() + static_cast<size_t>(d + r) * nv + n0;
        value_rows<kChunk>(vbase + j0 * kv_stride + d, kv_stride, nk, st.data() + n0, nv, o);
      }
    for (int d = 0; d < hd; ++d) {  // dims past the last group of kRows; vectors past the last chunk
      const int n_from = d < grouped_dims ? whole : 0;
      if (n_from == nv) continue;
      float* o = ot.data() + static_cast<size_t>(d) * nv;
      for (int j = 0; j < nk; ++j) {
        const float vd = vbase[(j0 + j) * kv_stride + d];
        const float* p = st.data() + static_cast<size_t>(j) * nv;
        for (int n = n_from; n < nv; ++n) o[n] += vd * p[n];
      }
    }
  }
  for (int n = 0; n < nv; ++n) {
    const float inv = 1.f / run_sum[n];
    float* dst = a.out + offset(n);
    for (int d = 0; d < hd; ++d) dst[d] = ot[static_cast<size_t>(d) * nv + n] * inv;
  }
}

}  // namespace attention_tile_impl
}  // namespace
}  // namespace px
