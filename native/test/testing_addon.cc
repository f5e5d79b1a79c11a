// pixtral_testing.node: entry points only the benchmarks and tests use, kept out of the production
// addon (the VSIX ships pixtral_native.node alone). memcpyBandwidth is the peer the decode benchmark
// compares its weight streaming with, fmaPeak the one for prefill and the vision encoder;
// matmulBf16 times the CPU matmul alone, outside any model; runOpHarness runs the op harness on a
// backend whose work happens in JS (WebGPU), on a worker thread so the JS thread stays free to do it.
#include <napi.h>

#include <chrono>
#include <cstring>
#include <vector>

#include "../src/cpu_backend.h"
#include "../src/thread_pool.h"
#include "../src/webgpu_js_executor.h"
#include "fma_peak.h"
#include "op_harness.h"

namespace {

// memcpyBandwidth(bytes, iters, threads?): bytes copied per second by memcpy split across threads.
Napi::Value MemcpyBandwidth(const Napi::CallbackInfo& info) {
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

// fmaPeak(threads?) -> {flops, bits}: fp32 FLOP/s of the widest vector FMA (fma_peak.h); bits 0
// where no probe exists for this processor.
Napi::Value FmaPeak(const Napi::CallbackInfo& info) {
  const int threads = info.Length() > 0 ? info[0].As<Napi::Number>().Int32Value() : 0;
  const px::FmaPeak peak = px::measure_fma_peak(threads);
  Napi::Object out = Napi::Object::New(info.Env());
  out.Set("flops", peak.flops);
  out.Set("bits", peak.bits);
  return out;
}

// matmulBf16(x, w, rows, inDim, outDim, threads?, runs?) -> {y, seconds}: y [rows, outDim] = x @ w^T
// through the CPU backend's matmul op, w given as bf16 bits [outDim, inDim] and taken once through
// Backend::weight as a checkpoint tensor is (into the kernel set's layout, if it has one); then the
// op alone runs `runs` times (default 1), seconds[i] the wall time of run i.
Napi::Value MatmulBf16(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Float32Array x = info[0].As<Napi::Float32Array>();
  Napi::Uint16Array w = info[1].As<Napi::Uint16Array>();
  const int T = info[2].As<Napi::Number>().Int32Value(), in = info[3].As<Napi::Number>().Int32Value(),
            out = info[4].As<Napi::Number>().Int32Value();
  const int threads = info.Length() > 5 ? info[5].As<Napi::Number>().Int32Value() : 0;
  const int runs = info.Length() > 6 ? info[6].As<Napi::Number>().Int32Value() : 1;
  if (x.ElementLength() != static_cast<size_t>(T) * in || w.ElementLength() != static_cast<size_t>(out) * in)
    throw Napi::RangeError::New(env, "x must be [rows, inDim] and w [outDim, inDim]");
  if (runs < 1) throw Napi::RangeError::New(env, "runs must be at least 1");
  px::CpuBackend backend(threads);
  px::TensorView view{"w", "bench", px::FileDType::BF16, {out, in}, w.Data(), w.ByteLength()};
  const px::Tensor wt = backend.weight(view);
  px::OwnedTensor xt(backend, px::DType::F32, T, in), yt(backend, px::DType::F32, T, out);
  backend.write(*xt, x.Data());
  px::Graph g;
  g.matmul(*yt, *xt, wt, px::Tensor{}, false);
  std::atomic<uint64_t> epoch{0};
  Napi::Array seconds = Napi::Array::New(env, runs);
  for (int i = 0; i < runs; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    backend.run(g, px::CancelToken(epoch, 0));
    seconds.Set(static_cast<uint32_t>(i), std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  Napi::Float32Array y = Napi::Float32Array::New(env, static_cast<size_t>(T) * out);
  backend.read(y.Data(), *yt);
  Napi::Object result = Napi::Object::New(env);
  result.Set("y", y);
  result.Set("seconds", seconds);
  return result;
}

// runOpHarness('webgpu', executor, {seed?, filter?}) -> Promise<{cases: [...], backend, seed}>: each
// case as the op_harness program prints it (op, case, error, tolerance, measure, ok, failure?).
class HarnessWorker : public Napi::AsyncWorker {
 public:
  HarnessWorker(Napi::Env env, std::shared_ptr<px::WebGpuExecutor> executor, px::harness::Options options)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), executor_(std::move(executor)),
        options_(std::move(options)) {}
  Napi::Promise promise() { return deferred_.Promise(); }

 protected:
  void Execute() override {
    try {
      px::WebGpuBackend backend(executor_);
      name_ = backend.name();
      results_ = px::harness::run_all(backend, options_);
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }
  void OnOK() override {
    Napi::Env env = Env();
    Napi::Array cases = Napi::Array::New(env, results_.size());
    for (size_t i = 0; i < results_.size(); ++i) {
      const px::harness::CaseResult& r = results_[i];
      Napi::Object c = Napi::Object::New(env);
      c.Set("op", r.op);
      c.Set("case", r.name);
      c.Set("error", r.error);
      c.Set("tolerance", r.tolerance);
      c.Set("measure", r.measure);
      c.Set("ok", r.ok);
      if (!r.failure.empty()) c.Set("failure", r.failure);
      cases.Set(static_cast<uint32_t>(i), c);
    }
    Napi::Object out = Napi::Object::New(env);
    out.Set("cases", cases);
    out.Set("backend", name_);
    out.Set("seed", static_cast<double>(options_.seed));
    deferred_.Resolve(out);
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::shared_ptr<px::WebGpuExecutor> executor_;
  px::harness::Options options_;
  std::string name_;
  std::vector<px::harness::CaseResult> results_;
};

Napi::Value RunOpHarness(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || info[0].As<Napi::String>().Utf8Value() != "webgpu" || !info[1].IsObject())
    throw Napi::TypeError::New(env, "runOpHarness('webgpu', executor, {seed?, filter?})");
  px::harness::Options options;
  if (info.Length() > 2 && info[2].IsObject()) {
    Napi::Object o = info[2].As<Napi::Object>();
    if (o.Get("seed").IsNumber()) options.seed = static_cast<uint64_t>(o.Get("seed").As<Napi::Number>().DoubleValue());
    if (o.Get("filter").IsString()) options.filter = o.Get("filter").As<Napi::String>();
  }
  auto* worker = new HarnessWorker(env, px::js_webgpu_executor(env, info[1].As<Napi::Object>()), options);
  Napi::Promise p = worker->promise();
  worker->Queue();
  return p;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("memcpyBandwidth", Napi::Function::New(env, MemcpyBandwidth));
  exports.Set("matmulBf16", Napi::Function::New(env, MatmulBf16));
  exports.Set("fmaPeak", Napi::Function::New(env, FmaPeak));
  exports.Set("runOpHarness", Napi::Function::New(env, RunOpHarness));
  return exports;
}

}  // namespace

NODE_API_MODULE(pixtral_testing, Init)
