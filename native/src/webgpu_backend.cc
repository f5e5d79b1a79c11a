// See webgpu_backend.h. WebGPU copies only 4-byte-aligned ranges, so write() and read() widen an
// unaligned range to whole words (a 16-bit tensor of odd length), keeping the bytes around it.
#include "webgpu_backend.h"

#include <algorithm>
#include <cstring>

namespace px {
namespace {

// The numbers the JS side (src/engine/webgpu/graph.ts) reads ops and dtypes by.
static_assert(static_cast<int>(Op::MatMul) == 0 && static_cast<int>(Op::CancelPoint) == 11,
              "Op values changed: update src/engine/webgpu/graph.ts");
static_assert(static_cast<int>(DType::F32) == 0 && static_cast<int>(DType::F16) == 1 &&
                  static_cast<int>(DType::BF16) == 2 && static_cast<int>(DType::I32) == 3 &&
                  static_cast<int>(DType::Q8_0) == 4 && static_cast<int>(DType::Q4_0) == 5,
              "DType values changed: update src/engine/webgpu/graph.ts");

// Weights go up in pieces of this size, so the JS side never holds a whole 1.3 GB tensor at once.
constexpr size_t kUploadChunk = size_t(64) << 20;

class WebGpuBuffer final : public Buffer {
 public:
  WebGpuBuffer(size_t bytes, uint32_t id, std::shared_ptr<WebGpuExecutor> executor, std::atomic<size_t>* in_use)
      : Buffer(bytes), id_(id), executor_(std::move(executor)), in_use_(in_use) {
    if (in_use_) in_use_->fetch_add(bytes, std::memory_order_relaxed);
  }
  ~WebGpuBuffer() override {
    // Work already submitted keeps the GPU memory alive until it is done (WebGPU's destroy()).
    executor_->free(id_);
    if (in_use_) in_use_->fetch_sub(bytes(), std::memory_order_relaxed);
  }
  uint32_t id() const { return id_; }

 private:
  uint32_t id_;
  std::shared_ptr<WebGpuExecutor> executor_;
  std::atomic<size_t>* in_use_;  // null for weights
};

uint32_t buffer_id(const Tensor& t) {
  const auto* b = dynamic_cast<const WebGpuBuffer*>(t.buffer);
  if (!b) throw EngineError(ErrorKind::Internal, "a tensor of another backend reached the webgpu backend");
  return b->id();
}

void push_tensor(std::vector<double>& out, const Tensor& t) {
  if (t.empty()) {
    out.insert(out.end(), {0, 0, 0, 0, 0});
    return;
  }
  out.insert(out.end(), {static_cast<double>(buffer_id(t)), static_cast<double>(t.offset),
                         static_cast<double>(static_cast<int>(t.dtype)), static_cast<double>(t.rows),
                         static_cast<double>(t.cols)});
}

// The whole words covering bytes [offset, offset + bytes).
struct Words {
  size_t begin, end;
  explicit Words(size_t offset, size_t bytes) : begin(offset & ~size_t(3)), end((offset + bytes + 3) & ~size_t(3)) {}
};

}  // namespace

WebGpuBackend::WebGpuBackend(std::shared_ptr<WebGpuExecutor> executor) : executor_(std::move(executor)) {}

std::unique_ptr<Buffer> WebGpuBackend::make_buffer(size_t bytes, size_t row_bytes, bool counted) {
  const uint32_t id = next_id_.fetch_add(1);
  executor_->alloc(id, bytes, row_bytes);
  return std::make_unique<WebGpuBuffer>(bytes, id, executor_, counted ? &bytes_in_use_ : nullptr);
}

std::unique_ptr<Buffer> WebGpuBackend::alloc(size_t bytes) { return make_buffer(bytes, 0, true); }

Tensor WebGpuBackend::weight(const TensorView& v) {
  Tensor t;
  t.dtype = weight_dtype(v);
  t.rows = v.shape.size() <= 1 ? 1 : v.shape[0];
  t.cols = t.rows == 0 ? 0 : v.numel() / t.rows;
  weights_.push_back(make_buffer(std::max<size_t>(v.nbytes, 1), t.row_bytes(), false));
  t.buffer = weights_.back().get();
  for (size_t at = 0; at < v.nbytes; at += kUploadChunk) {
    const size_t n = std::min(kUploadChunk, v.nbytes - at);
    if (n % 4 == 0) {
      executor_->write(buffer_id(t), at, static_cast<const char*>(v.data) + at, n);
    } else {  // the odd tail of a 16-bit vector: padded with zeros (the buffer holds nothing else)
      std::vector<char> padded((n + 3) & ~size_t(3), 0);
      std::memcpy(padded.data(), static_cast<const char*>(v.data) + at, n);
      executor_->write(buffer_id(t), at, padded.data(), padded.size());
    }
  }
  return t;
}

void WebGpuBackend::write(const Tensor& dst, const void* src) {
  const size_t bytes = dst.bytes();
  if (bytes == 0) return;
  const Words w(dst.offset, bytes);
  const uint32_t id = buffer_id(dst);
  if (w.begin == dst.offset && w.end == dst.offset + bytes) return executor_->write(id, dst.offset, src, bytes);
  // Read the partly covered edge words, lay the bytes over them, write the words back.
  std::vector<char> words(w.end - w.begin);
  executor_->read(id, w.begin, words.data(), 4);
  if (words.size() > 4) executor_->read(id, w.end - 4, words.data() + words.size() - 4, 4);
  std::memcpy(words.data() + (dst.offset - w.begin), src, bytes);
  executor_->write(id, w.begin, words.data(), words.size());
}

void WebGpuBackend::read(void* dst, const Tensor& src) {
  const size_t bytes = src.bytes();
  if (bytes == 0) return;
  const Words w(src.offset, bytes);
  const uint32_t id = buffer_id(src);
  if (w.begin == src.offset && w.end == src.offset + bytes) return executor_->read(id, src.offset, dst, bytes);
  std::vector<char> words(w.end - w.begin);
  executor_->read(id, w.begin, words.data(), words.size());
  std::memcpy(dst, words.data() + (src.offset - w.begin), bytes);
}

std::vector<double> WebGpuBackend::serialize(const Graph& graph) const {
  std::vector<double> out;
  out.reserve(graph.nodes().size() * kNodeFields);
  for (const Node& n : graph.nodes()) {
    out.insert(out.end(), {static_cast<double>(static_cast<int>(n.op)), static_cast<double>(n.heads),
                           static_cast<double>(n.kv_heads), static_cast<double>(n.head_dim), static_cast<double>(n.eps),
                           static_cast<double>(static_cast<int>(n.pairing)), n.accumulate ? 1.0 : 0.0,
                           static_cast<double>(n.step)});
    push_tensor(out, n.dst);
    for (const Tensor& s : n.src) push_tensor(out, s);
  }
  return out;
}

void WebGpuBackend::run(const Graph& graph, const CancelToken& cancel) {
  for (const Node& n : graph.nodes())
    if (n.op == Op::CancelPoint) {
      cancel.check();
      break;
    }
  if (!graph.reusable()) return executor_->run(graph.id(), serialize(graph), false);
  if (graph.compiled) return executor_->run(graph.id(), {}, true);
  executor_->run(graph.id(), serialize(graph), true);
  // The JS side holds the prebuilt graph until the Graph is destroyed.
  const uint64_t id = graph.id();
  graph.compiled = std::shared_ptr<void>(new uint64_t(id), [executor = executor_](void* p) {
    executor->forget(*static_cast<uint64_t*>(p));
    delete static_cast<uint64_t*>(p);
  });
}

}  // namespace px
