// Pipeline stage: vision features -> text embedding space. The 2-layer adapter (spec c):
// y = W_out · gelu(W_in · x + b_in) + b_out, exact erf GELU, row-wise over [S, Dv] -> [S, D].
#pragma once
#include "backend.h"
#include "model_files.h"

namespace px {

class Adapter {
 public:
  Adapter(Backend& backend, const ModelFiles& files);
  // Records y [rows, D] = adapter(x [rows, Dv]); scratch [rows, D] holds the hidden activation.
  void record(Graph& g, const Tensor& x, const Tensor& y, const Tensor& scratch) const;
  int in_dim() const { return static_cast<int>(w_in_.cols); }
  int out_dim() const { return static_cast<int>(w_out_.rows); }

 private:
  Tensor w_in_, w_out_;  // [D, Dv], [D, D]
  Tensor b_in_, b_out_;  // [1, D] each; empty when adapter_bias is false
};

}  // namespace px
