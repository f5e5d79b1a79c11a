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

double next_uniform(uint64_t& rng) {
  uint64_t z = (rng += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  return static_cast<double>(z >> 11) * (1.0 / 9007199254740992.0);
}

int sample_token(const float* logits, int V, SamplerState& state, SamplerScratch& scratch) {
  if (state.temperature <= 0.f) return argmax(logits, V);
  const double inv_t = 1.0 / state.temperature;
  const float max_logit = logits[argmax(logits, V)];
  // Unnormalised probabilities exp((l - max) / T), fp64 sums.
  auto weight = [&](float l) { return std::exp((l - max_logit) * inv_t); };
  const bool top_k = state.top_k > 0 && state.top_k < V, top_p = state.top_p < 1.f;
  std::vector<double>& probs = scratch.probs;
  if (!top_k && !top_p) {
    // No filtering: one pass, no sort (the common case must not cost a sort of the vocabulary).
    probs.resize(V);
    double total = 0;
    for (int i = 0; i < V; ++i) total += probs[i] = weight(logits[i]);
    double u = next_uniform(state.rng) * total;
    for (int i = 0; i < V; ++i)
      if ((u -= probs[i]) < 0) return i;
    return argmax(logits, V);
  }
  // Highest logit first; ties broken by lower id so the order is deterministic.
  auto higher = [](const std::pair<float, int>& a, const std::pair<float, int>& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  };
  std::vector<std::pair<float, int>>& candidates = scratch.candidates;
  candidates.resize(V);
  for (int i = 0; i < V; ++i) candidates[i] = {logits[i], i};
  const size_t pool = top_k ? static_cast<size_t>(state.top_k) : static_cast<size_t>(V);
  double pool_total = 0;  // mass of the candidates top-p chooses from
  if (top_k) {
    std::partial_sort(candidates.begin(), candidates.begin() + pool, candidates.end(), higher);
    for (size_t i = 0; i < pool; ++i) pool_total += weight(candidates[i].first);
  } else {
    for (int i = 0; i < V; ++i) pool_total += weight(logits[i]);
  }
  size_t keep = pool;
  if (top_p) {
    // Sort only as many leading candidates as the nucleus needs, growing the sorted prefix by 4x.
    size_t sorted = top_k ? pool : 0;
    double cumulative = 0;
    keep = 0;
    while (keep < pool) {
      if (keep == sorted) {
        const size_t next = std::min(pool, std::max<size_t>(64, sorted * 4));
        std::partial_sort(candidates.begin() + sorted, candidates.begin() + next, candidates.begin() + pool, higher);
        sorted = next;
      }
      cumulative += weight(candidates[keep++].first);
      if (cumulative >= state.top_p * pool_total) break;
    }
  }
  probs.resize(keep);
  double total = 0;
  for (size_t i = 0; i < keep; ++i) total += probs[i] = weight(candidates[i].first);
  double u = next_uniform(state.rng) * total;
  for (size_t i = 0; i < keep; ++i)
    if ((u -= probs[i]) < 0) return candidates[i].second;
  return candidates[keep - 1].second;
}

}  // namespace px
