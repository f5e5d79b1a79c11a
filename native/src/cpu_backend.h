// The CPU backend: the embedded default and the reference every other backend is checked against.
// Weights stay in the read-only file mapping (zero copy); ops run on a thread pool with the kernel
// set chosen at runtime (kernels.h).
#pragma once
#include <memory>

#include "backend.h"
#include "kernels.h"
#include "thread_pool.h"

namespace px {

class CpuBackend final : public Backend {
 public:
  // threads <= 0: one per hardware thread. kernels: nullptr = runtime choice.
  explicit CpuBackend(int threads, const CpuKernels* kernels = nullptr);
  ~CpuBackend() override;

  std::string name() const override;
  float* alloc(size_t n) override;
  void release(float* p) override;
  void upload(float* dst, const float* src, size_t n) override;
  void download(float* dst, const float* src, size_t n) override;
  Weight weight(const TensorView& t) override;
  size_t device_bytes_in_use() const override { return bytes_in_use_; }

  void matmul(float* y, const float* x, const Weight& w, const Weight* bias, int T, bool accumulate) override;
  void rmsnorm(float* y, const float* x, const Weight& w, int T, int D, float eps) override;
  void rope(float* x, int stride, const float* cos_sin, int T, int heads, int hd, RopePairing pairing) override;
  void attention(float* out, const float* q, const float* k, const float* v, int Tq, int Tk, int H, int K, int hd,
                 int causal_offset) override;
  void silu_mul(float* gate, const float* up, size_t n) override;
  void gelu(float* x, size_t n) override;
  void embed(float* y, const Weight& table, const int32_t* ids, int T) override;
  void copy(float* dst, const float* src, size_t n) override;


 private:
  ThreadPool pool_;
  const CpuKernels* kernels_;
  size_t bytes_in_use_ = 0;
};

}  // namespace px
