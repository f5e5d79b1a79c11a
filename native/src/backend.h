// The backend boundary: everything the model code (vision_encoder, adapter, decoder) asks of a
// compute device. The model code only sees device pointers and these operations, so a CUDA or
// WebGPU backend plugs in by implementing this interface; each backend is checked op by op against
// the CPU backend. Activations are fp32 device arrays; weights are bf16 device tensors.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "safetensors.h"

namespace px {

// A bf16 weight on the device, [rows, cols] row-major (PyTorch Linear: [out, in]).
struct Weight {
  const uint16_t* data = nullptr;
  int64_t rows = 0;
  int64_t cols = 0;
};

// How RoPE pairs the dimensions of a head (spec a.3).
enum class RopePairing {
  Interleaved,  // Mistral layout: (2i, 2i+1)
  Half,         // transformers layout: (i, i + hd/2)
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;

  // ---- memory -------------------------------------------------------------------------------
  virtual float* alloc(size_t n) = 0;  // n floats, uninitialised, device memory
  virtual void release(float* p) = 0;
  virtual void upload(float* dst, const float* src, size_t n) = 0;    // host -> device
  virtual void download(float* dst, const float* src, size_t n) = 0;  // device -> host
  // Makes a checkpoint tensor usable on the device (CPU: points into the mapping, no copy).
  virtual Weight weight(const TensorView& t) = 0;
  virtual size_t device_bytes_in_use() const = 0;

  // ---- ops (shapes in brackets; T = rows/tokens) -------------------------------------------
  // y[T, out] = x[T, in] @ W^T (+ bias[out]) ; accumulate: y += instead of y =
  virtual void matmul(float* y, const float* x, const Weight& w, const Weight* bias, int T, bool accumulate) = 0;
  // y[T, D] = x / sqrt(mean(x^2) + eps) * w[D]   (y may alias x)
  virtual void rmsnorm(float* y, const float* x, const Weight& w, int T, int D, float eps) = 0;
  // In place on x[T, heads, hd] with row stride `stride` floats: rotate pair j of each head by
  // the angle whose cos/sin are cos_sin[t, j] / cos_sin[T*hd/2 + t*hd/2 + j]  ([2, T, hd/2]).
  virtual void rope(float* x, int stride, const float* cos_sin, int T, int heads, int hd, RopePairing pairing) = 0;
  // out[Tq, H*hd] = softmax(q k^T / sqrt(hd)) v, grouped-query: head h reads kv head h / (H/K).
  // q: [Tq, H*hd]; k, v: [Tk, K*hd]. causal_offset >= 0: query i sees keys j <= causal_offset + i;
  // causal_offset < 0: no mask (one vision image).
  virtual void attention(float* out, const float* q, const float* k, const float* v, int Tq, int Tk, int H, int K,
                         int hd, int causal_offset) = 0;
  virtual void silu_mul(float* gate, const float* up, size_t n) = 0;  // gate = silu(gate) * up
  virtual void gelu(float* x, size_t n) = 0;                          // exact erf GELU, in place
  // y[T, D] = table[ids[t]] (bf16 rows widened); ids is a host array
  virtual void embed(float* y, const Weight& table, const int32_t* ids, int T) = 0;
  virtual void copy(float* dst, const float* src, size_t n) = 0;
  virtual void synchronize() {}
};

// Owns one device allocation; released on scope exit, also when a Cancelled or EngineError unwinds.
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  DeviceBuffer(Backend& backend, size_t n) : be_(&backend), p_(backend.alloc(n)), n_(n) {}
  ~DeviceBuffer() { reset(); }
  DeviceBuffer(DeviceBuffer&& o) noexcept : be_(o.be_), p_(o.p_), n_(o.n_) { o.be_ = nullptr; o.p_ = nullptr; o.n_ = 0; }
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    if (this != &o) {
      reset();
      be_ = o.be_; p_ = o.p_; n_ = o.n_;
      o.be_ = nullptr; o.p_ = nullptr; o.n_ = 0;
    }
    return *this;
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  float* get() const { return p_; }
  size_t size() const { return n_; }
  void reset() {
    if (be_ && p_) be_->release(p_);
    be_ = nullptr; p_ = nullptr; n_ = 0;
  }

 private:
  Backend* be_ = nullptr;
  float* p_ = nullptr;
  size_t n_ = 0;
};

}  // namespace px
