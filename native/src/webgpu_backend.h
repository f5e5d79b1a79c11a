// The WebGPU backend: Metal on macOS, D3D12 on Windows, Vulkan on Linux, through Dawn's Node
// bindings (the npm package `webgpu`). dawn.node exports only N-API entry points, so the GPU work
// itself lives in JavaScript (src/engine/webgpu/): this class implements the backend boundary by
// forwarding each call to a WebGpuExecutor, whose N-API implementation (webgpu_js_executor.cc) hands
// it to the JS thread. Buffers are ids the executor maps to GPUBuffers; a graph travels as a flat
// array of numbers (layout below) once per distinct graph: a reusable graph (the decode step, the
// sampling step) stays prebuilt on the JS side under Graph::id() until the Graph is destroyed, so a
// token costs one submit and a 4-byte read.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "backend.h"

namespace px {

// Node records of a serialized graph: kNodeFields numbers per node, in graph order.
//   [0] op (Op)  [1] heads  [2] kv_heads  [3] head_dim  [4] eps  [5] pairing (RopePairing)
//   [6] accumulate (0|1)  [7] step
//   [8 + 5 * k ...] operand k (0: dst, 1..4: src[0..3]) as buffer id (0: none), byte offset, dtype
//   (DType), rows, cols.
constexpr int kNodeFields = 8 + 5 * 5;

// What the JS side does for the backend; blocking calls wait for it and rethrow its failures as
// EngineError. free() and forget() never block and may be called from any thread.
class WebGpuExecutor {
 public:
  virtual ~WebGpuExecutor() = default;
  // "webgpu Apple M2 (metal)": set when the executor was created.
  virtual std::string name() const = 0;
  // A buffer of `bytes`; `row_bytes` > 0 lets the executor split one larger than the adapter's
  // largest buffer at row boundaries (weights). Throws EngineError(OutOfMemory) when it cannot.
  virtual void alloc(uint32_t id, size_t bytes, size_t row_bytes) = 0;
  virtual void free(uint32_t id) = 0;
  // Host <-> device bytes; offset and size are multiples of 4.
  virtual void write(uint32_t id, size_t offset, const void* data, size_t bytes) = 0;
  virtual void read(uint32_t id, size_t offset, void* data, size_t bytes) = 0;
  // Submits graph `graph`: `nodes` (kNodeFields per node) the first time, empty when the executor
  // already holds it (`keep` graphs are held until forget()).
  virtual void run(uint64_t graph, const std::vector<double>& nodes, bool keep) = 0;
  virtual void forget(uint64_t graph) = 0;
};

class WebGpuBackend final : public Backend {
 public:
  explicit WebGpuBackend(std::shared_ptr<WebGpuExecutor> executor);

  std::string name() const override { return executor_->name(); }
  std::unique_ptr<Buffer> alloc(size_t bytes) override;
  Tensor weight(const TensorView& t) override;
  void write(const Tensor& dst, const void* src) override;
  void read(void* dst, const Tensor& src) override;
  // Checks `cancel` when the run starts (a run only submits work; the GPU does not stop midway).
  void run(const Graph& graph, const CancelToken& cancel) override;
  size_t bytes_in_use() const override { return bytes_in_use_.load(std::memory_order_relaxed); }

 private:
  std::unique_ptr<Buffer> make_buffer(size_t bytes, size_t row_bytes, bool counted);
  std::vector<double> serialize(const Graph& graph) const;

  std::shared_ptr<WebGpuExecutor> executor_;
  std::atomic<uint32_t> next_id_{1};
  std::atomic<size_t> bytes_in_use_{0};
  std::vector<std::unique_ptr<Buffer>> weights_;
};

}  // namespace px
