// See engine.h.
#include "engine.h"

#include <algorithm>

#include "cpu_backend.h"
#include "error.h"
#include "kernels.h"

#if defined(__linux__)
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#elif defined(__APPLE__)
#include <mach/mach.h>
#include <sys/resource.h>
#endif

namespace px {
namespace {

void rss(size_t& current, size_t& peak) {
  current = peak = 0;
#if defined(__linux__)
  std::ifstream statm("/proc/self/statm");
  size_t pages_total = 0, pages_resident = 0;
  if (statm >> pages_total >> pages_resident) current = pages_resident * static_cast<size_t>(sysconf(_SC_PAGESIZE));
  rusage ru{};
  if (getrusage(RUSAGE_SELF, &ru) == 0) peak = static_cast<size_t>(ru.ru_maxrss) * 1024;
#elif defined(__APPLE__)
  mach_task_basic_info info{};
  mach_msg_type_number_t count = MACH_TASK_BASIC_INFO_COUNT;
  if (task_info(mach_task_self(), MACH_TASK_BASIC_INFO, reinterpret_cast<task_info_t>(&info), &count) == KERN_SUCCESS)
    current = info.resident_size;
  rusage ru{};
  if (getrusage(RUSAGE_SELF, &ru) == 0) peak = static_cast<size_t>(ru.ru_maxrss);
#endif
}

std::unique_ptr<Backend> make_backend(const LoadOptions& o) {
  if (o.backend != "cpu")
    throw EngineError("backend \"" + o.backend + "\" is not available in this build (available: cpu)");
  const CpuKernels* kernels = nullptr;
  if (!o.kernels.empty()) {
    kernels = cpu_kernels_named(o.kernels);
    if (!kernels) throw EngineError("CPU kernel set \"" + o.kernels + "\" is not supported on this machine");
  }
  return std::make_unique<CpuBackend>(o.threads, kernels);
}

}  // namespace

Engine::Engine() = default;
Engine::~Engine() { unload(); }

void Engine::load(const std::string& dir, const LoadOptions& options) {
  unload();
  auto files = ModelFiles::open(dir);
  const ModelConfig& cfg = files->config();
  const int64_t window = cfg.max_seq_len;
  const int64_t context = options.context > 0 ? options.context : std::min<int64_t>(8192, window);
  if (context > window)
    throw EngineError("requested context of " + std::to_string(context) + " tokens exceeds the model's window of " +
                      std::to_string(window) + " tokens");
  auto backend = make_backend(options);
  std::unique_ptr<VisionEncoder> vision;
  std::unique_ptr<Adapter> adapter;
  if (cfg.has_vision) {
    vision = std::make_unique<VisionEncoder>(*backend, *files);
    adapter = std::make_unique<Adapter>(*backend, *files);
  }
  auto decoder = std::make_unique<Decoder>(*backend, *files, static_cast<int>(context), options.max_chunk);
  files_ = std::move(files);
  backend_ = std::move(backend);
  vision_ = std::move(vision);
  adapter_ = std::move(adapter);
  decoder_ = std::move(decoder);
}

void Engine::unload() {
  // Order matters: model parts release device memory through the backend, weights point into files.
  decoder_.reset();
  adapter_.reset();
  vision_.reset();
  backend_.reset();
  files_.reset();
  last_logits_.clear();
  last_logits_.shrink_to_fit();
}

void Engine::require_loaded() const {
  if (!files_) throw EngineError("no model is loaded");
}

const ModelFiles& Engine::files() const {
  require_loaded();
  return *files_;
}

std::string Engine::backend_name() const {
  require_loaded();
  return backend_->name();
}

int Engine::position() const { return decoder_ ? decoder_->position() : 0; }
int Engine::context() const { return decoder_ ? decoder_->context() : 0; }

void Engine::reset() {
  if (decoder_) decoder_->reset();
  last_logits_.clear();
}

void Engine::check_window(int new_tokens, int reserve) const {
  const int64_t needed = static_cast<int64_t>(position()) + new_tokens + reserve;
  if (needed > context())
    throw EngineError("the request needs " + std::to_string(needed) + " tokens (" + std::to_string(position()) +
                      " in the cache + " + std::to_string(new_tokens) + " prompt + " + std::to_string(reserve) +
                      " to generate) but the context holds " + std::to_string(context()) + " (model window " +
                      std::to_string(files_->config().max_seq_len) + ")");
}

std::vector<float> Engine::encode_images(const std::vector<ImageInput>& images, VisionCapture* capture,
                                         uint64_t epoch) {
  require_loaded();
  if (!vision_) throw EngineError("this model has no vision encoder");
  int S = 0;
  for (const ImageInput& img : images) S += vision_->patches_for(img);
  DeviceBuffer out(*backend_, static_cast<size_t>(S) * vision_->hidden());
  vision_->encode(images, out.get(), capture, CancelToken(epoch_, epoch));
  std::vector<float> host(out.size());
  backend_->download(host.data(), out.get(), host.size());
  return host;
}

std::vector<float> Engine::project(const float* x, int rows, uint64_t epoch) {
  require_loaded();
  if (!adapter_) throw EngineError("this model has no vision adapter");
  CancelToken(epoch_, epoch).check();
  const size_t D = adapter_->out_dim();
  DeviceBuffer in(*backend_, static_cast<size_t>(rows) * adapter_->in_dim()), out(*backend_, rows * D),
      scratch(*backend_, rows * D);
  backend_->upload(in.get(), x, in.size());
  adapter_->forward(in.get(), out.get(), scratch.get(), rows);
  std::vector<float> host(out.size());
  backend_->download(host.data(), out.get(), host.size());
  return host;
}

std::vector<float> Engine::prefill(const PrefillRequest& r, uint64_t epoch) {
  require_loaded();
  const ModelConfig& cfg = files_->config();
  const CancelToken cancel(epoch_, epoch);
  if (r.ids.empty()) throw EngineError("the prompt is empty");
  if (r.reserve < 0) throw EngineError("reserve must be >= 0");
  check_window(static_cast<int>(r.ids.size()), r.reserve);
  for (size_t t = 0; t < r.ids.size(); ++t)
    if (r.ids[t] < 0 || r.ids[t] >= cfg.vocab_size)
      throw EngineError("token id " + std::to_string(r.ids[t]) + " at position " + std::to_string(t) +
                        " is outside the vocabulary of " + std::to_string(cfg.vocab_size));

  // [IMG] rows must match the images' patch count exactly, checked before the vision encoder runs.
  const int image_token = cfg.has_vision ? cfg.vision.image_token_id : -1;
  const int64_t image_slots = cfg.has_vision ? std::count(r.ids.begin(), r.ids.end(), image_token) : 0;
  int64_t patches = 0;
  if (!r.images.empty() && !vision_) throw EngineError("this model has no vision encoder");
  for (const ImageInput& img : r.images) patches += vision_->patches_for(img);
  if (patches != image_slots)
    throw EngineError("the prompt has " + std::to_string(image_slots) + " [IMG] tokens but the images have " +
                      std::to_string(patches) + " patches");

  DeviceBuffer embeds;
  if (patches > 0) {
    DeviceBuffer features(*backend_, static_cast<size_t>(patches) * vision_->hidden());
    vision_->encode(r.images, features.get(), nullptr, cancel);
    embeds = DeviceBuffer(*backend_, static_cast<size_t>(patches) * cfg.dim);
    DeviceBuffer scratch(*backend_, static_cast<size_t>(patches) * cfg.dim);
    adapter_->forward(features.get(), embeds.get(), scratch.get(), static_cast<int>(patches));
  }
  std::vector<float> logits;
  decoder_->append(r.ids.data(), static_cast<int>(r.ids.size()), embeds.get(), image_token, r.all_logits, r.chunk,
                   logits, cancel);
  const size_t V = cfg.vocab_size;
  last_logits_.assign(logits.end() - V, logits.end());
  return logits;
}

StopReason Engine::generate(const GenerateRequest& r, const std::function<void(int, const float*)>& on_token,
                            uint64_t epoch) {
  require_loaded();
  if (last_logits_.empty()) throw EngineError("generate needs a prefill first (the cache holds no prompt)");
  if (r.max_tokens <= 0) return StopReason::Length;
  // The last sampled token is never fed back, so max_tokens - 1 more cache rows are needed.
  check_window(r.max_tokens - 1, 0);
  const CancelToken cancel(epoch_, epoch);
  const int V = files_->config().vocab_size;
  Sampler sampler(r.sampling);
  std::vector<float> logits;
  for (int i = 0; i < r.max_tokens; ++i) {
    if (cancel.cancelled()) return StopReason::Cancelled;
    const int id = sampler.sample(last_logits_.data(), V);
    if (std::find(r.stop_ids.begin(), r.stop_ids.end(), id) != r.stop_ids.end()) return StopReason::Stop;
    on_token(id, r.return_logits ? last_logits_.data() : nullptr);
    if (i + 1 == r.max_tokens) break;
    try {
      decoder_->append(&id, 1, nullptr, -1, false, 1, logits, cancel);
    } catch (const Cancelled&) {
      return StopReason::Cancelled;
    }
    last_logits_.swap(logits);
  }
  return StopReason::Length;
}

MemoryReport Engine::memory() const {
  MemoryReport m;
  if (files_) {
    m.weight_bytes = files_->weight_bytes();
    m.kv_cache_bytes = decoder_->kv_cache_bytes();
    m.scratch_bytes = backend_->device_bytes_in_use() - std::min(backend_->device_bytes_in_use(), m.kv_cache_bytes);
  }
  rss(m.rss_bytes, m.peak_rss_bytes);
  return m;
}

}  // namespace px
