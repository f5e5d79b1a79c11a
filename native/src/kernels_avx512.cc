// AVX-512 kernel set with VNNI (x86-64: Ice Lake and later, Zen 4 and later). Compiled alone with
// the AVX-512 flags so the rest of the addon runs on any x86-64; only called after runtime dispatch
// has checked the processor (kernels.cc). It is the AVX2 set (kernels_avx2.cc) with the decode
// matvecs rewritten for 512-bit registers:
//  * Q8_0 / Q4_0 (T <= kQuantizedActsRows): two 32-value blocks per register, one VPDPBUSD (u8 x s8,
//    four products summed per 32-bit lane) per two blocks where AVX2 needs maddubs + madd per
//    block. Q8_0 is signed on both sides: |w| against q carrying w's sign. Q4_0's unsigned nibbles
//    go in as they are; its offset of 8 comes back through the activations' block sums (ds).
//  * bf16 (T == 1): 16 weights widened per load, four rows sharing each load of x.
// Prefill, vision, attention and the small vector ops stay the AVX2 set's (compute-bound on fp32
// FMA, which 512-bit registers do not make faster on the processors that split them in two).
#include "kernels.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#include <type_traits>

#include "quant_blocks.h"

namespace px {
namespace {

inline void store(float* out, float v, bool accumulate) { *out = accumulate ? *out + v : v; }

// Rows [r0, r1) of a row-major weight (stride elements of W a row) into y[r]: four rows at a time so
// each activation load serves four rows, then one at a time. dot(std::integral_constant<int, R>,
// rows[R], sums[R]) computes R dot products.
template <typename W, typename Dot>
void rows_by_four(float* y, const W* w, size_t stride, int r0, int r1, bool accumulate, Dot dot) {
  float sums[4];
  int r = r0;
  for (; r + 4 <= r1; r += 4) {
    const W* rows[4] = {w + r * stride, w + (r + 1) * stride, w + (r + 2) * stride, w + (r + 3) * stride};
    dot(std::integral_constant<int, 4>{}, rows, sums);
    for (int a = 0; a < 4; ++a) store(y + r + a, sums[a], accumulate);
  }
  for (; r < r1; ++r) {
    const W* row = w + r * stride;
    dot(std::integral_constant<int, 1>{}, &row, sums);
    store(y + r, sums[0], accumulate);
  }
}

inline __m512 load_bf16x16(const uint16_t* p) {
  const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

// R rows of bf16 weights against one token x[in], sharing each 16-float load of x.
template <int R>
void bf16_rows(const uint16_t* const* rows, const float* x, int in, float* out) {
  const int in16 = in & ~15;
  __m512 acc[R];
  for (int a = 0; a < R; ++a) acc[a] = _mm512_setzero_ps();
  for (int i = 0; i < in16; i += 16) {
    const __m512 xv = _mm512_loadu_ps(x + i);
    for (int a = 0; a < R; ++a) acc[a] = _mm512_fmadd_ps(load_bf16x16(rows[a] + i), xv, acc[a]);
  }
  for (int a = 0; a < R; ++a) {
    float s = _mm512_reduce_add_ps(acc[a]);
    for (int i = in16; i < in; ++i) s += x[i] * bf16_to_f32(rows[a][i]);
    out[a] = s;
  }
}

// One token of bf16 weights: rows [r0, r1).
void matvec_bf16(float* y, const float* x, const uint16_t* w, int in, int r0, int r1, bool accumulate) {
  rows_by_four(y, w, in, r0, r1, accumulate, [&](auto R, const uint16_t* const* rows, float* sums) {
    bf16_rows<decltype(R)::value>(rows, x, in, sums);
  });
}

void matmul_bf16_avx512(float* y, int ldy, const float* x, const uint16_t* w, int T, int in, int r0, int r1,
                        bool accumulate) {
  if (T == 1) return matvec_bf16(y, x, w, in, r0, r1, accumulate);
  avx2_kernels()->matmul_bf16(y, ldy, x, w, T, in, r0, r1, accumulate);
}

inline int hsum_i32(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
  return _mm_cvtsi128_si32(_mm_add_epi32(s, _mm_shuffle_epi32(s, 1)));
}

// dot(b, q): two blocks against 64 activations, 32-bit lanes 0-7 summing block b[0]'s products,
// 8-15 block b[1]'s. dot1: one block, summed.
struct Q8Pair {
  using Type = BlockQ8_0;
  static constexpr float offset = 0;
  static constexpr auto fp32_path = &CpuKernels::matmul_q8_0;
  static __m512i dot(const BlockQ8_0* b, __m512i q) {
    const __m512i w = _mm512_inserti64x4(
        _mm512_castsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(b[0].q))),
        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b[1].q)), 1);
    // q's sign flipped where w is negative, so that |w| * q' = w * q (|-128| = 128 as unsigned).
    const __m512i qs = _mm512_mask_sub_epi8(q, _mm512_movepi8_mask(w), _mm512_setzero_si512(), q);
    return _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_abs_epi8(w), qs);
  }
  static int dot1(const BlockQ8_0& b, __m256i q) {
    const __m256i w = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.q));
    const __m256i qs = _mm256_mask_sub_epi8(q, _mm256_movepi8_mask(w), _mm256_setzero_si256(), q);
    return hsum_i32(_mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_abs_epi8(w), qs));
  }
};

// A Q4_0 block's 16 bytes as its 32 nibbles in element order (low nibbles, then high) in 32 bytes.
inline __m256i nibbles(const BlockQ4_0& b) {
  const __m128i n = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b.n));
  return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(n, 4), n), _mm256_set1_epi8(15));
}

struct Q4Pair {
  using Type = BlockQ4_0;
  static constexpr float offset = 8;
  static constexpr auto fp32_path = &CpuKernels::matmul_q4_0;
  static __m512i dot(const BlockQ4_0* b, __m512i q) {
    const __m512i n = _mm512_inserti64x4(_mm512_castsi256_si512(nibbles(b[0])), nibbles(b[1]), 1);
    return _mm512_dpbusd_epi32(_mm512_setzero_si512(), n, q);
  }
  static int dot1(const BlockQ4_0& b, __m256i q) {
    return hsum_i32(_mm256_dpbusd_epi32(_mm256_setzero_si256(), nibbles(b), q));
  }
};

inline float f16(uint16_t h) { return _cvtsh_ss(h); }

// Lanes 0-7 = lo, 8-15 = hi.
inline __m512 pair(float lo, float hi) { return _mm512_mask_blend_ps(0xff00, _mm512_set1_ps(lo), _mm512_set1_ps(hi)); }

// The fp16 scales of two adjacent blocks as a pair vector: one conversion and one permute.
template <typename Block>
inline __m512 scale_pair(const Block* b) {
  const uint32_t both = b[0].d | (static_cast<uint32_t>(b[1].d) << 16);
  const __m128 two = _mm_cvtph_ps(_mm_cvtsi32_si128(static_cast<int>(both)));
  return _mm512_permutexvar_ps(_mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1), _mm512_castps128_ps512(two));
}

// R rows of nb blocks against one token's quantized activations (q, d, ds). Per block pair and row,
// lane-wise: acc += dw * (float(int dot) * dx - offset * ds / 8); the 8 lanes of a block add the
// offset term back to offset * ds (Q4_0's nibbles are unsigned; 1/8 is exact in fp32).
template <typename P, int R>
void rows_dot(const typename P::Type* const* rows, const int8_t* q, const float* d, const float* ds, int nb, float* out) {
  constexpr float kOffsetPerLane = P::offset / 8;
  __m512 acc[R];
  float tail[R];
  for (int a = 0; a < R; ++a) acc[a] = _mm512_setzero_ps(), tail[a] = 0;
  for (int b = 0; b + 2 <= nb; b += 2) {
    const __m512i qv = _mm512_loadu_si512(q + b * kBlock);
    const __m512 dx = pair(d[b], d[b + 1]);
    const __m512 offset = P::offset == 0 ? _mm512_setzero_ps() : pair(kOffsetPerLane * ds[b], kOffsetPerLane * ds[b + 1]);
    for (int a = 0; a < R; ++a) {
      const __m512 sum = _mm512_cvtepi32_ps(P::dot(rows[a] + b, qv));
      const __m512 x = P::offset == 0 ? _mm512_mul_ps(sum, dx) : _mm512_fmsub_ps(sum, dx, offset);
      acc[a] = _mm512_fmadd_ps(x, scale_pair(rows[a] + b), acc[a]);
    }
  }
  if (nb & 1) {
    const int b = nb - 1;
    const __m256i qv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + b * kBlock));
    for (int a = 0; a < R; ++a) {
      const float dw = f16(rows[a][b].d);
      tail[a] = dw * (d[b] * static_cast<float>(P::dot1(rows[a][b], qv)) - P::offset * ds[b]);
    }
  }
  for (int a = 0; a < R; ++a) out[a] = _mm512_reduce_add_ps(acc[a]) + tail[a];
}

// One token against rows [r0, r1), four rows at a time sharing each pair of activation blocks.
template <typename P>
void matvec_blocks(float* y, const QuantizedActs& xq, size_t t, const typename P::Type* w, int nb, int r0, int r1,
                   bool accumulate) {
  const int8_t* q = xq.q + t * nb * kBlock;
  const float *d = xq.d + t * nb, *ds = xq.ds + t * nb;
  rows_by_four(y, w, nb, r0, r1, accumulate, [&](auto R, const typename P::Type* const* rows, float* sums) {
    rows_dot<P, decltype(R)::value>(rows, q, d, ds, nb, sums);
  });
}

template <typename P>
void matmul_blocks_avx512(float* y, int ldy, const float* x, const QuantizedActs& xq, const uint8_t* w, int T, int in,
                          int r0, int r1, bool accumulate) {
  if (T > kQuantizedActsRows) return (avx2_kernels()->*P::fp32_path)(y, ldy, x, xq, w, T, in, r0, r1, accumulate);
  const int nb = in / kBlock;
  const auto* blocks = reinterpret_cast<const typename P::Type*>(w);
  for (int t = 0; t < T; ++t) matvec_blocks<P>(y + static_cast<size_t>(t) * ldy, xq, t, blocks, nb, r0, r1, accumulate);
}

CpuKernels make_avx512_vnni() {
  CpuKernels k = *avx2_kernels();
  k.name = "avx512-vnni";
  k.matmul_bf16 = matmul_bf16_avx512;
  k.matmul_q8_0 = matmul_blocks_avx512<Q8Pair>;
  k.matmul_q4_0 = matmul_blocks_avx512<Q4Pair>;
  return k;
}

}  // namespace

const CpuKernels* avx512_vnni_kernels() {
  static const CpuKernels kernels = make_avx512_vnni();
  return &kernels;
}

}  // namespace px

#else
namespace px {
const CpuKernels* avx512_vnni_kernels() { return nullptr; }
}  // namespace px
#endif
