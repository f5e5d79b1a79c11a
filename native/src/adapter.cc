// See adapter.h.
#include "adapter.h"

namespace px {

Adapter::Adapter(Backend& backend, const ModelFiles& files)
    : w_in_(backend.weight(files.get("vision_language_adapter.w_in.weight"))),
      w_out_(backend.weight(files.get("vision_language_adapter.w_out.weight"))) {
  if (files.config().vision.adapter_bias) {
    b_in_ = backend.weight(files.get("vision_language_adapter.w_in.bias"));
    b_out_ = backend.weight(files.get("vision_language_adapter.w_out.bias"));
  }
}

void Adapter::record(Graph& g, const Tensor& x, const Tensor& y, const Tensor& scratch) const {
  g.matmul(scratch, x, w_in_, b_in_, false);
  g.gelu(scratch, scratch);
  g.matmul(y, scratch, w_out_, b_out_, false);
}

}  // namespace px
