// See cuda_backend.h. The planner here maps graph nodes to the kernel families (kernels.cuh):
//   MatMul: T <= 8 with bf16 weights -> matvec (consecutive matmuls reading the same x form one
//           launch; an RMSNorm producing that x and a SiluMul consuming a gate/up pair fold in);
//           bf16 weights otherwise -> tensor-core GEMM (same grouping); anything else -> exact fp32.
//   Attention: 16+ query rows with hd 64/128 -> flash (tensor cores); else split-KV in fp32.
//   Rope of q and of k at the same positions -> one launch, with the K/V cache stores that follow.
// Every fusion keeps the op semantics of graph.h: each tensor a node writes holds afterwards what
// the unfused ops would have written. The plugin entry point is at the end of this file.
#include "cuda_backend.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>

#if defined(_WIN32)
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#define PX_EXPORT extern "C" __declspec(dllexport)
#else
#include <dlfcn.h>
#define PX_EXPORT extern "C" __attribute__((visibility("default")))
#endif

#include "kernels.cuh"

namespace px::cuda {

void check_launch(cudaError_t err, const char* what) {
  if (err == cudaSuccess) return;
  cudaGetLastError();  // clear a sticky launch error so the message is the one we throw
  const ErrorKind kind = err == cudaErrorMemoryAllocation ? ErrorKind::OutOfMemory : ErrorKind::Internal;
  throw EngineError(kind, std::string("CUDA: ") + what + ": " + cudaGetErrorString(err));
}

namespace {

bool env_on(const char* name) {
  const char* v = std::getenv(name);
  return !(v && std::strcmp(v, "0") == 0);
}

// Device memory seen through a Buffer. Weights are these (freed with the backend); alloc() hands
// out PoolBuffers.
class DeviceBuffer : public Buffer {
 public:
  DeviceBuffer(void* ptr, size_t bytes) : Buffer(bytes), ptr_(ptr) {}
  char* data() const { return static_cast<char*>(ptr_); }

 protected:
  void* ptr_;
};

class PoolBuffer final : public DeviceBuffer {
 public:
  PoolBuffer(void* ptr, size_t bytes, int device, cudaStream_t stream, std::atomic<size_t>& in_use)
      : DeviceBuffer(ptr, bytes), device_(device), stream_(stream), in_use_(in_use) {
    in_use_.fetch_add(bytes, std::memory_order_relaxed);
  }
  ~PoolBuffer() override {
    cudaSetDevice(device_);
    cudaFreeAsync(ptr_, stream_);  // stream-ordered: work already submitted that uses it finishes first
    in_use_.fetch_sub(bytes(), std::memory_order_relaxed);
  }

 private:
  int device_;
  cudaStream_t stream_;
  std::atomic<size_t>& in_use_;
};

char* dev(const Tensor& t) { return t.empty() ? nullptr : static_cast<const DeviceBuffer*>(t.buffer)->data() + t.offset; }
float* f32(const Tensor& t) { return reinterpret_cast<float*>(dev(t)); }
int32_t* i32(const Tensor& t) { return reinterpret_cast<int32_t*>(dev(t)); }

int elem(DType t) {
  switch (t) {
    case DType::F32: return kF32;
    case DType::F16: return kF16;
    case DType::BF16: return kBF16;
    case DType::Q8_0: return kQ8_0;
    case DType::Q4_0: return kQ4_0;
    default:
      throw EngineError(ErrorKind::Unsupported, std::string("the CUDA backend has no kernels for ") + dtype_name(t) +
                                                    " tensors");
  }
}

bool same_view(const Tensor& a, const Tensor& b) {
  return a.buffer == b.buffer && a.offset == b.offset && a.dtype == b.dtype && a.rows == b.rows && a.cols == b.cols;
}
bool overlap(const Tensor& a, const Tensor& b) {
  return a.buffer == b.buffer && a.offset < b.offset + b.bytes() && b.offset < a.offset + a.bytes();
}
bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

// Block types (q8_0, q4_0) take the exact fp32 paths (gemm_generic, split attention), dequantizing
// as they read.
// A MatMul node the matvec or GEMM kernels take: bf16 weights in rows of whole 16-byte chunks.
bool bf16_rows(const Node& n) {
  return n.src[1].dtype == DType::BF16 && n.src[0].cols % 8 == 0 && aligned16(dev(n.src[1])) && aligned16(dev(n.src[0])) &&
         !overlap(n.dst, n.src[0]);
}

// A bf16 MatMul node as one weight of a matvec or GEMM launch.
WeightSegment segment(const Node& m) {
  return WeightSegment{reinterpret_cast<const uint16_t*>(dev(m.src[1])), dev(m.src[2]),
                       m.src[2].empty() ? kF32 : elem(m.src[2].dtype), f32(m.dst), static_cast<int>(m.src[1].rows),
                       m.accumulate ? 1 : 0};
}

}  // namespace

struct CudaBackend::Plan {
  // Each step enqueues its launches; `ws` is the plan's workspace (split attention partials).
  std::vector<std::function<void(const Stream&, char* ws)>> steps;
  size_t workspace = 0;
};

// The compiled form of a reusable graph: the instantiated CUDA graph and the workspace it uses.
struct Compiled {
  int device = 0;
  cudaGraphExec_t exec = nullptr;
  void* workspace = nullptr;
  std::shared_ptr<CudaBackend::Plan> plan;  // launched directly when CUDA graphs are off
};

CudaBackend::CudaBackend(int device) : device_(device) {
  check_launch(cudaSetDevice(device), "select device");
  cudaDeviceProp prop{};
  check_launch(cudaGetDeviceProperties(&prop, device), "device properties");
  sm_count_ = prop.multiProcessorCount;
  name_ = "cuda-sm" + std::to_string(prop.major * 10 + prop.minor) + " " + prop.name;
  check_launch(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "create stream");
  cudaMemPool_t pool;
  check_launch(cudaDeviceGetDefaultMemPool(&pool, device), "memory pool");
  uint64_t keep = UINT64_MAX;  // freed blocks stay in the pool: no cudaMalloc in steady state
  check_launch(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &keep), "memory pool threshold");
  attention_configure();
  launch_ = Stream{stream_, prop.major >= 9 && env_on("PIXTRAL_CUDA_PDL")};
  use_graphs_ = env_on("PIXTRAL_CUDA_GRAPHS");
  fuse_ = env_on("PIXTRAL_CUDA_FUSE");
}

CudaBackend::~CudaBackend() {
  cudaSetDevice(device_);
  cudaStreamSynchronize(stream_);
  for (const auto& w : weights_) cudaFree(static_cast<const DeviceBuffer&>(*w).data());
  cudaStreamDestroy(stream_);
}

std::unique_ptr<Buffer> CudaBackend::alloc(size_t bytes) {
  cudaSetDevice(device_);
  void* p = nullptr;
  const cudaError_t err = cudaMallocAsync(&p, std::max<size_t>(bytes, 1), stream_);
  if (err != cudaSuccess) {
    cudaGetLastError();
    const DeviceMemory m = device_memory();
    throw EngineError(ErrorKind::OutOfMemory, "out of GPU memory allocating " + std::to_string(bytes >> 20) + " MiB on " +
                                                  name_ + " (" + std::to_string(m.free >> 20) + " MiB free of " +
                                                  std::to_string(m.total >> 20) + " MiB)");
  }
  return std::make_unique<PoolBuffer>(p, bytes, device_, stream_, bytes_in_use_);
}

Tensor CudaBackend::weight(const TensorView& v) {
  const DType dtype = weight_dtype(v);
  cudaSetDevice(device_);
  void* p = nullptr;
  if (cudaMalloc(&p, std::max<size_t>(v.nbytes, 1)) != cudaSuccess) {
    cudaGetLastError();
    const DeviceMemory m = device_memory();
    throw EngineError(ErrorKind::OutOfMemory, "out of GPU memory uploading " + v.name + " (" + std::to_string(v.nbytes >> 20) +
                                                  " MiB) to " + name_ + " (" + std::to_string(m.free >> 20) + " MiB free)");
  }
  weights_.push_back(std::make_unique<DeviceBuffer>(p, v.nbytes));
  check_launch(cudaMemcpy(p, v.data, v.nbytes, cudaMemcpyHostToDevice), "upload weight");
  Tensor t;
  t.buffer = weights_.back().get();
  t.dtype = dtype;
  t.rows = v.shape.size() <= 1 ? 1 : v.shape[0];
  int64_t numel = 1;
  for (int64_t d : v.shape) numel *= d;
  t.cols = t.rows == 0 ? 0 : numel / t.rows;
  return t;
}

void CudaBackend::write(const Tensor& dst, const void* src) {
  cudaSetDevice(device_);
  check_launch(cudaMemcpyAsync(dev(dst), src, dst.bytes(), cudaMemcpyHostToDevice, stream_), "write");
}

void CudaBackend::read(void* dst, const Tensor& src) {
  cudaSetDevice(device_);
  check_launch(cudaMemcpyAsync(dst, dev(src), src.bytes(), cudaMemcpyDeviceToHost, stream_), "read");
  check_launch(cudaStreamSynchronize(stream_), "the work before a read");
}

DeviceMemory CudaBackend::device_memory() const {
  cudaSetDevice(device_);
  DeviceMemory m;
  if (cudaMemGetInfo(&m.free, &m.total) != cudaSuccess) cudaGetLastError();
  return m;
}

CudaBackend::Plan CudaBackend::build_plan(const Graph& graph) const {
  Plan plan;
  const std::vector<Node>& nodes = graph.nodes();
  const int sms = sm_count_;
  for (size_t i = 0; i < nodes.size();) {
    const Node& n = nodes[i];
    switch (n.op) {
      case Op::RmsNorm:
      case Op::MatMul: {
        // A run of up to 3 matmuls reading the same x with bf16 rows, after the RMSNorm that
        // produces x when there is one.
        const bool norm = n.op == Op::RmsNorm;
        const size_t first = norm ? i + 1 : i;
        const Tensor& x = norm ? n.dst : n.src[0];
        size_t end = first;
        while (end < nodes.size() && end - first < 3 && nodes[end].op == Op::MatMul && same_view(nodes[end].src[0], x) &&
               bf16_rows(nodes[end]) && (end == first || fuse_)) {
          bool clash = overlap(nodes[end].dst, x) || (norm && overlap(nodes[end].dst, n.src[0]));
          for (size_t j = first; j < end; ++j) clash = clash || overlap(nodes[end].dst, nodes[j].dst);
          if (clash) break;
          ++end;
        }
        const int count = static_cast<int>(end - first);
        const int T = static_cast<int>(x.rows), K = static_cast<int>(x.cols);
        const bool small = T <= kMatvecMaxT;
        if (norm && !(fuse_ && count > 0 && small && !overlap(n.dst, n.src[0]) && aligned16(dev(n.src[0])) &&
                      (n.src[1].dtype != DType::BF16 || aligned16(dev(n.src[1]))))) {
          float *y = f32(n.dst), *xp = f32(n.src[0]);
          const void* w = dev(n.src[1]);
          const int wt = elem(n.src[1].dtype), R = static_cast<int>(n.dst.rows), D = static_cast<int>(n.dst.cols);
          const float eps = n.eps;
          plan.steps.push_back([=](const Stream& s, char*) { rmsnorm(y, xp, w, wt, eps, R, D, s); });
          ++i;
          break;
        }
        if (count == 0) {  // f32/f16 weights or ragged rows: exact fp32
          float *y = f32(n.dst), *xp = f32(n.src[0]);
          const void *w = dev(n.src[1]), *b = dev(n.src[2]);
          const int wt = elem(n.src[1].dtype), bt = n.src[2].empty() ? kF32 : elem(n.src[2].dtype);
          const int N = static_cast<int>(n.src[1].rows);
          const bool acc = n.accumulate;
          plan.steps.push_back([=](const Stream& s, char*) { gemm_generic(y, xp, w, wt, b, bt, T, K, N, acc, s); });
          ++i;
          break;
        }
        if (small) {
          MatvecArgs a;
          a.x = f32(norm ? n.src[0] : x);
          a.T = T, a.K = K;
          if (norm) a.norm_w = dev(n.src[1]), a.norm_type = elem(n.src[1].dtype), a.eps = n.eps, a.norm_out = f32(n.dst);
          for (int j = 0; j < count; ++j) a.seg[j] = segment(nodes[first + j]);
          a.nseg = count;
          // SwiGLU: exactly gate and up, neither accumulating, then SiluMul(out, gate, up).
          if (fuse_ && count == 2 && end < nodes.size() && nodes[end].op == Op::SiluMul && !a.seg[0].accumulate &&
              !a.seg[1].accumulate && a.seg[0].rows == a.seg[1].rows) {
            const Node& sm = nodes[end];
            const Tensor &gate = nodes[first].dst, &up = nodes[first + 1].dst;
            if (same_view(sm.src[0], gate) && same_view(sm.src[1], up) &&
                (same_view(sm.dst, gate) || same_view(sm.dst, up) ||
                 (!overlap(sm.dst, gate) && !overlap(sm.dst, up) && !overlap(sm.dst, x) && !(norm && overlap(sm.dst, n.src[0]))))) {
              a.silu_out = f32(sm.dst);
              ++end;
            }
          }
          plan.steps.push_back([=](const Stream& s, char*) { matvec(a, sms, s); });
          i = end;
          break;
        }
        GemmArgs g;
        g.x = f32(x);
        g.T = T, g.K = K;
        for (int j = 0; j < count; ++j) g.seg[j] = segment(nodes[first + j]);
        g.nseg = count;
        plan.steps.push_back([=](const Stream& s, char*) { gemm_bf16(g, s); });
        i = end;
        break;
      }
      case Op::Rope: {
        // Rope(q), Rope(k) at the same positions (+ SetRows of k and v into the cache there): one launch.
        if (fuse_ && i + 1 < nodes.size()) {
          const Node& r2 = nodes[i + 1];
          const bool two = r2.op == Op::Rope && same_view(r2.src[0], n.src[0]) && same_view(r2.src[1], n.src[1]) &&
                           r2.pairing == n.pairing && r2.head_dim == n.head_dim && r2.dst.rows == n.dst.rows &&
                           !overlap(r2.dst, n.dst);
          if (two) {
            RopeStoreArgs a;
            a.q = f32(n.dst), a.q_heads = n.heads, a.k = f32(r2.dst), a.k_heads = r2.heads;
            a.table = f32(n.src[0]), a.table_rows = static_cast<int>(n.src[0].rows), a.positions = i32(n.src[1]);
            a.T = static_cast<int>(n.dst.rows), a.hd = n.head_dim, a.interleaved = n.pairing == RopePairing::Interleaved;
            size_t used = 2;
            if (i + 3 < nodes.size()) {
              const Node &sk = nodes[i + 2], &sv = nodes[i + 3];
              const bool store = sk.op == Op::SetRows && sv.op == Op::SetRows && same_view(sk.src[0], r2.dst) &&
                                 same_view(sk.src[1], n.src[1]) && same_view(sv.src[1], n.src[1]) &&
                                 sk.dst.dtype == sv.dst.dtype && sk.dst.dtype != DType::Q8_0 && sk.dst.rows == sv.dst.rows &&
                                 sv.src[0].cols == r2.dst.cols && sv.src[0].rows == r2.dst.rows && !overlap(sk.dst, sv.dst) &&
                                 !overlap(sv.src[0], n.dst) && !overlap(sv.src[0], r2.dst) && !overlap(sk.dst, n.dst) &&
                                 !overlap(sk.dst, r2.dst) && !overlap(sv.dst, n.dst) && !overlap(sv.dst, r2.dst);
              if (store) {
                a.k_cache = dev(sk.dst), a.v_cache = dev(sv.dst), a.cache_type = elem(sk.dst.dtype);
                a.cache_rows = static_cast<int>(sk.dst.rows), a.v = f32(sv.src[0]);
                used = 4;
              }
            }
            plan.steps.push_back([=](const Stream& s, char*) { rope_store(a, s); });
            i += used;
            break;
          }
        }
        float* x = f32(n.dst);
        const float* table = f32(n.src[0]);
        const int32_t* pos = i32(n.src[1]);
        const int rows = static_cast<int>(n.src[0].rows), T = static_cast<int>(n.dst.rows), heads = n.heads, hd = n.head_dim;
        const bool inter = n.pairing == RopePairing::Interleaved;
        plan.steps.push_back([=](const Stream& s, char*) { rope(x, table, rows, pos, T, heads, hd, inter, s); });
        ++i;
        break;
      }
      case Op::Attention: {
        AttentionArgs a;
        a.out = f32(n.dst), a.q = f32(n.src[0]), a.k = dev(n.src[1]), a.v = dev(n.src[2]);
        a.kv_type = elem(n.src[1].dtype);
        a.positions = n.src[3].empty() ? nullptr : i32(n.src[3]);
        a.Tq = static_cast<int>(n.src[0].rows), a.Tk = static_cast<int>(n.src[1].rows);
        a.H = n.heads, a.K = n.kv_heads, a.hd = n.head_dim;
        if (a.Tq >= 16 && attention_flash_supported(a)) {
          plan.steps.push_back([=](const Stream& s, char*) { attention_flash(a, s); });
        } else {
          if (a.hd > 128 || a.H / a.K > 8)
            throw EngineError(ErrorKind::Unsupported, "CUDA attention: head_dim " + std::to_string(a.hd) + " with " +
                                                          std::to_string(a.H / a.K) + " query heads per kv head (at most 128 and 8)");
          // Enough (row, kv head, key range) blocks to fill the device four times over (bytes in
          // flight for a long cache), ranges of 32+ keys.
          const int64_t pairs = static_cast<int64_t>(a.Tq) * a.K;
          int splits = static_cast<int>(std::max<int64_t>(1, (4 * sms + pairs - 1) / pairs));
          splits = std::max(1, std::min(splits, a.Tk / 32));
          const size_t offset = plan.workspace;
          if (splits > 1) plan.workspace += (splits_workspace_bytes(a.Tq, a.H, a.hd, splits) + 255) / 256 * 256;
          plan.steps.push_back([=](const Stream& s, char* ws) { attention_split(a, splits, ws + offset, s); });
        }
        ++i;
        break;
      }
      case Op::SiluMul: {
        float *y = f32(n.dst), *gp = f32(n.src[0]), *up = f32(n.src[1]);
        const int64_t count = n.dst.numel();
        plan.steps.push_back([=](const Stream& s, char*) { silu_mul(y, gp, up, count, s); });
        ++i;
        break;
      }
      case Op::Gelu: {
        float *y = f32(n.dst), *xp = f32(n.src[0]);
        const int64_t count = n.dst.numel();
        plan.steps.push_back([=](const Stream& s, char*) { gelu(y, xp, count, s); });
        ++i;
        break;
      }
      case Op::Embed: {
        float* y = f32(n.dst);
        const void* table = dev(n.src[0]);
        const int type = elem(n.src[0].dtype), V = static_cast<int>(n.src[0].rows), D = static_cast<int>(n.src[0].cols);
        const int32_t* ids = i32(n.src[1]);
        const int T = static_cast<int>(n.dst.rows);
        plan.steps.push_back([=](const Stream& s, char*) { embed(y, table, type, V, D, ids, T, s); });
        ++i;
        break;
      }
      case Op::SetRows: {
        void* dst = dev(n.dst);
        const int type = elem(n.dst.dtype), rows = static_cast<int>(n.dst.rows), cols = static_cast<int>(n.dst.cols);
        const float* src = f32(n.src[0]);
        const int32_t* index = i32(n.src[1]);
        const int count = static_cast<int>(n.src[0].rows);
        if (count > 0) plan.steps.push_back([=](const Stream& s, char*) { set_rows(dst, type, rows, src, index, count, cols, s); });
        ++i;
        break;
      }
      case Op::Copy: {
        void* dst = dev(n.dst);
        const int type = elem(n.dst.dtype);
        const float* src = f32(n.src[0]);
        const int64_t count = n.dst.numel();
        plan.steps.push_back([=](const Stream& s, char*) { copy_convert(dst, type, src, count, s); });
        ++i;
        break;
      }
      case Op::Sample: {
        int32_t *token = i32(n.dst), *state = i32(n.src[1]);
        const float* logits = f32(n.src[0]);
        const int V = static_cast<int>(n.src[0].cols);
        plan.steps.push_back([=](const Stream& s, char*) { sample(token, logits, V, state, s); });
        ++i;
        break;
      }
      case Op::AddI32: {
        int32_t* x = i32(n.dst);
        const int64_t count = n.dst.numel();
        const int32_t step = n.step;
        plan.steps.push_back([=](const Stream& s, char*) { add_i32(x, count, step, s); });
        ++i;
        break;
      }
      case Op::CancelPoint: ++i; break;  // checked once per run: a GPU run is short
    }
  }
  return plan;
}

void CudaBackend::enqueue(const Plan& plan, char* workspace) const {
  for (const auto& step : plan.steps) step(launch_, workspace);
}

void CudaBackend::run(const Graph& graph, const CancelToken& cancel) {
  cancel.check();
  cudaSetDevice(device_);
  if (!graph.reusable()) {
    const Plan plan = build_plan(graph);
    void* ws = nullptr;
    if (plan.workspace) {
      check_launch(cudaMallocAsync(&ws, plan.workspace, stream_), "attention workspace");
      check_launch(cudaMemsetAsync(ws, 0, plan.workspace, stream_), "attention workspace");
    }
    enqueue(plan, static_cast<char*>(ws));
    if (ws) cudaFreeAsync(ws, stream_);
    return;
  }
  auto* c = static_cast<Compiled*>(graph.compiled.get());
  if (!c) {
    auto plan = std::make_shared<Plan>(build_plan(graph));
    auto compiled = std::shared_ptr<Compiled>(new Compiled, [](Compiled* p) {
      cudaSetDevice(p->device);
      cudaDeviceSynchronize();  // a replay may still be running
      if (p->exec) cudaGraphExecDestroy(p->exec);
      if (p->workspace) cudaFree(p->workspace);
      delete p;
    });
    compiled->device = device_;
    compiled->plan = plan;
    if (plan->workspace) {
      check_launch(cudaMalloc(&compiled->workspace, plan->workspace), "attention workspace");
      check_launch(cudaMemset(compiled->workspace, 0, plan->workspace), "attention workspace");
    }
    if (use_graphs_) {
      check_launch(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeThreadLocal), "begin graph capture");
      cudaGraph_t g = nullptr;
      try {
        enqueue(*plan, static_cast<char*>(compiled->workspace));
      } catch (...) {
        cudaStreamEndCapture(stream_, &g);
        if (g) cudaGraphDestroy(g);
        throw;
      }
      check_launch(cudaStreamEndCapture(stream_, &g), "end graph capture");
      const cudaError_t err = cudaGraphInstantiate(&compiled->exec, g, 0);
      cudaGraphDestroy(g);
      check_launch(err, "instantiate graph");
    }
    graph.compiled = compiled;
    c = compiled.get();
  }
  if (c->exec) check_launch(cudaGraphLaunch(c->exec, stream_), "graph launch");
  else enqueue(*c->plan, static_cast<char*>(c->workspace));
}

}  // namespace px::cuda

namespace {

void set_error(char* error, size_t size, const std::string& message) {
  if (error && size) std::snprintf(error, size, "%s", message.c_str());
}

// The driver library, looked for before the runtime is touched so that its absence gets a clear
// message (the static runtime would only say "insufficient driver").
bool driver_present() {
#if defined(_WIN32)
  HMODULE h = LoadLibraryA("nvcuda.dll");
  if (h) FreeLibrary(h);
  return h != nullptr;
#else
  void* h = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (h) dlclose(h);
  return h != nullptr;
#endif
}

int option_int(const char* json, const char* key, int fallback) {
  if (!json) return fallback;
  const std::string k = std::string("\"") + key + "\"";
  const char* p = std::strstr(json, k.c_str());
  if (!p) return fallback;
  p = std::strchr(p + k.size(), ':');
  return p ? std::atoi(p + 1) : fallback;
}

}  // namespace

// The plugin entry point (backend.h: BackendCreateFn). Options: {"device": N}.
PX_EXPORT px::Backend* pixtral_backend_create(int abi_version, const char* options, char* error, size_t error_size) {
  if (abi_version != px::kBackendAbiVersion) {
    set_error(error, error_size, "backend ABI " + std::to_string(abi_version) + " requested, this library implements " +
                                     std::to_string(px::kBackendAbiVersion));
    return nullptr;
  }
#if defined(_WIN32)
  if (!driver_present()) return set_error(error, error_size, "no NVIDIA driver (nvcuda.dll not found)"), nullptr;
#else
  if (!driver_present()) return set_error(error, error_size, "no NVIDIA driver (libcuda.so.1 not found)"), nullptr;
#endif
  int count = 0;
  const cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess || count == 0) {
    set_error(error, error_size, err == cudaSuccess || err == cudaErrorNoDevice
                                     ? std::string("no CUDA device")
                                     : std::string("the NVIDIA driver cannot run CUDA: ") + cudaGetErrorString(err));
    return nullptr;
  }
  const int device = option_int(options, "device", 0);
  if (device < 0 || device >= count) {
    set_error(error, error_size, "CUDA device " + std::to_string(device) + " does not exist (" + std::to_string(count) + " found)");
    return nullptr;
  }
  cudaDeviceProp prop{};
  cudaGetDeviceProperties(&prop, device);
  if (prop.major < 8) {
    set_error(error, error_size, "compute capability " + std::to_string(prop.major) + "." + std::to_string(prop.minor) + " of " +
                                     prop.name + " is below the 8.0 this build needs");
    return nullptr;
  }
  try {
    return new px::cuda::CudaBackend(device);
  } catch (const std::exception& e) {
    set_error(error, error_size, std::string(prop.name) + ": " + e.what());
    return nullptr;
  }
}

// The device's read bandwidth in GB/s (benchmarks: the bound each decode row is measured against).
PX_EXPORT double pixtral_cuda_read_bandwidth(int device, size_t bytes, int reps) {
  if (cudaSetDevice(device) != cudaSuccess) return 0;
  cudaStream_t s = nullptr;
  if (cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking) != cudaSuccess) return 0;
  double gbps = 0;
  try {
    gbps = px::cuda::measure_read_bandwidth(bytes, reps, s);
  } catch (const std::exception&) {
    gbps = 0;
  }
  cudaStreamDestroy(s);
  return gbps;
}
