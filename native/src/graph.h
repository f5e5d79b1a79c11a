// A step of the model as data: the model code records the ops of a decode step, a prefill chunk or
// the vision encoder into a Graph, and a backend runs the whole Graph at once (Backend::run), with
// no host round-trip between ops. Inputs that change from run to run (token ids, positions, the
// sampler's state) are device tensors the graph reads, so a recorded decode step is replayed for
// every token unchanged: a GPU backend can keep it compiled (a CUDA graph) in `compiled`.
// Every builder checks shapes and dtypes, so a malformed graph fails where it is recorded.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tensor.h"

namespace px {

// How RoPE pairs the dimensions of a head (spec a.3).
enum class RopePairing : uint8_t {
  Interleaved,  // Mistral layout: (2i, 2i+1)
  Half,         // transformers layout: (i, i + hd/2)
};

// What Op::Sample reads and advances, stored on the device as an i32 tensor [1, kSamplerStateInts].
// The draw: weights w_i = exp((logit_i - max) / temperature) over the candidates, u = the next
// splitmix64 double * sum(w), the first candidate whose running sum of w exceeds u. Candidates are
// all ids in id order when neither top_k nor top_p cuts; else the ids by logit (highest first, ties
// to the lower id), the first top_k of them, then the shortest prefix whose mass reaches top_p of
// theirs.
struct SamplerState {
  float temperature;  // <= 0: greedy (argmax, lowest id on ties)
  int32_t top_k;      // 0: off
  float top_p;        // >= 1: off
  uint32_t reserved;
  uint64_t rng;       // splitmix64 state: one draw per sampled token
};
constexpr int kSamplerStateInts = sizeof(SamplerState) / sizeof(int32_t);
static_assert(sizeof(SamplerState) == 24, "SamplerState is shared with device code byte for byte");

enum class Op : uint8_t {
  // dst[T, N] = src0[T, K] @ src1[N, K]^T (+ src2[1, N] when present); `accumulate`: dst += instead.
  // src1 may be a block type (q8_0, q4_0): a backend may round src0 per 32-value block to int8 for
  // the products (native/QUANT.md; the op harness bounds the error that adds).
  MatMul,
  // dst[T, D] = src0 / sqrt(mean(src0^2) + eps) * src1[1, D]   (dst may be src0)
  RmsNorm,
  // In place on dst[T, heads*hd]: pair j of each head of row t rotated by the angle whose cosine is
  // src0[src1[t], j] and sine src0[src1[t], hd/2 + j]. src0: f32 table [P, hd]; src1: i32 [1, T].
  Rope,
  // dst[Tq, H*hd] = softmax(q k^T / sqrt(hd)) v, grouped: head h reads kv head h / (H/K).
  // src0 q f32 [Tq, H*hd]; src1 k, src2 v [Tk, K*hd] (f32, f16, bf16 or q8_0). src3 i32 [1, Tq]
  // positions: query i sees keys j <= src3[i] (causal over a cache); empty: every row of src1.
  Attention,
  // dst = silu(src0) * src1, element-wise over [T, F] (dst may be src0).
  SiluMul,
  // dst = gelu(src0), exact erf form (dst may be src0).
  Gelu,
  // dst[T, D] f32 = row src1[t] of the table src0 [V, D] (any float or block type); src1: i32 [1, T].
  Embed,
  // dst[src1[i], :] = src0[i, :] converted to dst's dtype, i in [0, src0.rows); src1: i32 [1, n].
  SetRows,
  // dst = src0 converted to dst's dtype (same shape).
  Copy,
  // dst i32 [1, 1] = a token drawn from the logits src0 f32 [1, V] as the SamplerState in src1
  // (i32 [1, kSamplerStateInts]) says; the state's rng advances.
  Sample,
  // dst i32 += step, element-wise (positions move on without the host).
  AddI32,
  // A point where a slow backend (the CPU) honours a cancel request; a no-op on fast ones.
  CancelPoint,
};

const char* op_name(Op op);

struct Node {
  Op op;
  Tensor dst;
  Tensor src[4];
  int heads = 0, kv_heads = 0, head_dim = 0;  // Rope (heads, head_dim), Attention (all three)
  float eps = 0.f;                             // RmsNorm
  RopePairing pairing = RopePairing::Interleaved;
  bool accumulate = false;                     // MatMul
  int32_t step = 0;                            // AddI32
};

class Graph {
 public:
  // reusable: the graph is run many times unchanged (a decode step); backends may compile it.
  explicit Graph(bool reusable = false);
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;

  uint64_t id() const { return id_; }
  bool reusable() const { return reusable_; }
  const std::vector<Node>& nodes() const { return nodes_; }
  bool empty() const { return nodes_.empty(); }

  void matmul(const Tensor& y, const Tensor& x, const Tensor& w, const Tensor& bias, bool accumulate);
  void rmsnorm(const Tensor& y, const Tensor& x, const Tensor& w, float eps);
  void rope(const Tensor& x, const Tensor& table, const Tensor& positions, int heads, int head_dim,
            RopePairing pairing);
  void attention(const Tensor& out, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& positions,
                 int heads, int kv_heads, int head_dim);
  void silu_mul(const Tensor& out, const Tensor& gate, const Tensor& up);
  void gelu(const Tensor& out, const Tensor& x);
  void embed(const Tensor& y, const Tensor& table, const Tensor& ids);
  void set_rows(const Tensor& dst, const Tensor& src, const Tensor& index);
  void copy(const Tensor& dst, const Tensor& src);
  void sample(const Tensor& token, const Tensor& logits, const Tensor& state);
  void add_i32(const Tensor& x, int32_t step);
  void cancel_point();

  // A backend's compiled form of this graph (e.g. an instantiated CUDA graph), released with it.
  mutable std::shared_ptr<void> compiled;

 private:
  Node& push(Op op, const Tensor& dst);
  static std::atomic<uint64_t> next_id_;
  uint64_t id_;
  bool reusable_;
  std::vector<Node> nodes_;
};

}  // namespace px
