// See engine.h.
#include "engine.h"

#include <algorithm>

#include "cpu_backend.h"
#include "kernels.h"
#include "webgpu_backend.h"

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

std::unique_ptr<Backend> make_backend(const LoadOptions& o, SharedLibrary& library) {
  if (o.backend == "cpu") {
    const CpuKernels* kernels = nullptr;
    if (!o.kernels.empty()) {
      kernels = cpu_kernels_named(o.kernels);
      if (!kernels) throw EngineError(ErrorKind::Unsupported, "CPU kernel set \"" + o.kernels + "\" is not supported on this machine");
    }
    return std::make_unique<CpuBackend>(o.threads, kernels);
  }
  if (o.backend == "cuda")
    return create_plugin_backend(o.backend, "{\"device\": " + std::to_string(o.device) + "}", library);
  if (o.backend == "webgpu") {
    if (!o.webgpu)
      throw EngineError(ErrorKind::Unsupported, "the webgpu backend needs its executor (load option `webgpu`, from src/engine/webgpu)");
    return std::make_unique<WebGpuBackend>(o.webgpu);
  }
  throw EngineError(ErrorKind::Unsupported, "backend \"" + o.backend + "\" is not available in this build (available: cpu, cuda, webgpu)");
}

int64_t context_for(const ModelConfig& cfg, const LoadOptions& o) {
  const int64_t context = o.context > 0 ? o.context : std::min<int64_t>(8192, cfg.max_seq_len);
  if (context > cfg.max_seq_len)
    throw EngineError(ErrorKind::BadInput, "requested context of " + std::to_string(context) +
                                               " tokens exceeds the model's window of " +
                                               std::to_string(cfg.max_seq_len) + " tokens");
  return context;
}

}  // namespace

DType kv_cache_dtype(const std::string& name) {
  if (name == "f32") return DType::F32;
  if (name == "f16") return DType::F16;
  if (name == "bf16") return DType::BF16;
  if (name == "q8_0") return DType::Q8_0;
  throw EngineError(ErrorKind::BadInput, "KV cache type \"" + name + "\" is not one of f32, f16, bf16, q8_0");
}

MemoryPlan Engine::plan(const ModelConfig& c, size_t weight_bytes, const LoadOptions& o) {
  const size_t context = static_cast<size_t>(context_for(c, o));
  const size_t chunk = std::max<size_t>(1, std::min<size_t>(o.max_chunk, context));
  const size_t qd = static_cast<size_t>(c.n_heads) * c.head_dim, kvd = static_cast<size_t>(c.n_kv_heads) * c.head_dim;
  MemoryPlan p;
  p.weight_bytes = weight_bytes;
  p.kv_cache_bytes = 2 * c.n_layers * context * row_bytes(o.kv_cache, static_cast<int64_t>(kvd));
  // The decoder's buffers (decoder.cc): activations for a chunk, 16 rows of logits, the RoPE table,
  // the i32 inputs.
  size_t decoder = chunk * (2 * c.dim + 2 * qd + 2 * kvd + 2 * c.hidden_dim) + std::min<size_t>(chunk, 16) * c.vocab_size +
                   context * c.head_dim + 3 * chunk + 2 + kSamplerStateInts;
  size_t vision = 0;
  if (c.has_vision) {
    // One full-size image in flight (vision_encoder.cc, engine.cc): patches, positions, seven
    // activations, the features, the adapter's output and hidden rows; plus the 2D RoPE table.
    const VisionConfig& v = c.vision;
    const size_t side = v.image_size / v.patch, S = side * side;
    vision = side * side * v.head_dim + S * (3 * v.patch * v.patch + 1 + 5 * v.hidden + 2 * v.intermediate + v.hidden + 2 * c.dim);
  }
  p.scratch_bytes = (decoder + vision) * 4;
  return p;
}

DeviceInfo Engine::probe_device(const LoadOptions& options) {
  SharedLibrary library;  // declared first: closes after the backend its code runs
  const std::unique_ptr<Backend> backend = make_backend(options, library);
  return DeviceInfo{backend->name(), backend->device_memory()};
}

Engine::Engine() = default;
Engine::~Engine() { unload(); }

void Engine::load(const std::string& dir, const LoadOptions& options) {
  unload();
  auto files = ModelFiles::open(dir, options.precision);
  const ModelConfig& cfg = files->config();
  const int context = static_cast<int>(context_for(cfg, options));
  SharedLibrary library;
  auto backend = make_backend(options, library);
  std::unique_ptr<VisionEncoder> vision;
  std::unique_ptr<Adapter> adapter;
  if (cfg.has_vision) {
    vision = std::make_unique<VisionEncoder>(*backend, *files);
    adapter = std::make_unique<Adapter>(*backend, *files);
  }
  auto decoder = std::make_unique<Decoder>(*backend, *files, context, options.max_chunk, options.kv_cache);
  std::lock_guard<std::mutex> lock(parts_mu_);
  backend_name_ = backend->name();
  files_ = std::move(files);
  backend_library_ = std::move(library);
  backend_ = std::move(backend);
  vision_ = std::move(vision);
  adapter_ = std::move(adapter);
  decoder_ = std::move(decoder);
  position_ = 0;
  context_ = context;
  has_logits_ = false;
  loaded_ = true;
}

void Engine::unload() {
  std::lock_guard<std::mutex> lock(parts_mu_);
  loaded_ = false;
  // Order matters: model parts release device memory through the backend, weights point into
  // files, and the backend's code lives in its library.
  decoder_.reset();
  adapter_.reset();
  vision_.reset();
  backend_.reset();
  backend_library_.close();
  files_.reset();
  backend_name_.clear();
  position_ = 0;
  context_ = 0;
  has_logits_ = false;
}

void Engine::require_loaded() const {
  if (!loaded_) throw EngineError(ErrorKind::BadInput, "no model is loaded");
}

const ModelFiles& Engine::files() const {
  require_loaded();
  return *files_;
}

std::string Engine::backend_name() const {
  std::lock_guard<std::mutex> lock(parts_mu_);
  return backend_name_;
}

void Engine::reset() {
  position_ = 0;
  has_logits_ = false;
}

void Engine::rewind(int n) {
  if (n < 0 || n > position_)
    throw EngineError(ErrorKind::BadInput, "cannot keep " + std::to_string(n) + " tokens of a cache holding " +
                                               std::to_string(position_.load()));
  if (n == position_) return;
  position_ = n;
  has_logits_ = false;  // the logits belonged to the dropped tail
}

void Engine::check_window(int new_tokens, int reserve) const {
  const int64_t needed = static_cast<int64_t>(position()) + new_tokens + reserve;
  if (needed > context())
    throw EngineError(ErrorKind::BadInput,
                      "the request needs " + std::to_string(needed) + " tokens (" + std::to_string(position()) +
                          " in the cache + " + std::to_string(new_tokens) + " prompt + " + std::to_string(reserve) +
                          " to generate) but the context holds " + std::to_string(context()) + " (model window " +
                          std::to_string(files_->config().max_seq_len) + ")");
}

std::vector<float> Engine::encode_images(const std::vector<ImageInput>& images,
                                         std::vector<std::vector<float>>* capture, uint64_t epoch) {
  require_loaded();
  if (!vision_) throw EngineError(ErrorKind::BadInput, "this model has no vision encoder");
  int S = 0;
  for (const ImageInput& img : images) S += vision_->patches_for(img);
  std::vector<float> host(static_cast<size_t>(S) * vision_->hidden());
  if (S == 0) return host;
  OwnedTensor out(*backend_, DType::F32, S, vision_->hidden());
  Graph g;
  VisionPass pass = vision_->record(g, images, *out, capture != nullptr);
  backend_->run(g, CancelToken(epoch_, epoch));
  backend_->read(host.data(), *out);
  if (capture)
    for (const OwnedTensor& t : pass.captures) backend_->read(capture->emplace_back(t->numel()).data(), *t);
  return host;
}

std::vector<float> Engine::project(const float* x, int rows, uint64_t epoch) {
  require_loaded();
  if (!adapter_) throw EngineError(ErrorKind::BadInput, "this model has no vision adapter");
  const int D = adapter_->out_dim();
  OwnedTensor in(*backend_, DType::F32, rows, adapter_->in_dim()), out(*backend_, DType::F32, rows, D),
      hidden(*backend_, DType::F32, rows, D);
  backend_->write(*in, x);
  Graph g;
  adapter_->record(g, *in, *out, *hidden);
  backend_->run(g, CancelToken(epoch_, epoch));
  std::vector<float> host(static_cast<size_t>(rows) * D);
  backend_->read(host.data(), *out);
  return host;
}

std::vector<float> Engine::prefill(const PrefillRequest& r, uint64_t epoch) {
  require_loaded();
  const ModelConfig& cfg = files_->config();
  const CancelToken cancel(epoch_, epoch);
  if (r.ids.empty()) throw EngineError(ErrorKind::BadInput, "the prompt is empty");
  if (r.reserve < 0) throw EngineError(ErrorKind::BadInput, "reserve must be >= 0");
  check_window(static_cast<int>(r.ids.size()), r.reserve);
  for (size_t t = 0; t < r.ids.size(); ++t)
    if (r.ids[t] < 0 || r.ids[t] >= cfg.vocab_size)
      throw EngineError(ErrorKind::BadInput, "token id " + std::to_string(r.ids[t]) + " at position " + std::to_string(t) +
                                                 " is outside the vocabulary of " + std::to_string(cfg.vocab_size));

  // [IMG] rows must match the images' patch count exactly, checked before the vision encoder runs.
  const int image_token = cfg.has_vision ? cfg.vision.image_token_id : -1;
  const int64_t image_slots = cfg.has_vision ? std::count(r.ids.begin(), r.ids.end(), image_token) : 0;
  int64_t patches = 0;
  if (!r.images.empty() && !vision_) throw EngineError(ErrorKind::BadInput, "this model has no vision encoder");
  for (const ImageInput& img : r.images) patches += vision_->patches_for(img);
  if (patches != image_slots)
    throw EngineError(ErrorKind::BadInput, "the prompt has " + std::to_string(image_slots) +
                                               " [IMG] tokens but the images have " + std::to_string(patches) + " patches");

  OwnedTensor embeds;
  if (patches > 0) {
    const int S = static_cast<int>(patches);
    OwnedTensor features(*backend_, DType::F32, S, vision_->hidden()), hidden(*backend_, DType::F32, S, cfg.dim);
    embeds = OwnedTensor(*backend_, DType::F32, S, cfg.dim);
    Graph g;
    VisionPass pass = vision_->record(g, r.images, *features, false);
    adapter_->record(g, *features, *embeds, *hidden);
    backend_->run(g, cancel);
  }
  std::vector<float> logits;
  has_logits_ = false;  // a cancelled prefill leaves none
  decoder_->prefill(r.ids.data(), static_cast<int>(r.ids.size()), position_, embeds.view(), image_token, r.chunk,
                    r.logits, &logits, cancel);
  position_ += static_cast<int>(r.ids.size());
  has_logits_ = true;
  return logits;
}

StopReason Engine::generate(const GenerateRequest& r, const std::function<void(int, const float*)>& on_token,
                            uint64_t epoch) {
  require_loaded();
  if (!has_logits_) throw EngineError(ErrorKind::BadInput, "generate needs a prefill first (no logits to sample from)");
  if (r.max_tokens <= 0) return StopReason::Length;
  // The last sampled token is never fed back, so max_tokens - 1 more cache rows are needed.
  check_window(r.max_tokens - 1, 0);
  const CancelToken cancel(epoch_, epoch);
  const SamplingParams& s = r.sampling;
  const SamplerState state{s.temperature, s.top_k, s.top_p, 0, s.seed};
  std::vector<float> logits(r.return_logits ? files_->config().vocab_size : 0);
  try {
    if (cancel.cancelled()) return StopReason::Cancelled;
    int id = decoder_->sample_first(state, position_, cancel);
    for (int i = 0;; ++i) {
      if (std::find(r.stop_ids.begin(), r.stop_ids.end(), id) != r.stop_ids.end()) return StopReason::Stop;
      if (r.return_logits) decoder_->read_logits(logits.data());
      on_token(id, r.return_logits ? logits.data() : nullptr);
      if (i + 1 == r.max_tokens) return StopReason::Length;
      if (cancel.cancelled()) return StopReason::Cancelled;
      id = decoder_->step(cancel);
      position_ += 1;  // the token fed in is now in the cache
    }
  } catch (const Cancelled&) {
    return StopReason::Cancelled;
  }
}

MemoryReport Engine::memory() const {
  MemoryReport m;
  {
    std::lock_guard<std::mutex> lock(parts_mu_);
    if (backend_) {
      m.weight_bytes = files_->weight_bytes();
      m.kv_cache_bytes = decoder_->kv_cache_bytes();
      const size_t in_use = backend_->bytes_in_use();
      m.scratch_bytes = in_use - std::min(in_use, m.kv_cache_bytes);
      m.device = backend_->device_memory();
    }
  }
  rss(m.rss_bytes, m.peak_rss_bytes);
  return m;
}

}  // namespace px
