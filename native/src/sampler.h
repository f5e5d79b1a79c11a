// Pipeline stage: logits -> next token. Greedy, or temperature with top-k / top-p (nucleus)
// filtering. The random stream is our own (splitmix64 -> 53-bit doubles), so one seed gives the
// same tokens on every platform and standard library.
#pragma once
#include <cstdint>
#include <vector>

namespace px {

struct SamplingParams {
  float temperature = 0.f;  // <= 0: greedy
  int top_k = 0;            // 0: off
  float top_p = 1.f;        // >= 1: off
  uint64_t seed = 0;
};

class Sampler {
 public:
  explicit Sampler(const SamplingParams& params);
  // logits: [V]. Never modifies logits.
  int sample(const float* logits, int V);

 private:
  double next_uniform();  // [0, 1)
  SamplingParams p_;
  uint64_t state_;
  std::vector<std::pair<float, int>> candidates_;  // reused across steps
  std::vector<double> probs_;
};

int argmax(const float* x, int n);

}  // namespace px
