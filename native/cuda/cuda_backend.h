// The CUDA backend: px::Backend on one NVIDIA GPU (sm_80 and newer), built by nvcc into
// libpixtral_cuda.so / pixtral_cuda.dll with the CUDA runtime linked statically, and opened by the
// engine only when backend "cuda" is asked for (backend_plugin.h). Memory comes from a stream-
// ordered pool (cudaMallocAsync on the backend's one stream), weights are uploaded once as they
// are in the checkpoint (bf16), and a Graph becomes a list of kernel launches (with neighbouring
// ops fused where that saves a pass over memory); a reusable graph (the decode step) is captured
// into a CUDA graph on its first run and replayed after.
//
// Environment switches for comparing variants on a GPU (all default on):
//   PIXTRAL_CUDA_GRAPHS=0  run reusable graphs as plain launches   PIXTRAL_CUDA_FUSE=0  no fusion
//   PIXTRAL_CUDA_PDL=0     no programmatic dependent launch (sm_90)
#pragma once
#include <cuda_runtime.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "../src/backend.h"
#include "common.cuh"

namespace px::cuda {

class CudaBackend final : public Backend {
 public:
  // Throws EngineError(Unsupported) when the device cannot run this build.
  explicit CudaBackend(int device);
  ~CudaBackend() override;

  std::string name() const override { return name_; }
  std::unique_ptr<Buffer> alloc(size_t bytes) override;
  Tensor weight(const TensorView& t) override;
  void write(const Tensor& dst, const void* src) override;
  void read(void* dst, const Tensor& src) override;
  void run(const Graph& graph, const CancelToken& cancel) override;
  size_t bytes_in_use() const override { return bytes_in_use_.load(std::memory_order_relaxed); }
  DeviceMemory device_memory() const override;

  struct Plan;  // a graph as launches (cuda_backend.cu)

 private:
  void enqueue(const Plan& plan, char* workspace) const;
  Plan build_plan(const Graph& graph) const;

  int device_;
  int sm_count_ = 0;
  std::string name_;
  cudaStream_t stream_ = nullptr;
  Stream launch_;  // stream_ plus whether kernels may use PDL
  bool use_graphs_ = true, fuse_ = true;
  std::atomic<size_t> bytes_in_use_{0};
  std::vector<std::unique_ptr<Buffer>> weights_;  // device copies of checkpoint tensors
};

}  // namespace px::cuda
