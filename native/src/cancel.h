// Cooperative cancellation. Engine::cancel() bumps an epoch; every call captures the epoch when it
// is submitted and checks it between layers, prefill chunks and decode steps, so a cancel stops
// exactly the calls submitted before it, even one that has not started running yet.
#pragma once
#include <atomic>
#include <cstdint>

#include "error.h"

namespace px {

class CancelToken {
 public:
  CancelToken(const std::atomic<uint64_t>& epoch, uint64_t submitted) : epoch_(&epoch), submitted_(submitted) {}
  bool cancelled() const { return epoch_->load(std::memory_order_relaxed) != submitted_; }
  void check() const {
    if (cancelled()) throw Cancelled();
  }

 private:
  const std::atomic<uint64_t>* epoch_;
  uint64_t submitted_;
};

}  // namespace px
