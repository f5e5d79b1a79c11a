// Device-side helpers shared by every kernel file of the CUDA backend: 16-bit float loads and
// stores for the three float dtypes of the boundary (f32, f16, bf16), warp reductions, the
// programmatic-dependent-launch (PDL) hooks, and the host launch helper that attaches PDL.
//
// PDL rule (sm_90): every kernel calls pdl_wait() before its first read of data an earlier node
// wrote and before its first global write; nothing but constant weights may be touched before it.
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace px::cuda {

// Element type codes for kernels (mirror px::DType). The block types store 32 values per block
// (tensor.h): q8_0 {f16 d; int8 q[32]}, q4_0 {f16 d; uint8 n[16]}; rows hold whole blocks, so
// element i of a tensor is value i % 32 of block i / 32.
enum ElemType : int { kF32 = 0, kF16 = 1, kBF16 = 2, kQ8_0 = 3, kQ4_0 = 4 };

__device__ __forceinline__ float bf16_bits_to_float(uint32_t bits16) { return __uint_as_float(bits16 << 16); }

// Element i of a row of `type` as fp32.
__device__ __forceinline__ float load_elem(const void* p, int type, int64_t i) {
  if (type == kF32) return static_cast<const float*>(p)[i];
  if (type == kBF16) return bf16_bits_to_float(static_cast<const uint16_t*>(p)[i]);
  if (type == kF16) return __half2float(static_cast<const __half*>(p)[i]);
  const int j = static_cast<int>(i % 32);
  const uint8_t* b = static_cast<const uint8_t*>(p) + (i / 32) * (type == kQ8_0 ? 34 : 18);
  const float d = __half2float(__ushort_as_half(static_cast<unsigned short>(b[0] | (b[1] << 8))));
  if (type == kQ8_0) return d * static_cast<int8_t>(b[2 + j]);
  const uint8_t n = b[2 + (j & 15)];
  return d * static_cast<float>((j < 16 ? (n & 15) : (n >> 4)) - 8);
}

// Stores x into element i, rounded to nearest even (the CPU's narrow_row).
__device__ __forceinline__ void store_elem(void* p, int type, int64_t i, float x) {
  if (type == kF32) static_cast<float*>(p)[i] = x;
  else if (type == kBF16) static_cast<__nv_bfloat16*>(p)[i] = __float2bfloat16_rn(x);
  else static_cast<__half*>(p)[i] = __float2half_rn(x);
}

template <typename T>
__device__ __forceinline__ T warp_sum(T v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// Sum over the block (blockDim.x a multiple of 32, at most 1024); every thread gets the total.
// `scratch` holds 32 values; the call ends with a barrier so scratch may be reused.
template <typename T>
__device__ __forceinline__ T block_sum(T v, T* scratch) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  v = warp_sum(v);
  __syncthreads();
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  T total = 0;
  for (int w = 0; w < warps; ++w) total += scratch[w];
  __syncthreads();
  return total;
}

// PDL: wait until the grids this one depends on have finished and their writes are visible.
__device__ __forceinline__ void pdl_wait() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
}

// PDL: let the next kernel in the stream start its blocks (they still wait in pdl_wait()).
__device__ __forceinline__ void pdl_launch_dependents() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
#endif
}

// How kernels are launched: the stream, and whether PDL edges are allowed (sm_90+, not disabled).
struct Stream {
  cudaStream_t stream = nullptr;
  bool pdl = false;
};

// Launches kernel<<<grid, block, smem, s.stream>>>(args...), with the PDL attribute when allowed;
// throws EngineError on a launch error (defined in cuda_backend.cu).
void check_launch(cudaError_t err, const char* what);

template <typename... KernelArgs, typename... Args>
void launch(void (*kernel)(KernelArgs...), dim3 grid, dim3 block, size_t smem, const Stream& s, const char* what,
            Args&&... args) {
  cudaLaunchConfig_t cfg = {};
  cfg.gridDim = grid;
  cfg.blockDim = block;
  cfg.dynamicSmemBytes = smem;
  cfg.stream = s.stream;
  cudaLaunchAttribute attr[1];
  if (s.pdl) {
    attr[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
    attr[0].val.programmaticStreamSerializationAllowed = 1;
    cfg.attrs = attr;
    cfg.numAttrs = 1;
  }
  check_launch(cudaLaunchKernelEx(&cfg, kernel, static_cast<KernelArgs>(args)...), what);
}

inline int ceil_div(int64_t a, int64_t b) { return static_cast<int>((a + b - 1) / b); }

}  // namespace px::cuda
