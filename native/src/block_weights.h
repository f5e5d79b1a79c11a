// The nine weights of one pre-norm transformer block. The vision encoder and the text decoder name
// them alike under different prefixes ("vision_encoder.transformer.layers.L." / "layers.L."), so
// one loader serves both.
#pragma once
#include <string>

#include "backend.h"
#include "model_files.h"

namespace px {

struct BlockWeights {
  Tensor attention_norm;  // [1, D]
  Tensor wq, wk, wv;      // [H*hd, D], [K*hd, D], [K*hd, D]
  Tensor wo;              // [D, H*hd]
  Tensor ffn_norm;        // [1, D]
  Tensor w1, w2, w3;      // gate [F, D], down [D, F], up [F, D]
};

inline BlockWeights load_block_weights(Backend& be, const ModelFiles& files, const std::string& prefix) {
  auto w = [&](const char* name) { return be.weight(files.get(prefix + name)); };
  return BlockWeights{w("attention_norm.weight"),  w("attention.wq.weight"),    w("attention.wk.weight"),
                      w("attention.wv.weight"),    w("attention.wo.weight"),    w("ffn_norm.weight"),
                      w("feed_forward.w1.weight"), w("feed_forward.w2.weight"), w("feed_forward.w3.weight")};
}

}  // namespace px
