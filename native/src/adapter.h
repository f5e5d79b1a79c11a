// Pipeline stage: vision features -> text embedding space. The 2-layer adapter (spec c):
// y = W_out · gelu(W_in · x + b_in) + b_out, exact erf GELU, row-wise over [S, Dv] -> [S, D].
#pragma once
#include "backend.h"
#include "model_files.h"

namespace px {

class Adapter {
 public:
  Adapter(Backend& backend, const ModelFiles& files);
  // x: device [rows, Dv]; y: device [rows, D]; scratch: device [rows, D].
  void forward(const float* x, float* y, float* scratch, int rows);
  int in_dim() const { return static_cast<int>(w_in_.cols); }
  int out_dim() const { return static_cast<int>(w_out_.rows); }

 private:
  Backend& be_;
  Weight w_in_, w_out_;  // [D, Dv], [D, D]
  Weight b_in_, b_out_;  // [D] each; absent when adapter_bias is false
  bool has_bias_;
};

}  // namespace px
