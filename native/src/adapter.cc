// See adapter.h.
#include "adapter.h"

namespace px {

Adapter::Adapter(Backend& backend, const ModelFiles& files)
    : be_(backend),
      w_in_(backend.weight(files.get("vision_language_adapter.w_in.weight"))),
      w_out_(backend.weight(files.get("vision_language_adapter.w_out.weight"))),
      has_bias_(files.config().vision.adapter_bias) {
  if (has_bias_) {
    b_in_ = backend.weight(files.get("vision_language_adapter.w_in.bias"));
    b_out_ = backend.weight(files.get("vision_language_adapter.w_out.bias"));
  }
}

void Adapter::forward(const float* x, float* y, float* scratch, int rows) {
  be_.matmul(scratch, x, w_in_, has_bias_ ? &b_in_ : nullptr, rows, false);
  be_.gelu(scratch, static_cast<size_t>(rows) * w_in_.rows);
  be_.matmul(y, scratch, w_out_, has_bias_ ? &b_out_ : nullptr, rows, false);
}

}  // namespace px
