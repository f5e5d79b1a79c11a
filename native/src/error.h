// Engine errors: every failure the engine can detect becomes an EngineError whose message names
// what went wrong and where (file, tensor, numbers). The N-API layer turns it into a JS Error.
#pragma once
#include <stdexcept>
#include <string>

namespace px {

struct EngineError : std::runtime_error {
  explicit EngineError(const std::string& msg) : std::runtime_error(msg) {}
};

// Thrown when a cancel request is observed between layers / steps.
struct Cancelled : std::runtime_error {
  Cancelled() : std::runtime_error("cancelled") {}
};

}  // namespace px
