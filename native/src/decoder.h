// Pipeline stage: token embeddings -> logits. The Mistral NeMo text decoder (spec e): RMSNorm,
// GQA attention with 1D RoPE over a KV cache, SwiGLU FFN, untied output head. Prefill runs the
// prompt in chunks (bounded scratch, a cancel point per chunk and layer); decode runs one token.
#pragma once
#include <vector>

#include "backend.h"
#include "block_weights.h"
#include "cancel.h"
#include "model_files.h"

namespace px {

class Decoder {
 public:
  // context: KV cache capacity in tokens; max_chunk: prefill rows per pass (scratch size).
  Decoder(Backend& backend, const ModelFiles& files, int context, int max_chunk);
  ~Decoder();
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;

  int position() const { return pos_; }
  int context() const { return context_; }
  void reset() { pos_ = 0; }
  size_t kv_cache_bytes() const;
  size_t scratch_bytes() const;

  // Runs ids[T] (a prefill chunk series, or one decode token) at positions [position, position + T). Rows whose id is `image_token` take the
  // next row of image_embeds (device [n, D]) instead of their embedding, in order.
  // logits_out: all_logits ? [T, V] : [V] of the last row. On any exception position is unchanged.
  // chunk: rows per pass (0 or more than max_chunk: max_chunk).
  void append(const int32_t* ids, int T, const float* image_embeds, int image_token, bool all_logits, int chunk,
              std::vector<float>& logits_out, const CancelToken& cancel);

 private:
  struct Layer {
    BlockWeights w;
    float* k_cache;  // device [context, K*hd]
    float* v_cache;  // device [context, K*hd]
  };
  // Runs rows x_[0..T) at positions [pos, pos+T) through every layer (KV appended at pos).
  void run_layers(int T, int pos, const CancelToken& cancel);
  // logits for rows [r0, r0+n) of x_ (final norm applied in place) -> host out[n, V].
  void head(int r0, int n, float* out);

  Backend& be_;
  const ModelConfig cfg_;
  RopePairing pairing_;
  int context_, max_chunk_, pos_ = 0;
  Weight tok_embeddings_, norm_, output_;
  std::vector<Layer> layers_;
  // Scratch, sized for max_chunk rows once at construction (none allocated per token).
  DeviceBuffer x_, h_, q_, attn_, gate_, up_, rope_, logits_;
  std::vector<float> rope_host_;  // [2, T, hd/2] built on the host, then uploaded to rope_
  int logits_rows_;  // rows of logits_ scratch
};

}  // namespace px
