// The host-side entry points of the CUDA backend's kernel families, one .cu file each. The
// backend's planner (cuda_backend.cu) turns graph nodes into these calls; every pointer here is a
// device pointer already offset to the tensor's first element. Shapes follow graph.h.
#pragma once
#include <cstddef>
#include <cstdint>

#include "common.cuh"

namespace px::cuda {

// ---- matvec.cu: decode-sized matmuls (T <= kMatvecMaxT rows), bf16 weights streamed once ----
constexpr int kMatvecMaxT = 8;

// One weight of a group of matmuls that share their input x: y[T, rows] (=|+=) x' @ w^T (+ bias).
// Several weights sharing x are one launch (matvec and GEMM alike).
struct WeightSegment {
  const uint16_t* w = nullptr;  // bf16 [rows, K]
  const void* bias = nullptr;   // [rows] of bias_type, or null
  int bias_type = kF32;
  float* y = nullptr;           // f32 [T, rows]
  int rows = 0;
  int accumulate = 0;
};

struct MatvecArgs {
  const float* x = nullptr;  // f32 [T, K], rows 16-byte aligned
  int T = 0, K = 0;          // K % 8 == 0
  // Fused RMSNorm: x' = x / sqrt(mean(x^2) + eps) * norm_w, also written to norm_out [T, K].
  const void* norm_w = nullptr;
  int norm_type = kF32;
  float eps = 0.f;
  float* norm_out = nullptr;
  WeightSegment seg[3];
  int nseg = 0;
  // Fused SwiGLU: seg[0] is the gate, seg[1] the up projection (equal rows); silu_out[T, rows] =
  // silu(gate) * up, and the gate and up outputs are written as the unfused ops would.
  float* silu_out = nullptr;
};
void matvec(const MatvecArgs& a, int sm_count, const Stream& s);

// ---- gemm.cu: y[T, N] (=|+=) x[T, K] @ w[N, K]^T (+ bias) ----
// Tensor cores (mma.sync bf16, fp32 accumulate; x rounded to bf16): bf16 weights, K % 8 == 0.
struct GemmArgs {
  const float* x = nullptr;  // f32 [T, K]
  int T = 0, K = 0;
  WeightSegment seg[3];
  int nseg = 0;
};
void gemm_bf16(const GemmArgs& a, const Stream& s);
// Exact fp32 fallback for any weight dtype and shape (odd K, f32/f16 weights, q8_0/q4_0 blocks).
void gemm_generic(float* y, const float* x, const void* w, int w_type, const void* bias, int bias_type, int T, int K,
                  int N, bool accumulate, const Stream& s);

// ---- attention.cu ----
struct AttentionArgs {
  float* out = nullptr;           // f32 [Tq, H*hd]
  const float* q = nullptr;       // f32 [Tq, H*hd]
  const void* k = nullptr;        // [Tk, K*hd] of kv_type (f32, f16, bf16; q8_0 on the split path)
  const void* v = nullptr;
  int kv_type = kF32;
  const int32_t* positions = nullptr;  // i32 [Tq] or null (every key visible)
  int Tq = 0, Tk = 0, H = 0, K = 0, hd = 0;
};
// Flash attention on tensor cores (bf16 q/k/p/v, fp32 softmax and accumulation): hd 64 or 128,
// f32/f16/bf16 caches.
bool attention_flash_supported(const AttentionArgs& a);
// Raises the flash kernels' shared-memory limit; once per device, before any capture.
void attention_configure();
void attention_flash(const AttentionArgs& a, const Stream& s);
// Split-KV attention in fp32 (decode, and every shape the flash kernel does not take): hd <= 128,
// H/K <= 8. `splits` key ranges per (row, kv head); with splits > 1, `workspace` holds
// splits_workspace_bytes() and its counters are zero (the kernel leaves them zero again).
size_t splits_workspace_bytes(int Tq, int H, int hd, int splits);
size_t splits_counter_offset(int Tq, int H, int hd, int splits);
void attention_split(const AttentionArgs& a, int splits, void* workspace, const Stream& s);

// ---- elementwise.cu ----
void rmsnorm(float* y, const float* x, const void* w, int w_type, float eps, int T, int D, const Stream& s);
void rope(float* x, const float* table, int table_rows, const int32_t* positions, int T, int heads, int hd,
          bool interleaved, const Stream& s);
// RoPE of q and k at the same positions in one launch and, when kc is set, k and v stored into the
// KV cache rows at those positions (Rope, Rope, SetRows, SetRows of the decoder, fused).
struct RopeStoreArgs {
  float* q = nullptr;  // f32 [T, q_heads*hd], rotated in place
  int q_heads = 0;
  float* k = nullptr;  // f32 [T, k_heads*hd], rotated in place
  int k_heads = 0;
  const float* table = nullptr;  // f32 [table_rows, hd]: cos | sin
  int table_rows = 0;
  const int32_t* positions = nullptr;  // i32 [T]
  int T = 0, hd = 0, interleaved = 0;
  void* k_cache = nullptr;  // [cache_rows, k_heads*hd] of cache_type, or null (ropes only)
  void* v_cache = nullptr;
  int cache_type = kF32, cache_rows = 0;
  const float* v = nullptr;  // f32 [T, k_heads*hd]
};
void rope_store(const RopeStoreArgs& a, const Stream& s);
void silu_mul(float* y, const float* gate, const float* up, int64_t n, const Stream& s);
void gelu(float* y, const float* x, int64_t n, const Stream& s);
void embed(float* y, const void* table, int table_type, int V, int D, const int32_t* ids, int T, const Stream& s);
void set_rows(void* dst, int dst_type, int dst_rows, const float* src, const int32_t* index, int n, int cols,
              const Stream& s);
void copy_convert(void* dst, int dst_type, const float* src, int64_t n, const Stream& s);
void add_i32(int32_t* x, int64_t n, int32_t step, const Stream& s);

// ---- sample.cu: Op::Sample, one block; token i32 [1], state i32 [kSamplerStateInts] ----
void sample(int32_t* token, const float* logits, int V, int32_t* state, const Stream& s);

// ---- bandwidth.cu: device read bandwidth (GB/s) over `bytes` of device memory, median of `reps` ----
double measure_read_bandwidth(size_t bytes, int reps, cudaStream_t stream);

}  // namespace px::cuda
