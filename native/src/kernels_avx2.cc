// AVX2+FMA kernel set (x86-64). Compiled alone with -mavx2 -mfma so the rest of the addon runs on
// any x86-64; only called after runtime dispatch has checked the processor (kernels.cc).
//
// matmul_bf16 has two regimes:
//  * T == 1 (decode): a matrix-vector product limited by how fast the bf16 weights stream from
//    memory. Four rows at a time, two 8-wide accumulators per row, bf16 widened in registers.
//  * T > 1 (prefill, vision): compute-bound. A block of kRowBlock weight rows x kDepth inputs is
//    widened to fp32 into a per-thread buffer (fits L1/L2), then a 4-row x 3-token register tile
//    (12 accumulators) sweeps a block of tokens, so each widened weight is reused kTokenBlock times.
// matmul_q8_0 / matmul_q4_0 use the same fp32 tiles for T > kQuantizedActsRows (the blocks are
// dequantized into the buffer instead of widened); for decode they multiply int8 activations by
// the int8 weights (Q4_0: unsigned nibbles) with maddubs, one fp32 scale product per block.
#include "kernels.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#include "attention_tile.h"
#include "quant_blocks.h"

#include <algorithm>
#include <vector>

namespace px {
namespace {

constexpr int kRowBlock = 32;  // weight rows widened at a time
constexpr int kDepth = 256;    // inputs per block (kRowBlock*kDepth*4 bytes = 32 KiB)
constexpr int kTokenBlock = 48;  // tokens per block, a multiple of the 3-token tile

inline __m256 load_bf16x8(const uint16_t* p) {
  __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

inline void store(float* out, float v, bool accumulate) { *out = accumulate ? *out + v : v; }

// y[r] for r in [r0, r1): one token.
void matvec(float* y, const float* x, const uint16_t* w, int in, int r0, int r1, bool accumulate) {
  const int in8 = in & ~7;
  int r = r0;
  for (; r + 4 <= r1; r += 4) {
    const uint16_t* w0 = w + static_cast<size_t>(r) * in;
    const uint16_t* w1 = w0 + in;
    const uint16_t* w2 = w1 + in;
    const uint16_t* w3 = w2 + in;
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(),
           a3 = _mm256_setzero_ps();
    for (int i = 0; i < in8; i += 8) {
      __m256 xv = _mm256_loadu_ps(x + i);
      a0 = _mm256_fmadd_ps(load_bf16x8(w0 + i), xv, a0);
      a1 = _mm256_fmadd_ps(load_bf16x8(w1 + i), xv, a1);
      a2 = _mm256_fmadd_ps(load_bf16x8(w2 + i), xv, a2);
      a3 = _mm256_fmadd_ps(load_bf16x8(w3 + i), xv, a3);
    }
    float s0 = hsum(a0), s1 = hsum(a1), s2 = hsum(a2), s3 = hsum(a3);
    for (int i = in8; i < in; ++i) {
      s0 += x[i] * bf16_to_f32(w0[i]);
      s1 += x[i] * bf16_to_f32(w1[i]);
      s2 += x[i] * bf16_to_f32(w2[i]);
      s3 += x[i] * bf16_to_f32(w3[i]);
    }
    store(y + r, s0, accumulate);
    store(y + r + 1, s1, accumulate);
    store(y + r + 2, s2, accumulate);
    store(y + r + 3, s3, accumulate);
  }
  for (; r < r1; ++r) {
    const uint16_t* wr = w + static_cast<size_t>(r) * in;
    __m256 a = _mm256_setzero_ps();
    for (int i = 0; i < in8; i += 8) a = _mm256_fmadd_ps(load_bf16x8(wr + i), _mm256_loadu_ps(x + i), a);
    float s = hsum(a);
    for (int i = in8; i < in; ++i) s += x[i] * bf16_to_f32(wr[i]);
    store(y + r, s, accumulate);
  }
}

// MR widened weight rows (stride kDepth) x NR tokens (stride in) over `depth` inputs; adds the
// partial sums into y (or stores them when `overwrite`).
template <int MR, int NR>
inline void tile(float* y, int ldy, const float* x, int in, const float* wb, int depth, bool overwrite) {
  __m256 acc[MR][NR];
  for (int a = 0; a < MR; ++a)
    for (int b = 0; b < NR; ++b) acc[a][b] = _mm256_setzero_ps();
  const int d8 = depth & ~7;
  for (int i = 0; i < d8; i += 8) {
    __m256 xv[NR];
    for (int b = 0; b < NR; ++b) xv[b] = _mm256_loadu_ps(x + static_cast<size_t>(b) * in + i);
    for (int a = 0; a < MR; ++a) {
      __m256 wv = _mm256_loadu_ps(wb + a * kDepth + i);
      for (int b = 0; b < NR; ++b) acc[a][b] = _mm256_fmadd_ps(wv, xv[b], acc[a][b]);
    }
  }
  for (int a = 0; a < MR; ++a)
    for (int b = 0; b < NR; ++b) {
      float s = hsum(acc[a][b]);
      for (int i = d8; i < depth; ++i) s += wb[a * kDepth + i] * x[static_cast<size_t>(b) * in + i];
      float* out = y + static_cast<size_t>(b) * ldy + a;
      *out = overwrite ? s : *out + s;
    }
}

template <int MR>
void tile_tokens(float* y, int ldy, const float* x, int in, const float* wb, int depth, int T, bool overwrite) {
  int t = 0;
  for (; t + 3 <= T; t += 3)
    tile<MR, 3>(y + static_cast<size_t>(t) * ldy, ldy, x + static_cast<size_t>(t) * in, in, wb, depth, overwrite);
  float* yt = y + static_cast<size_t>(t) * ldy;
  const float* xt = x + static_cast<size_t>(t) * in;
  if (T - t == 2) tile<MR, 2>(yt, ldy, xt, in, wb, depth, overwrite);
  if (T - t == 1) tile<MR, 1>(yt, ldy, xt, in, wb, depth, overwrite);
}

// y[t, r] for r in [r0, r1), all T tokens, from fp32 tiles; widen(row, k0, depth, dst) writes
// inputs [k0, k0 + depth) of weight row `row` as fp32.
template <typename Widen>
void gemm(float* y, int ldy, const float* x, const Widen& widen, int T, int in, int r0, int r1, bool accumulate) {
  thread_local std::vector<float> wbuf(static_cast<size_t>(kRowBlock) * kDepth);
  for (int k0 = 0; k0 < in; k0 += kDepth) {
    const int depth = std::min(kDepth, in - k0);
    const bool overwrite = k0 == 0 && !accumulate;
    // Token blocks keep the x slab (kTokenBlock x kDepth floats) in L1/L2 while every weight row
    // block passes over it; re-widening the weights per token block costs ~1/kTokenBlock extra.
    for (int t0 = 0; t0 < T; t0 += kTokenBlock) {
      const int nt = std::min(kTokenBlock, T - t0);
      float* yt = y + static_cast<size_t>(t0) * ldy;
      const float* xt = x + static_cast<size_t>(t0) * in + k0;
      for (int rb = r0; rb < r1; rb += kRowBlock) {
        const int rows = std::min(kRowBlock, r1 - rb);
        for (int a = 0; a < rows; ++a) widen(rb + a, k0, depth, wbuf.data() + static_cast<size_t>(a) * kDepth);
        int a = 0;
        for (; a + 4 <= rows; a += 4)
          tile_tokens<4>(yt + rb + a, ldy, xt, in, wbuf.data() + static_cast<size_t>(a) * kDepth, depth, nt, overwrite);
        for (; a < rows; ++a)
          tile_tokens<1>(yt + rb + a, ldy, xt, in, wbuf.data() + static_cast<size_t>(a) * kDepth, depth, nt, overwrite);
      }
    }
  }
}

void matmul_avx2(float* y, int ldy, const float* x, const uint16_t* w, int T, int in, int r0, int r1,
                 bool accumulate) {
  if (T == 1) return matvec(y, x, w, in, r0, r1, accumulate);
  gemm(y, ldy, x, [&](int row, int k0, int depth, float* dst) {
    const uint16_t* src = w + static_cast<size_t>(row) * in + k0;
    int i = 0;
    for (; i + 8 <= depth; i += 8) _mm256_storeu_ps(dst + i, load_bf16x8(src + i));
    for (; i < depth; ++i) dst[i] = bf16_to_f32(src[i]);
  }, T, in, r0, r1, accumulate);
}

// ---- block weights ------------------------------------------------------------------------------

inline float f16(uint16_t h) { return _cvtsh_ss(h); }

// 32 int8 values of a block -> four fp32 vectors times d.
inline void dequant_i8x32(const __m256i q, float d, float* dst) {
  const __m256 dv = _mm256_set1_ps(d);
  const __m128i lo = _mm256_castsi256_si128(q), hi = _mm256_extracti128_si256(q, 1);
  _mm256_storeu_ps(dst, _mm256_mul_ps(dv, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(lo))));
  _mm256_storeu_ps(dst + 8, _mm256_mul_ps(dv, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(lo, 8)))));
  _mm256_storeu_ps(dst + 16, _mm256_mul_ps(dv, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(hi))));
  _mm256_storeu_ps(dst + 24, _mm256_mul_ps(dv, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(hi, 8)))));
}

// The 32 nibbles of a Q4_0 block as bytes 0..15, in element order (low nibbles, then high).
inline __m256i nibbles(const uint8_t* n) {
  const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(n));
  return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(b, 4), b), _mm256_set1_epi8(15));
}

struct Q8Block {
  using Type = BlockQ8_0;
  static __m256i values(const BlockQ8_0& b) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.q)); }
  // sum(w * q) per 32-bit lane: maddubs needs one unsigned side, so |w| against q carrying w's sign.
  static __m256i dot(const BlockQ8_0& b, __m256i q) {
    const __m256i w = values(b);
    return _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(q, w)), _mm256_set1_epi16(1));
  }
  static constexpr float offset = 0;
};
struct Q4Block {
  using Type = BlockQ4_0;
  static __m256i values(const BlockQ4_0& b) { return _mm256_sub_epi8(nibbles(b.n), _mm256_set1_epi8(8)); }
  // sum(n * q) with n the unsigned nibbles; the -8 comes back through ds.
  static __m256i dot(const BlockQ4_0& b, __m256i q) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(nibbles(b.n), q), _mm256_set1_epi16(1));
  }
  static constexpr float offset = 8;
};

// One token against rows [r0, r1), four rows at a time sharing each activation block.
template <typename B>
void matvec_blocks(float* y, const QuantizedActs& xq, size_t t, const typename B::Type* w, int nb, int r0, int r1,
                   bool accumulate) {
  const int8_t* q = xq.q + t * nb * kBlock;
  const float *d = xq.d + t * nb, *ds = xq.ds + t * nb;
  int r = r0;
  for (; r + 4 <= r1; r += 4) {
    const typename B::Type* rows[4] = {w + static_cast<size_t>(r) * nb, w + static_cast<size_t>(r + 1) * nb,
                                       w + static_cast<size_t>(r + 2) * nb, w + static_cast<size_t>(r + 3) * nb};
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
    float corr[4] = {0, 0, 0, 0};
    for (int b = 0; b < nb; ++b) {
      const __m256i qv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + b * kBlock));
      for (int a = 0; a < 4; ++a) {
        const float dw = f16(rows[a][b].d);
        acc[a] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(B::dot(rows[a][b], qv)), _mm256_set1_ps(dw * d[b]), acc[a]);
        corr[a] += dw * ds[b];
      }
    }
    for (int a = 0; a < 4; ++a) store(y + r + a, hsum(acc[a]) - B::offset * corr[a], accumulate);
  }
  for (; r < r1; ++r) {
    const typename B::Type* row = w + static_cast<size_t>(r) * nb;
    __m256 acc = _mm256_setzero_ps();
    float corr = 0;
    for (int b = 0; b < nb; ++b) {
      const float dw = f16(row[b].d);
      const __m256i qv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + b * kBlock));
      acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(B::dot(row[b], qv)), _mm256_set1_ps(dw * d[b]), acc);
      corr += dw * ds[b];
    }
    store(y + r, hsum(acc) - B::offset * corr, accumulate);
  }
}

template <typename B>
void matmul_blocks_avx2(float* y, int ldy, const float* x, const QuantizedActs& xq, const uint8_t* w, int T, int in,
                        int r0, int r1, bool accumulate) {
  const int nb = in / kBlock;
  const typename B::Type* blocks = reinterpret_cast<const typename B::Type*>(w);
  if (T <= kQuantizedActsRows) {
    for (int t = 0; t < T; ++t) matvec_blocks<B>(y + static_cast<size_t>(t) * ldy, xq, t, blocks, nb, r0, r1, accumulate);
    return;
  }
  gemm(y, ldy, x, [&](int row, int k0, int depth, float* dst) {
    const typename B::Type* src = blocks + static_cast<size_t>(row) * nb + k0 / kBlock;
    for (int b = 0; b < depth / kBlock; ++b) dequant_i8x32(B::values(src[b]), f16(src[b].d), dst + b * kBlock);
  }, T, in, r0, r1, accumulate);
}

void quantize_acts_avx2(const float* x, int n, int8_t* q, float* d, float* ds) {
  const __m256 sign = _mm256_set1_ps(-0.f);
  for (int b = 0; b < n / kBlock; ++b) {
    const float* xb = x + b * kBlock;
    __m256 v[4];
    __m256 amax = _mm256_setzero_ps();
    for (int i = 0; i < 4; ++i) amax = _mm256_max_ps(amax, _mm256_andnot_ps(sign, v[i] = _mm256_loadu_ps(xb + 8 * i)));
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(amax), _mm256_extractf128_ps(amax, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    const float scale = _mm_cvtss_f32(m) / 127.f, inv = scale != 0 ? 1.f / scale : 0.f;
    __m256i i32[4];
    for (int i = 0; i < 4; ++i) i32[i] = _mm256_cvtps_epi32(_mm256_mul_ps(v[i], _mm256_set1_ps(inv)));  // nearest even
    const __m256i sum32 = _mm256_add_epi32(_mm256_add_epi32(i32[0], i32[1]), _mm256_add_epi32(i32[2], i32[3]));
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(sum32), _mm256_extracti128_si256(sum32, 1));
    s = _mm_hadd_epi32(s, s);
    s = _mm_hadd_epi32(s, s);
    // packs interleaves 128-bit lanes; the permute puts the 32 values back in order.
    const __m256i packed = _mm256_packs_epi16(_mm256_packs_epi32(i32[0], i32[1]), _mm256_packs_epi32(i32[2], i32[3]));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + b * kBlock),
                        _mm256_permutevar8x32_epi32(packed, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)));
    d[b] = scale;
    ds[b] = scale * static_cast<float>(_mm_cvtsi128_si32(s));
  }
}

float dot_avx2(const float* a, const float* b, int n) {
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
  int i = 0;
  for (; i + 16 <= n; i += 16) {
    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
  }
  for (; i + 8 <= n; i += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
  float s = hsum(_mm256_add_ps(s0, s1));
  for (; i < n; ++i) s += a[i] * b[i];
  return s;
}

void axpy_avx2(float* y, float a, const float* x, int n) {
  const __m256 av = _mm256_set1_ps(a);
  int i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(y + i, _mm256_fmadd_ps(av, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
  for (; i < n; ++i) y[i] += a * x[i];
}

// F16C: every AVX2 processor has it (this file is compiled with -mf16c).
void widen_f16_avx2(const uint16_t* h, int n, float* out) {
  int i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(h + i))));
  for (; i < n; ++i) out[i] = f16_to_f32(h[i]);
}

void attention_avx2(const AttentionTile& tile) { attention_tile_impl::run<16>(tile); }

const CpuKernels kAvx2{"avx2",
                       matmul_avx2,
                       quantize_acts_avx2,
                       matmul_blocks_avx2<Q8Block>,
                       matmul_blocks_avx2<Q4Block>,
                       dot_avx2,
                       axpy_avx2,
                       widen_f16_avx2,
                       attention_avx2};

}  // namespace

const CpuKernels* avx2_kernels() { return &kAvx2; }

}  // namespace px

#else
namespace px {
const CpuKernels* avx2_kernels() { return nullptr; }
}  // namespace px
#endif
