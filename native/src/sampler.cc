// See sampler.h.
#include "sampler.h"

#include <algorithm>
#include <cmath>

namespace px {

int argmax(const float* x, int n) {
  int best = 0;
  for (int i = 1; i < n; ++i)
    if (x[i] > x[best]) best = i;
  return best;
}

Sampler::Sampler(const SamplingParams& params) : p_(params), state_(params.seed) {}

double Sampler::next_uniform() {
  uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  return static_cast<double>(z >> 11) * (1.0 / 9007199254740992.0);
}

int Sampler::sample(const float* logits, int V) {
  if (p_.temperature <= 0.f) return argmax(logits, V);
  candidates_.resize(V);
  for (int i = 0; i < V; ++i) candidates_[i] = {logits[i], i};
  // Highest logit first; ties broken by lower id so the order is deterministic.
  auto higher = [](const std::pair<float, int>& a, const std::pair<float, int>& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  };
  size_t n = candidates_.size();
  if (p_.top_k > 0 && static_cast<size_t>(p_.top_k) < n) {
    std::partial_sort(candidates_.begin(), candidates_.begin() + p_.top_k, candidates_.end(), higher);
    n = p_.top_k;
  } else {
    std::sort(candidates_.begin(), candidates_.end(), higher);
  }
  // Softmax over the kept candidates at the given temperature (max subtracted, fp64 sums).
  const double max_logit = candidates_[0].first;
  std::vector<double>& probs = probs_;
  probs.resize(n);
  double total = 0;
  for (size_t i = 0; i < n; ++i) total += probs[i] = std::exp((candidates_[i].first - max_logit) / p_.temperature);
  if (p_.top_p < 1.f) {
    double cumulative = 0;
    size_t keep = 0;
    while (keep < n) {
      cumulative += probs[keep++] / total;
      if (cumulative >= p_.top_p) break;
    }
    n = keep;
    total = 0;
    for (size_t i = 0; i < n; ++i) total += probs[i];
  }
  double u = next_uniform() * total;
  for (size_t i = 0; i < n; ++i) {
    u -= probs[i];
    if (u < 0) return candidates_[i].second;
  }
  return candidates_[n - 1].second;
}

}  // namespace px
