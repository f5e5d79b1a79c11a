// See cpu_backend.h. Work splitting: matmuls split the output rows across threads (every thread
// streams a disjoint slice of the weight); attention splits (query, kv-head group) pairs; element-
// wise ops split into large contiguous chunks.
#include "cpu_backend.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "error.h"

namespace px {
namespace {

std::mutex g_alloc_mu;
std::unordered_map<const float*, size_t> g_alloc_sizes;

// Runs fn(begin, end) over [0, n) in chunks of at least min_chunk elements.
void parallel_chunks(ThreadPool& pool, size_t n, size_t min_chunk, const std::function<void(size_t, size_t)>& fn) {
  size_t chunks = std::min<size_t>(static_cast<size_t>(pool.size()) * 4, (n + min_chunk - 1) / min_chunk);
  if (chunks <= 1) return fn(0, n);
  size_t per = (n + chunks - 1) / chunks;
  pool.parallel_for(static_cast<int>(chunks), [&](int c, int) {
    size_t b = per * static_cast<size_t>(c), e = std::min(n, b + per);
    if (b < e) fn(b, e);
  });
}

}  // namespace

CpuBackend::CpuBackend(int threads, const CpuKernels* kernels)
    : pool_(threads > 0 ? threads : default_thread_count()), kernels_(kernels ? kernels : &cpu_kernels()) {}

CpuBackend::~CpuBackend() = default;

std::string CpuBackend::name() const { return std::string("cpu-") + kernels_->name; }

float* CpuBackend::alloc(size_t n) {
  size_t bytes = ((std::max<size_t>(n, 1) * sizeof(float)) + 63) & ~size_t(63);
#if defined(_WIN32)
  void* p = _aligned_malloc(bytes, 64);
#else
  void* p = std::aligned_alloc(64, bytes);
#endif
  if (!p) throw EngineError("out of memory allocating " + std::to_string(bytes >> 20) + " MiB on the CPU");
  std::lock_guard<std::mutex> lock(g_alloc_mu);
  g_alloc_sizes[static_cast<float*>(p)] = bytes;
  bytes_in_use_ += bytes;
  return static_cast<float*>(p);
}

void CpuBackend::release(float* p) {
  if (!p) return;
  {
    std::lock_guard<std::mutex> lock(g_alloc_mu);
    auto it = g_alloc_sizes.find(p);
    if (it != g_alloc_sizes.end()) {
      bytes_in_use_ -= it->second;
      g_alloc_sizes.erase(it);
    }
  }
#if defined(_WIN32)
  _aligned_free(p);
#else
  std::free(p);
#endif
}

void CpuBackend::upload(float* dst, const float* src, size_t n) { std::memcpy(dst, src, n * sizeof(float)); }
void CpuBackend::download(float* dst, const float* src, size_t n) { std::memcpy(dst, src, n * sizeof(float)); }
void CpuBackend::copy(float* dst, const float* src, size_t n) { std::memmove(dst, src, n * sizeof(float)); }

Weight CpuBackend::weight(const TensorView& t) {
  Weight w;
  w.data = static_cast<const uint16_t*>(t.data);
  w.rows = t.shape.empty() ? 1 : t.shape[0];
  w.cols = w.rows == 0 ? 0 : static_cast<int64_t>(t.numel() / std::max<int64_t>(w.rows, 1));
  if (t.shape.size() == 1) {  // vectors (norm weights, biases) are one row
    w.rows = 1;
    w.cols = t.shape[0];
  }
  return w;
}

void CpuBackend::matmul(float* y, const float* x, const Weight& w, const Weight* bias, int T, bool accumulate) {
  const int out = static_cast<int>(w.rows), in = static_cast<int>(w.cols);
  // Decode streams rows 4 at a time; prefill works in 32-row blocks (kernels_avx2.cc).
  const int align = T == 1 ? 4 : 32;
  int per = (out + pool_.size() * 4 - 1) / (pool_.size() * 4);
  per = std::max(align, (per + align - 1) / align * align);
  const int tasks = (out + per - 1) / per;
  pool_.parallel_for(tasks, [&](int task, int) {
    const int r0 = task * per, r1 = std::min(out, r0 + per);
    kernels_->matmul_bf16(y, out, x, w.data, T, in, r0, r1, accumulate);
    if (bias)
      for (int t = 0; t < T; ++t)
        for (int r = r0; r < r1; ++r) y[static_cast<size_t>(t) * out + r] += bf16_to_f32(bias->data[r]);
  });
}

void CpuBackend::rmsnorm(float* y, const float* x, const Weight& w, int T, int D, float eps) {
  pool_.parallel_for(T, [&](int t, int) {
    const float* xr = x + static_cast<size_t>(t) * D;
    float* yr = y + static_cast<size_t>(t) * D;
    double ss = 0;
    for (int i = 0; i < D; ++i) ss += static_cast<double>(xr[i]) * xr[i];
    const float inv = static_cast<float>(1.0 / std::sqrt(ss / D + eps));
    for (int i = 0; i < D; ++i) yr[i] = (xr[i] * inv) * bf16_to_f32(w.data[i]);
  });
}

void CpuBackend::rope(float* x, int stride, const float* cos_sin, int T, int heads, int hd, RopePairing pairing) {
  const int half = hd / 2;
  const float* sin_base = cos_sin + static_cast<size_t>(T) * half;
  parallel_chunks(pool_, static_cast<size_t>(T), 64, [&](size_t b, size_t e) {
    for (size_t t = b; t < e; ++t) {
      const float* c = cos_sin + t * half;
      const float* s = sin_base + t * half;
      for (int h = 0; h < heads; ++h) {
        float* v = x + t * stride + static_cast<size_t>(h) * hd;
        for (int j = 0; j < half; ++j) {
          const int i0 = pairing == RopePairing::Interleaved ? 2 * j : j;
          const int i1 = pairing == RopePairing::Interleaved ? 2 * j + 1 : j + half;
          const float a = v[i0], bb = v[i1];
          v[i0] = a * c[j] - bb * s[j];
          v[i1] = a * s[j] + bb * c[j];
        }
      }
    }
  });
}

void CpuBackend::attention(float* out, const float* q, const float* k, const float* v, int Tq, int Tk, int H, int K,
                           int hd, int causal_offset) {
  const int group = H / K;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  const size_t q_stride = static_cast<size_t>(H) * hd, kv_stride = static_cast<size_t>(K) * hd;
  // One task = one query row x one kv head: the `group` query heads that share it read each key
  // row once. Scores for one row are the only thing materialised ([group, Tk]).
  pool_.parallel_for(Tq * K, [&](int task, int) {
    const int i = task / K, g = task % K;
    const int n_keys = causal_offset < 0 ? Tk : std::min(Tk, causal_offset + i + 1);
    thread_local std::vector<float> scores;
    scores.resize(static_cast<size_t>(group) * std::max(n_keys, 1));
    for (int h = 0; h < group; ++h) {
      const int head = g * group + h;
      const float* qh = q + i * q_stride + static_cast<size_t>(head) * hd;
      float* sc = scores.data() + static_cast<size_t>(h) * n_keys;
      float mx = -INFINITY;
      for (int j = 0; j < n_keys; ++j) {
        sc[j] = kernels_->dot(qh, k + j * kv_stride + static_cast<size_t>(g) * hd, hd) * scale;
        mx = std::max(mx, sc[j]);
      }
      float sum = 0.f;
      for (int j = 0; j < n_keys; ++j) {
        sc[j] = std::exp(sc[j] - mx);
        sum += sc[j];
      }
      float* oh = out + i * q_stride + static_cast<size_t>(head) * hd;
      std::fill(oh, oh + hd, 0.f);
      const float inv = 1.f / sum;
      for (int j = 0; j < n_keys; ++j)
        kernels_->axpy(oh, sc[j] * inv, v + j * kv_stride + static_cast<size_t>(g) * hd, hd);
    }
  });
}

void CpuBackend::silu_mul(float* gate, const float* up, size_t n) {
  parallel_chunks(pool_, n, 1 << 14, [&](size_t b, size_t e) {
    for (size_t i = b; i < e; ++i) gate[i] = gate[i] / (1.f + std::exp(-gate[i])) * up[i];
  });
}

void CpuBackend::gelu(float* x, size_t n) {
  parallel_chunks(pool_, n, 1 << 14, [&](size_t b, size_t e) {
    for (size_t i = b; i < e; ++i) x[i] = 0.5f * x[i] * (1.f + std::erf(x[i] * 0.70710678118654752f));
  });
}

void CpuBackend::embed(float* y, const Weight& table, const int32_t* ids, int T) {
  const int64_t D = table.cols;
  for (int t = 0; t < T; ++t) {
    if (ids[t] < 0 || ids[t] >= table.rows)
      throw EngineError("token id " + std::to_string(ids[t]) + " at position " + std::to_string(t) +
                        " is outside the vocabulary (0.." + std::to_string(table.rows - 1) + ")");
    const uint16_t* row = table.data + static_cast<size_t>(ids[t]) * D;
    float* yr = y + static_cast<size_t>(t) * D;
    for (int64_t i = 0; i < D; ++i) yr[i] = bf16_to_f32(row[i]);
  }
}

}  // namespace px
