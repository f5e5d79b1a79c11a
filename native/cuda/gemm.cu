// Prefill and vision matmuls (T > 8 rows of x): compute-bound, so tensor cores. y[T, N] = x[T, K] @
// w[N, K]^T with mma.sync m16n8k16 (bf16 operands, fp32 accumulate; x is rounded to bf16 as it is
// staged, the one precision loss against the fp32 reference: relative error <= 2^-9 per product).
// Block tile 128 (tokens) x 128 (outputs) x 32 (k), 8 warps of 64 x 32, two shared-memory stages:
// the weight tile arrives by cp.async, the x tile through registers (f32 -> bf16). Blocks that
// share a weight tile are adjacent in launch order (m fastest), so each weight tile is read from
// HBM once per launch and from L2 by the other token tiles.
// Also the exact fp32 fallback for every other dtype and shape.
#include "kernels.cuh"
#include "mma.cuh"

namespace px::cuda {
namespace {

constexpr int BM = 128, BN = 128, BK = 32, LDS = BK + 8;  // LDS: padded row (80 bytes: no bank conflicts)
constexpr int kThreads = 256;

__device__ __forceinline__ int ceil_div_dev(int rows) { return (rows + BN - 1) / BN; }

// 16 bytes global -> shared without registers; zero-filled when !valid.
__device__ __forceinline__ void cp_async16(void* dst, const void* src, bool valid) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;" ::"r"(smem_addr(dst)), "l"(src), "r"(valid ? 16 : 0));
}
__device__ __forceinline__ void cp_async_commit_wait() {
  asm volatile("cp.async.commit_group;\ncp.async.wait_group 0;" ::: "memory");
}

// grid: (token tiles, output tiles of all segments)
__global__ void __launch_bounds__(kThreads) gemm_bf16_kernel(GemmArgs a) {
  __shared__ __align__(16) uint16_t As[2][BM][LDS];
  __shared__ __align__(16) uint16_t Bs[2][BN][LDS];
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int wm = warp >> 2, wn = warp & 3;  // warp tile: rows wm*64, cols wn*32
  const int T = a.T, K = a.K;
  const int m0 = blockIdx.x * BM;
  int tile = blockIdx.y, s = 0;
  while (tile >= ceil_div_dev(a.seg[s].rows)) tile -= ceil_div_dev(a.seg[s].rows), ++s;
  const WeightSegment& sg = a.seg[s];
  const int n0 = tile * BN, N = sg.rows;
  pdl_launch_dependents();
  pdl_wait();

  float4 xa[4];  // the next x tile in flight: 128 x 32 f32 = 4 float4 per thread
  auto load_a = [&](int k0) {
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const int idx = tid + i * kThreads, row = idx >> 3, col = (idx & 7) * 4;
      xa[i] = (m0 + row < T && k0 + col < K)
                  ? __ldg(reinterpret_cast<const float4*>(a.x + static_cast<size_t>(m0 + row) * K + k0 + col))
                  : make_float4(0.f, 0.f, 0.f, 0.f);
    }
  };
  auto store_a = [&](int stage) {
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const int idx = tid + i * kThreads, row = idx >> 3, col = (idx & 7) * 4;
      *reinterpret_cast<uint2*>(&As[stage][row][col]) = make_uint2(pack_bf16(xa[i].x, xa[i].y), pack_bf16(xa[i].z, xa[i].w));
    }
  };
  auto load_b = [&](int stage, int k0) {
#pragma unroll
    for (int i = 0; i < 2; ++i) {
      const int idx = tid + i * kThreads, row = idx >> 2, col = (idx & 3) * 8;
      const bool valid = n0 + row < N && k0 + col < K;
      const uint16_t* src = valid ? sg.w + static_cast<size_t>(n0 + row) * K + k0 + col : sg.w;
      cp_async16(&Bs[stage][row][col], src, valid);
    }
  };

  float acc[4][4][4];
#pragma unroll
  for (int i = 0; i < 4; ++i)
#pragma unroll
    for (int j = 0; j < 4; ++j)
#pragma unroll
      for (int e = 0; e < 4; ++e) acc[i][j][e] = 0.f;

  const int ktiles = (K + BK - 1) / BK;
  load_a(0);
  store_a(0);
  load_b(0, 0);
  cp_async_commit_wait();
  __syncthreads();
  for (int kt = 0; kt < ktiles; ++kt) {
    const int cur = kt & 1, nxt = cur ^ 1;
    const bool more = kt + 1 < ktiles;
    if (more) {
      load_b(nxt, (kt + 1) * BK);
      load_a((kt + 1) * BK);
    }
#pragma unroll
    for (int kk = 0; kk < BK; kk += 16) {
      uint32_t af[4][4], bf[2][4];
#pragma unroll
      for (int mi = 0; mi < 4; ++mi) ldmatrix_x4(af[mi], &As[cur][wm * 64 + mi * 16 + (lane & 15)][kk + (lane >> 4) * 8]);
#pragma unroll
      for (int nj = 0; nj < 2; ++nj) {
        const int mat = lane >> 3;
        ldmatrix_x4(bf[nj], &Bs[cur][wn * 32 + nj * 16 + (mat >> 1) * 8 + (lane & 7)][kk + (mat & 1) * 8]);
      }
#pragma unroll
      for (int mi = 0; mi < 4; ++mi)
#pragma unroll
        for (int nj = 0; nj < 2; ++nj) {
          mma_bf16(acc[mi][2 * nj], af[mi], bf[nj][0], bf[nj][1]);
          mma_bf16(acc[mi][2 * nj + 1], af[mi], bf[nj][2], bf[nj][3]);
        }
    }
    if (more) store_a(nxt);
    cp_async_commit_wait();
    __syncthreads();
  }

  const int g = lane >> 2, t4 = lane & 3;
#pragma unroll
  for (int mi = 0; mi < 4; ++mi)
#pragma unroll
    for (int ni = 0; ni < 4; ++ni)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int row = m0 + wm * 64 + mi * 16 + g + (e >> 1) * 8;
        const int col = n0 + wn * 32 + ni * 8 + t4 * 2 + (e & 1);
        if (row >= T || col >= N) continue;
        float v = acc[mi][ni][e];
        if (sg.bias) v += load_elem(sg.bias, sg.bias_type, col);
        float* y = sg.y + static_cast<size_t>(row) * N + col;
        *y = sg.accumulate ? *y + v : v;
      }
}

// Exact fp32 tiles of 16 x 16 outputs; any weight dtype, any K.
__global__ void gemm_generic_kernel(float* y, const float* x, const void* w, int w_type, const void* bias, int bias_type,
                                    int T, int K, int N, int accumulate) {
  __shared__ float xs[16][17], ws[16][17];
  pdl_launch_dependents();
  pdl_wait();
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int t = blockIdx.y * 16 + ty, n = blockIdx.x * 16 + tx;
  float sum = 0.f;
  for (int k0 = 0; k0 < K; k0 += 16) {
    const int xr = blockIdx.y * 16 + ty, wr = blockIdx.x * 16 + ty;
    xs[ty][tx] = xr < T && k0 + tx < K ? x[static_cast<size_t>(xr) * K + k0 + tx] : 0.f;
    ws[ty][tx] = wr < N && k0 + tx < K ? load_elem(w, w_type, static_cast<int64_t>(wr) * K + k0 + tx) : 0.f;
    __syncthreads();
#pragma unroll
    for (int i = 0; i < 16; ++i) sum = fmaf(xs[ty][i], ws[tx][i], sum);
    __syncthreads();
  }
  if (t >= T || n >= N) return;
  if (bias) sum += load_elem(bias, bias_type, n);
  float* out = y + static_cast<size_t>(t) * N + n;
  *out = accumulate ? *out + sum : sum;
}

}  // namespace

void gemm_bf16(const GemmArgs& a, const Stream& s) {
  int tiles = 0;
  for (int i = 0; i < a.nseg; ++i) tiles += ceil_div(a.seg[i].rows, BN);
  launch(gemm_bf16_kernel, dim3(ceil_div(a.T, BM), tiles), dim3(kThreads), 0, s, "gemm_bf16", a);
}

void gemm_generic(float* y, const float* x, const void* w, int w_type, const void* bias, int bias_type, int T, int K,
                  int N, bool accumulate, const Stream& s) {
  launch(gemm_generic_kernel, dim3(ceil_div(N, 16), ceil_div(T, 16)), dim3(16, 16), 0, s, "gemm_generic", y, x, w,
         w_type, bias, bias_type, T, K, N, accumulate ? 1 : 0);
}

}  // namespace px::cuda
