// pixtral_testing.node: entry points only the benchmarks use, kept out of the production addon (the
// VSIX ships pixtral_native.node alone). memcpyBandwidth is the peer the decode benchmark compares
// its weight streaming with; matmulBf16 times the CPU matmul alone, outside any model.
#include <napi.h>

#include <chrono>
#include <cstring>
#include <vector>

#include "../src/cpu_backend.h"
#include "../src/thread_pool.h"

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

// matmulBf16(x, w, rows, inDim, outDim, threads?): y [rows, outDim] = x @ w^T through the CPU
// backend's matmul op, w given as bf16 bits [outDim, inDim].
Napi::Value MatmulBf16(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Float32Array x = info[0].As<Napi::Float32Array>();
  Napi::Uint16Array w = info[1].As<Napi::Uint16Array>();
  const int T = info[2].As<Napi::Number>().Int32Value(), in = info[3].As<Napi::Number>().Int32Value(),
            out = info[4].As<Napi::Number>().Int32Value();
  const int threads = info.Length() > 5 ? info[5].As<Napi::Number>().Int32Value() : 0;
  if (x.ElementLength() != static_cast<size_t>(T) * in || w.ElementLength() != static_cast<size_t>(out) * in)
    throw Napi::RangeError::New(env, "x must be [rows, inDim] and w [outDim, inDim]");
  static std::unique_ptr<px::CpuBackend> backend;
  static int backend_threads = -1;
  if (threads != backend_threads) {
    backend = std::make_unique<px::CpuBackend>(threads);
    backend_threads = threads;
  }
  // The weight is viewed in place, as a checkpoint tensor in the file mapping is (no copy).
  px::TensorView view{"w", "bench", px::FileDType::BF16, {out, in}, w.Data(), w.ByteLength()};
  const px::Tensor wt = backend->weight(view);
  px::OwnedTensor xt(*backend, px::DType::F32, T, in), yt(*backend, px::DType::F32, T, out);
  backend->write(*xt, x.Data());
  px::Graph g;
  g.matmul(*yt, *xt, wt, px::Tensor{}, false);
  std::atomic<uint64_t> epoch{0};
  backend->run(g, px::CancelToken(epoch, 0));
  Napi::Float32Array y = Napi::Float32Array::New(env, static_cast<size_t>(T) * out);
  backend->read(y.Data(), *yt);
  return y;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("memcpyBandwidth", Napi::Function::New(env, MemcpyBandwidth));
  exports.Set("matmulBf16", Napi::Function::New(env, MatmulBf16));
  return exports;
}

}  // namespace

NODE_API_MODULE(pixtral_testing, Init)
