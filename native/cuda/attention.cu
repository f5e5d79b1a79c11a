// Attention (Op::Attention), two kernels:
// - flash: prefill and the vision encoder. A block takes 64 query rows of one head (4 warps x 16
//   rows) and streams the keys in blocks of 64 through shared memory; S = Q K^T and O += P V run on
//   tensor cores (mma.sync bf16, fp32 accumulate) with the online softmax in fp32 registers
//   (FlashAttention-2's layout: the S accumulators are reused as the A operand of P V). Causal over a
//   cache through the positions; unmasked when there are none (one image of a packed batch).
// - split: decode (one or a few query rows over a long cache) and every shape flash does not take.
//   The keys of each (row, kv head) are cut into `splits` ranges, one block each, that reads every
//   K/V row once for all query heads of the group, in fp32; the last block of a (row, kv head) to
//   finish merges the partial softmaxes, so a decode step is one launch whose key count is read on
//   the device (replayable in a CUDA graph as the cache grows).
#include <cfloat>

#include "kernels.cuh"
#include "mma.cuh"

namespace px::cuda {
namespace {

constexpr float kLog2e = 1.4426950408889634f;


// 8 consecutive values of a row of `type` as 8 bf16 (16 bytes); p 16-byte aligned.
__device__ __forceinline__ uint4 load8_as_bf16(const void* base, int type, size_t i) {
  if (type == kBF16) return __ldg(reinterpret_cast<const uint4*>(static_cast<const uint16_t*>(base) + i));
  float f[8];
  if (type == kF32) {
    const float4* p = reinterpret_cast<const float4*>(static_cast<const float*>(base) + i);
    const float4 lo = __ldg(p), hi = __ldg(p + 1);
    f[0] = lo.x, f[1] = lo.y, f[2] = lo.z, f[3] = lo.w, f[4] = hi.x, f[5] = hi.y, f[6] = hi.z, f[7] = hi.w;
  } else {
    const uint4 raw = __ldg(reinterpret_cast<const uint4*>(static_cast<const uint16_t*>(base) + i));
    const __half2* h = reinterpret_cast<const __half2*>(&raw);
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const float2 v = __half22float2(h[j]);
      f[2 * j] = v.x, f[2 * j + 1] = v.y;
    }
  }
  return make_uint4(pack_bf16(f[0], f[1]), pack_bf16(f[2], f[3]), pack_bf16(f[4], f[5]), pack_bf16(f[6], f[7]));
}

constexpr int kFlashRows = 64, kFlashKeys = 64, kFlashThreads = 128;

template <int HD>
constexpr size_t flash_smem() {
  return static_cast<size_t>(3) * kFlashRows * (HD + 8) * sizeof(uint16_t);
}

// grid: (query blocks of 64, heads)
template <int HD>
__global__ void __launch_bounds__(kFlashThreads) flash_kernel(AttentionArgs a, float scale_log2) {
  constexpr int LD = HD + 8;  // padded row: ldmatrix reads hit distinct banks
  extern __shared__ __align__(16) uint16_t smem[];
  uint16_t(*Qs)[LD] = reinterpret_cast<uint16_t(*)[LD]>(smem);
  uint16_t(*Ks)[LD] = Qs + kFlashRows;
  uint16_t(*Vs)[LD] = Ks + kFlashKeys;
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5, g = lane >> 2, t4 = lane & 3, mat = lane >> 3;
  const int row0 = blockIdx.x * kFlashRows, h = blockIdx.y, kvh = h / (a.H / a.K);
  const int qstride = a.H * HD, kvstride = a.K * HD;
  pdl_launch_dependents();
  pdl_wait();

  for (int idx = tid; idx < kFlashRows * HD / 4; idx += kFlashThreads) {
    const int r = idx / (HD / 4), c = (idx % (HD / 4)) * 4;
    float4 v = make_float4(0.f, 0.f, 0.f, 0.f);
    if (row0 + r < a.Tq) v = __ldg(reinterpret_cast<const float4*>(a.q + static_cast<size_t>(row0 + r) * qstride + h * HD + c));
    *reinterpret_cast<uint2*>(&Qs[r][c]) = make_uint2(pack_bf16(v.x, v.y), pack_bf16(v.z, v.w));
  }
  // Keys this block needs: up to the last row's position (causal) or all of them.
  const int last = min(row0 + kFlashRows, a.Tq) - 1;
  const int kend = a.positions ? min(a.positions[last] + 1, a.Tk) : a.Tk;
  const int r_lo = row0 + warp * 16 + g, r_hi = r_lo + 8;
  auto limit = [&](int r) { return r >= a.Tq ? 0 : a.positions ? min(a.positions[r] + 1, a.Tk) : a.Tk; };
  const int lim_lo = limit(r_lo), lim_hi = limit(r_hi);
  __syncthreads();
  uint32_t qf[HD / 16][4];
#pragma unroll
  for (int kk = 0; kk < HD / 16; ++kk) ldmatrix_x4(qf[kk], &Qs[warp * 16 + (lane & 15)][kk * 16 + (lane >> 4) * 8]);

  float o[HD / 8][4];
#pragma unroll
  for (int i = 0; i < HD / 8; ++i) o[i][0] = o[i][1] = o[i][2] = o[i][3] = 0.f;
  float m_lo = -INFINITY, m_hi = -INFINITY, l_lo = 0.f, l_hi = 0.f;

  for (int kb = 0; kb < kend; kb += kFlashKeys) {
    __syncthreads();  // every warp is done with the previous K/V tile
    for (int idx = tid; idx < kFlashKeys * HD / 8; idx += kFlashThreads) {
      const int r = idx / (HD / 8), c = (idx % (HD / 8)) * 8;
      uint4 kv = make_uint4(0, 0, 0, 0), vv = make_uint4(0, 0, 0, 0);
      if (kb + r < a.Tk) {
        const size_t off = static_cast<size_t>(kb + r) * kvstride + kvh * HD + c;
        kv = load8_as_bf16(a.k, a.kv_type, off);
        vv = load8_as_bf16(a.v, a.kv_type, off);
      }
      *reinterpret_cast<uint4*>(&Ks[r][c]) = kv;
      *reinterpret_cast<uint4*>(&Vs[r][c]) = vv;
    }
    __syncthreads();

    float s[8][4];
#pragma unroll
    for (int i = 0; i < 8; ++i) s[i][0] = s[i][1] = s[i][2] = s[i][3] = 0.f;
#pragma unroll
    for (int kk = 0; kk < HD / 16; ++kk)
#pragma unroll
      for (int nt = 0; nt < 4; ++nt) {
        uint32_t b[4];
        ldmatrix_x4(b, &Ks[nt * 16 + (mat >> 1) * 8 + (lane & 7)][kk * 16 + (mat & 1) * 8]);
        mma_bf16(s[2 * nt], qf[kk], b[0], b[1]);
        mma_bf16(s[2 * nt + 1], qf[kk], b[2], b[3]);
      }

    float mx_lo = -INFINITY, mx_hi = -INFINITY;
#pragma unroll
    for (int nt = 0; nt < 8; ++nt)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int key = kb + nt * 8 + t4 * 2 + (e & 1);
        const bool ok = key < (e < 2 ? lim_lo : lim_hi);
        s[nt][e] = ok ? s[nt][e] * scale_log2 : -INFINITY;
        if (e < 2) mx_lo = fmaxf(mx_lo, s[nt][e]);
        else mx_hi = fmaxf(mx_hi, s[nt][e]);
      }
#pragma unroll
    for (int o2 = 1; o2 <= 2; o2 <<= 1) {
      mx_lo = fmaxf(mx_lo, __shfl_xor_sync(0xffffffffu, mx_lo, o2));
      mx_hi = fmaxf(mx_hi, __shfl_xor_sync(0xffffffffu, mx_hi, o2));
    }
    const float new_lo = fmaxf(m_lo, mx_lo), new_hi = fmaxf(m_hi, mx_hi);
    const float base_lo = new_lo == -INFINITY ? 0.f : new_lo, base_hi = new_hi == -INFINITY ? 0.f : new_hi;
    const float alpha_lo = exp2f(m_lo - base_lo), alpha_hi = exp2f(m_hi - base_hi);
    float sum_lo = 0.f, sum_hi = 0.f;
#pragma unroll
    for (int nt = 0; nt < 8; ++nt) {
      s[nt][0] = exp2f(s[nt][0] - base_lo);
      s[nt][1] = exp2f(s[nt][1] - base_lo);
      s[nt][2] = exp2f(s[nt][2] - base_hi);
      s[nt][3] = exp2f(s[nt][3] - base_hi);
      sum_lo += s[nt][0] + s[nt][1];
      sum_hi += s[nt][2] + s[nt][3];
    }
#pragma unroll
    for (int o2 = 1; o2 <= 2; o2 <<= 1) {
      sum_lo += __shfl_xor_sync(0xffffffffu, sum_lo, o2);
      sum_hi += __shfl_xor_sync(0xffffffffu, sum_hi, o2);
    }
    l_lo = l_lo * alpha_lo + sum_lo;
    l_hi = l_hi * alpha_hi + sum_hi;
    m_lo = new_lo;
    m_hi = new_hi;
#pragma unroll
    for (int i = 0; i < HD / 8; ++i) {
      o[i][0] *= alpha_lo, o[i][1] *= alpha_lo;
      o[i][2] *= alpha_hi, o[i][3] *= alpha_hi;
    }
#pragma unroll
    for (int j = 0; j < 4; ++j) {  // 16 keys per step: P [16 x 16] as the A operand
      const uint32_t pa[4] = {pack_bf16(s[2 * j][0], s[2 * j][1]), pack_bf16(s[2 * j][2], s[2 * j][3]),
                              pack_bf16(s[2 * j + 1][0], s[2 * j + 1][1]), pack_bf16(s[2 * j + 1][2], s[2 * j + 1][3])};
#pragma unroll
      for (int dp = 0; dp < HD / 16; ++dp) {
        uint32_t b[4];
        ldmatrix_x4_trans(b, &Vs[j * 16 + (mat & 1) * 8 + (lane & 7)][dp * 16 + (mat >> 1) * 8]);
        mma_bf16(o[2 * dp], pa, b[0], b[1]);
        mma_bf16(o[2 * dp + 1], pa, b[2], b[3]);
      }
    }
  }

  const float inv_lo = l_lo > 0.f ? 1.f / l_lo : 0.f, inv_hi = l_hi > 0.f ? 1.f / l_hi : 0.f;
#pragma unroll
  for (int i = 0; i < HD / 8; ++i) {
    const int col = h * HD + i * 8 + t4 * 2;
    if (r_lo < a.Tq) {
      float* out = a.out + static_cast<size_t>(r_lo) * qstride + col;
      out[0] = o[i][0] * inv_lo, out[1] = o[i][1] * inv_lo;
    }
    if (r_hi < a.Tq) {
      float* out = a.out + static_cast<size_t>(r_hi) * qstride + col;
      out[0] = o[i][2] * inv_hi, out[1] = o[i][3] * inv_hi;
    }
  }
}

// ---- split-KV ----
constexpr int kSplitWarps = 4, kMaxGroup = 8, kMaxDimsPerLane = 4;  // hd <= 128
constexpr int kKeysInFlight = 4;

struct SplitLayout {
  float* acc;     // [Tq, H, splits, hd]
  float* ml;      // [Tq, H, splits, 2]: running max (log2 domain) and sum
  int* counters;  // [Tq, K]
};

__device__ __forceinline__ float weight_of(float m, float top) { return m == -INFINITY ? 0.f : exp2f(m - top); }

// grid: (splits, kv heads, query rows); 4 warps, each a stride of the block's keys.
__global__ void __launch_bounds__(kSplitWarps * 32) split_kernel(AttentionArgs a, int splits, SplitLayout ws, float scale_log2) {
  __shared__ float sm_m[kSplitWarps][kMaxGroup], sm_l[kSplitWarps][kMaxGroup];
  __shared__ float sm_acc[kSplitWarps][kMaxGroup][kMaxDimsPerLane * 32];
  __shared__ bool last_block;
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int split = blockIdx.x, kvh = blockIdx.y, i = blockIdx.z;
  const int G = a.H / a.K, hd = a.hd, nd = (hd + 31) / 32;
  const size_t qstride = static_cast<size_t>(a.H) * hd, kvstride = static_cast<size_t>(a.K) * hd;
  pdl_launch_dependents();
  pdl_wait();

  const int limit = a.positions ? min(a.positions[i] + 1, a.Tk) : a.Tk;
  const int chunk = (limit + splits - 1) / splits;
  const int begin = split * chunk, end = min(limit, begin + chunk);

  float q[kMaxGroup][kMaxDimsPerLane], acc[kMaxGroup][kMaxDimsPerLane], m[kMaxGroup], l[kMaxGroup];
#pragma unroll
  for (int gh = 0; gh < kMaxGroup; ++gh) {
    m[gh] = -INFINITY, l[gh] = 0.f;
#pragma unroll
    for (int dd = 0; dd < kMaxDimsPerLane; ++dd) {
      const int d = lane + 32 * dd;
      acc[gh][dd] = 0.f;
      q[gh][dd] = gh < G && d < hd ? a.q[i * qstride + static_cast<size_t>(kvh * G + gh) * hd + d] * scale_log2 : 0.f;
    }
  }
  const size_t head_off = static_cast<size_t>(kvh) * hd;
  for (int j0 = begin + warp * kKeysInFlight; j0 < end; j0 += kSplitWarps * kKeysInFlight) {
    float kr[kKeysInFlight][kMaxDimsPerLane], vr[kKeysInFlight][kMaxDimsPerLane];
#pragma unroll
    for (int u = 0; u < kKeysInFlight; ++u)
#pragma unroll
      for (int dd = 0; dd < kMaxDimsPerLane; ++dd) {
        const int d = lane + 32 * dd, j = j0 + u;
        const bool ok = j < end && dd < nd && d < hd;
        const size_t off = static_cast<size_t>(j) * kvstride + head_off + d;
        kr[u][dd] = ok ? load_elem(a.k, a.kv_type, off) : 0.f;
        vr[u][dd] = ok ? load_elem(a.v, a.kv_type, off) : 0.f;
      }
#pragma unroll
    for (int u = 0; u < kKeysInFlight; ++u) {
      if (j0 + u >= end) break;
#pragma unroll
      for (int gh = 0; gh < kMaxGroup; ++gh) {
        if (gh >= G) break;
        float s = 0.f;
#pragma unroll
        for (int dd = 0; dd < kMaxDimsPerLane; ++dd) s = fmaf(q[gh][dd], kr[u][dd], s);
        s = warp_sum(s);
        const float top = fmaxf(m[gh], s);
        const float alpha = exp2f(m[gh] - top), p = exp2f(s - top);
        l[gh] = l[gh] * alpha + p;
#pragma unroll
        for (int dd = 0; dd < kMaxDimsPerLane; ++dd) acc[gh][dd] = fmaf(acc[gh][dd], alpha, p * vr[u][dd]);
        m[gh] = top;
      }
    }
  }

  // Merge the warps of the block.
#pragma unroll
  for (int gh = 0; gh < kMaxGroup; ++gh) {
    if (gh >= G) break;
    if (lane == 0) sm_m[warp][gh] = m[gh], sm_l[warp][gh] = l[gh];
#pragma unroll
    for (int dd = 0; dd < kMaxDimsPerLane; ++dd) sm_acc[warp][gh][lane + 32 * dd] = acc[gh][dd];
  }
  __syncthreads();
  for (int idx = tid; idx < G * hd; idx += blockDim.x) {
    const int gh = idx / hd, d = idx % hd, head = kvh * G + gh;
    float top = -INFINITY;
    for (int w = 0; w < kSplitWarps; ++w) top = fmaxf(top, sm_m[w][gh]);
    float L = 0.f, A = 0.f;
    for (int w = 0; w < kSplitWarps; ++w) {
      const float f = weight_of(sm_m[w][gh], top);
      L += sm_l[w][gh] * f;
      A += sm_acc[w][gh][d] * f;
    }
    if (splits == 1) {
      a.out[i * qstride + static_cast<size_t>(head) * hd + d] = L > 0.f ? A / L : 0.f;
    } else {
      const size_t p = (static_cast<size_t>(i) * a.H + head) * splits + split;
      ws.acc[p * hd + d] = A;
      if (d == 0) ws.ml[2 * p] = top, ws.ml[2 * p + 1] = L;
    }
  }
  if (splits == 1) return;

  // The last block of this (row, kv head) merges every split.
  __threadfence();
  __syncthreads();
  if (tid == 0) last_block = atomicAdd(&ws.counters[i * a.K + kvh], 1) == splits - 1;
  __syncthreads();
  if (!last_block) return;
  __threadfence();
  for (int idx = tid; idx < G * hd; idx += blockDim.x) {
    const int gh = idx / hd, d = idx % hd, head = kvh * G + gh;
    const size_t p0 = (static_cast<size_t>(i) * a.H + head) * splits;
    float top = -INFINITY;
    for (int sp = 0; sp < splits; ++sp) top = fmaxf(top, __ldcg(&ws.ml[2 * (p0 + sp)]));
    float L = 0.f, A = 0.f;
    for (int sp = 0; sp < splits; ++sp) {
      const float f = weight_of(__ldcg(&ws.ml[2 * (p0 + sp)]), top);
      L += __ldcg(&ws.ml[2 * (p0 + sp) + 1]) * f;
      A += __ldcg(&ws.acc[(p0 + sp) * hd + d]) * f;
    }
    a.out[i * qstride + static_cast<size_t>(head) * hd + d] = L > 0.f ? A / L : 0.f;
  }
  if (tid == 0) ws.counters[i * a.K + kvh] = 0;  // ready for the next run (graph replay)
}

bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

}  // namespace

bool attention_flash_supported(const AttentionArgs& a) {
  return (a.hd == 64 || a.hd == 128) && a.kv_type <= kBF16 && aligned16(a.q) && aligned16(a.k) && aligned16(a.v) && a.H % a.K == 0;
}

void attention_configure() {
  check_launch(cudaFuncSetAttribute(flash_kernel<64>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                    static_cast<int>(flash_smem<64>())),
               "flash attention (hd 64) shared memory");
  check_launch(cudaFuncSetAttribute(flash_kernel<128>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                    static_cast<int>(flash_smem<128>())),
               "flash attention (hd 128) shared memory");
}

void attention_flash(const AttentionArgs& a, const Stream& s) {
  const float scale_log2 = kLog2e / sqrtf(static_cast<float>(a.hd));
  const dim3 grid(ceil_div(a.Tq, kFlashRows), a.H);
  if (a.hd == 64) {
    launch(flash_kernel<64>, grid, dim3(kFlashThreads), flash_smem<64>(), s, "attention_flash", a, scale_log2);
  } else {
    launch(flash_kernel<128>, grid, dim3(kFlashThreads), flash_smem<128>(), s, "attention_flash", a, scale_log2);
  }
}

size_t splits_counter_offset(int Tq, int H, int hd, int splits) {
  const size_t floats = static_cast<size_t>(Tq) * H * splits * (hd + 2);
  return (floats * sizeof(float) + 255) / 256 * 256;
}

size_t splits_workspace_bytes(int Tq, int H, int hd, int splits) {
  return splits_counter_offset(Tq, H, hd, splits) + static_cast<size_t>(Tq) * H * sizeof(int);
}

void attention_split(const AttentionArgs& a, int splits, void* workspace, const Stream& s) {
  SplitLayout ws{};
  if (splits > 1) {
    char* base = static_cast<char*>(workspace);
    ws.acc = reinterpret_cast<float*>(base);
    ws.ml = ws.acc + static_cast<size_t>(a.Tq) * a.H * splits * a.hd;
    ws.counters = reinterpret_cast<int*>(base + splits_counter_offset(a.Tq, a.H, a.hd, splits));
  }
  const float scale_log2 = kLog2e / sqrtf(static_cast<float>(a.hd));
  launch(split_kernel, dim3(splits, a.K, a.Tq), dim3(kSplitWarps * 32), 0, s, "attention_split", a, splits, ws, scale_log2);
}

}  // namespace px::cuda
