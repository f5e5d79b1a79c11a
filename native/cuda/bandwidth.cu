// The device's read bandwidth, measured the way the decode matvecs read weights (16-byte loads that
// skip L1, a grid-stride stream over a buffer many times the L2): the ceiling each benchmark row's
// bound is computed from. Timed with events; the median of `reps` passes after a warm-up.
#include <algorithm>
#include <vector>

#include "kernels.cuh"

namespace px::cuda {
namespace {

__global__ void read_kernel(const uint4* p, size_t n, uint32_t* sink) {
  uint32_t acc = 0;
  for (size_t i = static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    uint4 v;
    asm volatile("ld.global.nc.L1::no_allocate.v4.u32 {%0, %1, %2, %3}, [%4];"
                 : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
                 : "l"(p + i));
    acc ^= v.x ^ v.y ^ v.z ^ v.w;
  }
  if (acc == 0x9e3779b9u) *sink = acc;  // practically never: keeps the loads alive
}

__global__ void fill_kernel(uint32_t* p, size_t n) {
  for (size_t i = static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += static_cast<size_t>(gridDim.x) * blockDim.x)
    p[i] = static_cast<uint32_t>(i * 2654435761u);
}

}  // namespace

double measure_read_bandwidth(size_t bytes, int reps, cudaStream_t stream) {
  bytes = bytes / 16 * 16;
  void* buf = nullptr;
  uint32_t* sink = nullptr;
  check_launch(cudaMallocAsync(&buf, bytes, stream), "bandwidth buffer");
  check_launch(cudaMallocAsync(reinterpret_cast<void**>(&sink), 4, stream), "bandwidth sink");
  int sms = 0, device = 0;
  cudaGetDevice(&device);
  cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device);
  fill_kernel<<<sms * 8, 256, 0, stream>>>(static_cast<uint32_t*>(buf), bytes / 4);  // random-ish data, never zeros
  cudaEvent_t start, stop;
  cudaEventCreate(&start);
  cudaEventCreate(&stop);
  std::vector<float> ms;
  for (int r = -2; r < reps; ++r) {
    cudaEventRecord(start, stream);
    read_kernel<<<sms * 8, 512, 0, stream>>>(static_cast<const uint4*>(buf), bytes / 16, sink);
    cudaEventRecord(stop, stream);
    check_launch(cudaEventSynchronize(stop), "bandwidth kernel");
    float t = 0;
    cudaEventElapsedTime(&t, start, stop);
    if (r >= 0) ms.push_back(t);
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  cudaFreeAsync(buf, stream);
  cudaFreeAsync(sink, stream);
  cudaStreamSynchronize(stream);
  std::sort(ms.begin(), ms.end());
  return static_cast<double>(bytes) / (ms[ms.size() / 2] * 1e-3) / 1e9;
}

}  // namespace px::cuda
