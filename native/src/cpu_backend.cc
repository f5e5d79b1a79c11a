// See cpu_backend.h. Work splitting: matmuls split the output rows across threads (every thread
// streams a disjoint slice of the weight); attention splits (query block, kv head) pairs; element-
// wise ops split into large contiguous chunks. 16-bit and q8_0 KV caches are widened a block of keys
// at a time into per-thread scratch, so the attention kernels only ever read fp32. Block-weight
// matmuls with few rows round the activations to int8 once, before the rows are split.
#include "cpu_backend.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <new>

#if defined(__linux__) || defined(__APPLE__)
#include <sys/mman.h>
#include <unistd.h>
#endif

#include "float_formats.h"
#include "quant_blocks.h"

namespace px {
namespace {

class CpuBuffer final : public Buffer {
 public:
  // Owned, 64-byte aligned memory, added to `in_use` unless that is null (weights).
  CpuBuffer(size_t bytes, std::atomic<size_t>* in_use) : Buffer(bytes), owned_(true), in_use_(in_use) {
    const size_t rounded = (std::max<size_t>(bytes, 1) + 63) & ~size_t(63);
#if defined(_WIN32)
    data_ = _aligned_malloc(rounded, 64);
#else
    data_ = std::aligned_alloc(64, rounded);
#endif
    if (!data_)
      throw EngineError(ErrorKind::OutOfMemory, "out of memory allocating " + std::to_string(bytes >> 20) + " MiB on the CPU");
    if (in_use_) in_use_->fetch_add(bytes, std::memory_order_relaxed);
  }
  // A view of memory owned elsewhere (a weight in the file mapping).
  CpuBuffer(const void* data, size_t bytes) : Buffer(bytes), data_(const_cast<void*>(data)) {}
  ~CpuBuffer() override {
    if (!owned_) return;
    if (in_use_) in_use_->fetch_sub(bytes(), std::memory_order_relaxed);
#if defined(_WIN32)
    _aligned_free(data_);
#else
    std::free(data_);
#endif
  }
  void* data() const { return data_; }
  // Block weights whose rows the backend interleaved for its kernel set (interleaved_blocks.h).
  bool interleaved = false;

 private:
  void* data_ = nullptr;
  bool owned_ = false;
  std::atomic<size_t>* in_use_ = nullptr;
};

bool interleaved(const Tensor& t) { return static_cast<const CpuBuffer*>(t.buffer)->interleaved; }

// Gives the pages wholly inside [p, p + n) of a read-only file mapping back to the page cache:
// their bytes now live in the interleaved copy, and this keeps them out of the resident set.
void release_mapped(const void* p, size_t n) {
#if defined(__linux__) || defined(__APPLE__)
  const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(p) + page - 1) & ~(page - 1);
  const uintptr_t end = (reinterpret_cast<uintptr_t>(p) + n) & ~(page - 1);
  if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
#else
  (void)p, (void)n;
#endif
}

template <typename T = float>
T* at(const Tensor& t) {
  return reinterpret_cast<T*>(static_cast<char*>(static_cast<const CpuBuffer*>(t.buffer)->data()) + t.offset);
}

// Multiply-adds below which a matmul task costs less than handing it to another thread (~20 us).
constexpr int64_t kMinTaskMacs = 1 << 17;

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

// A weight-like operand widened to fp32 (norm weights, biases): small, widened per call.
const float* widened(const Tensor& t, std::vector<float>& scratch) {
  if (t.dtype == DType::F32) return at(t);
  scratch.resize(static_cast<size_t>(t.numel()));
  widen_row(t.dtype, at<void>(t), t.numel(), scratch.data());
  return scratch.data();
}

}  // namespace

void* cpu_data(const Tensor& t) { return at<void>(t); }

CpuBackend::CpuBackend(int threads, const CpuKernels* kernels)
    : pool_(threads > 0 ? threads : default_thread_count()), kernels_(kernels ? kernels : &cpu_kernels()) {}

CpuBackend::~CpuBackend() = default;

std::string CpuBackend::name() const { return std::string("cpu-") + kernels_->name; }

std::unique_ptr<Buffer> CpuBackend::alloc(size_t bytes) { return std::make_unique<CpuBuffer>(bytes, &bytes_in_use_); }

Tensor CpuBackend::weight(const TensorView& v) { return take(v, true); }
Tensor CpuBackend::table(const TensorView& v) { return take(v, false); }

Tensor CpuBackend::take(const TensorView& v, bool matrix) {
  const DType dtype = weight_dtype(v);
  Tensor t;
  t.dtype = dtype;
  t.rows = v.shape.size() <= 1 ? 1 : v.shape[0];
  t.cols = t.rows == 0 ? 0 : v.numel() / t.rows;
  const bool interleave = matrix && ((is_block(dtype) && kernels_->interleaved_rows) ||
                                     (dtype == DType::BF16 && kernels_->matmul_bf16_panels && t.rows >= kBf16PanelRows));
  if (interleave) {
    // The kernel set reads 16 block rows interleaved, or bf16 in 32-row panels: a copy in that
    // layout, made group by group on every thread, and the file's pages let go.
    auto copy = std::make_unique<CpuBuffer>(v.nbytes, nullptr);
    const size_t rb = row_bytes(dtype, t.cols);
    const int64_t rows = interleaved_rows_of(dtype), groups = (t.rows + rows - 1) / rows, per = 64;
    pool_.parallel_for(static_cast<int>((groups + per - 1) / per), [&](int task, int) {
      const int64_t r0 = task * per * rows, r1 = std::min(t.rows, r0 + per * rows);
      const char* src = static_cast<const char*>(v.data) + r0 * rb;
      char* dst = static_cast<char*>(copy->data()) + r0 * rb;
      if (dtype == DType::BF16)
        kernels_->interleave_bf16(reinterpret_cast<const uint16_t*>(src), r1 - r0, t.cols, reinterpret_cast<uint16_t*>(dst));
      else
        interleave_rows(dtype, src, r1 - r0, t.cols, dst);
    });
    if (v.in_file_mapping) release_mapped(v.data, v.nbytes);
    copy->interleaved = true;
    weights_.push_back(std::move(copy));
  } else {
    weights_.push_back(std::make_unique<CpuBuffer>(v.data, v.nbytes));
  }
  t.buffer = weights_.back().get();
  return t;
}

void CpuBackend::write(const Tensor& dst, const void* src) { std::memcpy(at<void>(dst), src, dst.bytes()); }
void CpuBackend::read(void* dst, const Tensor& src) { std::memcpy(dst, at<void>(src), src.bytes()); }

void CpuBackend::run(const Graph& graph, const CancelToken& cancel) {
  for (const Node& n : graph.nodes()) {
    switch (n.op) {
      case Op::MatMul: matmul(n); break;
      case Op::RmsNorm: rmsnorm(n); break;
      case Op::Rope: rope(n); break;
      case Op::Attention: attention(n); break;
      case Op::SiluMul: silu_mul(n); break;
      case Op::Gelu: gelu(n); break;
      case Op::Embed: embed(n); break;
      case Op::SetRows: set_rows(n); break;
      case Op::Copy: copy(n); break;
      case Op::Sample: sample(n); break;
      case Op::AddI32: {
        int32_t* x = at<int32_t>(n.dst);
        for (int64_t i = 0; i < n.dst.numel(); ++i) x[i] += n.step;
        break;
      }
      case Op::CancelPoint: cancel.check(); break;
    }
  }
}

void CpuBackend::matmul(const Node& n) {
  const Tensor &x = n.src[0], &w = n.src[1], &bias = n.src[2];
  float* y = at(n.dst);
  const float* xp = at(x);
  const int T = static_cast<int>(x.rows), out = static_cast<int>(w.rows), in = static_cast<int>(w.cols);
  thread_local std::vector<float> bias_scratch;
  const float* b = bias.empty() ? nullptr : widened(bias, bias_scratch);
  // Block weights with few rows multiply int8 activations: x rounded once here, read by every task.
  thread_local std::vector<int8_t> xq_values;
  thread_local std::vector<float> xq_scales, xq_sums;
  QuantizedActs xq{};
  const bool blocks = is_block(w.dtype);
  if (blocks && interleaved(w) != (kernels_->interleaved_rows != 0))
    throw EngineError(ErrorKind::Internal, "a " + w.shape() + " matmul weight did not come through weight()");
  if (blocks && T <= kernels_->quantized_acts_rows) {
    const size_t blocks = static_cast<size_t>(T) * (in / kBlock);
    xq_values.resize(blocks * kBlock);
    xq_scales.resize(blocks);
    xq_sums.resize(blocks);
    for (int t = 0; t < T; ++t)
      kernels_->quantize_acts(xp + static_cast<size_t>(t) * in, in, xq_values.data() + static_cast<size_t>(t) * in,
                              xq_scales.data() + static_cast<size_t>(t) * (in / kBlock),
                              xq_sums.data() + static_cast<size_t>(t) * (in / kBlock));
    xq = {xq_values.data(), xq_scales.data(), xq_sums.data()};
  }
  // Decode streams rows 4 at a time; prefill works in 32-row blocks (kernels_avx2.cc); interleaved
  // block weights in whole groups of 16 rows, bf16 panels in whole panels of 32, with the tail past
  // the last group a task of its own (kernels.h). A task does at least kMinTaskMacs: a small
  // model's decode matvecs are cheaper than waking a thread.
  const bool panels = w.dtype == DType::BF16 && interleaved(w);
  const bool groups = (blocks && kernels_->interleaved_rows) || panels;
  const int align = groups ? interleaved_rows_of(w.dtype) : T == 1 ? 4 : 32;
  const int split = groups ? out / align * align : out;  // rows [split, out) are the tail task
  const int64_t min_rows = kMinTaskMacs / (static_cast<int64_t>(T) * in);
  int per = (out + pool_.size() * 4 - 1) / (pool_.size() * 4);
  per = static_cast<int>(std::max<int64_t>(per, min_rows));
  per = std::max(align, (per + align - 1) / align * align);
  const int tasks = (split + per - 1) / per + (split < out);
  pool_.parallel_for(tasks, [&](int task, int) {
    const int r0 = task * per < split ? task * per : split, r1 = r0 < split ? std::min(split, r0 + per) : out;
    if (w.dtype == DType::BF16) {
      const auto kernel = panels && r0 < split ? kernels_->matmul_bf16_panels : kernels_->matmul_bf16;
      kernel(y, out, xp, at<uint16_t>(w), T, in, r0, r1, n.accumulate);
    } else if (w.dtype == DType::Q8_0) {
      kernels_->matmul_q8_0(y, out, xp, xq, at<uint8_t>(w), T, in, r0, r1, n.accumulate);
    } else if (w.dtype == DType::Q4_0) {
      kernels_->matmul_q4_0(y, out, xp, xq, at<uint8_t>(w), T, in, r0, r1, n.accumulate);
    } else {
      // f32 / f16 weights (no checkpoint ships them; the op takes them): one widened row at a time.
      thread_local std::vector<float> row;
      row.resize(in);
      for (int r = r0; r < r1; ++r) {
        widen_row(w.dtype, at<char>(w) + static_cast<size_t>(r) * w.row_bytes(), in, row.data());
        for (int t = 0; t < T; ++t) {
          float* o = y + static_cast<size_t>(t) * out + r;
          const float s = kernels_->dot(xp + static_cast<size_t>(t) * in, row.data(), in);
          *o = n.accumulate ? *o + s : s;
        }
      }
    }
    if (b)
      for (int t = 0; t < T; ++t)
        for (int r = r0; r < r1; ++r) y[static_cast<size_t>(t) * out + r] += b[r];
  });
}

void CpuBackend::rmsnorm(const Node& n) {
  const Tensor& x = n.src[0];
  const int D = static_cast<int>(x.cols);
  thread_local std::vector<float> scratch;
  const float* w = widened(n.src[1], scratch);
  const float* xp = at(x);
  float* yp = at(n.dst);
  pool_.parallel_for(static_cast<int>(x.rows), [&](int t, int) {
    const float* xr = xp + static_cast<size_t>(t) * D;
    float* yr = yp + static_cast<size_t>(t) * D;
    double ss = 0;
    for (int i = 0; i < D; ++i) ss += static_cast<double>(xr[i]) * xr[i];
    const float inv = static_cast<float>(1.0 / std::sqrt(ss / D + n.eps));
    for (int i = 0; i < D; ++i) yr[i] = (xr[i] * inv) * w[i];
  });
}

void CpuBackend::rope(const Node& n) {
  const Tensor &table = n.src[0], &positions = n.src[1];
  const int hd = n.head_dim, half = hd / 2, heads = n.heads;
  const size_t stride = static_cast<size_t>(n.dst.cols);
  float* x = at(n.dst);
  const int32_t* pos = at<int32_t>(positions);
  for (int64_t t = 0; t < n.dst.rows; ++t)
    if (pos[t] < 0 || pos[t] >= table.rows)
      throw EngineError(ErrorKind::Internal, "rope: position " + std::to_string(pos[t]) + " is outside a table of " +
                                                 std::to_string(table.rows) + " positions");
  const float* tab = at(table);
  const bool interleaved = n.pairing == RopePairing::Interleaved;
  parallel_chunks(pool_, static_cast<size_t>(n.dst.rows), 64, [&](size_t b, size_t e) {
    for (size_t t = b; t < e; ++t) {
      const float* c = tab + static_cast<size_t>(pos[t]) * hd;
      const float* s = c + half;
      for (int h = 0; h < heads; ++h) {
        float* v = x + t * stride + static_cast<size_t>(h) * hd;
        for (int j = 0; j < half; ++j) {
          const int i0 = interleaved ? 2 * j : j;
          const int i1 = interleaved ? 2 * j + 1 : j + half;
          const float a = v[i0], bb = v[i1];
          v[i0] = a * c[j] - bb * s[j];
          v[i1] = a * s[j] + bb * c[j];
        }
      }
    }
  });
}

void CpuBackend::attention(const Node& n) {
  // Online softmax over key blocks (as in FlashAttention): a task takes a block of query rows of
  // one kv head and streams the keys once for all its query vectors; only a [vectors, keys-block]
  // tile of scores ever exists. Many vectors (prefill, vision): the vectorised tile kernel. A few
  // (decode: one row, `group` heads): one dot and one axpy per key and vector.
  const Tensor &qt = n.src[0], &kt = n.src[1], &vt = n.src[2], &post = n.src[3];
  const int Tq = static_cast<int>(qt.rows), H = n.heads, K = n.kv_heads, hd = n.head_dim, group = H / K;
  const int32_t* positions = post.empty() ? nullptr : at<int32_t>(post);
  const int Tk = positions ? positions[Tq - 1] + 1 : static_cast<int>(kt.rows);
  if (Tk > kt.rows || (positions && positions[0] < 0))
    throw EngineError(ErrorKind::Internal, "attention: positions reach key " + std::to_string(Tk - 1) +
                                               " of a cache of " + std::to_string(kt.rows) + " rows");
  float* out = at(n.dst);
  const float* q = at(qt);
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  const bool wide = kt.dtype == DType::F32;
  const size_t kv_stride = static_cast<size_t>(K) * hd;
  // Keys visible to query row i.
  auto visible = [&](int i) { return positions ? std::min(Tk, positions[i] + 1) : Tk; };
  // Rows [j0, j0 + nk) of kv head g as fp32 [nk, hd] with row stride *stride: the cache itself when
  // it is f32, else widened into `scratch`.
  auto keys = [&](const Tensor& t, int g, int j0, int nk, std::vector<float>& scratch, size_t* stride) -> const float* {
    const size_t row = t.row_bytes();
    const char* base = at<char>(t) + static_cast<size_t>(j0) * row + px::row_bytes(t.dtype, static_cast<int64_t>(g) * hd);
    if (wide) {
      *stride = kv_stride;
      return reinterpret_cast<const float*>(base);
    }
    scratch.resize(static_cast<size_t>(nk) * hd);
    for (int j = 0; j < nk; ++j) {
      float* dst = scratch.data() + static_cast<size_t>(j) * hd;
      if (t.dtype == DType::F16)  // the default cache: vector conversion (F16C, NEON)
        kernels_->widen_f16(reinterpret_cast<const uint16_t*>(base + j * row), hd, dst);
      else
        widen_row(t.dtype, base + j * row, hd, dst);
    }
    *stride = hd;
    return scratch.data();
  };

  if (Tq * group >= 8) {
    const int rows = std::max(1, 64 / group);  // ~64 query vectors per tile
    const int blocks = (Tq + rows - 1) / rows;
    pool_.parallel_for(blocks * K, [&](int task, int) {
      thread_local std::vector<float> ks, vs;
      const int row0 = (task / K) * rows, nrows = std::min(rows, Tq - row0), g = task % K;
      const int nk = visible(row0 + nrows - 1);
      size_t stride = 0;
      const float* k = keys(kt, g, 0, nk, ks, &stride);
      const float* v = keys(vt, g, 0, nk, vs, &stride);
      kernels_->attention_tile(AttentionTile{out, q, k, v, stride, positions, row0, nrows, g, nk, H, K, hd, scale});
    });
    return;
  }
  constexpr int kQueryBlock = 16, kKeyBlock = 64;
  const size_t q_stride = static_cast<size_t>(H) * hd;
  const int q_blocks = (Tq + kQueryBlock - 1) / kQueryBlock;
  pool_.parallel_for(q_blocks * K, [&](int task, int) {
    const int qb = task / K, g = task % K;
    const int i0 = qb * kQueryBlock, nq = std::min(kQueryBlock, Tq - i0);
    const int nv = nq * group;  // query vectors: row-major (query row, head in group)
    thread_local std::vector<float> scores, acc, run_max, run_sum, ks, vs;
    scores.resize(static_cast<size_t>(nv) * kKeyBlock);
    acc.assign(static_cast<size_t>(nv) * hd, 0.f);
    run_max.assign(nv, -INFINITY);
    run_sum.assign(nv, 0.f);
    auto qvec = [&](int v) { return q + (i0 + v / group) * q_stride + static_cast<size_t>(g * group + v % group) * hd; };
    const int last = visible(i0 + nq - 1);  // the last query row sees the most keys
    for (int j0 = 0; j0 < last; j0 += kKeyBlock) {
      const int nk = std::min(kKeyBlock, last - j0);
      size_t stride = 0;
      const float* kb = keys(kt, g, j0, nk, ks, &stride);
      const float* vb = keys(vt, g, j0, nk, vs, &stride);
      for (int v = 0; v < nv; ++v) {
        const int m = std::min(nk, visible(i0 + v / group) - j0);  // keys [j0, j0 + m) are visible
        if (m <= 0) continue;
        float* sc = scores.data() + static_cast<size_t>(v) * kKeyBlock;
        float block_max = -INFINITY;
        for (int j = 0; j < m; ++j) {
          sc[j] = kernels_->dot(qvec(v), kb + j * stride, hd) * scale;
          block_max = std::max(block_max, sc[j]);
        }
        const float new_max = std::max(run_max[v], block_max);
        const float rescale = std::exp(run_max[v] - new_max);  // 0 on the first block
        float* o = acc.data() + static_cast<size_t>(v) * hd;
        if (rescale != 1.f)
          for (int d = 0; d < hd; ++d) o[d] *= rescale;
        float sum = run_sum[v] * rescale;
        for (int j = 0; j < m; ++j) {
          const float p = std::exp(sc[j] - new_max);
          sum += p;
          kernels_->axpy(o, p, vb + j * stride, hd);
        }
        run_max[v] = new_max;
        run_sum[v] = sum;
      }
    }
    for (int v = 0; v < nv; ++v) {
      float* dst = out + (i0 + v / group) * q_stride + static_cast<size_t>(g * group + v % group) * hd;
      const float inv = 1.f / run_sum[v];
      const float* o = acc.data() + static_cast<size_t>(v) * hd;
      for (int d = 0; d < hd; ++d) dst[d] = o[d] * inv;
    }
  });
}

void CpuBackend::silu_mul(const Node& n) {
  float* y = at(n.dst);
  const float *g = at(n.src[0]), *u = at(n.src[1]);
  parallel_chunks(pool_, static_cast<size_t>(n.dst.numel()), 1 << 14, [&](size_t b, size_t e) {
    for (size_t i = b; i < e; ++i) y[i] = g[i] / (1.f + std::exp(-g[i])) * u[i];
  });
}

void CpuBackend::gelu(const Node& n) {
  float* y = at(n.dst);
  const float* x = at(n.src[0]);
  parallel_chunks(pool_, static_cast<size_t>(n.dst.numel()), 1 << 14, [&](size_t b, size_t e) {
    for (size_t i = b; i < e; ++i) y[i] = 0.5f * x[i] * (1.f + std::erf(x[i] * 0.70710678118654752f));
  });
}

void CpuBackend::embed(const Node& n) {
  const Tensor& table = n.src[0];
  const int32_t* ids = at<int32_t>(n.src[1]);
  float* y = at(n.dst);
  if (interleaved(table)) throw EngineError(ErrorKind::Internal, "an embedding table came through weight(), not table()");
  for (int64_t t = 0; t < n.dst.rows; ++t) {
    if (ids[t] < 0 || ids[t] >= table.rows)
      throw EngineError(ErrorKind::BadInput, "token id " + std::to_string(ids[t]) + " is outside the vocabulary (0.." +
                                                 std::to_string(table.rows - 1) + ")");
    const char* row = at<char>(table) + static_cast<size_t>(ids[t]) * table.row_bytes();
    widen_row(table.dtype, row, table.cols, y + static_cast<size_t>(t) * table.cols);
  }
}

void CpuBackend::set_rows(const Node& n) {
  const Tensor &src = n.src[0], &dst = n.dst;
  const int32_t* index = at<int32_t>(n.src[1]);
  for (int64_t i = 0; i < src.rows; ++i) {
    if (index[i] < 0 || index[i] >= dst.rows)
      throw EngineError(ErrorKind::Internal, "set_rows: row " + std::to_string(index[i]) + " is outside " + dst.shape());
    narrow_row(dst.dtype, at(src) + static_cast<size_t>(i) * src.cols, src.cols,
               at<char>(dst) + static_cast<size_t>(index[i]) * dst.row_bytes());
  }
}

void CpuBackend::copy(const Node& n) { narrow_row(n.dst.dtype, at(n.src[0]), n.dst.numel(), at<void>(n.dst)); }

void CpuBackend::sample(const Node& n) {
  SamplerState state;
  std::memcpy(&state, at<void>(n.src[1]), sizeof state);
  const int id = sample_token(at(n.src[0]), static_cast<int>(n.src[0].cols), state, sampler_scratch_);
  std::memcpy(at<void>(n.src[1]), &state, sizeof state);
  *at<int32_t>(n.dst) = id;
}

}  // namespace px
