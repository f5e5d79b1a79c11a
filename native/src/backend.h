// The backend boundary: everything the model code (vision_encoder, adapter, decoder) asks of a
// compute device. Memory is handed out as Buffers the backend owns and seen through typed Tensor
// views (tensor.h); work is submitted a whole Graph at a time (graph.h). The CPU backend is the
// reference; a CUDA or WebGPU backend implements the same interface and is correct when it passes
// the op harness (native/test/op_harness.cc: every op, dtype and odd shape against float64) and
// the fixtures. Backends built as separate shared libraries export `pixtral_backend_create`.
#pragma once
#include <algorithm>
#include <cstddef>
#include <memory>
#include <string>
#include <utility>

#include "cancel.h"
#include "graph.h"
#include "safetensors.h"
#include "tensor.h"

namespace px {

// Total and free bytes of the device's own memory; zero where the backend cannot tell (the CPU:
// the fit check reads host memory itself).
struct DeviceMemory {
  size_t total = 0;
  size_t free = 0;
};

// The boundary type of a checkpoint tensor as its file stores it (what Backend::weight receives);
// a file type no op reads is BadWeights.
inline DType weight_dtype(const TensorView& v) {
  switch (v.dtype) {
    case FileDType::BF16: return DType::BF16;
    case FileDType::F16: return DType::F16;
    case FileDType::F32: return DType::F32;
    case FileDType::Q8_0: return DType::Q8_0;
    case FileDType::Q4_0: return DType::Q4_0;
    default:
      throw EngineError(ErrorKind::BadWeights, "tensor " + v.name + " in " + v.file + " has dtype " +
                                                   file_dtype_name(v.dtype) + ", which no backend op reads");
  }
}

class Backend {
 public:
  virtual ~Backend() = default;
  // "cpu-avx2", "cuda-sm90 (NVIDIA H200)", ...
  virtual std::string name() const = 0;

  // Uninitialised device memory; throws EngineError(OutOfMemory) when there is none.
  virtual std::unique_ptr<Buffer> alloc(size_t bytes) = 0;
  // A checkpoint tensor made usable by ops, as a [rows, cols] view (a vector is one row; more
  // dimensions fold into cols). Owned by the backend until it is destroyed. The CPU backend points
  // into the file mapping, or copies a matrix into the layout its kernel set multiplies
  // (interleaved_blocks.h); device backends upload.
  virtual Tensor weight(const TensorView& t) = 0;
  // A checkpoint tensor only read a row at a time (Op::Embed's table): as weight(), but where that
  // copies into a kernel layout this keeps the file's, in which a row is one read and only the
  // rows used become resident (the 12B's table is 1.3 GB in bf16).
  virtual Tensor table(const TensorView& t) { return weight(t); }
  // Work is ordered as submitted (one stream): write, run and read each come after everything
  // submitted before them. A backend may run asynchronously, and keeps a Buffer that is released
  // while work still uses it alive until that work is done.
  //
  // Host -> device, dst.bytes() bytes; `src` may be reused as soon as write returns.
  virtual void write(const Tensor& dst, const void* src) = 0;
  // Device -> host, src.bytes() bytes, once all submitted work has finished.
  virtual void read(void* dst, const Tensor& src) = 0;
  // Runs every node of the graph in order. A backend checks `cancel` at Op::CancelPoint nodes (or
  // only between runs when a run is short) and throws Cancelled; tensors written before stay valid.
  virtual void run(const Graph& graph, const CancelToken& cancel) = 0;

  // Bytes of the buffers alloc() handed out and not yet released (weights not included); safe to
  // call from any thread while a run is in progress.
  virtual size_t bytes_in_use() const = 0;
  virtual DeviceMemory device_memory() const { return {}; }
};

// A tensor that owns its buffer (activations, caches, inputs); released on scope exit, also when a
// Cancelled or EngineError unwinds.
class OwnedTensor {
 public:
  OwnedTensor() = default;
  OwnedTensor(Backend& backend, DType dtype, int64_t rows, int64_t cols) {
    view_.dtype = dtype;
    view_.rows = rows;
    view_.cols = cols;
    buffer_ = backend.alloc(std::max<size_t>(view_.bytes(), 1));
    view_.buffer = buffer_.get();
  }
  const Tensor& operator*() const { return view_; }
  const Tensor* operator->() const { return &view_; }
  const Tensor& view() const { return view_; }
  bool empty() const { return !buffer_; }
  size_t bytes() const { return buffer_ ? buffer_->bytes() : 0; }

 private:
  std::unique_ptr<Buffer> buffer_;
  Tensor view_;
};

// A backend in a shared library (CUDA) exports this C entry point. `options` is a JSON object
// ({"device": 0, ...}); on failure it returns nullptr and writes a message into `error`.
constexpr int kBackendAbiVersion = 1;
using BackendCreateFn = Backend* (*)(int abi_version, const char* options, char* error, size_t error_size);

}  // namespace px
