// NEON kernel set (arm64: Apple silicon, Linux arm64). NEON is part of the arm64 baseline, so this
// file needs no special flags and is the default there. Same contract as kernels.h; the matmul keeps
// four rows in flight per token so the weight stream stays the bottleneck, as on x86.
#include "kernels.h"

#if defined(__aarch64__) || defined(_M_ARM64)
#include <arm_neon.h>

#include "attention_tile.h"

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

void axpy_neon(float* y, float a, const float* x, int n) {
  int i = 0;
  for (; i + 4 <= n; i += 4) vst1q_f32(y + i, vfmaq_n_f32(vld1q_f32(y + i), vld1q_f32(x + i), a));
  for (; i < n; ++i) y[i] += a * x[i];
}

void attention_neon(const AttentionTile& tile) { attention_tile_impl::run(tile); }

const CpuKernels kNeon{"neon", matmul_neon, dot_neon, axpy_neon, attention_neon};

}  // namespace

const CpuKernels* neon_kernels() { return &kNeon; }

}  // namespace px

#else
namespace px {
const CpuKernels* neon_kernels() { return nullptr; }
}  // namespace px
#endif
