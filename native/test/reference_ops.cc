// See reference_ops.h.
#include "reference_ops.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "../src/sampler.h"

namespace px::reference {
namespace {

void rotate(Vec& y, size_t base, int i0, int i1, double angle) {
  const double a = y[base + i0], b = y[base + i1], c = std::cos(angle), s = std::sin(angle);
  y[base + i0] = a * c - b * s;
  y[base + i1] = a * s + b * c;
}

template <typename AngleFn>
Vec rope(const Vec& x, size_t T, int heads, int hd, RopePairing pairing, AngleFn angle) {
  Vec y = x;
  for (size_t t = 0; t < T; ++t)
    for (int h = 0; h < heads; ++h)
      for (int j = 0; j < hd / 2; ++j) {
        const bool inter = pairing == RopePairing::Interleaved;
        rotate(y, (t * heads + h) * hd, inter ? 2 * j : j, inter ? 2 * j + 1 : j + hd / 2, angle(t, j));
      }
  return y;
}

}  // namespace

Vec matmul(const Vec& x, const Vec& w, const Vec& bias, const Vec& y0, int T, int K, int N) {
  Vec y(static_cast<size_t>(T) * N);
  for (int t = 0; t < T; ++t)
    for (int n = 0; n < N; ++n) {
      double s = bias.empty() ? 0 : bias[n];
      for (int i = 0; i < K; ++i) s += x[static_cast<size_t>(t) * K + i] * w[static_cast<size_t>(n) * K + i];
      y[static_cast<size_t>(t) * N + n] = s + (y0.empty() ? 0 : y0[static_cast<size_t>(t) * N + n]);
    }
  return y;
}

Vec matmul_scale(const Vec& x, const Vec& w, int T, int K, int N) {
  Vec y(static_cast<size_t>(T) * N);
  for (int t = 0; t < T; ++t)
    for (int n = 0; n < N; ++n) {
      double s = 0;
      for (int i = 0; i < K; ++i) s += std::fabs(x[static_cast<size_t>(t) * K + i] * w[static_cast<size_t>(n) * K + i]);
      y[static_cast<size_t>(t) * N + n] = s;
    }
  return y;
}

Vec int8_rounding_bound(const Vec& x, const Vec& w, int T, int K, int N) {
  Vec y(static_cast<size_t>(T) * N);
  for (int t = 0; t < T; ++t)
    for (int n = 0; n < N; ++n) {
      double s = 0;
      for (int b = 0; b < K; b += 32) {
        double amax = 0, wsum = 0;
        for (int i = b; i < b + 32; ++i) {
          amax = std::max(amax, std::fabs(x[static_cast<size_t>(t) * K + i]));
          wsum += std::fabs(w[static_cast<size_t>(n) * K + i]);
        }
        s += amax / 127 / 2 * wsum;
      }
      y[static_cast<size_t>(t) * N + n] = s;
    }
  return y;
}

Vec round_blocks(DType t, const Vec& x) {
  Vec y(x.size());
  for (size_t b = 0; b < x.size(); b += 32) {
    float amax = 0, max = 0;
    for (size_t i = b; i < b + 32; ++i)
      if (std::fabs(static_cast<float>(x[i])) > amax) amax = std::fabs(static_cast<float>(x[i])), max = static_cast<float>(x[i]);
    const float d = t == DType::Q8_0 ? amax / 127.f : max / -8.f, id = d != 0 ? 1.f / d : 0.f;
    const double stored = round_to(DType::F16, d);
    for (size_t i = b; i < b + 32; ++i) {
      const float v = static_cast<float>(x[i]) * id;
      y[i] = stored * (t == DType::Q8_0 ? std::round(v) : std::min(15.0, static_cast<double>(std::floor(v + 8.5f))) - 8);
    }
  }
  return y;
}

Vec rmsnorm(const Vec& x, const Vec& w, int T, int D, double eps) {
  Vec y(x.size());
  for (int t = 0; t < T; ++t) {
    double ss = 0;
    for (int i = 0; i < D; ++i) ss += x[static_cast<size_t>(t) * D + i] * x[static_cast<size_t>(t) * D + i];
    const double inv = 1.0 / std::sqrt(ss / D + eps);
    for (int i = 0; i < D; ++i) y[static_cast<size_t>(t) * D + i] = x[static_cast<size_t>(t) * D + i] * inv * w[i];
  }
  return y;
}

Vec rope_text(const Vec& x, const std::vector<int32_t>& positions, int heads, int hd, double theta, RopePairing pairing) {
  return rope(x, positions.size(), heads, hd, pairing,
              [&](size_t t, int j) { return positions[t] * std::pow(theta, -2.0 * j / hd); });
}

Vec rope_vision(const Vec& x, const std::vector<int32_t>& positions, int side, int heads, int hd, double theta,
                RopePairing pairing) {
  return rope(x, positions.size(), heads, hd, pairing, [&](size_t t, int j) {
    const int r = positions[t] / side, c = positions[t] % side, quarter = hd / 4;
    return j < quarter ? r * std::pow(theta, -2.0 * (2 * j) / hd) : c * std::pow(theta, -2.0 * (2 * (j - quarter) + 1) / hd);
  });
}

Vec attention(const Vec& q, const Vec& k, const Vec& v, const std::vector<int32_t>& positions, int Tq, int Tk, int H,
              int K, int hd) {
  Vec out(static_cast<size_t>(Tq) * H * hd);
  const int group = H / K;
  for (int i = 0; i < Tq; ++i)
    for (int h = 0; h < H; ++h) {
      const int g = h / group, n = positions.empty() ? Tk : std::min(Tk, positions[i] + 1);
      Vec p(n);
      for (int j = 0; j < n; ++j) {
        double d = 0;
        for (int c = 0; c < hd; ++c)
          d += q[(static_cast<size_t>(i) * H + h) * hd + c] * k[(static_cast<size_t>(j) * K + g) * hd + c];
        p[j] = d / std::sqrt(static_cast<double>(hd));
      }
      const double mx = *std::max_element(p.begin(), p.end());
      double sum = 0;
      for (double& x : p) sum += (x = std::exp(x - mx));
      for (int c = 0; c < hd; ++c) {
        double acc = 0;
        for (int j = 0; j < n; ++j) acc += p[j] / sum * v[(static_cast<size_t>(j) * K + g) * hd + c];
        out[(static_cast<size_t>(i) * H + h) * hd + c] = acc;
      }
    }
  return out;
}

Vec silu_mul(const Vec& gate, const Vec& up) {
  Vec y(gate.size());
  for (size_t i = 0; i < y.size(); ++i) y[i] = gate[i] / (1 + std::exp(-gate[i])) * up[i];
  return y;
}

Vec gelu(const Vec& x) {
  Vec y(x.size());
  for (size_t i = 0; i < y.size(); ++i) y[i] = 0.5 * x[i] * (1 + std::erf(x[i] / std::sqrt(2.0)));
  return y;
}

double round_to(DType t, double x) {
  if (t == DType::F32) return static_cast<double>(static_cast<float>(x));  // IEEE conversion: nearest even
  if (x == 0 || !std::isfinite(x)) return x;
  // Significand bits kept and the smallest normal exponent of the format.
  const int bits = t == DType::F16 ? 11 : 8, min_exp = t == DType::F16 ? -14 : -126;
  const double max_finite = t == DType::F16 ? 65504.0 : std::ldexp(2.0 - std::ldexp(1.0, 1 - bits), 127);
  int e;
  std::frexp(std::fabs(x), &e);  // |x| = m * 2^e, m in [0.5, 1)
  const int unit_exp = std::max(e - 1, min_exp) - (bits - 1);  // weight of the last kept bit
  const double scaled = std::ldexp(x, -unit_exp);
  double r = std::nearbyint(scaled);  // default rounding mode: nearest, ties to even
  const double rounded = std::ldexp(r, unit_exp);
  if (std::fabs(rounded) > max_finite) {
    const double next = std::ldexp(1.0, 128 * (t == DType::BF16) + 16 * (t == DType::F16));  // first value past max
    return std::fabs(x) >= (max_finite + next) / 2 ? std::copysign(INFINITY, x) : std::copysign(max_finite, x);
  }
  return rounded;
}

int sample(const Vec& logits, SamplerState& state, double* margin) {
  const int V = static_cast<int>(logits.size());
  const int best = static_cast<int>(std::max_element(logits.begin(), logits.end()) - logits.begin());
  *margin = INFINITY;
  if (state.temperature <= 0) {
    for (int i = 0; i < V; ++i)
      if (i != best) *margin = std::min(*margin, logits[best] - logits[i]);
    return best;
  }
  // Candidates in id order when nothing is cut; else by logit (ties: lower id first), cut by top-k,
  // then by the nucleus.
  std::vector<int> order(V);
  std::iota(order.begin(), order.end(), 0);
  const bool filtered = (state.top_k > 0 && state.top_k < V) || state.top_p < 1;
  if (filtered) std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return logits[a] > logits[b]; });
  const int pool = state.top_k > 0 && state.top_k < V ? state.top_k : V;
  Vec p(pool);
  double total = 0;
  for (int i = 0; i < pool; ++i) total += p[i] = std::exp((logits[order[i]] - logits[best]) / state.temperature);
  int keep = pool;
  double cut_margin = INFINITY;  // how far the nucleus edge is from moving by one candidate
  if (state.top_p < 1) {
    const double target = static_cast<double>(state.top_p) * total;
    double cumulative = 0;
    for (keep = 0; keep < pool;) {
      cut_margin = std::fabs(cumulative - target) / total;
      cumulative += p[keep++];
      if (cumulative >= target) break;
    }
    cut_margin = std::min(cut_margin, std::fabs(cumulative - target) / total);
  }
  double kept = 0;
  for (int i = 0; i < keep; ++i) kept += p[i];
  const double u = next_uniform(state.rng) * kept;
  double edge = 0;
  for (int i = 0; i < keep; ++i) {
    const double next = edge + p[i];
    if (u < next || i == keep - 1) {
      *margin = std::min(std::min(u - edge, next - u) / kept, cut_margin);
      return order[i];
    }
    edge = next;
  }
  return order[keep - 1];
}

}  // namespace px::reference
