// The N-API face of the engine (typed in src/engine/native.ts). Every call that computes runs on a
// libuv worker thread and settles a Promise, so the Node event loop never blocks; generate()
// streams tokens back through a progress queue. An engine runs one call at a time: a second call
// while one is running is refused, not queued (the worker process queues requests).
//
// Safe under misuse: each running call holds a reference to its JS Engine object, so dropping the
// object mid-call cannot free what the call uses; memory() and the accessors read state the engine
// keeps thread-safe. Errors keep their kind: every rejection carries a `code` (ECANCELLED,
// EBADINPUT, EBADWEIGHTS, ENOMEM, EUNSUPPORTED, EINTERNAL).
#include <napi.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "engine.h"
#include "error.h"
#include "kernels.h"
#include "model_files.h"
#include "webgpu_js_executor.h"

namespace {

using px::Engine;

// ---- errors -----------------------------------------------------------------------------------

// What a failed call reports: the message and the code the editor dispatches on.
struct Failure {
  std::string message;
  std::string code;
};

// Runs fn, turning whatever it throws into a Failure.
template <typename Fn>
bool capture_failure(Fn&& fn, Failure& failure) {
  try {
    fn();
    return true;
  } catch (const px::Cancelled&) {
    failure = {"cancelled", "ECANCELLED"};
  } catch (const px::EngineError& e) {
    failure = {e.what(), px::error_code(e.kind)};
  } catch (const std::bad_alloc&) {
    failure = {"out of memory", "ENOMEM"};
  } catch (const std::exception& e) {
    failure = {e.what(), "EINTERNAL"};
  }
  return false;
}

Napi::Value error_value(Napi::Env env, const Failure& f) {
  Napi::Error err = Napi::Error::New(env, f.message);
  err.Set("code", f.code);
  return err.Value();
}

[[noreturn]] void throw_failure(Napi::Env env, const Failure& f) { throw Napi::Error(env, error_value(env, f)); }

// ---- conversions ------------------------------------------------------------------------------

Napi::Object model_info(Napi::Env env, const px::ModelFiles& f) {
  const px::ModelConfig& c = f.config();
  Napi::Object cfg = Napi::Object::New(env);
  cfg.Set("dim", c.dim);
  cfg.Set("nLayers", c.n_layers);
  cfg.Set("headDim", c.head_dim);
  cfg.Set("hiddenDim", c.hidden_dim);
  cfg.Set("nHeads", c.n_heads);
  cfg.Set("nKvHeads", c.n_kv_heads);
  cfg.Set("vocabSize", c.vocab_size);
  cfg.Set("ropeTheta", c.rope_theta);
  cfg.Set("normEps", c.norm_eps);
  cfg.Set("maxSeqLen", static_cast<double>(c.max_seq_len));
  if (c.has_vision) {
    const px::VisionConfig& v = c.vision;
    Napi::Object vo = Napi::Object::New(env);
    vo.Set("hidden", v.hidden);
    vo.Set("layers", v.layers);
    vo.Set("heads", v.heads);
    vo.Set("headDim", v.head_dim);
    vo.Set("intermediate", v.intermediate);
    vo.Set("patchSize", v.patch);
    vo.Set("imageSize", v.image_size);
    vo.Set("ropeTheta", v.rope_theta);
    vo.Set("imageTokenId", v.image_token_id);
    vo.Set("imageBreakTokenId", v.image_break_token_id);
    vo.Set("imageEndTokenId", v.image_end_token_id);
    cfg.Set("vision", vo);
  } else {
    cfg.Set("vision", env.Null());
  }
  Napi::Object info = Napi::Object::New(env);
  info.Set("dir", f.dir());
  info.Set("layout", f.layout() == px::WeightLayout::Mistral ? "mistral" : "hf");
  info.Set("config", cfg);
  info.Set("tensorCount", static_cast<double>(f.tensor_count()));
  info.Set("weightBytes", static_cast<double>(f.weight_bytes()));
  info.Set("precision", px::precision_name(f.precision()));
  info.Set("quantizedFile", f.quantized_path().empty() ? env.Null() : Napi::String::New(env, f.quantized_path()));
  info.Set("quantizedNow", f.quantized_now());
  Napi::Array files = Napi::Array::New(env);
  const std::vector<std::string> names = f.files();
  for (size_t i = 0; i < names.size(); ++i) files.Set(static_cast<uint32_t>(i), names[i]);
  info.Set("files", files);
  return info;
}

Napi::Float32Array to_js(Napi::Env env, const std::vector<float>& v) {
  Napi::Float32Array a = Napi::Float32Array::New(env, v.size());
  if (!v.empty()) std::memcpy(a.Data(), v.data(), v.size() * sizeof(float));
  return a;
}

std::vector<float> float_array(const Napi::Value& v, const std::string& what) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    throw Napi::TypeError::New(v.Env(), what + " must be a Float32Array");
  Napi::Float32Array a = v.As<Napi::Float32Array>();
  return std::vector<float>(a.Data(), a.Data() + a.ElementLength());
}

int int_option(const Napi::Object& o, const char* key, int fallback) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return fallback;
  if (!v.IsNumber()) throw Napi::TypeError::New(o.Env(), std::string(key) + " must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (d != static_cast<double>(static_cast<int64_t>(d)) || d < -2147483648.0 || d > 2147483647.0)
    throw Napi::RangeError::New(o.Env(), std::string(key) + " must be an integer, got " + std::to_string(d));
  return static_cast<int>(d);
}

double number_option(const Napi::Object& o, const char* key, double fallback) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return fallback;
  if (!v.IsNumber()) throw Napi::TypeError::New(o.Env(), std::string(key) + " must be a number");
  return v.As<Napi::Number>().DoubleValue();
}

std::string string_option(const Napi::Object& o, const char* key, const std::string& fallback) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return fallback;
  if (!v.IsString()) throw Napi::TypeError::New(o.Env(), std::string(key) + " must be a string");
  return v.As<Napi::String>();
}

Napi::Object options_arg(const Napi::CallbackInfo& info, size_t i) {
  if (info.Length() <= i || info[i].IsUndefined() || info[i].IsNull()) return Napi::Object::New(info.Env());
  if (!info[i].IsObject()) throw Napi::TypeError::New(info.Env(), "options must be an object");
  return info[i].As<Napi::Object>();
}

px::LoadOptions load_options(Napi::Env env, const Napi::Object& o) {
  px::LoadOptions opts;
  opts.backend = string_option(o, "backend", "cpu");
  opts.kernels = string_option(o, "kernels", "");
  opts.threads = int_option(o, "threads", 0);
  opts.device = int_option(o, "device", 0);
  opts.context = int_option(o, "contextLength", 0);
  opts.max_chunk = int_option(o, "maxChunk", 512);
  if (opts.context < 0 || opts.threads < 0 || opts.device < 0 || opts.max_chunk <= 0)
    throw Napi::RangeError::New(env, "contextLength, threads and device must be >= 0 and maxChunk > 0");
  Failure f;
  // The KV cache a backend keeps by default: bf16 on CUDA (what its attention reads natively), f16 elsewhere.
  const std::string kv = string_option(o, "kvCache", opts.backend == "cuda" ? "bf16" : "f16"),
                    precision = string_option(o, "precision", "bf16");
  if (!capture_failure([&] { opts.kv_cache = px::kv_cache_dtype(kv); }, f)) throw_failure(env, f);
  if (!capture_failure([&] { opts.precision = px::precision_from_name(precision); }, f)) throw_failure(env, f);
  const Napi::Value webgpu = o.Get("webgpu");
  if (webgpu.IsObject()) opts.webgpu = px::js_webgpu_executor(env, webgpu.As<Napi::Object>());
  else if (!webgpu.IsUndefined() && !webgpu.IsNull())
    throw Napi::TypeError::New(env, "webgpu must be the executor of src/engine/webgpu (createWebGpuExecutor)");
  return opts;
}

// Images arrive as [{pixels: Float32Array [3,H,W], height, width}], copied so the JS side may reuse them.
struct HostImages {
  std::vector<std::vector<float>> pixels;
  std::vector<px::ImageInput> views;
};

std::shared_ptr<HostImages> images_arg(Napi::Env env, const Napi::Value& v) {
  auto out = std::make_shared<HostImages>();
  if (v.IsUndefined() || v.IsNull()) return out;
  if (!v.IsArray()) throw Napi::TypeError::New(env, "images must be an array");
  Napi::Array arr = v.As<Napi::Array>();
  std::vector<std::pair<int, int>> sizes;
  for (uint32_t i = 0; i < arr.Length(); ++i) {
    Napi::Value item = arr.Get(i);
    const std::string name = "images[" + std::to_string(i) + "]";
    if (!item.IsObject()) throw Napi::TypeError::New(env, name + " must be an object");
    Napi::Object o = item.As<Napi::Object>();
    const int h = int_option(o, "height", 0), w = int_option(o, "width", 0);
    std::vector<float> px = float_array(o.Get("pixels"), name + ".pixels");
    if (h <= 0 || w <= 0 || px.size() != static_cast<size_t>(3) * h * w)
      throw Napi::RangeError::New(env, name + ": pixels has " + std::to_string(px.size()) +
                                           " values, expected 3*height*width = " +
                                           std::to_string(static_cast<size_t>(3) * std::max(h, 0) * std::max(w, 0)));
    out->pixels.push_back(std::move(px));
    sizes.emplace_back(h, w);
  }
  for (size_t i = 0; i < sizes.size(); ++i)
    out->views.push_back(px::ImageInput{out->pixels[i].data(), sizes[i].first, sizes[i].second});
  return out;
}

// ---- async plumbing ---------------------------------------------------------------------------

// Holds the JS Engine object for the duration of a call and marks the engine free when it ends.
class CallGuard {
 public:
  CallGuard(Napi::Object self, bool* busy) : self_(Napi::Persistent(self)), busy_(busy) {}
  ~CallGuard() { *busy_ = false; }  // runs on the JS thread, while self_ still holds the object

 private:
  Napi::ObjectReference self_;
  bool* busy_;
};

// Runs `work` off the JS thread and settles a promise with `done(env)`'s value.
class PromiseWorker : public Napi::AsyncWorker {
 public:
  using Work = std::function<void()>;
  using Done = std::function<Napi::Value(Napi::Env)>;
  PromiseWorker(Napi::Env env, Work work, Done done, std::unique_ptr<CallGuard> guard)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), work_(std::move(work)),
        done_(std::move(done)), guard_(std::move(guard)) {}
  Napi::Promise promise() { return deferred_.Promise(); }

 protected:
  void Execute() override {
    if (!capture_failure(work_, failure_)) SetError(failure_.message);
  }
  void OnOK() override {
    guard_.reset();
    try {
      deferred_.Resolve(done_(Env()));
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    }
  }
  void OnError(const Napi::Error&) override {
    guard_.reset();
    deferred_.Reject(error_value(Env(), failure_));
  }

 private:
  Napi::Promise::Deferred deferred_;
  Work work_;
  Done done_;
  std::unique_ptr<CallGuard> guard_;
  Failure failure_;
};

struct TokenEvent {
  int id;
  std::vector<float> logits;  // empty unless return_logits
};

// generate(): the engine loop runs in Execute; each token crosses to the JS thread in order.
class GenerateWorker : public Napi::AsyncProgressQueueWorker<TokenEvent> {
 public:
  GenerateWorker(Napi::Env env, std::shared_ptr<Engine> engine, px::GenerateRequest request, uint64_t epoch,
                 Napi::Function on_token, std::unique_ptr<CallGuard> guard)
      : Napi::AsyncProgressQueueWorker<TokenEvent>(env), deferred_(Napi::Promise::Deferred::New(env)),
        engine_(std::move(engine)), request_(std::move(request)), epoch_(epoch),
        on_token_(Napi::Persistent(on_token)), guard_(std::move(guard)) {}
  Napi::Promise promise() { return deferred_.Promise(); }

 protected:
  void Execute(const ExecutionProgress& progress) override {
    const bool ok = capture_failure(
        [&] {
          const int V = engine_->files().config().vocab_size;
          reason_ = engine_->generate(
              request_,
              [&](int id, const float* logits) {
                tokens_.push_back(id);
                TokenEvent ev{id, logits ? std::vector<float>(logits, logits + V) : std::vector<float>()};
                progress.Send(&ev, 1);
              },
              epoch_);
        },
        failure_);
    if (!ok) SetError(failure_.message);
  }
  void OnProgress(const TokenEvent* events, size_t count) override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    for (size_t i = 0; i < count; ++i) {
      if (callback_failed_) return;
      try {
        if (events[i].logits.empty()) on_token_.Call({Napi::Number::New(env, events[i].id)});
        else on_token_.Call({Napi::Number::New(env, events[i].id), to_js(env, events[i].logits)});
      } catch (const Napi::Error& e) {
        // A throwing callback stops generation; the promise rejects with its error.
        callback_failed_ = true;
        callback_error_ = Napi::Persistent(e.Value());
        engine_->cancel();
      }
    }
  }
  void OnOK() override {
    guard_.reset();
    Napi::Env env = Env();
    if (callback_failed_) return deferred_.Reject(callback_error_.Value());
    Napi::Object result = Napi::Object::New(env);
    Napi::Array tokens = Napi::Array::New(env, tokens_.size());
    for (size_t i = 0; i < tokens_.size(); ++i) tokens.Set(static_cast<uint32_t>(i), tokens_[i]);
    result.Set("tokens", tokens);
    result.Set("stopReason", reason_ == px::StopReason::Stop     ? "stop"
                             : reason_ == px::StopReason::Length ? "length"
                                                                 : "cancelled");
    deferred_.Resolve(result);
  }
  void OnError(const Napi::Error&) override {
    guard_.reset();
    deferred_.Reject(error_value(Env(), failure_));
  }

 private:
  Napi::Promise::Deferred deferred_;
  std::shared_ptr<Engine> engine_;
  px::GenerateRequest request_;
  uint64_t epoch_;
  Napi::FunctionReference on_token_;
  std::unique_ptr<CallGuard> guard_;
  Failure failure_;
  std::vector<int> tokens_;
  px::StopReason reason_ = px::StopReason::Length;
  bool callback_failed_ = false;
  Napi::ObjectReference callback_error_;
};

// ---- the Engine class -------------------------------------------------------------------------

class EngineWrap : public Napi::ObjectWrap<EngineWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Engine",
                       {
                           InstanceMethod<&EngineWrap::Load>("load"),
                           InstanceMethod<&EngineWrap::Unload>("unload"),
                           InstanceMethod<&EngineWrap::Reset>("reset"),
                           InstanceMethod<&EngineWrap::Rewind>("rewind"),
                           InstanceMethod<&EngineWrap::EncodeImages>("encodeImages"),
                           InstanceMethod<&EngineWrap::Project>("project"),
                           InstanceMethod<&EngineWrap::Prefill>("prefill"),
                           InstanceMethod<&EngineWrap::Generate>("generate"),
                           InstanceMethod<&EngineWrap::Cancel>("cancel"),
                           InstanceMethod<&EngineWrap::Memory>("memory"),
                           InstanceAccessor<&EngineWrap::Loaded>("loaded"),
                           InstanceAccessor<&EngineWrap::Position>("position"),
                           InstanceAccessor<&EngineWrap::ContextLength>("contextLength"),
                           InstanceAccessor<&EngineWrap::BackendName>("backend"),
                       });
  }

  explicit EngineWrap(const Napi::CallbackInfo& info)
      : Napi::ObjectWrap<EngineWrap>(info), engine_(std::make_shared<Engine>()) {}

 private:
  // Marks the engine busy for one call; the guard keeps this object alive until the call ends.
  std::unique_ptr<CallGuard> claim(const Napi::CallbackInfo& info, const char* what) {
    if (busy_)
      throw Napi::Error::New(info.Env(), std::string("engine is busy: ") + what + " must wait for the running call");
    busy_ = true;
    return std::make_unique<CallGuard>(info.This().As<Napi::Object>(), &busy_);
  }
  Napi::Value run(const Napi::CallbackInfo& info, const char* what, std::function<void()> work,
                  PromiseWorker::Done done) {
    auto* w = new PromiseWorker(info.Env(), std::move(work), std::move(done), claim(info, what));
    Napi::Promise p = w->promise();
    w->Queue();
    return p;
  }
  // A synchronous call that must not overlap a running one.
  template <typename Fn>
  void run_now(const Napi::CallbackInfo& info, const char* what, Fn&& fn) {
    auto guard = claim(info, what);
    Failure f;
    if (!capture_failure(fn, f)) throw_failure(info.Env(), f);
  }

  Napi::Value Load(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "load(dir, options?): dir must be a string");
    const std::string dir = info[0].As<Napi::String>();
    const px::LoadOptions opts = load_options(env, options_arg(info, 1));
    auto engine = engine_;
    return run(info, "load", [engine, dir, opts] { engine->load(dir, opts); },
               [engine](Napi::Env e) -> Napi::Value { return model_info(e, engine->files()); });
  }

  Napi::Value Unload(const Napi::CallbackInfo& info) {
    run_now(info, "unload", [&] { engine_->unload(); });
    return info.Env().Undefined();
  }

  Napi::Value Reset(const Napi::CallbackInfo& info) {
    run_now(info, "reset", [&] { engine_->reset(); });
    return info.Env().Undefined();
  }

  Napi::Value Rewind(const Napi::CallbackInfo& info) {
    if (info.Length() < 1 || !info[0].IsNumber()) throw Napi::TypeError::New(info.Env(), "rewind(tokens): tokens must be a number");
    const int n = info[0].As<Napi::Number>().Int32Value();
    run_now(info, "rewind", [&] { engine_->rewind(n); });
    return info.Env().Undefined();
  }

  Napi::Value EncodeImages(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto images = images_arg(env, info.Length() > 0 ? info[0] : env.Undefined());
    const bool capture = options_arg(info, 1).Get("captureLayers").ToBoolean();
    auto engine = engine_;
    auto captured = std::make_shared<std::vector<std::vector<float>>>();
    auto out = std::make_shared<std::vector<float>>();
    const uint64_t epoch = engine->cancel_epoch();
    return run(
        info, "encodeImages", [=] { *out = engine->encode_images(images->views, capture ? captured.get() : nullptr, epoch); },
        [=](Napi::Env e) -> Napi::Value {
          Napi::Object r = Napi::Object::New(e);
          r.Set("out", to_js(e, *out));
          Napi::Array counts = Napi::Array::New(e, images->views.size());
          const int P = engine->files().config().vision.patch;
          for (size_t i = 0; i < images->views.size(); ++i)
            counts.Set(static_cast<uint32_t>(i), (images->views[i].height / P) * (images->views[i].width / P));
          r.Set("tokensPerImage", counts);
          if (capture && captured->size() >= 2) {
            // Captured in order: patch conv, ln_pre, then one per layer.
            r.Set("patchEmbedsConv", to_js(e, (*captured)[0]));
            r.Set("lnPre", to_js(e, (*captured)[1]));
            Napi::Array layers = Napi::Array::New(e, captured->size() - 2);
            for (size_t i = 2; i < captured->size(); ++i) layers.Set(static_cast<uint32_t>(i - 2), to_js(e, (*captured)[i]));
            r.Set("layers", layers);
          }
          return r;
        });
  }

  Napi::Value Project(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[1].IsNumber()) throw Napi::TypeError::New(env, "project(visionOut, rows)");
    auto x = std::make_shared<std::vector<float>>(float_array(info[0], "visionOut"));
    const int rows = info[1].As<Napi::Number>().Int32Value();
    auto engine = engine_;
    if (!engine->loaded()) throw_failure(env, {"no model is loaded", "EBADINPUT"});
    const size_t in_dim = engine->files().config().vision.hidden;
    if (rows <= 0 || x->size() != rows * in_dim)
      throw Napi::RangeError::New(env, "visionOut has " + std::to_string(x->size()) + " values, expected rows * " +
                                           std::to_string(in_dim));
    auto out = std::make_shared<std::vector<float>>();
    const uint64_t epoch = engine->cancel_epoch();
    return run(info, "project", [=] { *out = engine->project(x->data(), rows, epoch); },
               [=](Napi::Env e) -> Napi::Value { return to_js(e, *out); });
  }

  Napi::Value Prefill(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
      throw Napi::TypeError::New(env, "prefill(ids, options?): ids must be an Int32Array");
    Napi::Int32Array ids = info[0].As<Napi::Int32Array>();
    Napi::Object o = options_arg(info, 1);
    auto request = std::make_shared<px::PrefillRequest>();
    request->ids.assign(ids.Data(), ids.Data() + ids.ElementLength());
    auto images = images_arg(env, o.Get("images"));
    request->images = images->views;
    request->reserve = int_option(o, "reserve", 0);
    request->chunk = int_option(o, "chunkSize", 0);
    const std::string mode = string_option(o, "logits", "none");
    if (mode != "none" && mode != "last" && mode != "all") throw Napi::TypeError::New(env, "logits must be 'none', 'last' or 'all'");
    request->logits = mode == "all" ? px::LogitsMode::All : mode == "last" ? px::LogitsMode::Last : px::LogitsMode::None;
    auto engine = engine_;
    auto out = std::make_shared<std::vector<float>>();
    const uint64_t epoch = engine->cancel_epoch();
    return run(info, "prefill", [=] { *out = engine->prefill(*request, epoch); (void)images; },
               [=](Napi::Env e) -> Napi::Value { return to_js(e, *out); });
  }

  Napi::Value Generate(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsObject() || !info[1].IsFunction())
      throw Napi::TypeError::New(env, "generate(options, onToken)");
    Napi::Object o = info[0].As<Napi::Object>();
    px::GenerateRequest r;
    r.max_tokens = int_option(o, "maxTokens", 0);
    if (r.max_tokens <= 0) throw Napi::RangeError::New(env, "maxTokens must be a positive integer");
    r.sampling.temperature = static_cast<float>(number_option(o, "temperature", 0));
    r.sampling.top_k = int_option(o, "topK", 0);
    r.sampling.top_p = static_cast<float>(number_option(o, "topP", 1));
    r.sampling.seed = static_cast<uint64_t>(number_option(o, "seed", 0));
    if (r.sampling.temperature < 0 || r.sampling.top_k < 0 || !(r.sampling.top_p > 0 && r.sampling.top_p <= 1))
      throw Napi::RangeError::New(env, "temperature must be >= 0, topK >= 0 and 0 < topP <= 1");
    r.return_logits = o.Get("returnLogits").ToBoolean();
    Napi::Value stops = o.Get("stopIds");
    if (stops.IsArray()) {
      Napi::Array a = stops.As<Napi::Array>();
      for (uint32_t i = 0; i < a.Length(); ++i) {
        Napi::Value id = a.Get(i);
        if (!id.IsNumber()) throw Napi::TypeError::New(env, "stopIds must be an array of token ids");
        r.stop_ids.push_back(id.As<Napi::Number>().Int32Value());
      }
    } else if (!stops.IsUndefined()) {
      throw Napi::TypeError::New(env, "stopIds must be an array of token ids");
    } else {
      r.stop_ids.push_back(2);  // EOS (spec g)
    }
    auto guard = claim(info, "generate");
    auto* w = new GenerateWorker(env, engine_, std::move(r), engine_->cancel_epoch(), info[1].As<Napi::Function>(),
                                 std::move(guard));
    Napi::Promise p = w->promise();
    w->Queue();
    return p;
  }

  Napi::Value Cancel(const Napi::CallbackInfo& info) {
    engine_->cancel();
    return info.Env().Undefined();
  }

  Napi::Value Memory(const Napi::CallbackInfo& info) {
    const px::MemoryReport m = engine_->memory();
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("weightBytes", static_cast<double>(m.weight_bytes));
    o.Set("kvCacheBytes", static_cast<double>(m.kv_cache_bytes));
    o.Set("scratchBytes", static_cast<double>(m.scratch_bytes));
    o.Set("rssBytes", static_cast<double>(m.rss_bytes));
    o.Set("peakRssBytes", static_cast<double>(m.peak_rss_bytes));
    o.Set("deviceTotalBytes", static_cast<double>(m.device.total));
    o.Set("deviceFreeBytes", static_cast<double>(m.device.free));
    return o;
  }

  Napi::Value Loaded(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), engine_->loaded()); }
  Napi::Value Position(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), engine_->position()); }
  Napi::Value ContextLength(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), engine_->context()); }
  Napi::Value BackendName(const Napi::CallbackInfo& info) {
    const std::string name = engine_->backend_name();
    return name.empty() ? info.Env().Null() : Napi::Value(Napi::String::New(info.Env(), name));
  }

  std::shared_ptr<Engine> engine_;
  bool busy_ = false;  // touched on the JS thread only
};

// ---- module functions -------------------------------------------------------------------------

std::string dir_arg(const Napi::CallbackInfo& info, const char* usage) {
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(info.Env(), usage);
  return info[0].As<Napi::String>();
}

Napi::Value InspectModel(const Napi::CallbackInfo& info) {
  const std::string dir = dir_arg(info, "inspectModel(dir): dir must be a string");
  std::unique_ptr<px::ModelFiles> files;
  Failure f;
  if (!capture_failure([&] { files = px::ModelFiles::open(dir); }, f)) throw_failure(info.Env(), f);
  return model_info(info.Env(), *files);
}

// planMemory(dir, loadOptions?): the bytes load() would take, from the engine's own accounting, and
// for a GPU backend its device's memory (the backend is opened and closed, no model loaded).
Napi::Value PlanMemory(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string dir = dir_arg(info, "planMemory(dir, options?): dir must be a string");
  const px::LoadOptions opts = load_options(env, options_arg(info, 1));
  px::MemoryPlan plan;
  Failure f;
  const bool ok = capture_failure(
      [&] {
        auto files = px::ModelFiles::open(dir);
        plan = Engine::plan(files->config(), files->weight_bytes_at(opts.precision), opts);
      },
      f);
  if (!ok) throw_failure(env, f);
  Napi::Object o = Napi::Object::New(env);
  o.Set("weightBytes", static_cast<double>(plan.weight_bytes));
  o.Set("kvCacheBytes", static_cast<double>(plan.kv_cache_bytes));
  o.Set("scratchBytes", static_cast<double>(plan.scratch_bytes));
  // A GPU backend's device, for the fit check's free memory; or why that backend cannot run here.
  if (opts.backend != "cpu") {
    px::DeviceInfo device;
    Failure probe;
    if (capture_failure([&] { device = Engine::probe_device(opts); }, probe)) {
      Napi::Object d = Napi::Object::New(env);
      d.Set("name", device.name);
      d.Set("totalBytes", static_cast<double>(device.memory.total));
      d.Set("freeBytes", static_cast<double>(device.memory.free));
      o.Set("device", d);
    } else {
      o.Set("deviceError", probe.message);
    }
  }
  return o;
}

Napi::Value CpuKernelsName(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), px::cpu_kernels().name); }

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("Engine", EngineWrap::Define(env));
  exports.Set("inspectModel", Napi::Function::New(env, InspectModel));
  exports.Set("planMemory", Napi::Function::New(env, PlanMemory));
  exports.Set("cpuKernels", Napi::Function::New(env, CpuKernelsName));
  return exports;
}

}  // namespace

NODE_API_MODULE(pixtral_native, Init)
