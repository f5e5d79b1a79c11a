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
  // Online softmax over key blocks (as in FlashAttention): a task takes a block of query rows of
  // one kv head and streams the keys once for all its query vectors; only a [vectors, keys-block]
  // tile of scores ever exists. Many vectors (prefill, vision): the vectorised tile kernel. A few
  // (decode: one row, `group` heads): one dot and one axpy per key and vector.
  const int group = H / K;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  if (Tq * group >= 8) {
    const int rows = std::max(1, 64 / group);  // ~64 query vectors per tile
    const int blocks = (Tq + rows - 1) / rows;
    pool_.parallel_for(blocks * K, [&](int task, int) {
      const int row0 = (task / K) * rows;
      kernels_->attention_tile(AttentionTile{out, q, k, v, row0, std::min(rows, Tq - row0), task % K, Tk, H, K, hd,
                                             causal_offset, scale});
    });
    return;
  }
  constexpr int kQueryBlock = 16, kKeyBlock = 64;
  const size_t q_stride = static_cast<size_t>(H) * hd, kv_stride = static_cast<size_t>(K) * hd;
  const int q_blocks = (Tq + kQueryBlock - 1) / kQueryBlock;
  pool_.parallel_for(q_blocks * K, [&](int task, int) {
    const int qb = task / K, g = task % K;
    const int i0 = qb * kQueryBlock, nq = std::min(kQueryBlock, Tq - i0);
    const int nv = nq * group;  // query vectors: row-major (query row, head in group)
    thread_local std::vector<float> scores, acc, run_max, run_sum;
    scores.resize(static_cast<size_t>(nv) * kKeyBlock);
    acc.assign(static_cast<size_t>(nv) * hd, 0.f);
    run_max.assign(nv, -INFINITY);
    run_sum.assign(nv, 0.f);
    auto qvec = [&](int n) { return q + (i0 + n / group) * q_stride + static_cast<size_t>(g * group + n % group) * hd; };
    auto visible = [&](int n) { return causal_offset < 0 ? Tk : std::min(Tk, causal_offset + i0 + n / group + 1); };
    const int keys = visible(nv - 1);  // the last query row sees the most keys
    for (int j0 = 0; j0 < keys; j0 += kKeyBlock) {
      const int nk = std::min(kKeyBlock, keys - j0);
      for (int n = 0; n < nv; ++n) {
        const int limit = visible(n) - j0;  // keys [j0, j0 + limit) are visible to vector n
        if (limit <= 0) continue;
        const int m = std::min(nk, limit);
        float* sc = scores.data() + static_cast<size_t>(n) * kKeyBlock;
        float block_max = -INFINITY;
        for (int j = 0; j < m; ++j) {
          sc[j] = kernels_->dot(qvec(n), k + (j0 + j) * kv_stride + static_cast<size_t>(g) * hd, hd) * scale;
          block_max = std::max(block_max, sc[j]);
        }
        const float new_max = std::max(run_max[n], block_max);
        const float rescale = std::exp(run_max[n] - new_max);  // 0 on the first block
        float* o = acc.data() + static_cast<size_t>(n) * hd;
        if (rescale != 1.f)
          for (int d = 0; d < hd; ++d) o[d] *= rescale;
        float sum = run_sum[n] * rescale;
        for (int j = 0; j < m; ++j) {
          const float p = std::exp(sc[j] - new_max);
          sum += p;
          kernels_->axpy(o, p, v + (j0 + j) * kv_stride + static_cast<size_t>(g) * hd, hd);
        }
        run_max[n] = new_max;
        run_sum[n] = sum;
      }
    }
    for (int n = 0; n < nv; ++n) {
      float* dst = out + (i0 + n / group) * q_stride + static_cast<size_t>(g * group + n % group) * hd;
      const float inv = 1.f / run_sum[n];
      const float* o = acc.data() + static_cast<size_t>(n) * hd;
      for (int d = 0; d < hd; ++d) dst[d] = o[d] * inv;
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
