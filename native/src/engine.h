// The engine: one loaded model (files, backend, vision encoder, adapter, decoder) and its session
// state (tokens in the KV cache, whether logits to sample from exist). This is what the N-API layer
// drives; it owns the order of the pipeline: images -> vision -> adapter -> [IMG] rows -> decoder ->
// sampler. One call at a time (the binding refuses overlapping calls); cancel(), cancel_epoch(),
// position(), context(), loaded(), backend_name() and memory() are safe from any thread while a
// call runs.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "adapter.h"
#include "backend.h"
#include "backend_plugin.h"
#include "decoder.h"
#include "model_files.h"
#include "vision_encoder.h"

namespace px {

class WebGpuExecutor;  // webgpu_backend.h

struct LoadOptions {
  std::string backend = "cpu";     // cpu | cuda | webgpu
  std::string kernels;             // CPU: "" = runtime choice; else generic|avx2|neon
  int threads = 0;                 // CPU: 0 = hardware threads
  int device = 0;                  // GPU index
  int context = 0;                 // KV cache tokens; 0 = min(8192, max_seq_len)
  int max_chunk = 512;             // prefill rows per pass
  DType kv_cache = DType::F16;     // element type of the KV cache
  Precision precision = Precision::BF16;  // weights (precision.h); quantized on the first load
  std::shared_ptr<WebGpuExecutor> webgpu;  // webgpu: the JS executor that runs the GPU work
};

// Bytes a load with these options takes, by kind. The fit check reads these (one source).
struct MemoryPlan {
  size_t weight_bytes = 0;   // checkpoint tensors (mapped on the CPU, copied to a GPU)
  size_t kv_cache_bytes = 0;
  size_t scratch_bytes = 0;  // activations for a full prefill chunk and one full-size image, RoPE tables
};

struct SamplingParams {
  float temperature = 0.f;  // <= 0: greedy
  int top_k = 0;            // 0: off
  float top_p = 1.f;        // >= 1: off
  uint64_t seed = 0;
};

struct PrefillRequest {
  std::vector<int32_t> ids;
  std::vector<ImageInput> images;  // pixels owned by the caller for the duration of the call
  int reserve = 0;                 // new tokens generation will add; part of the window check
  LogitsMode logits = LogitsMode::None;
  int chunk = 0;
};

struct GenerateRequest {
  int max_tokens = 0;
  SamplingParams sampling;
  std::vector<int> stop_ids;
  bool return_logits = false;
};

enum class StopReason { Stop, Length, Cancelled };

struct MemoryReport {
  size_t weight_bytes = 0;    // checkpoint tensors
  size_t kv_cache_bytes = 0;
  size_t scratch_bytes = 0;   // other backend allocations
  size_t rss_bytes = 0;
  size_t peak_rss_bytes = 0;
  DeviceMemory device;        // the GPU's own memory, zero on the CPU
};

// The device of a backend: its name() ("cuda-sm90 NVIDIA H200") and memory (zero on the CPU).
struct DeviceInfo {
  std::string name;
  DeviceMemory memory;
};

class Engine {
 public:
  Engine();
  ~Engine();

  // What load(dir, options) would allocate, from the folder's config alone (no weights read);
  // weight_bytes: the checkpoint's at options.precision (ModelFiles::weight_bytes_at).
  static MemoryPlan plan(const ModelConfig& config, size_t weight_bytes, const LoadOptions& options);
  // Opens the backend options.backend names (no model), reports its device and closes it; throws
  // EngineError(Unsupported) when that backend cannot run here. The fit check reads a GPU's free
  // memory from it before a load.
  static DeviceInfo probe_device(const LoadOptions& options);

  void load(const std::string& dir, const LoadOptions& options);
  void unload();
  bool loaded() const { return loaded_.load(); }
  const ModelFiles& files() const;
  std::string backend_name() const;
  int position() const { return position_.load(); }
  int context() const { return context_.load(); }
  // Empties the KV cache (position 0).
  void reset();
  // Keeps the first `n` tokens of the KV cache and drops the rest (n <= position): a follow-up
  // that shares a prefix with what is cached prefills only what differs.
  void rewind(int n);

  // Calls capture the epoch when they are submitted; cancel() stops all calls submitted before it.
  uint64_t cancel_epoch() const { return epoch_.load(); }
  void cancel() { epoch_.fetch_add(1); }

  // Vision encoder output [S, Dv] on the host (capture: intermediate activations, each [S, Dv]).
  std::vector<float> encode_images(const std::vector<ImageInput>& images, std::vector<std::vector<float>>* capture,
                                   uint64_t epoch);
  // Adapter alone: x [rows, Dv] -> [rows, D].
  std::vector<float> project(const float* x, int rows, uint64_t epoch);
  // Appends the prompt at the current position; returns the logits request.logits asks for. Refuses
  // before any compute when the prompt plus `reserve` does not fit the context window, or image
  // tokens and images disagree.
  std::vector<float> prefill(const PrefillRequest& request, uint64_t epoch);
  // Samples up to max_tokens on the device from the last logits, feeding each token back. on_token
  // gets the id and, with return_logits, the logits it was drawn from. Returns why it stopped;
  // tokens so far stay valid (position() says how many are in the cache).
  StopReason generate(const GenerateRequest& request, const std::function<void(int, const float*)>& on_token,
                      uint64_t epoch);

  MemoryReport memory() const;

 private:
  void require_loaded() const;
  void check_window(int new_tokens, int reserve) const;

  std::atomic<uint64_t> epoch_{0};
  std::atomic<bool> loaded_{false};
  std::atomic<int> position_{0}, context_{0};
  bool has_logits_ = false;  // the device holds logits to sample the next token from
  mutable std::mutex parts_mu_;  // guards swapping the parts below (load/unload vs. memory())
  std::string backend_name_;
  std::unique_ptr<ModelFiles> files_;
  SharedLibrary backend_library_;  // outlives the backend it made
  std::unique_ptr<Backend> backend_;
  std::unique_ptr<VisionEncoder> vision_;
  std::unique_ptr<Adapter> adapter_;
  std::unique_ptr<Decoder> decoder_;
};

// "f32" | "f16" | "bf16" | "q8_0" -> DType; throws EngineError(BadInput) otherwise.
DType kv_cache_dtype(const std::string& name);

}  // namespace px
