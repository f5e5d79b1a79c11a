// AVX-512 kernel set with VNNI (x86-64: Ice Lake and later, Zen 4 and later). Compiled alone with
// the AVX-512 flags so the rest of the addon runs on any x86-64; only called after runtime dispatch
// has checked the processor (kernels.cc). It is the AVX2 set (kernels_avx2.cc) with these rewritten
// for 512-bit registers:
//  * Q8_0 / Q4_0 at every T, on weights the CPU backend interleaved 16 rows at a time
//    (interleaved_blocks.h) and int8 activations: one VPDPBUSD multiplies a column of four weights
//    of 16 rows by four broadcast activations (64 products into 16 row sums), so a block of 16 rows
//    costs 8 of them and a handful of fp32 ops for the scales, with no shuffle or horizontal add.
//    Prefill reuses each group's weights for four tokens from L2.
//  * bf16 (T == 1): 16 weights widened per load, four rows sharing each load of x.
// bf16 prefill, vision, attention and the small vector ops stay the AVX2 set's (compute-bound on
// fp32 FMA, which 512-bit registers do not make faster on the processors that split them in two).
#include "kernels.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#include <limits>
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

// Interleaved block weights (interleaved_blocks.h). load: the eight 64-byte columns of one group
// block as unsigned bytes, column k holding each row's weights 4k..4k+3; offset: what the unsigned
// form adds to each weight (Q8_0: q + 128; Q4_0: the nibble n = q + 8).
struct Q8Rows {
  static constexpr int block_bytes = sizeof(BlockQ8_0);
  static constexpr float offset = 128;
  static constexpr auto file_layout = &CpuKernels::matmul_q8_0;
  static void load(const uint8_t* cols, __m512i w[8]) {
    for (int k = 0; k < 8; ++k) w[k] = _mm512_loadu_si512(cols + 64 * k);
  }
};
struct Q4Rows {
  static constexpr int block_bytes = sizeof(BlockQ4_0);
  static constexpr float offset = 8;
  static constexpr auto file_layout = &CpuKernels::matmul_q4_0;
  static void load(const uint8_t* cols, __m512i w[8]) {
    const __m512i low = _mm512_set1_epi8(15);
    for (int m = 0; m < 4; ++m) {
      const __m512i n = _mm512_loadu_si512(cols + 64 * m);
      w[m] = _mm512_and_si512(n, low);
      w[m + 4] = _mm512_and_si512(_mm512_srli_epi16(n, 4), low);
    }
  }
};

// One group of 16 rows against NT tokens of int8 activations q[NT][nb * 32] (scales d, block sums
// ds). Per block and token, lane j: VPDPBUSD gives u = sum(unsigned w * q) over the block, so
// dx * u - offset * ds = dx * sum(w * q), scaled by row j's dw into acc[t]. Two accumulator chains
// per token keep VPDPBUSD's latency off the critical path at NT = 1 (decode).
template <typename L, int NT>
void group_tokens(const uint8_t* group, int nb, const int8_t* const* q, const float* const* d, const float* const* ds,
                  __m512 acc[NT]) {
  constexpr int kBlockBytes = kInterleavedRows * L::block_bytes;
  for (int t = 0; t < NT; ++t) acc[t] = _mm512_setzero_ps();
  for (int b = 0; b < nb; ++b) {
    const uint8_t* block = group + static_cast<size_t>(b) * kBlockBytes;
    __m512i w[8];
    L::load(block + 2 * kInterleavedRows, w);
    const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(block)));
    for (int t = 0; t < NT; ++t) {
      const int32_t* x = reinterpret_cast<const int32_t*>(q[t] + b * kBlock);  // four activations a lane
      __m512i u0 = _mm512_setzero_si512(), u1 = _mm512_setzero_si512();
      for (int k = 0; k < 8; k += 2) {
        u0 = _mm512_dpbusd_epi32(u0, w[k], _mm512_set1_epi32(x[k]));
        u1 = _mm512_dpbusd_epi32(u1, w[k + 1], _mm512_set1_epi32(x[k + 1]));
      }
      const __m512 sum = _mm512_fmsub_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(u0, u1)), _mm512_set1_ps(d[t][b]),
                                         _mm512_set1_ps(L::offset * ds[t][b]));
      acc[t] = _mm512_fmadd_ps(sum, dw, acc[t]);
    }
  }
}

// NT tokens from t0 against the group of 16 rows at `group` (rows r..r+15 of y).
template <typename L, int NT>
void group_rows(float* y, int ldy, const QuantizedActs& xq, const uint8_t* group, int t0, int nb, int r,
                bool accumulate) {
  const int8_t* q[NT];
  const float *d[NT], *ds[NT];
  for (int t = 0; t < NT; ++t) {
    q[t] = xq.q + static_cast<size_t>(t0 + t) * nb * kBlock;
    d[t] = xq.d + static_cast<size_t>(t0 + t) * nb;
    ds[t] = xq.ds + static_cast<size_t>(t0 + t) * nb;
  }
  __m512 acc[NT];
  group_tokens<L, NT>(group, nb, q, d, ds, acc);
  for (int t = 0; t < NT; ++t) {
    float* out = y + static_cast<size_t>(t0 + t) * ldy + r;
    _mm512_storeu_ps(out, accumulate ? _mm512_add_ps(_mm512_loadu_ps(out), acc[t]) : acc[t]);
  }
}

// Every T, group by group: tokens four at a time, then one at a time, so a group's weights (16
// rows: 87 KiB of Q8_0 at in = 5120) come from memory once and from L2 for the other tokens. Rows
// of the tail past the last whole group are in the file layout.
template <typename L>
void matmul_interleaved(float* y, int ldy, const float* x, const QuantizedActs& xq, const uint8_t* w, int T, int in,
                        int r0, int r1, bool accumulate) {
  if ((r1 - r0) % kInterleavedRows) return (avx2_kernels()->*L::file_layout)(y, ldy, x, xq, w, T, in, r0, r1, accumulate);
  const int nb = in / kBlock;
  const size_t row_bytes = static_cast<size_t>(nb) * L::block_bytes;
  for (int r = r0; r < r1; r += kInterleavedRows) {
    const uint8_t* group = w + r * row_bytes;
    int t = 0;
    for (; t + 4 <= T; t += 4) group_rows<L, 4>(y, ldy, xq, group, t, nb, r, accumulate);
    for (; t < T; ++t) group_rows<L, 1>(y, ldy, xq, group, t, nb, r, accumulate);
  }
}

CpuKernels make_avx512_vnni() {
  CpuKernels k = *avx2_kernels();
  k.name = "avx512-vnni";
  k.matmul_bf16 = matmul_bf16_avx512;
  k.matmul_q8_0 = matmul_interleaved<Q8Rows>;
  k.matmul_q4_0 = matmul_interleaved<Q4Rows>;
  k.interleaved_rows = kInterleavedRows;
  k.quantized_acts_rows = std::numeric_limits<int>::max();
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
