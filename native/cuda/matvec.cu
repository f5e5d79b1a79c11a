// Decode matmuls (T <= 8 rows of x): memory-bound, so the whole game is streaming the bf16
// weights once at the bandwidth limit. One warp per output row (a row pair with fused SwiGLU):
// 16-byte weight loads that skip L1 (x stays there), four of them in flight per lane per row,
// fp32 accumulation, a warp reduction per output. Weights of several matmuls that share their input
// (q/k/v, gate/up) are one launch; RMSNorm of the input and SiLU(gate) * up fold into the same
// kernel when the graph has them back to back (cuda_backend.cu decides), saving a launch and a
// round trip of the activations each.
#include <algorithm>

#include "kernels.cuh"

namespace px::cuda {
namespace {

constexpr int kWarps = 8;   // warps per block
constexpr int kUnroll = 4;  // 16-byte weight chunks in flight per lane and row

__device__ __forceinline__ uint4 load_stream(const uint4* p) {
  uint4 v;
  asm volatile("ld.global.nc.L1::no_allocate.v4.u32 {%0, %1, %2, %3}, [%4];"
               : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
               : "l"(p));
  return v;
}

__device__ __forceinline__ void prefetch_l2(const void* p) { asm volatile("prefetch.global.L2 [%0];" ::"l"(p)); }

// Values [i, i + 8) of a norm weight (bf16 rows are 16-byte aligned when fusion is chosen).
__device__ __forceinline__ void load8(const void* p, int type, int i, float* out) {
  if (type == kBF16) {
    const uint4 v = __ldg(reinterpret_cast<const uint4*>(static_cast<const uint16_t*>(p) + i));
    const uint32_t u[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      out[2 * j] = __uint_as_float(u[j] << 16);
      out[2 * j + 1] = __uint_as_float(u[j] & 0xffff0000u);
    }
  } else {
#pragma unroll
    for (int e = 0; e < 8; ++e) out[e] = load_elem(p, type, i + e);
  }
}

// acc += sum over the 8 bf16 of w times x[0..8).
__device__ __forceinline__ float dot8(const uint4& w, const float* x8, float acc) {
  const uint32_t u[4] = {w.x, w.y, w.z, w.w};
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    acc = fmaf(__uint_as_float(u[i] << 16), x8[2 * i], acc);
    acc = fmaf(__uint_as_float(u[i] & 0xffff0000u), x8[2 * i + 1], acc);
  }
  return acc;
}

// Rows: without SwiGLU a unit is one row of the concatenated segments; with it, row r of seg[0]
// and of seg[1].
template <int TM, bool NORM, bool SILU>
__global__ void __launch_bounds__(kWarps * 32) matvec_kernel(MatvecArgs a, int units) {
  constexpr int NR = SILU ? 2 : 1;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int K = a.K, T = a.T, chunks = K / 8;
  const int first = blockIdx.x * kWarps + warp, stride = gridDim.x * kWarps;

  // Weights never change: start pulling this warp's first rows into L2 before the wait.
  if (first < units) {
    int s = 0, r = first;
    if (!SILU)
      while (r >= a.seg[s].rows) r -= a.seg[s].rows, ++s;
    for (int c = lane; c < chunks && c < 32 * kUnroll; c += 32) prefetch_l2(a.seg[s].w + static_cast<size_t>(r) * K + c * 8);
  }
  pdl_launch_dependents();
  pdl_wait();

  __shared__ float inv_rms[TM];
  __shared__ float red[32];
  if (NORM) {
    for (int t = 0; t < T; ++t) {
      float ss = 0.f;
      for (int i = threadIdx.x; i < K; i += blockDim.x) {
        const float v = a.x[static_cast<size_t>(t) * K + i];
        ss = fmaf(v, v, ss);
      }
      ss = block_sum(ss, red);
      if (threadIdx.x == 0) inv_rms[t] = 1.f / sqrtf(ss / K + a.eps);
    }
    __syncthreads();
    // The normalised input is an output of the graph too: each block writes a slice of it.
    for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < static_cast<int64_t>(T) * K;
         i += static_cast<int64_t>(gridDim.x) * blockDim.x)
      a.norm_out[i] = a.x[i] * inv_rms[i / K] * load_elem(a.norm_w, a.norm_type, i % K);
  }

  for (int u = first; u < units; u += stride) {
    int s = 0, r = u;
    if (!SILU)
      while (r >= a.seg[s].rows) r -= a.seg[s].rows, ++s;
    const uint4* w[NR];
#pragma unroll
    for (int n = 0; n < NR; ++n)
      w[n] = reinterpret_cast<const uint4*>(a.seg[SILU ? n : s].w + static_cast<size_t>(r) * K);
    float acc[NR][TM];
#pragma unroll
    for (int n = 0; n < NR; ++n)
#pragma unroll
      for (int t = 0; t < TM; ++t) acc[n][t] = 0.f;

    for (int c0 = lane; c0 < chunks; c0 += 32 * kUnroll) {
      uint4 wv[NR][kUnroll];
#pragma unroll
      for (int j = 0; j < kUnroll; ++j) {
        const int c = c0 + 32 * j;
#pragma unroll
        for (int n = 0; n < NR; ++n) wv[n][j] = c < chunks ? load_stream(w[n] + c) : make_uint4(0, 0, 0, 0);
      }
#pragma unroll
      for (int j = 0; j < kUnroll; ++j) {
        const int c = c0 + 32 * j;
        if (c >= chunks) break;
        float nw[8];
        if (NORM) load8(a.norm_w, a.norm_type, c * 8, nw);
#pragma unroll
        for (int t = 0; t < TM; ++t) {
          if (t >= T) break;
          const float4* xp = reinterpret_cast<const float4*>(a.x + static_cast<size_t>(t) * K + c * 8);
          const float4 lo = __ldg(xp), hi = __ldg(xp + 1);
          float x8[8] = {lo.x, lo.y, lo.z, lo.w, hi.x, hi.y, hi.z, hi.w};
          if (NORM)
#pragma unroll
            for (int e = 0; e < 8; ++e) x8[e] = x8[e] * inv_rms[t] * nw[e];
#pragma unroll
          for (int n = 0; n < NR; ++n) acc[n][t] = dot8(wv[n][j], x8, acc[n][t]);
        }
      }
    }
#pragma unroll
    for (int n = 0; n < NR; ++n)
#pragma unroll
      for (int t = 0; t < TM; ++t) acc[n][t] = warp_sum(acc[n][t]);
    if (lane != 0) continue;
    for (int t = 0; t < T && t < TM; ++t) {
      float val[NR];
#pragma unroll
      for (int n = 0; n < NR; ++n) {
        const WeightSegment& sg = a.seg[SILU ? n : s];
        val[n] = acc[n][t] + (sg.bias ? load_elem(sg.bias, sg.bias_type, r) : 0.f);
      }
      if (SILU) {
        const size_t o = static_cast<size_t>(t) * a.seg[0].rows + r;
        const float g = val[0], up = val[1];
        if (a.seg[0].y != a.silu_out) a.seg[0].y[o] = g;
        if (a.seg[1].y != a.silu_out) a.seg[1].y[o] = up;
        a.silu_out[o] = g / (1.f + expf(-g)) * up;
      } else {
        const WeightSegment& sg = a.seg[s];
        float* y = sg.y + static_cast<size_t>(t) * sg.rows + r;
        *y = sg.accumulate ? *y + val[0] : val[0];
      }
    }
  }
}

template <int TM>
void launch_t(const MatvecArgs& a, int sm_count, const Stream& s) {
  int units = 0;
  if (a.silu_out) units = a.seg[0].rows;
  else
    for (int i = 0; i < a.nseg; ++i) units += a.seg[i].rows;
  const int blocks = std::min(ceil_div(units, kWarps), sm_count * 8);
  const bool norm = a.norm_out != nullptr, silu = a.silu_out != nullptr;
  auto k = norm ? (silu ? matvec_kernel<TM, true, true> : matvec_kernel<TM, true, false>)
                : (silu ? matvec_kernel<TM, false, true> : matvec_kernel<TM, false, false>);
  launch(k, dim3(blocks), dim3(kWarps * 32), 0, s, "matvec", a, units);
}

}  // namespace

void matvec(const MatvecArgs& a, int sm_count, const Stream& s) {
  if (a.T <= 1) launch_t<1>(a, sm_count, s);
  else if (a.T <= 2) launch_t<2>(a, sm_count, s);
  else if (a.T <= 4) launch_t<4>(a, sm_count, s);
  else launch_t<8>(a, sm_count, s);
}

}  // namespace px::cuda
