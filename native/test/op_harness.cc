// See op_harness.h. Each case draws its inputs, rounds them to the dtype the backend will hold,
// runs one op in a graph of its own, reads the result back and measures it against float64.
#include "op_harness.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <random>
#include <stdexcept>

#include "../src/float_formats.h"
#include "../src/kernels.h"
#include "../src/rope.h"
#include "reference_ops.h"

namespace px::harness {
namespace {

using reference::Vec;

class Rng {
 public:
  explicit Rng(uint64_t seed) : gen_(seed) {}
  double normal() { return normal_(gen_); }
  int range(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi - 1)(gen_); }

 private:
  std::mt19937_64 gen_;
  std::normal_distribution<double> normal_{0.0, 1.0};
};

// A tensor on the backend and the values it holds (after rounding to its dtype), as float64.
struct Input {
  OwnedTensor tensor;
  Vec values;
};

Input upload(Backend& be, DType dtype, int64_t rows, int64_t cols, const std::function<double()>& draw) {
  std::vector<float> f(static_cast<size_t>(rows * cols));
  for (float& x : f) x = static_cast<float>(draw());
  Input in{OwnedTensor(be, dtype, rows, cols), {}};
  std::vector<char> bytes(in.tensor->bytes());
  narrow_row(dtype, f.data(), rows * cols, bytes.data());
  be.write(*in.tensor, bytes.data());
  std::vector<float> held(f.size());
  widen_row(dtype, bytes.data(), rows * cols, held.data());
  in.values.assign(held.begin(), held.end());
  return in;
}

Input random(Backend& be, DType dtype, int64_t rows, int64_t cols, Rng& rng, double scale = 1) {
  return upload(be, dtype, rows, cols, [&] { return rng.normal() * scale; });
}

// A checkpoint-like weight: drawn values rounded to `dtype`, handed to Backend::weight (or
// Backend::table, for an embedding table) as a view of host bytes (kept here: the CPU backend may
// read them in place, or lay a matrix out anew: Q8_0 / Q4_0 rows interleaved, bf16 in panels).
struct Weight {
  std::vector<char> bytes;
  Tensor tensor;
  Vec values;
};

FileDType file_dtype(DType t) {
  switch (t) {
    case DType::F32: return FileDType::F32;
    case DType::F16: return FileDType::F16;
    case DType::BF16: return FileDType::BF16;
    case DType::Q8_0: return FileDType::Q8_0;
    case DType::Q4_0: return FileDType::Q4_0;
    default: throw std::invalid_argument(std::string("no checkpoint weight of type ") + dtype_name(t));
  }
}

Weight checkpoint_weight(Backend& be, DType dtype, int64_t rows, int64_t cols, const std::function<double()>& draw,
                         bool table = false) {
  std::vector<float> f(static_cast<size_t>(rows * cols));
  for (float& x : f) x = static_cast<float>(draw());
  Weight w{std::vector<char>(row_bytes(dtype, cols) * rows), {}, {}};
  narrow_row(dtype, f.data(), rows * cols, w.bytes.data());
  const FileDType file = file_dtype(dtype);
  const TensorView view{"w", "op harness", file, {rows, cols}, w.bytes.data(), w.bytes.size()};
  w.tensor = table ? be.table(view) : be.weight(view);
  std::vector<float> held(f.size());
  widen_row(dtype, w.bytes.data(), rows * cols, held.data());
  w.values.assign(held.begin(), held.end());
  return w;
}

OwnedTensor ints(Backend& be, const std::vector<int32_t>& v) {
  OwnedTensor t(be, DType::I32, 1, static_cast<int64_t>(v.size()));
  be.write(*t, v.data());
  return t;
}

Vec fetch(Backend& be, const Tensor& t) {
  std::vector<char> bytes(t.bytes());
  be.read(bytes.data(), t);
  std::vector<float> f(static_cast<size_t>(t.numel()));
  widen_row(t.dtype, bytes.data(), t.numel(), f.data());
  return Vec(f.begin(), f.end());
}

std::vector<int32_t> fetch_ints(Backend& be, const Tensor& t) {
  std::vector<int32_t> v(static_cast<size_t>(t.numel()));
  be.read(v.data(), t);
  return v;
}

void run(Backend& be, const Graph& g) {
  std::atomic<uint64_t> epoch{0};
  be.run(g, CancelToken(epoch, 0));
}

double max_abs(const Vec& v) {
  double m = 0;
  for (double x : v) m = std::max(m, std::fabs(x));
  return m;
}

// |got - ref|, infinite when got is NaN or infinite and ref is not (so a NaN never passes).
double diff(double got, double ref) {
  if (got == ref) return 0;
  const double d = std::fabs(got - ref);
  return std::isnan(d) ? INFINITY : d;
}

// max |got - ref| / max(1, max |ref|): error relative to the output's magnitude.
double scaled_error(const Vec& got, const Vec& ref) {
  double worst = 0;
  for (size_t i = 0; i < ref.size(); ++i) worst = std::max(worst, diff(got[i], ref[i]));
  return worst / std::max(1.0, max_abs(ref));
}

const DType kFloatTypes[] = {DType::F32, DType::F16, DType::BF16};
const DType kBlockTypes[] = {DType::Q8_0, DType::Q4_0};

struct Case {
  std::string op, name, measure;
  double tolerance;
  std::function<double(Backend&, Rng&)> run;  // returns the error measure
  double bf16_tolerance = 0;                   // under Options::bf16_matrix_units, when > 0
};

std::string dims(std::initializer_list<std::pair<const char*, int>> d) {
  std::string s;
  for (const auto& [k, v] : d) s += std::string(s.empty() ? "" : " ") + k + "=" + std::to_string(v);
  return s;
}

void matmul_cases(std::vector<Case>& out) {
  // T, K (inputs), N (outputs): decode rows, ragged tails (K not a multiple of 8/16, N not of 4/32),
  // a block of 37 tokens, one of 64 and one of 250 (past a 240-token block of the AVX-512 tiles),
  // and the 12B FFN down projection's K = 14336 in both matvec and tiled form (Mesa's llvmpipe ends
  // a shader invocation after 65535 loop iterations). bf16 weights also as a checkpoint's, through
  // Backend::weight (the AVX-512 set's 32-row panels, with the rows past the last panel).
  const int shapes[][3] = {{1, 5120, 64}, {1, 37, 45}, {2, 300, 70}, {3, 256, 33}, {5, 513, 65}, {7, 1000, 31},
                           {37, 259, 97}, {64, 384, 96}, {250, 300, 40}, {1, 14336, 48}, {17, 14336, 48}};
  for (DType w : kFloatTypes)
    for (const bool checkpoint : {false, true})
      for (const auto& s : shapes)
        for (int variant = 0; variant < 2; ++variant) {
          if (checkpoint && w != DType::BF16) continue;  // no checkpoint ships f32 or f16 matrices
          const int T = s[0], K = s[1], N = s[2];
          const bool with_bias = variant == 1, accumulate = variant == 1;
          out.push_back({"matmul",
                         std::string("w=") + dtype_name(w) + (checkpoint ? " (checkpoint weight) " : " ") +
                             dims({{"T", T}, {"K", K}, {"N", N}}) + (with_bias ? " bias accumulate" : ""),
                         "max |err| / sum|x*w|", 1e-5, [=](Backend& be, Rng& rng) {
                           Input x = random(be, DType::F32, T, K, rng);
                           Input uploaded;
                           Weight held;
                           if (checkpoint)
                             held = checkpoint_weight(be, w, N, K, [&] { return rng.normal() * 0.05; });
                           else
                             uploaded = random(be, w, N, K, rng, 0.05);
                           const Tensor& wt = checkpoint ? held.tensor : *uploaded.tensor;
                           const Vec& wv = checkpoint ? held.values : uploaded.values;
                           Input y = random(be, DType::F32, T, N, rng);
                           Input b = with_bias ? random(be, DType::BF16, 1, N, rng) : Input{};
                           Graph g;
                           g.matmul(*y.tensor, *x.tensor, wt, with_bias ? *b.tensor : Tensor{}, accumulate);
                           run(be, g);
                           const Vec got = fetch(be, *y.tensor);
                           const Vec ref = reference::matmul(x.values, wv, b.values, accumulate ? y.values : Vec{}, T, K, N);
                           const Vec scale = reference::matmul_scale(x.values, wv, T, K, N);
                           double worst = 0;
                           for (size_t i = 0; i < ref.size(); ++i)
                             worst = std::max(worst, diff(got[i], ref[i]) /
                                                         (scale[i] + (with_bias ? std::fabs(b.values[i % N]) : 0) +
                                                          (accumulate ? std::fabs(y.values[i]) : 0)));
                           return worst;
                         },
                         T > 8 ? 4e-3 : 0});
        }
}

// Block weights: compared with float64 on the dequantized values the backend holds, taken through
// Backend::weight as a checkpoint tensor is (the CPU backend may interleave them). With T up to
// options.int8_activation_rows the kernels round x per 32-value block to int8 (kernels.h), so the
// allowance adds the largest error that rounding can cause; above, only float32 arithmetic.
void block_matmul_cases(std::vector<Case>& out, int int8_rows) {
  // T, K (a multiple of 32), N: decode, the last int8-activation row count and the first fp32 one,
  // ragged N, prefill blocks, the 12B K = 14336 in decode and prefill.
  const int shapes[][3] = {{1, 5120, 64}, {1, 96, 13}, {2, 320, 70}, {3, 256, 33}, {4, 512, 65}, {5, 512, 65},
                           {7, 1024, 31}, {37, 288, 97}, {64, 384, 96}, {1, 14336, 16}, {17, 14336, 16}};
  for (DType w : kBlockTypes)
    for (const auto& s : shapes)
      for (int variant = 0; variant < 2; ++variant) {
        const int T = s[0], K = s[1], N = s[2];
        const bool with_bias = variant == 1, accumulate = variant == 1, int8 = T <= int8_rows;
        out.push_back({"matmul",
                       std::string("w=") + dtype_name(w) + " " + dims({{"T", T}, {"K", K}, {"N", N}}) +
                           (with_bias ? " bias accumulate" : "") + (int8 ? " (int8 activations)" : ""),
                       "max |err| / (1e-5 sum|x*w| + int8 rounding bound)", 1, [=](Backend& be, Rng& rng) {
                         Input x = random(be, DType::F32, T, K, rng);
                         Weight wt = checkpoint_weight(be, w, N, K, [&] { return rng.normal() * 0.05; });
                         Input y = random(be, DType::F32, T, N, rng);
                         Input b = with_bias ? random(be, DType::BF16, 1, N, rng) : Input{};
                         Graph g;
                         g.matmul(*y.tensor, *x.tensor, wt.tensor, with_bias ? *b.tensor : Tensor{}, accumulate);
                         run(be, g);
                         const Vec got = fetch(be, *y.tensor);
                         const Vec ref = reference::matmul(x.values, wt.values, b.values, accumulate ? y.values : Vec{}, T, K, N);
                         const Vec scale = reference::matmul_scale(x.values, wt.values, T, K, N);
                         const Vec bound = int8 ? reference::int8_rounding_bound(x.values, wt.values, T, K, N) : Vec(ref.size());
                         double worst = 0;
                         for (size_t i = 0; i < ref.size(); ++i) {
                           const double magnitude = scale[i] + (with_bias ? std::fabs(b.values[i % N]) : 0) +
                                                    (accumulate ? std::fabs(y.values[i]) : 0);
                           worst = std::max(worst, diff(got[i], ref[i]) / (1e-5 * magnitude + bound[i]));
                         }
                         return worst;
                       }});
      }
  // Zero blocks (a zero scale) in the activations and the weights must give zeros, not NaN.
  for (DType w : kBlockTypes)
    for (int T : {1, 9})
      out.push_back({"matmul", std::string("w=") + dtype_name(w) + " T=" + std::to_string(T) + " K=64 N=24, zero blocks",
                     "max |err|", 0, [=](Backend& be, Rng& rng) {
                       int i = 0;
                       Input x = upload(be, DType::F32, T, 64, [&] { return (i++ % 64) < 32 ? 0.0 : rng.normal(); });
                       int j = 0;  // every odd row zero: in a 16-row group and in the tail past it
                       Weight wt = checkpoint_weight(be, w, 24, 64, [&] { return (j++ / 64) % 2 ? 0.0 : rng.normal(); });
                       OwnedTensor y(be, DType::F32, T, 24);
                       Graph g;
                       g.matmul(*y, *x.tensor, wt.tensor, Tensor{}, false);
                       run(be, g);
                       const Vec got = fetch(be, *y);
                       double worst = 0;
                       for (int t = 0; t < T; ++t)
                         for (int n = 1; n < 24; n += 2) worst = std::max(worst, diff(got[static_cast<size_t>(t) * 24 + n], 0));
                       for (double v : got) worst = std::max(worst, std::isfinite(v) ? 0.0 : INFINITY);
                       return worst;
                     }});
}

void rmsnorm_cases(std::vector<Case>& out) {
  const int shapes[][2] = {{1, 5120}, {3, 37}, {17, 1000}, {2, 1}};
  for (DType w : kFloatTypes)
    for (const auto& s : shapes) {
      const int T = s[0], D = s[1];
      for (bool in_place : {false, true})
        out.push_back({"rmsnorm", std::string("w=") + dtype_name(w) + " " + dims({{"T", T}, {"D", D}}) + (in_place ? " in place" : ""),
                       "max |err| / max(1, max |ref|)", 1e-5, [=](Backend& be, Rng& rng) {
                         Input x = random(be, DType::F32, T, D, rng, 3), wt = random(be, w, 1, D, rng);
                         OwnedTensor y(be, DType::F32, T, D);
                         const Tensor dst = in_place ? *x.tensor : *y;
                         Graph g;
                         g.rmsnorm(dst, *x.tensor, *wt.tensor, 1e-5f);
                         run(be, g);
                         return scaled_error(fetch(be, dst), reference::rmsnorm(x.values, wt.values, T, D, 1e-5));
                       }});
    }
}

void rope_cases(std::vector<Case>& out) {
  for (RopePairing pairing : {RopePairing::Interleaved, RopePairing::Half}) {
    const char* style = pairing == RopePairing::Interleaved ? "interleaved" : "half";
    // Text: positions up to the end of a 131072-token window with Pixtral's theta 1e9, where a
    // float32 angle would already be off by ~1e-2 rad.
    for (int heads : {1, 3}) {
      const int hd = 64, window = 131072;
      out.push_back({"rope", std::string("text ") + style + " heads=" + std::to_string(heads) + " hd=64 positions to 131071",
                     "max |err| / max(1, max |x|)", 2e-6, [=](Backend& be, Rng& rng) {
                       std::vector<int32_t> pos = {0, 1, 7, 4095, 65535, 100000, 131070, 131071};
                       for (int i = 0; i < 5; ++i) pos.push_back(rng.range(0, window));
                       const int T = static_cast<int>(pos.size());
                       const std::vector<float> table = text_rope_table(window, hd, 1e9);
                       OwnedTensor d_table(be, DType::F32, window, hd), d_pos = ints(be, pos);
                       be.write(*d_table, table.data());
                       Input x = random(be, DType::F32, T, static_cast<int64_t>(heads) * hd, rng);
                       Graph g;
                       g.rope(*x.tensor, *d_table, *d_pos, heads, hd, pairing);
                       run(be, g);
                       return scaled_error(fetch(be, *x.tensor), reference::rope_text(x.values, pos, heads, hd, 1e9, pairing));
                     }});
    }
    // Vision: a 64 x 64 patch grid (1024 px images), 2D angles, positions r * 64 + c.
    out.push_back({"rope", std::string("vision ") + style + " grid=64x64 heads=2 hd=40", "max |err| / max(1, max |x|)", 2e-6,
                   [=](Backend& be, Rng& rng) {
                     const int side = 64, hd = 40, heads = 2;
                     std::vector<int32_t> pos = {0, 63, 64 * 63, 64 * 64 - 1};
                     for (int i = 0; i < 60; ++i) pos.push_back(rng.range(0, side * side));
                     const std::vector<float> table = vision_rope_table(side, hd, 1e4);
                     OwnedTensor d_table(be, DType::F32, side * side, hd), d_pos = ints(be, pos);
                     be.write(*d_table, table.data());
                     Input x = random(be, DType::F32, static_cast<int64_t>(pos.size()), heads * hd, rng);
                     Graph g;
                     g.rope(*x.tensor, *d_table, *d_pos, heads, hd, pairing);
                     run(be, g);
                     return scaled_error(fetch(be, *x.tensor),
                                         reference::rope_vision(x.values, pos, side, heads, hd, 1e4, pairing));
                   }});
  }
}

void attention_cases(std::vector<Case>& out) {
  // Tq, Tk (cache rows), H, K, hd, first position (-1: unmasked over all Tk rows). The last has a
  // head size past the CPU tiles' groups of 4 dims and a query block past their 16/32-vector chunks.
  const int shapes[][6] = {{1, 1, 4, 2, 32, 0},     {1, 300, 8, 2, 64, 299}, {2, 70, 6, 2, 20, 60},
                           {37, 37, 4, 1, 16, 0},   {50, 130, 32, 8, 128, 80}, {33, 33, 3, 3, 16, -1},
                           {100, 100, 16, 16, 64, -1}, {3, 200, 12, 4, 24, 100}, {100, 500, 4, 2, 64, 400},
                           {64, 600, 4, 4, 64, -1},  {40, 2000, 4, 2, 64, 1960}, {45, 45, 2, 1, 18, 0}};
  for (DType kv : {DType::F32, DType::F16, DType::BF16, DType::Q8_0})
    for (const auto& s : shapes) {
      const int Tq = s[0], Tk = s[1], H = s[2], K = s[3], hd = s[4], first = s[5];
      if (hd % dtype_traits(kv).block) continue;  // a q8_0 cache needs whole blocks per head
      out.push_back({"attention",
                     std::string("kv=") + dtype_name(kv) + " " +
                         dims({{"Tq", Tq}, {"Tk", Tk}, {"H", H}, {"K", K}, {"hd", hd}}) +
                         (first < 0 ? " unmasked" : " causal from " + std::to_string(first)),
                     "max |err| / max(1, max |ref|)", 2e-5, [=](Backend& be, Rng& rng) {
                       Input q = random(be, DType::F32, Tq, H * hd, rng), k = random(be, kv, Tk, K * hd, rng),
                             v = random(be, kv, Tk, K * hd, rng);
                       std::vector<int32_t> pos;
                       for (int i = 0; first >= 0 && i < Tq; ++i) pos.push_back(first + i);
                       OwnedTensor d_pos = first >= 0 ? ints(be, pos) : OwnedTensor();
                       OwnedTensor o(be, DType::F32, Tq, H * hd);
                       Graph g;
                       g.attention(*o, *q.tensor, *k.tensor, *v.tensor, first >= 0 ? *d_pos : Tensor{}, H, K, hd);
                       run(be, g);
                       return scaled_error(fetch(be, *o), reference::attention(q.values, k.values, v.values, pos, Tq, Tk, H, K, hd));
                     },
                     Tq >= 16 ? 2e-2 : 0});
    }
}

void elementwise_cases(std::vector<Case>& out) {
  for (int n : {1, 7, 1000, 40961}) {
    out.push_back({"silu_mul", "n=" + std::to_string(n), "max |err| / (1 + |ref|)", 2e-6, [=](Backend& be, Rng& rng) {
                     Input a = random(be, DType::F32, 1, n, rng, 4), b = random(be, DType::F32, 1, n, rng);
                     Graph g;
                     g.silu_mul(*a.tensor, *a.tensor, *b.tensor);
                     run(be, g);
                     const Vec got = fetch(be, *a.tensor), ref = reference::silu_mul(a.values, b.values);
                     double worst = 0;
                     for (size_t i = 0; i < ref.size(); ++i) worst = std::max(worst, diff(got[i], ref[i]) / (1 + std::fabs(ref[i])));
                     return worst;
                   }});
    out.push_back({"gelu", "n=" + std::to_string(n), "max |err| / (1 + |ref|)", 2e-6, [=](Backend& be, Rng& rng) {
                     Input a = random(be, DType::F32, 1, n, rng, 4);
                     OwnedTensor y(be, DType::F32, 1, n);
                     Graph g;
                     g.gelu(*y, *a.tensor);
                     run(be, g);
                     const Vec got = fetch(be, *y), ref = reference::gelu(a.values);
                     double worst = 0;
                     for (size_t i = 0; i < ref.size(); ++i) worst = std::max(worst, diff(got[i], ref[i]) / (1 + std::fabs(ref[i])));
                     return worst;
                   }});
  }
}

void data_movement_cases(std::vector<Case>& out) {
  for (DType t : kFloatTypes) {
    out.push_back({"embed", std::string("table=") + dtype_name(t) + " V=1000 D=77 T=9", "max |err|", 0, [=](Backend& be, Rng& rng) {
                     Weight table = checkpoint_weight(be, t, 1000, 77, [&] { return rng.normal(); }, true);
                     std::vector<int32_t> ids = {0, 999, 500, 500, 3};
                     for (int i = 0; i < 4; ++i) ids.push_back(rng.range(0, 1000));
                     OwnedTensor d_ids = ints(be, ids), y(be, DType::F32, static_cast<int64_t>(ids.size()), 77);
                     Graph g;
                     g.embed(*y, table.tensor, *d_ids);
                     run(be, g);
                     const Vec got = fetch(be, *y);
                     double worst = 0;
                     for (size_t r = 0; r < ids.size(); ++r)
                       for (int c = 0; c < 77; ++c)
                         worst = std::max(worst, diff(got[r * 77 + c], table.values[static_cast<size_t>(ids[r]) * 77 + c]));
                     return worst;
                   }});
    // Rounding into the destination type: exact against float64 round-to-nearest-even, with values
    // from subnormal to beyond the f16 range.
    auto wide_values = [](Rng& rng) { return std::ldexp(rng.normal(), rng.range(-30, 20)); };
    out.push_back({"set_rows", std::string("dst=") + dtype_name(t) + " rows=40 cols=33, 6 rows written", "max |err|", 0,
                   [=](Backend& be, Rng& rng) {
                     Input dst = random(be, t, 40, 33, rng);
                     Input src = upload(be, DType::F32, 6, 33, [&] { return wide_values(rng); });
                     const std::vector<int32_t> idx = {39, 0, 17, 5, 6, 22};
                     OwnedTensor d_idx = ints(be, idx);
                     Graph g;
                     g.set_rows(*dst.tensor, *src.tensor, *d_idx);
                     run(be, g);
                     Vec want = dst.values;
                     for (size_t i = 0; i < idx.size(); ++i)
                       for (int c = 0; c < 33; ++c)
                         want[static_cast<size_t>(idx[i]) * 33 + c] = reference::round_to(t, src.values[i * 33 + c]);
                     const Vec got = fetch(be, *dst.tensor);
                     double worst = 0;
                     for (size_t i = 0; i < want.size(); ++i)
                       worst = std::max(worst, diff(got[i], want[i]) + (want[i] == got[i] ? 0 : 1e-300));
                     return worst;
                   }});
    out.push_back({"copy", std::string("f32 -> ") + dtype_name(t) + " [13, 301]", "max |err|", 0, [=](Backend& be, Rng& rng) {
                     Input src = upload(be, DType::F32, 13, 301, [&] { return wide_values(rng); });
                     OwnedTensor dst(be, t, 13, 301);
                     Graph g;
                     g.copy(*dst, *src.tensor);
                     run(be, g);
                     const Vec got = fetch(be, *dst);
                     double worst = 0;
                     for (size_t i = 0; i < got.size(); ++i) {
                       const double want = reference::round_to(t, src.values[i]);
                       worst = std::max(worst, diff(got[i], want) + (want == got[i] ? 0 : 1e-300));
                     }
                     return worst;
                   }});
  }
  for (DType t : kBlockTypes)
    out.push_back({"embed", std::string("table=") + dtype_name(t) + " V=1000 D=96 T=6", "max |err|", 0, [=](Backend& be, Rng& rng) {
                     Weight table = checkpoint_weight(be, t, 1000, 96, [&] { return rng.normal(); }, true);
                     const std::vector<int32_t> ids = {0, 999, 500, 500, 3, rng.range(0, 1000)};
                     OwnedTensor d_ids = ints(be, ids), y(be, DType::F32, static_cast<int64_t>(ids.size()), 96);
                     Graph g;
                     g.embed(*y, table.tensor, *d_ids);
                     run(be, g);
                     const Vec got = fetch(be, *y);
                     double worst = 0;
                     for (size_t r = 0; r < ids.size(); ++r)
                       for (int c = 0; c < 96; ++c)
                         worst = std::max(worst, diff(got[r * 96 + c], table.values[static_cast<size_t>(ids[r]) * 96 + c]));
                     return worst;
                   }});
  // A q8_0 KV cache: rows rounded into blocks exactly as the definition says.
  out.push_back({"set_rows", "dst=q8_0 rows=40 cols=64, 6 rows written", "max |err|", 0, [](Backend& be, Rng& rng) {
                   Input dst = random(be, DType::Q8_0, 40, 64, rng);
                   Input src = upload(be, DType::F32, 6, 64, [&] { return std::ldexp(rng.normal(), rng.range(-10, 10)); });
                   const std::vector<int32_t> idx = {39, 0, 17, 5, 6, 22};
                   OwnedTensor d_idx = ints(be, idx);
                   Graph g;
                   g.set_rows(*dst.tensor, *src.tensor, *d_idx);
                   run(be, g);
                   Vec want = dst.values;
                   const Vec rounded = reference::round_blocks(DType::Q8_0, src.values);
                   for (size_t i = 0; i < idx.size(); ++i)
                     for (int c = 0; c < 64; ++c) want[static_cast<size_t>(idx[i]) * 64 + c] = rounded[i * 64 + c];
                   const Vec got = fetch(be, *dst.tensor);
                   double worst = 0;
                   for (size_t i = 0; i < want.size(); ++i) worst = std::max(worst, diff(got[i], want[i]) + (want[i] == got[i] ? 0 : 1e-300));
                   return worst;
                 }});
  out.push_back({"add_i32", "n=5 step=3", "max |err|", 0, [](Backend& be, Rng&) {
                   const std::vector<int32_t> v = {0, -4, 7, 131071, 2147483000};
                   OwnedTensor t = ints(be, v);
                   Graph g;
                   g.add_i32(*t, 3);
                   run(be, g);
                   const std::vector<int32_t> got = fetch_ints(be, *t);
                   double worst = 0;
                   for (size_t i = 0; i < v.size(); ++i) worst = std::max(worst, std::fabs(static_cast<double>(got[i]) - v[i] - 3));
                   return worst;
                 }});
}

void sample_cases(std::vector<Case>& out) {
  struct Setting {
    float temperature;
    int top_k;
    float top_p;
  };
  const Setting settings[] = {{0, 0, 1}, {0.7f, 0, 1}, {1.3f, 5, 1}, {1, 0, 0.3f}, {0.8f, 40, 0.9f}};
  for (int V : {1000, 131072})
    for (const Setting& s : settings) {
      char name[128];
      std::snprintf(name, sizeof name, "V=%d temperature=%g top_k=%d top_p=%g, 40 draws", V, s.temperature, s.top_k, s.top_p);
      // Draws whose float64 position lies within 1e-5 of a boundary may legitimately differ.
      out.push_back({"sample", name, "draws differing away from a boundary (+1 if the rng state differs)", 0,
                     [=](Backend& be, Rng& rng) {
                       Input logits = random(be, DType::F32, 1, V, rng, 3);
                       SamplerState state{s.temperature, s.top_k, s.top_p, 0, static_cast<uint64_t>(rng.range(0, 1 << 30))};
                       OwnedTensor d_state(be, DType::I32, 1, kSamplerStateInts), token(be, DType::I32, 1, 1);
                       be.write(*d_state, &state);
                       Graph g(true);
                       g.sample(*token, *logits.tensor, *d_state);
                       double wrong = 0;
                       for (int draw = 0; draw < 40; ++draw) {
                         run(be, g);
                         double margin = 0;
                         const int want = reference::sample(logits.values, state, &margin);
                         if (fetch_ints(be, *token)[0] != want && margin > 1e-5) wrong += 1;
                       }
                       SamplerState after{};
                       be.read(&after, *d_state);
                       return wrong + (after.rng != state.rng ? 1 : 0);
                     }});
    }
}

void cancel_cases(std::vector<Case>& out) {
  out.push_back({"cancel_point", "a cancelled run throws Cancelled", "0 when Cancelled was thrown", 0, [](Backend& be, Rng&) {
                   OwnedTensor t = ints(be, {1});
                   Graph g;
                   g.add_i32(*t, 1);
                   g.cancel_point();
                   std::atomic<uint64_t> epoch{1};
                   try {
                     be.run(g, CancelToken(epoch, 0));
                   } catch (const Cancelled&) {
                     return 0.0;
                   }
                   return 1.0;
                 }});
}

}  // namespace

std::vector<CaseResult> run_all(Backend& backend, const Options& options) {
  std::vector<Case> cases;
  matmul_cases(cases);
  block_matmul_cases(cases, options.int8_activation_rows);
  rmsnorm_cases(cases);
  rope_cases(cases);
  attention_cases(cases);
  elementwise_cases(cases);
  data_movement_cases(cases);
  sample_cases(cases);
  cancel_cases(cases);
  std::vector<CaseResult> results;
  for (size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    if (!options.filter.empty() && (c.op + " " + c.name).find(options.filter) == std::string::npos) continue;
    const double tolerance = options.bf16_matrix_units && c.bf16_tolerance > 0 ? c.bf16_tolerance : c.tolerance;
    CaseResult r{c.op, c.name, 0, tolerance, c.measure, false, ""};
    Rng rng(options.seed * 1000003u + i);  // each case its own stream: filtering does not change inputs
    try {
      r.error = c.run(backend, rng);
      r.ok = r.error <= tolerance;
    } catch (const std::exception& e) {
      r.failure = e.what();
    }
    results.push_back(std::move(r));
  }
  return results;
}

}  // namespace px::harness
