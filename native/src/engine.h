// The engine: one loaded model (files, backend, vision encoder, adapter, decoder) and its session
// state (KV cache position, logits of the last position). This is what the N-API layer drives;
// it owns the order of the pipeline: images -> vision -> adapter -> [IMG] rows -> decoder -> sampler.
// Not thread-safe except cancel()/cancel_epoch(): the binding runs one call at a time.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "adapter.h"
#include "backend.h"
#include "decoder.h"
#include "model_files.h"
#include "sampler.h"
#include "vision_encoder.h"

namespace px {

struct LoadOptions {
  std::string backend = "cpu";
  std::string kernels;  // "" = runtime choice; else generic|avx2|neon
  int threads = 0;      // 0 = hardware threads
  int context = 0;      // KV cache tokens; 0 = min(8192, max_seq_len)
  int max_chunk = 512;  // prefill rows per pass
};

struct PrefillRequest {
  std::vector<int32_t> ids;
  std::vector<ImageInput> images;  // pixels owned by the caller for the duration of the call
  int reserve = 0;                 // new tokens generation will add; part of the window check
  bool all_logits = false;
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
  size_t weight_bytes = 0;    // mapped from the checkpoint, not copied
  size_t kv_cache_bytes = 0;
  size_t scratch_bytes = 0;   // other device allocations
  size_t rss_bytes = 0;
  size_t peak_rss_bytes = 0;
};

class Engine {
 public:
  Engine();
  ~Engine();

  void load(const std::string& dir, const LoadOptions& options);
  void unload();
  bool loaded() const { return files_ != nullptr; }
  const ModelFiles& files() const;
  std::string backend_name() const;
  int position() const;
  int context() const;
  void reset();

  // Calls capture the epoch when they are submitted; cancel() stops all calls submitted before it.
  uint64_t cancel_epoch() const { return epoch_.load(); }
  void cancel() { epoch_.fetch_add(1); }

  // Vision encoder output [S, Dv] on the host (capture: intermediate activations).
  std::vector<float> encode_images(const std::vector<ImageInput>& images, VisionCapture* capture, uint64_t epoch);
  // Adapter alone: x [rows, Dv] -> [rows, D].
  std::vector<float> project(const float* x, int rows, uint64_t epoch);
  // Appends the prompt; returns logits ([V] or [T, V]). Refuses before any compute when the
  // prompt plus `reserve` does not fit the context window, or image tokens and images disagree.
  std::vector<float> prefill(const PrefillRequest& request, uint64_t epoch);
  // Samples up to max_tokens from the last logits, feeding each token back. on_token gets the id and,
  // with return_logits, the logits it was chosen from. Returns why it stopped; tokens so far stay valid.
  StopReason generate(const GenerateRequest& request, const std::function<void(int, const float*)>& on_token,
                      uint64_t epoch);

  MemoryReport memory() const;

 private:
  void require_loaded() const;
  void check_window(int new_tokens, int reserve) const;

  std::atomic<uint64_t> epoch_{0};
  std::unique_ptr<ModelFiles> files_;
  std::unique_ptr<Backend> backend_;
  std::unique_ptr<VisionEncoder> vision_;
  std::unique_ptr<Adapter> adapter_;
  std::unique_ptr<Decoder> decoder_;
  std::vector<float> last_logits_;  // [V]: what generate samples the next token from
};

}  // namespace px
