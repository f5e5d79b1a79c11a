// The portable kernel set (the reference every faster set is tested against) and runtime dispatch.
#include "kernels.h"

#include "attention_tile.h"
#include "quant_blocks.h"

#include <cmath>
#include <cstdlib>
#include <vector>

#if defined(_MSC_VER) && defined(_M_X64)
#include <immintrin.h>
#include <intrin.h>
#endif

namespace px {
namespace {

void matmul_generic(float* y, int ldy, const float* x, const uint16_t* w, int T, int in, int r0,
                    int r1, bool accumulate) {
  for (int t = 0; t < T; ++t) {
    const float* xt = x + static_cast<size_t>(t) * in;
    for (int r = r0; r < r1; ++r) {
      const uint16_t* wr = w + static_cast<size_t>(r) * in;
      float acc = 0.f;
      for (int i = 0; i < in; ++i) acc += xt[i] * bf16_to_f32(wr[i]);
      float* out = y + static_cast<size_t>(t) * ldy + r;
      *out = accumulate ? *out + acc : acc;
    }
  }
}

float dot_generic(const float* a, const float* b, int n) {
  float acc = 0.f;
  for (int i = 0; i < n; ++i) acc += a[i] * b[i];
  return acc;
}

void quantize_acts_generic(const float* x, int n, int8_t* q, float* d, float* ds) {
  for (int b = 0; b < n / kBlock; ++b) {
    const float* xb = x + b * kBlock;
    float amax = 0;
    for (int j = 0; j < kBlock; ++j) amax = std::max(amax, std::fabs(xb[j]));
    const float scale = amax / 127.f, inv = scale != 0 ? 1.f / scale : 0.f;
    int sum = 0;
    for (int j = 0; j < kBlock; ++j) sum += q[b * kBlock + j] = static_cast<int8_t>(std::nearbyint(xb[j] * inv));
    d[b] = scale;
    ds[b] = scale * static_cast<float>(sum);
  }
}

// Integer dot of one weight block with 32 int8 activations; Q4_0 returns sum(n * q) (unsigned
// nibbles), its offset of 8 is applied through ds by the caller.
int block_dot(const BlockQ8_0& w, const int8_t* q) {
  int s = 0;
  for (int j = 0; j < kBlock; ++j) s += w.q[j] * q[j];
  return s;
}
int block_dot(const BlockQ4_0& w, const int8_t* q) {
  int s = 0;
  for (int j = 0; j < kBlock / 2; ++j) s += (w.n[j] & 15) * q[j] + (w.n[j] >> 4) * q[j + kBlock / 2];
  return s;
}

template <typename Block, DType kType>
void matmul_blocks_generic(float* y, int ldy, const float* x, const QuantizedActs& xq, const uint8_t* w, int T, int in,
                           int r0, int r1, bool accumulate) {
  const int nb = in / kBlock;
  const Block* wb = reinterpret_cast<const Block*>(w);
  thread_local std::vector<float> row;
  if (T > kQuantizedActsRows) row.resize(in);
  for (int r = r0; r < r1; ++r) {
    const Block* wr = wb + static_cast<size_t>(r) * nb;
    if (T > kQuantizedActsRows) dequantize_row(kType, wr, in, row.data());
    for (int t = 0; t < T; ++t) {
      float acc = 0;
      if (T > kQuantizedActsRows) {
        acc = dot_generic(x + static_cast<size_t>(t) * in, row.data(), in);
      } else {
        const size_t a = static_cast<size_t>(t) * nb;
        for (int b = 0; b < nb; ++b) {
          const float dw = f16_to_f32(wr[b].d);
          acc += dw * xq.d[a + b] * static_cast<float>(block_dot(wr[b], xq.q + (a + b) * kBlock));
          if (kType == DType::Q4_0) acc -= 8.f * dw * xq.ds[a + b];
        }
      }
      float* out = y + static_cast<size_t>(t) * ldy + r;
      *out = accumulate ? *out + acc : acc;
    }
  }
}

void axpy_generic(float* y, float a, const float* x, int n) {
  for (int i = 0; i < n; ++i) y[i] += a * x[i];
}

void widen_f16_generic(const uint16_t* h, int n, float* out) { widen_row(DType::F16, h, n, out); }

void attention_generic(const AttentionTile& tile) { attention_tile_impl::run<16>(tile); }

const CpuKernels kGeneric{"generic",
                          matmul_generic,
                          quantize_acts_generic,
                          matmul_blocks_generic<BlockQ8_0, DType::Q8_0>,
                          matmul_blocks_generic<BlockQ4_0, DType::Q4_0>,
                          dot_generic,
                          axpy_generic,
                          widen_f16_generic,
                          attention_generic};

bool cpu_has_avx2_fma() {
#if (defined(__x86_64__) || defined(_M_X64)) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
#elif defined(_M_X64)
  // MSVC: CPUID leaf 1 (FMA, OSXSAVE, AVX) and leaf 7 (AVX2), and the OS saving YMM state (XCR0).
  int info[4];
  __cpuid(info, 0);
  if (info[0] < 7) return false;
  __cpuid(info, 1);
  const bool fma = info[2] & (1 << 12), osxsave = info[2] & (1 << 27), avx = info[2] & (1 << 28);
  __cpuidex(info, 7, 0);
  const bool avx2 = info[1] & (1 << 5);
  return fma && osxsave && avx && avx2 && (_xgetbv(0) & 6) == 6;
#else
  return false;
#endif
}

// The AVX2 set's requirements plus AVX-512 F, BW, VL and VNNI, with the OS saving the opmask and
// ZMM state.
bool cpu_has_avx512_vnni() {
  if (!cpu_has_avx2_fma()) return false;
#if (defined(__x86_64__) || defined(_M_X64)) && (defined(__GNUC__) || defined(__clang__))
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
#elif defined(_M_X64)
  // CPUID leaf 7: EBX bits 16 (F), 30 (BW), 31 (VL); ECX bit 11 (VNNI). XCR0 bits 1-2 and 5-7.
  int info[4];
  __cpuidex(info, 7, 0);
  const unsigned b = static_cast<unsigned>(info[1]);
  const bool isa = (b & (1u << 16)) && (b & (1u << 30)) && (b & (1u << 31)) && (info[2] & (1 << 11));
  return isa && (_xgetbv(0) & 0xe6) == 0xe6;
#else
  return false;
#endif
}

const CpuKernels* pick_best() {
  if (const CpuKernels* k = neon_dotprod_kernels()) return k;
  if (const CpuKernels* k = neon_kernels()) return k;
  if (cpu_has_avx512_vnni())
    if (const CpuKernels* k = avx512_vnni_kernels()) return k;
  if (cpu_has_avx2_fma())
    if (const CpuKernels* k = avx2_kernels()) return k;
  return &kGeneric;
}

}  // namespace

const CpuKernels* generic_kernels() { return &kGeneric; }

const CpuKernels* cpu_kernels_named(const std::string& name) {
  if (name == "generic") return &kGeneric;
  if (name == "avx2") return cpu_has_avx2_fma() ? avx2_kernels() : nullptr;
  if (name == "avx512-vnni") return cpu_has_avx512_vnni() ? avx512_vnni_kernels() : nullptr;
  if (name == "neon") return neon_kernels();
  if (name == "neon-dotprod") return neon_dotprod_kernels();
  return nullptr;
}

const CpuKernels& cpu_kernels() {
  static const CpuKernels* chosen = [] {
    const char* forced = std::getenv("PIXTRAL_KERNELS");
    if (forced && *forced)
      if (const CpuKernels* k = cpu_kernels_named(forced)) return k;
    return pick_best();
  }();
  return *chosen;
}

}  // namespace px
