// The small ops of the boundary: RMSNorm (a block per row), RoPE (a thread per rotated pair, angles
// gathered from the precomputed cos|sin table by position), SiLU-gate, exact-erf GELU, embedding
// rows, KV-cache row scatter (rounding into f32/f16/bf16 to nearest even), dtype copy and the i32
// position step. Each is one launch; indices outside their tensor are skipped (the engine checks
// ids and positions on the host before they reach the device).
#include <algorithm>

#include "kernels.cuh"

namespace px::cuda {
namespace {

constexpr int kThreads = 256;

int blocks_for(int64_t n) { return static_cast<int>(std::min<int64_t>((n + kThreads - 1) / kThreads, 1 << 20)); }

__global__ void rmsnorm_kernel(float* y, const float* x, const void* w, int w_type, float eps, int D) {
  __shared__ float red[32];
  pdl_launch_dependents();
  pdl_wait();
  const float* xr = x + static_cast<size_t>(blockIdx.x) * D;
  float* yr = y + static_cast<size_t>(blockIdx.x) * D;
  float ss = 0.f;
  for (int i = threadIdx.x; i < D; i += blockDim.x) ss = fmaf(xr[i], xr[i], ss);
  const float inv = 1.f / sqrtf(block_sum(ss, red) / D + eps);
  for (int i = threadIdx.x; i < D; i += blockDim.x) yr[i] = xr[i] * inv * load_elem(w, w_type, i);
}

__global__ void rope_kernel(float* x, const float* table, int table_rows, const int32_t* positions, int T, int heads,
                            int hd, int interleaved) {
  pdl_launch_dependents();
  pdl_wait();
  const int half = hd / 2;
  const int64_t n = static_cast<int64_t>(T) * heads * half;
  for (int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; idx < n;
       idx += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int j = static_cast<int>(idx % half);
    const int64_t th = idx / half;  // t * heads + h
    const int t = static_cast<int>(th / heads);
    const int p = positions[t];
    if (p < 0 || p >= table_rows) continue;
    const float c = table[static_cast<size_t>(p) * hd + j], s = table[static_cast<size_t>(p) * hd + half + j];
    float* v = x + th * hd;
    const int i0 = interleaved ? 2 * j : j, i1 = interleaved ? 2 * j + 1 : j + half;
    const float a = v[i0], b = v[i1];
    v[i0] = a * c - b * s;
    v[i1] = a * s + b * c;
  }
}

// grid: (rows); the block walks q's pairs, then k's (storing each rotated pair into the cache),
// then v's values.
__global__ void rope_store_kernel(RopeStoreArgs a) {
  pdl_launch_dependents();
  pdl_wait();
  const int t = blockIdx.x, p = a.positions[t], half = a.hd / 2;
  const bool rope_ok = p >= 0 && p < a.table_rows, store = a.k_cache && p >= 0 && p < a.cache_rows;
  const int nq = a.q_heads * half, nk = a.k_heads * half, nv = a.k_cache ? a.k_heads * a.hd : 0;
  const size_t kv_cols = static_cast<size_t>(a.k_heads) * a.hd;
  const float* c = a.table + static_cast<size_t>(rope_ok ? p : 0) * a.hd;
  for (int idx = threadIdx.x; idx < nq + nk + nv; idx += blockDim.x) {
    if (idx < nq + nk) {
      const bool is_q = idx < nq;
      const int item = is_q ? idx : idx - nq, h = item / half, j = item % half;
      const int i0 = a.interleaved ? 2 * j : j, i1 = a.interleaved ? 2 * j + 1 : j + half;
      float* row = (is_q ? a.q + static_cast<size_t>(t) * a.q_heads * a.hd : a.k + t * kv_cols) + static_cast<size_t>(h) * a.hd;
      float x0 = row[i0], x1 = row[i1];
      if (rope_ok) {
        const float cs = c[j], sn = c[half + j], r0 = x0 * cs - x1 * sn, r1 = x0 * sn + x1 * cs;
        row[i0] = x0 = r0, row[i1] = x1 = r1;
      }
      if (!is_q && store) {
        const int64_t base = static_cast<int64_t>(p) * kv_cols + static_cast<int64_t>(h) * a.hd;
        store_elem(a.k_cache, a.cache_type, base + i0, x0);
        store_elem(a.k_cache, a.cache_type, base + i1, x1);
      }
    } else if (store) {
      const int col = idx - nq - nk;
      store_elem(a.v_cache, a.cache_type, static_cast<int64_t>(p) * kv_cols + col, a.v[t * kv_cols + col]);
    }
  }
}

__global__ void silu_mul_kernel(float* y, const float* g, const float* u, int64_t n) {
  pdl_launch_dependents();
  pdl_wait();
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    y[i] = g[i] / (1.f + expf(-g[i])) * u[i];
}

__global__ void gelu_kernel(float* y, const float* x, int64_t n) {
  pdl_launch_dependents();
  pdl_wait();
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    y[i] = 0.5f * x[i] * (1.f + erff(x[i] * 0.70710678118654752f));
}

// grid: (rows, column blocks)
__global__ void embed_kernel(float* y, const void* table, int type, int V, int D, const int32_t* ids) {
  pdl_launch_dependents();
  pdl_wait();
  const int t = blockIdx.x, id = ids[t];
  const int c = blockIdx.y * blockDim.x + threadIdx.x;
  if (c >= D) return;
  y[static_cast<size_t>(t) * D + c] = id >= 0 && id < V ? load_elem(table, type, static_cast<int64_t>(id) * D + c) : NAN;
}

// grid: (source rows, column blocks)
__global__ void set_rows_kernel(void* dst, int type, int dst_rows, const float* src, const int32_t* index, int cols) {
  pdl_launch_dependents();
  pdl_wait();
  const int i = blockIdx.x, r = index[i];
  const int c = blockIdx.y * blockDim.x + threadIdx.x;
  if (c >= cols || r < 0 || r >= dst_rows) return;
  store_elem(dst, type, static_cast<int64_t>(r) * cols + c, src[static_cast<size_t>(i) * cols + c]);
}

// grid: (source rows, block groups): one thread quantizes one 32-value block into q8_0, exactly as
// quant_blocks.cc does (d = amax / 127 stored as f16, q = x / d rounded half away from zero).
__global__ void set_rows_q8_0_kernel(uint8_t* dst, int dst_rows, const float* src, const int32_t* index, int cols) {
  pdl_launch_dependents();
  pdl_wait();
  const int i = blockIdx.x, r = index[i], blk = blockIdx.y * blockDim.x + threadIdx.x;
  if (blk >= cols / 32 || r < 0 || r >= dst_rows) return;
  const float* x = src + static_cast<size_t>(i) * cols + blk * 32;
  uint8_t* b = dst + (static_cast<size_t>(r) * (cols / 32) + blk) * 34;
  float amax = 0.f;
  for (int j = 0; j < 32; ++j) amax = fmaxf(amax, fabsf(x[j]));
  const float d = amax / 127.f, id = d != 0.f ? 1.f / d : 0.f;
  const unsigned short h = __half_as_ushort(__float2half_rn(d));
  b[0] = static_cast<uint8_t>(h & 255), b[1] = static_cast<uint8_t>(h >> 8);
  for (int j = 0; j < 32; ++j) {
    // __fmul_rn: never fused into the subtraction below (x·id − t as one FMA rounds differently from
    // the CPU's rounded product, and a value near a half then lands on the other integer).
    const float v = __fmul_rn(x[j], id);
    const int t = static_cast<int>(v);
    const float f = v - static_cast<float>(t);
    b[2 + j] = static_cast<uint8_t>(static_cast<int8_t>(t + (f >= 0.5f) - (f <= -0.5f)));
  }
}

__global__ void copy_kernel(void* dst, int type, const float* src, int64_t n) {
  pdl_launch_dependents();
  pdl_wait();
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    store_elem(dst, type, i, src[i]);
}

__global__ void add_i32_kernel(int32_t* x, int64_t n, int32_t step) {
  pdl_launch_dependents();
  pdl_wait();
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    x[i] += step;
}

}  // namespace

void rmsnorm(float* y, const float* x, const void* w, int w_type, float eps, int T, int D, const Stream& s) {
  const int threads = D >= 4096 ? 1024 : D >= 1024 ? 512 : 128;
  launch(rmsnorm_kernel, dim3(T), dim3(threads), 0, s, "rmsnorm", y, x, w, w_type, eps, D);
}

void rope(float* x, const float* table, int table_rows, const int32_t* positions, int T, int heads, int hd,
          bool interleaved, const Stream& s) {
  const int64_t n = static_cast<int64_t>(T) * heads * (hd / 2);
  launch(rope_kernel, dim3(blocks_for(n)), dim3(kThreads), 0, s, "rope", x, table, table_rows, positions, T, heads, hd,
         interleaved ? 1 : 0);
}

void rope_store(const RopeStoreArgs& a, const Stream& s) {
  launch(rope_store_kernel, dim3(a.T), dim3(kThreads), 0, s, "rope_store", a);
}

void silu_mul(float* y, const float* gate, const float* up, int64_t n, const Stream& s) {
  launch(silu_mul_kernel, dim3(blocks_for(n)), dim3(kThreads), 0, s, "silu_mul", y, gate, up, n);
}

void gelu(float* y, const float* x, int64_t n, const Stream& s) {
  launch(gelu_kernel, dim3(blocks_for(n)), dim3(kThreads), 0, s, "gelu", y, x, n);
}

void embed(float* y, const void* table, int table_type, int V, int D, const int32_t* ids, int T, const Stream& s) {
  launch(embed_kernel, dim3(T, ceil_div(D, kThreads)), dim3(kThreads), 0, s, "embed", y, table, table_type, V, D, ids);
}

void set_rows(void* dst, int dst_type, int dst_rows, const float* src, const int32_t* index, int n, int cols,
              const Stream& s) {
  if (dst_type == kQ8_0) {
    launch(set_rows_q8_0_kernel, dim3(n, ceil_div(cols / 32, kThreads)), dim3(kThreads), 0, s, "set_rows", static_cast<uint8_t*>(dst),
           dst_rows, src, index, cols);
    return;
  }
  launch(set_rows_kernel, dim3(n, ceil_div(cols, kThreads)), dim3(kThreads), 0, s, "set_rows", dst, dst_type, dst_rows,
         src, index, cols);
}

void copy_convert(void* dst, int dst_type, const float* src, int64_t n, const Stream& s) {
  launch(copy_kernel, dim3(blocks_for(n)), dim3(kThreads), 0, s, "copy", dst, dst_type, src, n);
}

void add_i32(int32_t* x, int64_t n, int32_t step, const Stream& s) {
  launch(add_i32_kernel, dim3(blocks_for(n)), dim3(kThreads), 0, s, "add_i32", x, n, step);
}

}  // namespace px::cuda
