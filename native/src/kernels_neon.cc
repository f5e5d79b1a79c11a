// NEON kernel sets (arm64: Apple silicon, Linux arm64). NEON is part of the arm64 baseline, so this
// file needs no special flags and is the default there. Same contract as kernels.h; the matmul keeps
// four rows in flight per token so the weight stream stays the bottleneck, as on x86. Block-weight
// matvecs multiply int8 by int8 (widening multiply-accumulate); "neon-dotprod" does it with the
// ARMv8.2 dot-product instructions (SDOT), chosen at run time where the processor has them.
#include "kernels.h"

#if defined(__aarch64__) || defined(_M_ARM64)
#include <arm_neon.h>

#include <cmath>
#include <vector>

#include "attention_tile.h"
#include "quant_blocks.h"

#if defined(__linux__)
#include <asm/hwcap.h>
#include <sys/auxv.h>
#endif

// Functions that use SDOT: compiled for ARMv8.2+dotprod whatever the file's baseline, and only
// called where the processor has it (dotprod_supported).
#if defined(__ARM_FEATURE_DOTPROD)
#define PX_DOTPROD
#elif defined(__clang__)
#define PX_DOTPROD __attribute__((target("dotprod")))
#elif defined(__GNUC__)
#define PX_DOTPROD __attribute__((target("arch=armv8.2-a+dotprod")))
#endif

namespace px {
namespace {

inline float32x4_t load_bf16x4(const uint16_t* p) {
  return vreinterpretq_f32_u32(vshll_n_u16(vld1_u16(p), 16));
}

void matmul_neon(float* y, int ldy, const float* x, const uint16_t* w, int T, int in, int r0, int r1,
                 bool accumulate) {
  const int in4 = in & ~3;
  for (int t = 0; t < T; ++t) {
    const float* xt = x + static_cast<size_t>(t) * in;
    float* yt = y + static_cast<size_t>(t) * ldy;
    int r = r0;
    for (; r + 4 <= r1; r += 4) {
      const uint16_t* w0 = w + static_cast<size_t>(r) * in;
      const uint16_t* w1 = w0 + in;
      const uint16_t* w2 = w1 + in;
      const uint16_t* w3 = w2 + in;
      float32x4_t a0 = vdupq_n_f32(0), a1 = vdupq_n_f32(0), a2 = vdupq_n_f32(0), a3 = vdupq_n_f32(0);
      for (int i = 0; i < in4; i += 4) {
        float32x4_t xv = vld1q_f32(xt + i);
        a0 = vfmaq_f32(a0, load_bf16x4(w0 + i), xv);
        a1 = vfmaq_f32(a1, load_bf16x4(w1 + i), xv);
        a2 = vfmaq_f32(a2, load_bf16x4(w2 + i), xv);
        a3 = vfmaq_f32(a3, load_bf16x4(w3 + i), xv);
      }
      float s[4] = {vaddvq_f32(a0), vaddvq_f32(a1), vaddvq_f32(a2), vaddvq_f32(a3)};
      const uint16_t* rows[4] = {w0, w1, w2, w3};
      for (int a = 0; a < 4; ++a) {
        for (int i = in4; i < in; ++i) s[a] += xt[i] * bf16_to_f32(rows[a][i]);
        yt[r + a] = accumulate ? yt[r + a] + s[a] : s[a];
      }
    }
    for (; r < r1; ++r) {
      const uint16_t* wr = w + static_cast<size_t>(r) * in;
      float32x4_t a = vdupq_n_f32(0);
      for (int i = 0; i < in4; i += 4) a = vfmaq_f32(a, load_bf16x4(wr + i), vld1q_f32(xt + i));
      float s = vaddvq_f32(a);
      for (int i = in4; i < in; ++i) s += xt[i] * bf16_to_f32(wr[i]);
      yt[r] = accumulate ? yt[r] + s : s;
    }
  }
}

float dot_neon(const float* a, const float* b, int n) {
  float32x4_t s = vdupq_n_f32(0);
  int i = 0;
  for (; i + 4 <= n; i += 4) s = vfmaq_f32(s, vld1q_f32(a + i), vld1q_f32(b + i));
  float r = vaddvq_f32(s);
  for (; i < n; ++i) r += a[i] * b[i];
  return r;
}

void widen_f16_neon(const uint16_t* h, int n, float* out) {
  int i = 0;
  for (; i + 4 <= n; i += 4) vst1q_f32(out + i, vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(h + i))));
  for (; i < n; ++i) out[i] = f16_to_f32(h[i]);
}

void axpy_neon(float* y, float a, const float* x, int n) {
  int i = 0;
  for (; i + 4 <= n; i += 4) vst1q_f32(y + i, vfmaq_n_f32(vld1q_f32(y + i), vld1q_f32(x + i), a));
  for (; i < n; ++i) y[i] += a * x[i];
}

void attention_neon(const AttentionTile& tile) { attention_tile_impl::run<16>(tile); }

// ---- block weights ------------------------------------------------------------------------------

void quantize_acts_neon(const float* x, int n, int8_t* q, float* d, float* ds) {
  for (int b = 0; b < n / kBlock; ++b) {
    const float* xb = x + b * kBlock;
    float32x4_t v[8];
    float32x4_t amax = vdupq_n_f32(0);
    for (int i = 0; i < 8; ++i) amax = vmaxq_f32(amax, vabsq_f32(v[i] = vld1q_f32(xb + 4 * i)));
    const float scale = vmaxvq_f32(amax) / 127.f, inv = scale != 0 ? 1.f / scale : 0.f;
    int32x4_t sum = vdupq_n_s32(0);
    for (int i = 0; i < 8; i += 2) {
      const int32x4_t a = vcvtnq_s32_f32(vmulq_n_f32(v[i], inv)), c = vcvtnq_s32_f32(vmulq_n_f32(v[i + 1], inv));
      sum = vaddq_s32(sum, vaddq_s32(a, c));
      vst1_s8(q + b * kBlock + 4 * i, vqmovn_s16(vcombine_s16(vqmovn_s32(a), vqmovn_s32(c))));
    }
    d[b] = scale;
    ds[b] = scale * static_cast<float>(vaddvq_s32(sum));
  }
}

// A block's 32 weights as signed int8 (Q4_0: nibble - 8), elements 0..15 and 16..31.
inline int8x16x2_t values(const BlockQ8_0& b) { return {{vld1q_s8(b.q), vld1q_s8(b.q + 16)}}; }
inline int8x16x2_t values(const BlockQ4_0& b) {
  const uint8x16_t n = vld1q_u8(b.n);
  const int8x16_t eight = vdupq_n_s8(8);
  return {{vsubq_s8(vreinterpretq_s8_u8(vandq_u8(n, vdupq_n_u8(15))), eight), vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(n, 4)), eight)}};
}

// sum(w * q) of one block in four int32 lanes: widening multiplies, or SDOT.
inline int32x4_t block_dot(const int8x16x2_t& w, const int8_t* q) {
  const int8x16_t q0 = vld1q_s8(q), q1 = vld1q_s8(q + 16);
  int16x8_t p0 = vmlal_s8(vmull_s8(vget_low_s8(w.val[0]), vget_low_s8(q0)), vget_high_s8(w.val[0]), vget_high_s8(q0));
  int16x8_t p1 = vmlal_s8(vmull_s8(vget_low_s8(w.val[1]), vget_low_s8(q1)), vget_high_s8(w.val[1]), vget_high_s8(q1));
  return vpadalq_s16(vpaddlq_s16(p0), p1);
}
PX_DOTPROD inline int32x4_t block_sdot(const int8x16x2_t& w, const int8_t* q) {
  return vdotq_s32(vdotq_s32(vdupq_n_s32(0), w.val[0], vld1q_s8(q)), w.val[1], vld1q_s8(q + 16));
}

// y[t, r] = sum over blocks of d_w * d_x * dot, for T <= kQuantizedActsRows tokens.
#define PX_MATVEC_BLOCKS(NAME, ATTR, DOT)                                                                     \
  template <typename Block>                                                                                \
  ATTR void NAME(float* y, int ldy, const QuantizedActs& xq, const Block* w, int nb, int T, int r0, int r1,  \
                 bool accumulate) {                                                                        \
    for (int t = 0; t < T; ++t) {                                                                          \
      const int8_t* q = xq.q + static_cast<size_t>(t) * nb * kBlock;                                       \
      const float* d = xq.d + static_cast<size_t>(t) * nb;                                                 \
      for (int r = r0; r < r1; ++r) {                                                                      \
        const Block* row = w + static_cast<size_t>(r) * nb;                                                \
        float32x4_t acc = vdupq_n_f32(0);                                                                  \
        for (int b = 0; b < nb; ++b)                                                                       \
          acc = vfmaq_n_f32(acc, vcvtq_f32_s32(DOT(values(row[b]), q + b * kBlock)), f16_to_f32(row[b].d) * d[b]); \
        float* out = y + static_cast<size_t>(t) * ldy + r;                                                 \
        *out = accumulate ? *out + vaddvq_f32(acc) : vaddvq_f32(acc);                                      \
      }                                                                                                    \
    }                                                                                                      \
  }
PX_MATVEC_BLOCKS(matvec_blocks, , block_dot)
PX_MATVEC_BLOCKS(matvec_blocks_sdot, PX_DOTPROD, block_sdot)
#undef PX_MATVEC_BLOCKS

// T > kQuantizedActsRows: each weight row dequantized once, then dotted with every token in fp32.
template <typename Block>
void rows_fp32(DType type, float* y, int ldy, const float* x, const Block* w, int nb, int T, int r0, int r1,
               bool accumulate) {
  const int in = nb * kBlock;
  thread_local std::vector<float> row;
  row.resize(in);
  for (int r = r0; r < r1; ++r) {
    dequantize_row(type, w + static_cast<size_t>(r) * nb, in, row.data());
    for (int t = 0; t < T; ++t) {
      const float s = dot_neon(x + static_cast<size_t>(t) * in, row.data(), in);
      float* out = y + static_cast<size_t>(t) * ldy + r;
      *out = accumulate ? *out + s : s;
    }
  }
}

template <typename Block, DType kType, bool kSdot>
void matmul_blocks_neon(float* y, int ldy, const float* x, const QuantizedActs& xq, const uint8_t* w, int T, int in,
                        int r0, int r1, bool accumulate) {
  const Block* blocks = reinterpret_cast<const Block*>(w);
  const int nb = in / kBlock;
  if (T > kQuantizedActsRows) return rows_fp32(kType, y, ldy, x, blocks, nb, T, r0, r1, accumulate);
  if (kSdot) return matvec_blocks_sdot(y, ldy, xq, blocks, nb, T, r0, r1, accumulate);
  matvec_blocks(y, ldy, xq, blocks, nb, T, r0, r1, accumulate);
}

const CpuKernels kNeon{"neon",
                       matmul_neon,
                       quantize_acts_neon,
                       matmul_blocks_neon<BlockQ8_0, DType::Q8_0, false>,
                       matmul_blocks_neon<BlockQ4_0, DType::Q4_0, false>,
                       dot_neon,
                       axpy_neon,
                       widen_f16_neon,
                       attention_neon};
const CpuKernels kNeonDotprod{"neon-dotprod",
                              matmul_neon,
                              quantize_acts_neon,
                              matmul_blocks_neon<BlockQ8_0, DType::Q8_0, true>,
                              matmul_blocks_neon<BlockQ4_0, DType::Q4_0, true>,
                              dot_neon,
                              axpy_neon,
                              widen_f16_neon,
                              attention_neon};

bool dotprod_supported() {
#if defined(__ARM_FEATURE_DOTPROD)
  return true;
#elif defined(__linux__)
  return getauxval(AT_HWCAP) & HWCAP_ASIMDDP;
#else
  return false;
#endif
}

}  // namespace

const CpuKernels* neon_kernels() { return &kNeon; }
const CpuKernels* neon_dotprod_kernels() { return dotprod_supported() ? &kNeonDotprod : nullptr; }

}  // namespace px

#else
namespace px {
const CpuKernels* neon_kernels() { return nullptr; }
const CpuKernels* neon_dotprod_kernels() { return nullptr; }
}  // namespace px
#endif
