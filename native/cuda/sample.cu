// Op::Sample on the device, one block of 1024 threads, with exactly the SamplerState semantics of
// graph.h / sampler.cc (the CPU reference): greedy = argmax, lowest id on ties; otherwise weights
// exp((logit - max) / T) in fp64, and either one draw over all ids in id order, or a draw over the
// candidates sorted by (logit desc, id asc) after top-k and top-p. Nothing is sorted: positions in
// that order are found by radix selection on an order-preserving 32-bit key of the logit (4 passes
// of 8 bits, counting or summing weights per digit), ties resolved in id order by a block scan. Only
// the chosen id is written; the state's rng advances by one draw unless greedy.
#include "kernels.cuh"

namespace px::cuda {
namespace {

constexpr int kThreads = 1024;

__device__ __forceinline__ uint32_t order_key(float f) {
  if (f == 0.f) f = 0.f;  // -0 and +0 compare equal on the CPU: one key
  const uint32_t u = __float_as_uint(f);
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

__device__ __forceinline__ double next_uniform(uint64_t& rng) {
  uint64_t z = (rng += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  return static_cast<double>(z >> 11) * (1.0 / 9007199254740992.0);
}

// Exclusive prefix sum over the block of one value per thread; *total gets the sum.
template <typename T>
__device__ T block_exclusive_scan(T v, T* warp_sums, T* total) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  T incl = v;
#pragma unroll
  for (int o = 1; o < 32; o <<= 1) {
    const T n = __shfl_up_sync(0xffffffffu, incl, o);
    if (lane >= o) incl += n;
  }
  __syncthreads();
  if (lane == 31) warp_sums[warp] = incl;
  __syncthreads();
  T before = 0, all = 0;
  for (int w = 0; w < kThreads / 32; ++w) {
    if (w < warp) before += warp_sums[w];
    all += warp_sums[w];
  }
  __syncthreads();
  *total = all;
  return before + incl - v;
}

// The first `ids` of the order (logit desc, id asc): keys above `tau`, plus keys equal to tau with
// id <= id_cut.
struct Prefix {
  uint32_t tau;
  int id_cut;
  __device__ bool has(uint32_t key, int i) const { return key > tau || (key == tau && i <= id_cut); }
};

struct Shared {
  int hist[256];
  double mass[256];
  int iwarp[32];
  double dwarp[32];
  int best_id;
  float best_val;
  uint32_t prefix, mask;
  long long remaining;
  double target;
  int found;
  int chosen;
};

class Sampler {
 public:
  __device__ Sampler(const float* logits, int V, Shared& sh, float max_logit, double inv_t)
      : x_(logits), V_(V), sh_(sh), max_(max_logit), inv_t_(inv_t) {
    per_ = (V + kThreads - 1) / kThreads;
    begin_ = min(V, static_cast<int>(threadIdx.x) * per_);
    end_ = min(V, begin_ + per_);
  }

  __device__ double weight(float l) const { return exp(static_cast<double>(l - max_) * inv_t_); }
  __device__ uint32_t key(int i) const { return order_key(x_[i]); }

  // The first R ids of the order (1 <= R <= V).
  __device__ Prefix first_ids(long long R) {
    if (threadIdx.x == 0) sh_.prefix = 0, sh_.mask = 0, sh_.remaining = R;
    for (int shift = 24; shift >= 0; shift -= 8) {
      for (int b = threadIdx.x; b < 256; b += kThreads) sh_.hist[b] = 0;
      __syncthreads();
      const uint32_t prefix = sh_.prefix, mask = sh_.mask;
      for (int i = threadIdx.x; i < V_; i += kThreads) {
        const uint32_t k = key(i);
        if ((k & mask) == prefix) atomicAdd(&sh_.hist[(k >> shift) & 255], 1);
      }
      __syncthreads();
      if (threadIdx.x == 0) {
        long long above = 0;
        int d = 255;
        for (; d > 0 && above + sh_.hist[d] < sh_.remaining; --d) above += sh_.hist[d];
        sh_.remaining -= above;
        sh_.prefix |= static_cast<uint32_t>(d) << shift;
        sh_.mask |= 0xffu << shift;
      }
      __syncthreads();
    }
    const uint32_t tau = sh_.prefix;
    const long long need = sh_.remaining;  // ties of key tau inside the prefix, in id order
    int ties = 0;
    for (int i = begin_; i < end_; ++i) ties += key(i) == tau;
    int all = 0;
    const int before = block_exclusive_scan(ties, sh_.iwarp, &all);
    if (before < need && need <= before + ties) {
      int n = before;
      for (int i = begin_; i < end_; ++i)
        if (key(i) == tau && ++n == need) sh_.chosen = i;
    }
    __syncthreads();
    const Prefix p{tau, sh_.chosen};
    __syncthreads();
    return p;
  }

  __device__ double mass(const Prefix& set) {
    double m = 0;
    for (int i = threadIdx.x; i < V_; i += kThreads)
      if (set.has(key(i), i)) m += weight(x_[i]);
    double total = 0;
    block_exclusive_scan(m, sh_.dwarp, &total);
    return total;
  }

  // Walking `set` in order, the first id where the running mass reaches `target` (>= when
  // !strict, > when strict); -1 when it never does. *upto: the set's prefix ending there.
  __device__ int crossing(const Prefix& set, double target, bool strict, Prefix* upto) {
    if (threadIdx.x == 0) sh_.prefix = 0, sh_.mask = 0, sh_.target = target, sh_.found = 1;
    for (int shift = 24; shift >= 0; shift -= 8) {
      for (int b = threadIdx.x; b < 256; b += kThreads) sh_.mass[b] = 0;
      __syncthreads();
      const uint32_t prefix = sh_.prefix, mask = sh_.mask;
      for (int i = threadIdx.x; i < V_; i += kThreads) {
        const uint32_t k = key(i);
        if ((k & mask) == prefix && set.has(k, i)) atomicAdd(&sh_.mass[(k >> shift) & 255], weight(x_[i]));
      }
      __syncthreads();
      if (threadIdx.x == 0 && sh_.found) {
        double above = 0;
        int d = 255;
        for (; d >= 0; --d) {
          const double next = above + sh_.mass[d];
          if (strict ? next > sh_.target : next >= sh_.target) break;
          above = next;
        }
        if (d < 0) {
          sh_.found = 0;
        } else {
          sh_.target -= above;
          sh_.prefix |= static_cast<uint32_t>(d) << shift;
          sh_.mask |= 0xffu << shift;
        }
      }
      __syncthreads();
      if (!sh_.found) return -1;
    }
    const uint32_t tau = sh_.prefix;
    const double rest = sh_.target;
    double m = 0;
    for (int i = begin_; i < end_; ++i)
      if (key(i) == tau && set.has(tau, i)) m += weight(x_[i]);
    double all = 0;
    const double before = block_exclusive_scan(m, sh_.dwarp, &all);
    if (threadIdx.x == 0) sh_.chosen = -1;
    __syncthreads();
    // One thread's run of ids holds the crossing; it walks it (the last member if rounding of
    // the partial sums leaves the walk short).
    if (strict ? (before <= rest && before + m > rest) : (before < rest && before + m >= rest)) {
      double run = before;
      int last = -1;
      for (int i = begin_; i < end_; ++i) {
        if (key(i) != tau || !set.has(tau, i)) continue;
        last = i;
        run += weight(x_[i]);
        if (strict ? run > rest : run >= rest) break;
      }
      sh_.chosen = last;
    }
    __syncthreads();
    const int id = sh_.chosen;
    __syncthreads();
    if (id < 0) return -1;
    *upto = Prefix{tau, id};
    return id;
  }

 private:
  const float* x_;
  int V_;
  Shared& sh_;
  float max_;
  double inv_t_;
  int per_, begin_, end_;
};

__global__ void __launch_bounds__(kThreads) sample_kernel(int32_t* token, const float* logits, int V, int32_t* state) {
  __shared__ Shared sh;
  pdl_launch_dependents();
  pdl_wait();
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;

  // Argmax, lowest id on ties.
  float best = -INFINITY;
  int best_id = 0x7fffffff;
  for (int i = threadIdx.x; i < V; i += kThreads)
    if (logits[i] > best || best_id == 0x7fffffff) best = logits[i], best_id = i;
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) {
    const float v = __shfl_xor_sync(0xffffffffu, best, o);
    const int id = __shfl_xor_sync(0xffffffffu, best_id, o);
    if (v > best || (v == best && id < best_id)) best = v, best_id = id;
  }
  __shared__ float wbest[32];
  __shared__ int wid[32];
  if (lane == 0) wbest[warp] = best, wid[warp] = best_id;
  __syncthreads();
  if (threadIdx.x == 0) {
    for (int w = 1; w < kThreads / 32; ++w)
      if (wbest[w] > best || (wbest[w] == best && wid[w] < best_id)) best = wbest[w], best_id = wid[w];
    sh.best_val = best, sh.best_id = best_id;
  }
  __syncthreads();
  const float temperature = __int_as_float(state[0]);
  const int top_k = state[1];
  const float top_p = __int_as_float(state[2]);
  if (temperature <= 0.f) {
    if (threadIdx.x == 0) *token = sh.best_id;
    return;
  }
  uint64_t rng = static_cast<uint64_t>(static_cast<uint32_t>(state[4])) | (static_cast<uint64_t>(static_cast<uint32_t>(state[5])) << 32);
  Sampler s(logits, V, sh, sh.best_val, 1.0 / static_cast<double>(temperature));
  int id;
  if (!(top_k > 0 && top_k < V) && !(top_p < 1.f)) {
    // No filtering: one draw over all ids in id order, each thread a contiguous run of ids.
    const int per = (V + kThreads - 1) / kThreads, b = min(V, static_cast<int>(threadIdx.x) * per), e = min(V, b + per);
    double m = 0;
    for (int i = b; i < e; ++i) m += s.weight(logits[i]);
    double total = 0;
    const double before = block_exclusive_scan(m, sh.dwarp, &total);
    const double u = next_uniform(rng) * total;
    if (threadIdx.x == 0) sh.chosen = -1;
    __syncthreads();
    if (before <= u && u < before + m) {
      double rest = u - before;
      int i = b;
      for (; i < e - 1; ++i)
        if ((rest -= s.weight(logits[i])) < 0) break;
      sh.chosen = i;
    }
    __syncthreads();
    id = sh.chosen >= 0 ? sh.chosen : sh.best_id;
  } else {
    const Prefix pool = s.first_ids(top_k > 0 && top_k < V ? top_k : V);
    Prefix keep = pool;
    if (top_p < 1.f) {
      const double pool_total = s.mass(pool);
      Prefix upto;
      if (s.crossing(pool, static_cast<double>(top_p) * pool_total, false, &upto) >= 0) keep = upto;
    }
    const double total = s.mass(keep);
    const double u = next_uniform(rng) * total;
    Prefix unused;
    id = s.crossing(keep, u, true, &unused);
    if (id < 0) id = keep.id_cut;  // rounding left u past the end: the last candidate
  }
  if (threadIdx.x == 0) {
    *token = id;
    state[4] = static_cast<int32_t>(static_cast<uint32_t>(rng));
    state[5] = static_cast<int32_t>(static_cast<uint32_t>(rng >> 32));
  }
}

}  // namespace

void sample(int32_t* token, const float* logits, int V, int32_t* state, const Stream& s) {
  launch(sample_kernel, dim3(1), dim3(kThreads), 0, s, "sample", token, logits, V, state);
}

}  // namespace px::cuda
