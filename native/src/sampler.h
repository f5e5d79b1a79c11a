// Pipeline stage: logits -> next token, as Op::Sample runs it on the CPU (the reference that device
// samplers are checked against). Greedy, or temperature with top-k / top-p (nucleus) filtering.
// The random stream is our own (splitmix64 -> 53-bit doubles), so one seed gives the same tokens
// on every platform and standard library; its state lives in the SamplerState on the device.
#pragma once
#include <cstdint>
#include <utility>
#include <vector>

#include "graph.h"

namespace px {

// Working memory of one sampler, reused across steps (no allocation per token).
struct SamplerScratch {
  std::vector<std::pair<float, int>> candidates;
  std::vector<double> probs;
};

// Draws a token from logits [V] as `state` says, advancing state.rng by one draw unless greedy.
// Never modifies logits.
int sample_token(const float* logits, int V, SamplerState& state, SamplerScratch& scratch);

// The next uniform double in [0, 1) of the splitmix64 stream.
double next_uniform(uint64_t& rng);

int argmax(const float* x, int n);

}  // namespace px
