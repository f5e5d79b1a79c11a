// One attention task of the CPU backend for many query vectors at once (prefill, vision): the
// query vectors of a block of rows that share one kv head, laid out transposed so every inner loop
// runs over query vectors, contiguous and independent — the compiler vectorises them without
// reassociating sums. Included by each kernels_<isa>.cc, so the same loops are compiled for AVX2,
// NEON and the portable baseline. Online softmax over key blocks: only a [keys, vectors] tile of
// scores exists at a time.
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
constexpr int kChunk = 16;  // query vectors per register block (two AVX2 / four NEON registers)

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
    // scores[j, n] = sum_d k[j, d] * qt[d, n], kChunk vectors at a time held in registers over d.
    for (int j = 0; j < nk; ++j) {
      float* s = st.data() + static_cast<size_t>(j) * nv;
      const float* kr = kbase + (j0 + j) * kv_stride;
      for (int n0 = 0; n0 < nv; n0 += kChunk) {
        if (n0 + kChunk <= nv) {
          float acc[kChunk] = {};
          for (int d = 0; d < hd; ++d) {
            const float kd = kr[d];
            const float* qd = qt.data() + static_cast<size_t>(d) * nv + n0;
            for (int n = 0; n < kChunk; ++n) acc[n] += kd * qd[n];
          }
          std::copy(acc, acc + kChunk, s + n0);
        } else {
          std::fill(s + n0, s + nv, 0.f);
          for (int d = 0; d < hd; ++d)
            for (int n = n0; n < nv; ++n) s[n] += kr[d] * qt[static_cast<size_t>(d) * nv + n];
        }
      }
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
    // ot[d, n] += sum_j v[j, d] * p[j, n], kChunk vectors at a time held in registers over j.
    for (int d = 0; d < hd; ++d) {
      float* o = ot.data() + static_cast<size_t>(d) * nv;
      for (int n0 = 0; n0 < nv; n0 += kChunk) {
        if (n0 + kChunk <= nv) {
          float acc[kChunk];
          std::copy(o + n0, o + n0 + kChunk, acc);
          for (int j = 0; j < nk; ++j) {
            const float vd = vbase[(j0 + j) * kv_stride + d];
            const float* p = st.data() + static_cast<size_t>(j) * nv + n0;
            for (int n = 0; n < kChunk; ++n) acc[n] += vd * p[n];
          }
          std::copy(acc, acc + kChunk, o + n0);
        } else {
          for (int j = 0; j < nk; ++j)
            for (int n = n0; n < nv; ++n) o[n] += vbase[(j0 + j) * kv_stride + d] * st[static_cast<size_t>(j) * nv + n];
        }
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
