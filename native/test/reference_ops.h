// Float64 reference of every op of the backend boundary (graph.h), written straight from the op
// definitions with no blocking, threading or SIMD: what the op harness compares each backend to.
// Inputs are the values a backend actually holds (already rounded to their dtype), so a tolerance
// measures only the backend's arithmetic.
#pragma once
#include <cstdint>
#include <vector>

#include "../src/graph.h"

namespace px::reference {

using Vec = std::vector<double>;

// y[T, N] = x[T, K] @ w[N, K]^T (+ bias[N]) (+ y0 when accumulating; y0 empty otherwise).
Vec matmul(const Vec& x, const Vec& w, const Vec& bias, const Vec& y0, int T, int K, int N);
// Sum of |x[t, i] * w[n, i]| per output: the scale a float32 dot product's error grows with.
Vec matmul_scale(const Vec& x, const Vec& w, int T, int K, int N);
// Largest error rounding x per 32-value block to int8 (step max|x_block| / 127, to nearest) can add
// to each output: sum over blocks of step / 2 * sum |w| over the block.
Vec int8_rounding_bound(const Vec& x, const Vec& w, int T, int K, int N);
// What a Q8_0 / Q4_0 block row stores for x (quant_blocks.h's definition, float32 steps as written
// there, the fp16 scale rounded here in float64).
Vec round_blocks(DType t, const Vec& x);
Vec rmsnorm(const Vec& x, const Vec& w, int T, int D, double eps);
// RoPE with angles computed here from positions (not from any table): text angle p * theta^(-2j/hd).
Vec rope_text(const Vec& x, const std::vector<int32_t>& positions, int heads, int hd, double theta, RopePairing pairing);
// Vision 2D RoPE for positions r * side + c (spec b.4).
Vec rope_vision(const Vec& x, const std::vector<int32_t>& positions, int side, int heads, int hd, double theta,
                RopePairing pairing);
// positions empty: every key visible; else query i sees keys j <= positions[i].
Vec attention(const Vec& q, const Vec& k, const Vec& v, const std::vector<int32_t>& positions, int Tq, int Tk, int H,
              int K, int hd);
Vec silu_mul(const Vec& gate, const Vec& up);
Vec gelu(const Vec& x);
// The value a float dtype stores for x, rounded to nearest even by exact float64 arithmetic.
double round_to(DType t, double x);
// The token Op::Sample must draw from logits with this state (advancing state.rng), and the
// distance of the draw from the nearest boundary of the cumulative distribution (float64), so a
// backend whose float32 sums move a boundary by less than that distance must agree.
int sample(const Vec& logits, SamplerState& state, double* margin);

}  // namespace px::reference
