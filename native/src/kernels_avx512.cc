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
//  * bf16 on the 32-row panels the CPU backend lays out (interleaved_blocks.h): one load per input
//    for 32 rows, widened by a shift and a mask, read in place by decode and by the prefill tiles.
//  * bf16 (T > 1, prefill and vision): fp32 FMA on 512-bit registers over packed panels, with no
//    horizontal sum in the loop. Processors with whole 512-bit FMA units (Zen 5, as on the machine
//    that measured it, and Intel server cores) do twice the FLOPs a cycle of 256-bit FMA.
//  * attention tiles: the shared loops (attention_tile.h) over 32 query vectors, two registers.
// The small vector ops stay the AVX2 set's.
#include "kernels.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#include <algorithm>
#include <limits>
#include <type_traits>
#include <vector>

#include "attention_tile.h"
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

// 16 bf16 values -> fp32 (the bits shifted into the high half).
inline __m512 widen_bf16x16(__m256i h) { return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16)); }

inline __m512 load_bf16x16(const uint16_t* p) {
  return widen_bf16x16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
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

// ---- bf16 prefill and vision: packed fp32 panels ------------------------------------------------
// Weights widened and transposed a panel at a time, panel[k][j] = W[rb + j, k0 + k] for 32 rows and
// up to kPanelDepth inputs (32 KiB, in L1), and the tokens' inputs packed likewise, xp[k][b] for a
// tile of kTileTokens; the tile then multiplies with no shuffle or horizontal sum in its loop: per
// input, two panel loads, 12 broadcasts, 24 FMAs into 24 accumulators (y[t, rb..rb+32) of 12
// tokens). Activations and accumulation stay fp32, as in the AVX2 set's tiles.
constexpr int kPanelVectors = 2;  // 16 rows each
constexpr int kPanelRows = 16 * kPanelVectors;
static_assert(kPanelRows == kBf16PanelRows, "the backend lays out the panels the kernels read");
constexpr int kPanelDepth = 256;
constexpr int kTileTokens = 12;   // 24 of the 32 registers hold sums
constexpr int kSmallTile = 4;     // tokens past the last whole tile go in tiles of 4 (zero-padded)
inline int tile_width(int nt) { return nt == kTileTokens ? kTileTokens : kSmallTile; }

// r[j] = row j of a 16x16 block -> r[k] = column k.
inline void transpose16x16(__m512 r[16]) {
  const auto lo_pd = [](__m512 a, __m512 b) { return _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(a), _mm512_castps_pd(b))); };
  const auto hi_pd = [](__m512 a, __m512 b) { return _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(a), _mm512_castps_pd(b))); };
  __m512 u[4][4];  // u[g][c], 128-bit lane L: column 4L + c of rows 4g..4g+3
  for (int g = 0; g < 4; ++g) {
    const __m512 t0 = _mm512_unpacklo_ps(r[4 * g], r[4 * g + 1]), t1 = _mm512_unpackhi_ps(r[4 * g], r[4 * g + 1]);
    const __m512 t2 = _mm512_unpacklo_ps(r[4 * g + 2], r[4 * g + 3]), t3 = _mm512_unpackhi_ps(r[4 * g + 2], r[4 * g + 3]);
    u[g][0] = lo_pd(t0, t2);
    u[g][1] = hi_pd(t0, t2);
    u[g][2] = lo_pd(t1, t3);
    u[g][3] = hi_pd(t1, t3);
  }
  // Column 4L + c gathers lane L of u[0..3][c]: a 4x4 transpose of 128-bit lanes.
  for (int c = 0; c < 4; ++c) {
    const __m512 v0 = _mm512_shuffle_f32x4(u[0][c], u[1][c], 0x44), v1 = _mm512_shuffle_f32x4(u[0][c], u[1][c], 0xEE);
    const __m512 v2 = _mm512_shuffle_f32x4(u[2][c], u[3][c], 0x44), v3 = _mm512_shuffle_f32x4(u[2][c], u[3][c], 0xEE);
    r[c] = _mm512_shuffle_f32x4(v0, v2, 0x88);
    r[4 + c] = _mm512_shuffle_f32x4(v0, v2, 0xDD);
    r[8 + c] = _mm512_shuffle_f32x4(v1, v3, 0x88);
    r[12 + c] = _mm512_shuffle_f32x4(v1, v3, 0xDD);
  }
}

// panel[k][j] for rows rb..rb+rows (rows <= 32; missing rows zero) and inputs k0..k0+depth.
void pack_panel(const uint16_t* w, int in, int rb, int rows, int k0, int depth, float* panel) {
  // 32 inputs (a 64-byte line of each row) at a time: rows `in` apart share a few L1 sets (in =
  // 14336 puts all 32 in one), so a line is read whole before the others evict it.
  int k = 0;
  if (rows == kPanelRows)
    for (; k + 32 <= depth; k += 32)
      for (int v = 0; v < kPanelVectors; ++v) {
        __m512i line[16];
        const uint16_t* src = w + static_cast<size_t>(rb + 16 * v) * in + k0 + k;
        for (int j = 0; j < 16; ++j) line[j] = _mm512_loadu_si512(src + static_cast<size_t>(j) * in);
        for (int half = 0; half < 2; ++half) {
          __m512 r[16];
          for (int j = 0; j < 16; ++j)
            r[j] = widen_bf16x16(half ? _mm512_extracti64x4_epi64(line[j], 1) : _mm512_castsi512_si256(line[j]));
          transpose16x16(r);
          for (int c = 0; c < 16; ++c) _mm512_storeu_ps(panel + (k + 16 * half + c) * kPanelRows + 16 * v, r[c]);
        }
      }
  for (; k < depth; ++k)
    for (int j = 0; j < kPanelRows; ++j)
      panel[k * kPanelRows + j] = j < rows ? bf16_to_f32(w[static_cast<size_t>(rb + j) * in + k0 + k]) : 0.0f;
}

// xp[tile][k][b]: inputs k0..k0+depth of tokens t..t+nt in tiles of kTileTokens, then kSmallTile
// (the last zero-padded). Returns the tiles' token counts in order through `tiles`.
void pack_tokens(const float* x, int in, int T, int k0, int depth, std::vector<float>& xp, std::vector<int>& tiles) {
  tiles.clear();
  int t = 0;
  for (; t + kTileTokens <= T; t += kTileTokens) tiles.push_back(kTileTokens);
  for (; t < T; t += kSmallTile) tiles.push_back(std::min(kSmallTile, T - t));
  size_t size = 0;
  for (const int nt : tiles) size += static_cast<size_t>(tile_width(nt)) * depth;
  xp.resize(size);
  float* dst = xp.data();
  t = 0;
  for (const int nt : tiles) {
    const int width = tile_width(nt);
    int k = 0;
    // Whole tiles 16 inputs at a time: the 12 token rows (and 4 zero rows) transposed in registers,
    // each input's 12 values stored with a mask. A scalar copy here cost a tenth of the vision
    // encoder, whose 128-row tasks re-pack all 1024 tokens.
    if (nt == kTileTokens)
      for (; k + 16 <= depth; k += 16) {
        __m512 r[16];
        for (int b = 0; b < 16; ++b)
          r[b] = b < kTileTokens ? _mm512_loadu_ps(x + static_cast<size_t>(t + b) * in + k0 + k) : _mm512_setzero_ps();
        transpose16x16(r);
        for (int c = 0; c < 16; ++c) _mm512_mask_storeu_ps(dst + (k + c) * kTileTokens, (1u << kTileTokens) - 1, r[c]);
      }
    for (; k < depth; ++k)
      for (int b = 0; b < width; ++b) dst[k * width + b] = b < nt ? x[static_cast<size_t>(t + b) * in + k0 + k] : 0.0f;
    dst += static_cast<size_t>(width) * depth;
    t += nt;
  }
}

// The two sources of a tile's weights, input k's 32 rows as two vectors (rows 0..15, 16..31):
// a panel widened and transposed into fp32 (file layout), or the backend's bf16 panels read in
// place, whose paired rows widen with a shift and a mask (interleaved_blocks.h).
struct Fp32Panel {
  const float* p;  // [depth][32]
  void prefetch(int) const {}
  void load(int k, __m512 wv[kPanelVectors]) const {
    for (int v = 0; v < kPanelVectors; ++v) wv[v] = _mm512_loadu_ps(p + k * kPanelRows + 16 * v);
  }
};
struct Bf16Panel {
  const uint16_t* p;  // [depth][32], rows paired
  // The panel the tiles take next, fetched a line per input while the first tile works on this
  // one: the tile's FMAs hide its loads, which a panel 32 rows away begins afresh for the
  // hardware prefetcher.
  const uint16_t* next = nullptr;
  void prefetch(int k) const {
    if (next) _mm_prefetch(reinterpret_cast<const char*>(next + static_cast<size_t>(k) * kPanelRows), _MM_HINT_T0);
  }
  void load(int k, __m512 wv[kPanelVectors]) const {
    const __m512i line = _mm512_loadu_si512(p + static_cast<size_t>(k) * kPanelRows);
    wv[0] = _mm512_castsi512_ps(_mm512_slli_epi32(line, 16));
    wv[1] = _mm512_castsi512_ps(_mm512_and_si512(line, _mm512_set1_epi32(static_cast<int>(0xFFFF0000u))));
  }
};

// y[b, j] (+)= sum_k W[j][k] * xp[k][b] for NT packed tokens (nt of them stored) and the rows
// the masks keep (rows 16v + j for j in mask[v]).
template <int NT, typename Panel>
void panel_tile(float* y, int ldy, const float* xp, Panel panel, int depth, int nt,
                const __mmask16 mask[kPanelVectors], bool overwrite) {
  __m512 acc[NT][kPanelVectors];
  for (int b = 0; b < NT; ++b)
    for (int v = 0; v < kPanelVectors; ++v) acc[b][v] = _mm512_setzero_ps();
  for (int k = 0; k < depth; ++k) {
    __m512 wv[kPanelVectors];
    panel.prefetch(k);
    panel.load(k, wv);
    for (int b = 0; b < NT; ++b) {
      const __m512 xb = _mm512_set1_ps(xp[k * NT + b]);
      for (int v = 0; v < kPanelVectors; ++v) acc[b][v] = _mm512_fmadd_ps(wv[v], xb, acc[b][v]);
    }
  }
  for (int b = 0; b < nt; ++b)
    for (int v = 0; v < kPanelVectors; ++v) {
      float* out = y + static_cast<size_t>(b) * ldy + 16 * v;
      if (!overwrite) acc[b][v] = _mm512_add_ps(acc[b][v], _mm512_maskz_loadu_ps(mask[v], out));
      _mm512_mask_storeu_ps(out, mask[v], acc[b][v]);
    }
}

// Token blocks keep the packed inputs (kTokenBlock x kPanelDepth floats, 240 KiB) in L2 beside the
// weights of the task's rows at this depth, which the blocks after the first re-pack from L2: at
// 1024 tokens (a 512x512 image in the vision encoder) one slab of all tokens fell out of L2 and
// the tiles waited on its loads (-25% at T = 1024 against T = 128, kernel alone).
constexpr int kTokenBlock = 20 * kTileTokens;

// Panels: W in 32-row panels, r0 and r1 whole panels; else the file layout.
template <bool Panels>
void gemm_bf16(float* y, int ldy, const float* x, const uint16_t* w, int T, int in, int r0, int r1, bool accumulate) {
  thread_local std::vector<float> panel(static_cast<size_t>(kPanelRows) * kPanelDepth), xp;
  thread_local std::vector<int> tiles;
  for (int k0 = 0; k0 < in; k0 += kPanelDepth) {
    const int depth = std::min(kPanelDepth, in - k0);
    const bool overwrite = k0 == 0 && !accumulate;
    for (int t0 = 0; t0 < T; t0 += kTokenBlock) {
      pack_tokens(x + static_cast<size_t>(t0) * in, in, std::min(kTokenBlock, T - t0), k0, depth, xp, tiles);
      for (int rb = r0; rb < r1; rb += kPanelRows) {
        const int rows = std::min(kPanelRows, r1 - rb);
        __mmask16 mask[kPanelVectors];
        for (int v = 0; v < kPanelVectors; ++v) {
          const int n = std::clamp(rows - 16 * v, 0, 16);
          mask[v] = static_cast<__mmask16>((1u << n) - 1);
        }
        const auto tiles_over = [&](auto source) {
          const float* tile = xp.data();
          int t = t0;
          for (const int nt : tiles) {
            if constexpr (Panels)
              if (t > t0) source.next = nullptr;  // prefetched by the first tile
            float* yt = y + static_cast<size_t>(t) * ldy + rb;
            if (nt == kTileTokens) {
              panel_tile<kTileTokens>(yt, ldy, tile, source, depth, nt, mask, overwrite);
            } else {
              panel_tile<kSmallTile>(yt, ldy, tile, source, depth, nt, mask, overwrite);
            }
            tile += static_cast<size_t>(tile_width(nt)) * depth;
            t += nt;
          }
        };
        if constexpr (Panels) {
          // Next: the task's next panel at these inputs, else its first at the next token block
          // or the next inputs.
          const auto at = [&](int r, int k) { return w + static_cast<size_t>(r) * in + static_cast<size_t>(k) * kPanelRows; };
          const uint16_t* next = rb + kPanelRows < r1 ? at(rb + kPanelRows, k0)
                                 : t0 + kTokenBlock < T ? at(r0, k0)
                                 : k0 + kPanelDepth < in ? at(r0, k0 + kPanelDepth)
                                                         : nullptr;
          tiles_over(Bf16Panel{at(rb, k0), next});
        } else {
          pack_panel(w, in, rb, rows, k0, depth, panel.data());
          tiles_over(Fp32Panel{panel.data()});
        }
      }
    }
  }
}

void matmul_bf16_avx512(float* y, int ldy, const float* x, const uint16_t* w, int T, int in, int r0, int r1,
                        bool accumulate) {
  if (T == 1) return matvec_bf16(y, x, w, in, r0, r1, accumulate);
  gemm_bf16<false>(y, ldy, x, w, T, in, r0, r1, accumulate);
}

// One token against whole 32-row panels: per input, one 64-byte load (32 rows' weights) widened
// into two registers and multiplied by the broadcast input; four inputs in flight keep the FMA
// latency off the stream, and the 32 sums need no horizontal add.
void matvec_panels(float* y, const float* x, const uint16_t* w, int in, int r0, int r1, bool accumulate) {
  constexpr int kUnroll = 4;
  for (int rb = r0; rb < r1; rb += kPanelRows) {
    const Bf16Panel panel{w + static_cast<size_t>(rb) * in};
    __m512 lo[kUnroll], hi[kUnroll];
    for (int u = 0; u < kUnroll; ++u) lo[u] = hi[u] = _mm512_setzero_ps();
    const auto step = [&](int k, int u) {
      __m512 wv[kPanelVectors];
      panel.load(k, wv);
      const __m512 xk = _mm512_set1_ps(x[k]);
      lo[u] = _mm512_fmadd_ps(wv[0], xk, lo[u]);
      hi[u] = _mm512_fmadd_ps(wv[1], xk, hi[u]);
    };
    int k = 0;
    for (; k + kUnroll <= in; k += kUnroll)
      for (int u = 0; u < kUnroll; ++u) step(k + u, u);
    for (; k < in; ++k) step(k, 0);
    __m512 sum_lo = _mm512_add_ps(_mm512_add_ps(lo[0], lo[1]), _mm512_add_ps(lo[2], lo[3]));
    __m512 sum_hi = _mm512_add_ps(_mm512_add_ps(hi[0], hi[1]), _mm512_add_ps(hi[2], hi[3]));
    if (accumulate) {
      sum_lo = _mm512_add_ps(sum_lo, _mm512_loadu_ps(y + rb));
      sum_hi = _mm512_add_ps(sum_hi, _mm512_loadu_ps(y + rb + 16));
    }
    _mm512_storeu_ps(y + rb, sum_lo);
    _mm512_storeu_ps(y + rb + 16, sum_hi);
  }
}

// One panel from the 32 rows at src: 16 inputs at a time, rows i and 16 + i paired into 32-bit
// lanes, then the 16x16 transpose of those pairs gives the panel's 16 lines for these inputs (a
// scalar loop made loading a bf16 model a 1.3 GB/s pass).
void panel_bf16(const uint16_t* src, int64_t cols, uint16_t* panel) {
  int64_t k = 0;
  // Row j's inputs k..k+15, zero-extended to 32-bit lanes.
  const auto row16 = [&](int j) {
    return _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + j * cols + k)));
  };
  for (; k + 16 <= cols; k += 16) {
    __m512 r[16];
    for (int i = 0; i < 16; ++i)
      r[i] = _mm512_castsi512_ps(_mm512_or_si512(row16(i), _mm512_slli_epi32(row16(16 + i), 16)));
    transpose16x16(r);
    for (int m = 0; m < 16; ++m) _mm512_storeu_ps(reinterpret_cast<float*>(panel + (k + m) * kPanelRows), r[m]);
  }
  for (; k < cols; ++k)
    for (int j = 0; j < kPanelRows; ++j) panel[k * kPanelRows + panel_slot(j)] = src[j * cols + k];
}

void interleave_bf16(const uint16_t* src, int64_t rows, int64_t cols, uint16_t* dst) {
  const int64_t full = rows / kPanelRows * kPanelRows;
  for (int64_t g = 0; g < full; g += kPanelRows) panel_bf16(src + g * cols, cols, dst + g * cols);
  std::copy(src + full * cols, src + rows * cols, dst + full * cols);
}

void matmul_bf16_panels(float* y, int ldy, const float* x, const uint16_t* w, int T, int in, int r0, int r1,
                        bool accumulate) {
  if (T == 1) return matvec_panels(y, x, w, in, r0, r1, accumulate);
  gemm_bf16<true>(y, ldy, x, w, T, in, r0, r1, accumulate);
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

void attention_avx512(const AttentionTile& tile) { attention_tile_impl::run<32>(tile); }

CpuKernels make_avx512_vnni() {
  CpuKernels k = *avx2_kernels();
  k.name = "avx512-vnni";
  k.matmul_bf16 = matmul_bf16_avx512;
  k.matmul_bf16_panels = matmul_bf16_panels;
  k.interleave_bf16 = interleave_bf16;
  k.matmul_q8_0 = matmul_interleaved<Q8Rows>;
  k.matmul_q4_0 = matmul_interleaved<Q4Rows>;
  k.attention_tile = attention_avx512;
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
