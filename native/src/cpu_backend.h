// The CPU backend: the embedded default and the reference every other backend is checked against.
// "Device" memory is host memory; weights stay in the read-only file mapping (zero copy). A graph
// runs node by node, each op split across a thread pool with the kernel set chosen at run time
// (kernels.h); cancel requests are honoured at every Op::CancelPoint.
#pragma once
#include <atomic>
#include <memory>
#include <vector>

#include "backend.h"
#include "kernels.h"
#include "sampler.h"
#include "thread_pool.h"

namespace px {

class CpuBackend final : public Backend {
 public:
  // threads <= 0: one per hardware thread. kernels: nullptr = runtime choice.
  explicit CpuBackend(int threads, const CpuKernels* kernels = nullptr);
  ~CpuBackend() override;

  std::string name() const override;
  std::unique_ptr<Buffer> alloc(size_t bytes) override;
  Tensor weight(const TensorView& t) override;
  Tensor table(const TensorView& t) override;
  void write(const Tensor& dst, const void* src) override;
  void read(void* dst, const Tensor& src) override;
  void run(const Graph& graph, const CancelToken& cancel) override;
  size_t bytes_in_use() const override { return bytes_in_use_.load(std::memory_order_relaxed); }

 private:
  // A checkpoint tensor as weight() (matrix: in the kernel set's layout) or table() takes it.
  Tensor take(const TensorView& v, bool matrix);
  void matmul(const Node& n);
  void rmsnorm(const Node& n);
  void rope(const Node& n);
  void attention(const Node& n);
  void silu_mul(const Node& n);
  void gelu(const Node& n);
  void embed(const Node& n);
  void set_rows(const Node& n);
  void copy(const Node& n);
  void sample(const Node& n);

  ThreadPool pool_;
  const CpuKernels* kernels_;
  std::atomic<size_t> bytes_in_use_{0};
  std::vector<std::unique_ptr<Buffer>> weights_;  // handed out by weight() and table()
  SamplerScratch sampler_scratch_;
};

// Host address of a CPU tensor's first element (for the CPU backend and the code that tests it).
void* cpu_data(const Tensor& t);

}  // namespace px
