// The N-API face of the engine (typed in src/engine/native.ts). Every call that computes runs on a
// libuv worker thread (AsyncWorker) and settles a Promise, so the Node event loop never blocks;
// generate() streams tokens back through a progress queue. An engine runs one call at a time: a
// second call while one is running is refused, not queued (the worker process queues requests).
#include <napi.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "cpu_backend.h"
#include "engine.h"
#include "error.h"
#include "kernels.h"
#include "model_files.h"
#include "rope.h"
#include "thread_pool.h"

namespace {

using px::Engine;

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

std::vector<float> float_array(const Napi::Value& v, const char* what) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    throw Napi::TypeError::New(v.Env(), std::string(what) + " must be a Float32Array");
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

Napi::Object options_arg(const Napi::CallbackInfo& info, size_t i) {
  if (info.Length() <= i || info[i].IsUndefined() || info[i].IsNull()) return Napi::Object::New(info.Env());
  if (!info[i].IsObject()) throw Napi::TypeError::New(info.Env(), "options must be an object");
  return info[i].As<Napi::Object>();
}

// Images arrive as [{pixels: Float32Array [3,H,W], height, width}], copied so the JS side may reuse them.
struct HostImages {
  std::vector<std::vector<float>> pixels;
  std::vector<px::ImageInput> views;
};

HostImages images_arg(Napi::Env env, const Napi::Value& v) {
  HostImages out;
  if (v.IsUndefined() || v.IsNull()) return out;
  if (!v.IsArray()) throw Napi::TypeError::New(env, "images must be an array");
  Napi::Array arr = v.As<Napi::Array>();
  for (uint32_t i = 0; i < arr.Length(); ++i) {
    Napi::Value item = arr.Get(i);
    if (!item.IsObject()) throw Napi::TypeError::New(env, "images[" + std::to_string(i) + "] must be an object");
    Napi::Object o = item.As<Napi::Object>();
    const int h = int_option(o, "height", 0), w = int_option(o, "width", 0);
    std::vector<float> px = float_array(o.Get("pixels"), ("images[" + std::to_string(i) + "].pixels").c_str());
    if (h <= 0 || w <= 0 || px.size() != static_cast<size_t>(3) * h * w)
      throw Napi::RangeError::New(env, "images[" + std::to_string(i) + "]: pixels has " + std::to_string(px.size()) +
                                           " values, expected 3*height*width = " +
                                           std::to_string(static_cast<size_t>(3) * std::max(h, 0) * std::max(w, 0)));
    out.pixels.push_back(std::move(px));
  }
  for (uint32_t i = 0; i < arr.Length(); ++i) {
    Napi::Object o = arr.Get(i).As<Napi::Object>();
    out.views.push_back(px::ImageInput{out.pixels[i].data(), int_option(o, "height", 0), int_option(o, "width", 0)});
  }
  return out;
}

// ---- async plumbing ---------------------------------------------------------------------------

// Runs `work` off the JS thread and settles a promise with `done(env)`'s value. Engine errors
// become Error(message); a cancel becomes Error("cancelled") with code "ECANCELLED".
class PromiseWorker : public Napi::AsyncWorker {
 public:
  using Work = std::function<void()>;
  using Done = std::function<Napi::Value(Napi::Env)>;
  PromiseWorker(Napi::Env env, Work work, Done done, std::function<void()> finally)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), work_(std::move(work)),
        done_(std::move(done)), finally_(std::move(finally)) {}
  Napi::Promise promise() { return deferred_.Promise(); }

 protected:
  void Execute() override {
    try {
      work_();
    } catch (const px::Cancelled&) {
      cancelled_ = true;
      SetError("cancelled");
    } catch (const std::bad_alloc&) {
      SetError("out of memory");
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }
  void OnOK() override {
    finally_();
    try {
      deferred_.Resolve(done_(Env()));
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    }
  }
  void OnError(const Napi::Error& e) override {
    finally_();
    Napi::Error err = Napi::Error::New(Env(), e.Message());
    if (cancelled_) err.Set("code", "ECANCELLED");
    deferred_.Reject(err.Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  Work work_;
  Done done_;
  std::function<void()> finally_;
  bool cancelled_ = false;
};

struct TokenEvent {
  int id;
  std::vector<float> logits;  // empty unless return_logits
};

// generate(): the engine loop runs in Execute; each token crosses to the JS thread in order.
class GenerateWorker : public Napi::AsyncProgressQueueWorker<TokenEvent> {
 public:
  GenerateWorker(Napi::Env env, std::shared_ptr<Engine> engine, px::GenerateRequest request, uint64_t epoch,
                 Napi::Function on_token, std::function<void()> finally)
      : Napi::AsyncProgressQueueWorker<TokenEvent>(env), deferred_(Napi::Promise::Deferred::New(env)),
        engine_(std::move(engine)), request_(std::move(request)), epoch_(epoch),
        on_token_(Napi::Persistent(on_token)), finally_(std::move(finally)) {}
  Napi::Promise promise() { return deferred_.Promise(); }

 protected:
  void Execute(const ExecutionProgress& progress) override {
    try {
      const int V = engine_->files().config().vocab_size;
      reason_ = engine_->generate(
          request_,
          [&](int id, const float* logits) {
            tokens_.push_back(id);
            TokenEvent ev{id, logits ? std::vector<float>(logits, logits + V) : std::vector<float>()};
            progress.Send(&ev, 1);
          },
          epoch_);
    } catch (const std::exception& e) {
      SetError(e.what());
    }
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
    finally_();
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
  void OnError(const Napi::Error& e) override {
    finally_();
    deferred_.Reject(Napi::Error::New(Env(), e.Message()).Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  std::shared_ptr<Engine> engine_;
  px::GenerateRequest request_;
  uint64_t epoch_;
  Napi::FunctionReference on_token_;
  std::function<void()> finally_;
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
  void claim(Napi::Env env, const char* what) {
    if (busy_) throw Napi::Error::New(env, std::string("engine is busy: ") + what + " must wait for the running call");
    busy_ = true;
  }
  std::function<void()> release() {
    return [this] { busy_ = false; };
  }
  template <typename Done>
  Napi::Value run(Napi::Env env, const char* what, std::function<void()> work, Done done) {
    claim(env, what);
    auto* w = new PromiseWorker(env, std::move(work), std::move(done), release());
    Napi::Promise p = w->promise();
    w->Queue();
    return p;
  }

  Napi::Value Load(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "load(dir, options?): dir must be a string");
    const std::string dir = info[0].As<Napi::String>();
    Napi::Object o = options_arg(info, 1);
    px::LoadOptions opts;
    if (o.Get("backend").IsString()) opts.backend = o.Get("backend").As<Napi::String>();
    if (o.Get("kernels").IsString()) opts.kernels = o.Get("kernels").As<Napi::String>();
    opts.threads = int_option(o, "threads", 0);
    opts.context = int_option(o, "contextLength", 0);
    opts.max_chunk = int_option(o, "maxChunk", 512);
    if (opts.context < 0 || opts.threads < 0 || opts.max_chunk <= 0)
      throw Napi::RangeError::New(env, "contextLength, threads must be >= 0 and maxChunk > 0");
    auto engine = engine_;
    return run(env, "load", [engine, dir, opts] { engine->load(dir, opts); },
               [engine](Napi::Env e) -> Napi::Value { return model_info(e, engine->files()); });
  }

  Napi::Value Unload(const Napi::CallbackInfo& info) {
    claim(info.Env(), "unload");
    engine_->unload();
    busy_ = false;
    return info.Env().Undefined();
  }

  Napi::Value Reset(const Napi::CallbackInfo& info) {
    claim(info.Env(), "reset");
    engine_->reset();
    busy_ = false;
    return info.Env().Undefined();
  }

  Napi::Value EncodeImages(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto images = std::make_shared<HostImages>(images_arg(env, info.Length() > 0 ? info[0] : env.Undefined()));
    const bool capture = options_arg(info, 1).Get("captureLayers").ToBoolean();
    auto engine = engine_;
    auto cap = std::make_shared<px::VisionCapture>();
    auto out = std::make_shared<std::vector<float>>();
    const uint64_t epoch = engine->cancel_epoch();
    return run(
        env, "encodeImages", [=] { *out = engine->encode_images(images->views, capture ? cap.get() : nullptr, epoch); },
        [=](Napi::Env e) -> Napi::Value {
          Napi::Object r = Napi::Object::New(e);
          r.Set("out", to_js(e, *out));
          Napi::Array counts = Napi::Array::New(e, images->views.size());
          const int P = engine->files().config().vision.patch;
          for (size_t i = 0; i < images->views.size(); ++i)
            counts.Set(static_cast<uint32_t>(i), (images->views[i].height / P) * (images->views[i].width / P));
          r.Set("tokensPerImage", counts);
          if (capture) {
            r.Set("patchEmbedsConv", to_js(e, cap->patch_embeds_conv));
            r.Set("lnPre", to_js(e, cap->ln_pre));
            Napi::Array layers = Napi::Array::New(e, cap->layers.size());
            for (size_t i = 0; i < cap->layers.size(); ++i) layers.Set(static_cast<uint32_t>(i), to_js(e, cap->layers[i]));
            r.Set("layers", layers);
          }
          return r;
        });
  }

  Napi::Value Project(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2) throw Napi::TypeError::New(env, "project(visionOut, rows)");
    auto x = std::make_shared<std::vector<float>>(float_array(info[0], "visionOut"));
    const int rows = info[1].As<Napi::Number>().Int32Value();
    auto engine = engine_;
    if (!engine->loaded()) throw Napi::Error::New(env, "no model is loaded");
    const size_t in_dim = engine->files().config().vision.hidden;
    if (rows <= 0 || x->size() != rows * in_dim)
      throw Napi::RangeError::New(env, "visionOut has " + std::to_string(x->size()) + " values, expected rows * " +
                                           std::to_string(in_dim));
    auto out = std::make_shared<std::vector<float>>();
    const uint64_t epoch = engine->cancel_epoch();
    return run(env, "project", [=] { *out = engine->project(x->data(), rows, epoch); },
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
    auto images = std::make_shared<HostImages>(images_arg(env, o.Get("images")));
    request->images = images->views;
    request->reserve = int_option(o, "reserve", 0);
    request->chunk = int_option(o, "chunkSize", 0);
    Napi::Value mode = o.Get("logits");
    if (mode.IsString()) {
      const std::string m = mode.As<Napi::String>();
      if (m != "all" && m != "last") throw Napi::TypeError::New(env, "logits must be 'last' or 'all'");
      request->all_logits = m == "all";
    }
    auto engine = engine_;
    auto out = std::make_shared<std::vector<float>>();
    const uint64_t epoch = engine->cancel_epoch();
    return run(env, "prefill", [=] { *out = engine->prefill(*request, epoch); (void)images; },
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
      for (uint32_t i = 0; i < a.Length(); ++i) r.stop_ids.push_back(a.Get(i).As<Napi::Number>().Int32Value());
    } else if (!stops.IsUndefined()) {
      throw Napi::TypeError::New(env, "stopIds must be an array of token ids");
    } else {
      r.stop_ids.push_back(2);  // EOS (spec g)
    }
    claim(env, "generate");
    auto* w = new GenerateWorker(env, engine_, std::move(r), engine_->cancel_epoch(), info[1].As<Napi::Function>(), release());
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
    return o;
  }

  Napi::Value Loaded(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), engine_->loaded()); }
  Napi::Value Position(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), engine_->position()); }
  Napi::Value ContextLength(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), engine_->context()); }
  Napi::Value BackendName(const Napi::CallbackInfo& info) {
    return engine_->loaded() ? Napi::Value(Napi::String::New(info.Env(), engine_->backend_name())) : info.Env().Null();
  }

  std::shared_ptr<Engine> engine_;
  bool busy_ = false;  // touched on the JS thread only
};

// ---- module functions -------------------------------------------------------------------------

Napi::Value InspectModel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "inspectModel(dir): dir must be a string");
  try {
    auto files = px::ModelFiles::open(info[0].As<Napi::String>());
    return model_info(env, *files);
  } catch (const px::EngineError& e) {
    throw Napi::Error::New(env, e.what());
  }
}

Napi::Value CpuKernelsName(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), px::cpu_kernels().name); }

px::RopePairing pairing_arg(const Napi::Value& v) {
  const std::string s = v.As<Napi::String>();
  if (s == "interleaved") return px::RopePairing::Interleaved;
  if (s == "half") return px::RopePairing::Half;
  throw Napi::TypeError::New(v.Env(), "style must be 'interleaved' or 'half'");
}

// testing.ropeText(x, positions, heads, headDim, theta, style)
Napi::Value TestRopeText(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::vector<float> x = float_array(info[0], "x");
  Napi::Int32Array pos = info[1].As<Napi::Int32Array>();
  const int heads = info[2].As<Napi::Number>().Int32Value(), hd = info[3].As<Napi::Number>().Int32Value();
  const double theta = info[4].As<Napi::Number>().DoubleValue();
  const int T = static_cast<int>(pos.ElementLength());
  if (x.size() != static_cast<size_t>(T) * heads * hd) throw Napi::RangeError::New(env, "x must be [T, heads, headDim]");
  // Positions may be anywhere (up to the end of the window): one table row per token.
  const px::RopePairing pairing = pairing_arg(info[5]);
  px::CpuBackend be(1);
  std::vector<float> row;
  for (int t = 0; t < T; ++t) {
    px::text_rope_table(pos.Data()[t], 1, hd, theta, row);
    be.rope(x.data() + static_cast<size_t>(t) * heads * hd, heads * hd, row.data(), 1, heads, hd, pairing);
  }
  return to_js(env, x);
}

Napi::Value TestRopeVisionTable(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int gh = info[0].As<Napi::Number>().Int32Value(), gw = info[1].As<Napi::Number>().Int32Value(),
            hd = info[2].As<Napi::Number>().Int32Value();
  const std::vector<float> t = px::vision_rope_table(gh, gw, hd, info[3].As<Napi::Number>().DoubleValue());
  const size_t half = t.size() / 2;
  Napi::Object r = Napi::Object::New(env);
  r.Set("cos", to_js(env, std::vector<float>(t.begin(), t.begin() + half)));
  r.Set("sin", to_js(env, std::vector<float>(t.begin() + half, t.end())));
  return r;
}

// testing.matmulBf16(x, w, rows, inDim, outDim, kernels?) through the threaded CPU backend.
Napi::Value TestMatmulBf16(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::vector<float> x = float_array(info[0], "x");
  Napi::Uint16Array w = info[1].As<Napi::Uint16Array>();
  const int T = info[2].As<Napi::Number>().Int32Value(), in = info[3].As<Napi::Number>().Int32Value(),
            out = info[4].As<Napi::Number>().Int32Value();
  if (x.size() != static_cast<size_t>(T) * in || w.ElementLength() != static_cast<size_t>(out) * in)
    throw Napi::RangeError::New(env, "x must be [rows, inDim] and w [outDim, inDim]");
  const px::CpuKernels* k = &px::cpu_kernels();
  if (info.Length() > 5 && info[5].IsString()) {
    k = px::cpu_kernels_named(info[5].As<Napi::String>());
    if (!k) throw Napi::Error::New(env, "kernel set not supported here");
  }
  px::CpuBackend be(0, k);
  px::Weight wt{w.Data(), out, in};
  std::vector<float> y(static_cast<size_t>(T) * out);
  be.matmul(y.data(), x.data(), wt, nullptr, T, false);
  return to_js(env, y);
}

// testing.attention(q, k, v, Tq, Tk, H, K, hd, causalOffset, kernels?) through the CPU backend.
Napi::Value TestAttention(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::vector<float> q = float_array(info[0], "q"), k = float_array(info[1], "k"), v = float_array(info[2], "v");
  int dims[6];
  for (int i = 0; i < 6; ++i) dims[i] = info[3 + i].As<Napi::Number>().Int32Value();
  const int Tq = dims[0], Tk = dims[1], H = dims[2], K = dims[3], hd = dims[4], causal = dims[5];
  if (H <= 0 || K <= 0 || H % K || q.size() != static_cast<size_t>(Tq) * H * hd ||
      k.size() != static_cast<size_t>(Tk) * K * hd || v.size() != k.size())
    throw Napi::RangeError::New(env, "q must be [Tq, H*hd], k and v [Tk, K*hd], H a multiple of K");
  const px::CpuKernels* kernels = &px::cpu_kernels();
  if (info.Length() > 9 && info[9].IsString()) {
    kernels = px::cpu_kernels_named(info[9].As<Napi::String>());
    if (!kernels) throw Napi::Error::New(env, "kernel set not supported here");
  }
  px::CpuBackend be(0, kernels);
  std::vector<float> out(q.size());
  be.attention(out.data(), q.data(), k.data(), v.data(), Tq, Tk, H, K, hd, causal);
  return to_js(env, out);
}

// testing.memcpyBandwidth(bytes, iters, threads?): bytes copied per second by memcpy split across
// threads — the peer the decode benchmark compares its weight streaming with.
Napi::Value TestMemcpyBandwidth(const Napi::CallbackInfo& info) {
  const size_t bytes = static_cast<size_t>(info[0].As<Napi::Number>().DoubleValue());
  const int iters = info[1].As<Napi::Number>().Int32Value();
  const int threads = info.Length() > 2 ? info[2].As<Napi::Number>().Int32Value() : 0;
  std::vector<char> a(bytes, 1), b(bytes, 0);
  px::ThreadPool pool(threads > 0 ? threads : px::default_thread_count());
  const int parts = pool.size() * 4;
  const size_t per = (bytes + parts - 1) / parts;
  auto once = [&] {
    pool.parallel_for(parts, [&](int p, int) {
      const size_t off = per * p;
      if (off < bytes) std::memcpy(b.data() + off, a.data() + off, std::min(per, bytes - off));
    });
  };
  once();  // fault the pages in
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < iters; ++i) once();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return Napi::Number::New(info.Env(), static_cast<double>(bytes) * iters / s);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("Engine", EngineWrap::Define(env));
  exports.Set("inspectModel", Napi::Function::New(env, InspectModel));
  exports.Set("cpuKernels", Napi::Function::New(env, CpuKernelsName));
  Napi::Object testing = Napi::Object::New(env);
  testing.Set("ropeText", Napi::Function::New(env, TestRopeText));
  testing.Set("ropeVisionTable", Napi::Function::New(env, TestRopeVisionTable));
  testing.Set("matmulBf16", Napi::Function::New(env, TestMatmulBf16));
  testing.Set("attention", Napi::Function::New(env, TestAttention));
  testing.Set("memcpyBandwidth", Napi::Function::New(env, TestMemcpyBandwidth));
  exports.Set("testing", testing);
  return exports;
}

}  // namespace

NODE_API_MODULE(pixtral_native, Init)
