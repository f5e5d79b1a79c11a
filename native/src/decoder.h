// Pipeline stage: token embeddings -> logits -> next token. The Mistral NeMo text decoder (spec e):
// RMSNorm, GQA attention with 1D RoPE over a KV cache, SwiGLU FFN, untied output head. Prefill
// runs the prompt in chunks (bounded scratch, one graph per chunk, a cancel point per layer); a
// decode step is one graph recorded once and replayed for every token: it reads the token and its
// position from the device, samples the next token there and advances the position, so only the
// chosen id comes back to the host.
#pragma once
#include <memory>
#include <vector>

#include "backend.h"
#include "block_weights.h"
#include "cancel.h"
#include "model_files.h"

namespace px {

enum class LogitsMode { None, Last, All };

class Decoder {
 public:
  // context: KV cache capacity in tokens; max_chunk: prefill rows per pass (scratch size);
  // kv_dtype: element type of the KV cache (f32, f16, bf16 or q8_0).
  Decoder(Backend& backend, const ModelFiles& files, int context, int max_chunk, DType kv_dtype);

  int context() const { return context_; }
  DType kv_dtype() const { return kv_dtype_; }
  size_t kv_cache_bytes() const;

  // Runs ids[T] at positions [pos, pos + T), chunk rows per pass (0: max_chunk). Rows whose id is
  // `image_token` take the next row of image_embeds (device [n, D]) instead of their embedding, in
  // order. The last row's logits stay on the device for sample_first(); `logits_out` receives
  // [V] (Last) or [T, V] (All) on the host.
  void prefill(const int32_t* ids, int T, int pos, const Tensor& image_embeds, int image_token, int chunk,
               LogitsMode mode, std::vector<float>* logits_out, const CancelToken& cancel);
  // Draws the token after a prefill from its last logits; `pos` is where that token will sit.
  int sample_first(const SamplerState& state, int pos, const CancelToken& cancel);
  // Feeds the last drawn token at its position, draws the next one; the position moves on by one.
  int step(const CancelToken& cancel);
  // The logits the last drawn token came from, [V] on the host.
  void read_logits(float* out) const;

 private:
  struct Layer {
    BlockWeights w;
    OwnedTensor k_cache, v_cache;  // [context, K*hd] of kv_dtype
  };
  // Records rows [0, T) of x_ at `positions` (i32 [1, T]) through every layer (KV stored there).
  void record_layers(Graph& g, int T, const Tensor& positions) const;
  // Records logits_[0, n) = output(norm(x_[r0, r0 + n))).
  void record_head(Graph& g, int r0, int n) const;

  Backend& be_;
  const ModelConfig cfg_;
  RopePairing pairing_;
  int context_, max_chunk_, logits_rows_;
  DType kv_dtype_;
  Tensor tok_embeddings_, norm_, output_;
  std::vector<Layer> layers_;
  OwnedTensor rope_;  // f32 [context, hd]: cos | sin of every position
  // Scratch, sized for max_chunk rows once at construction (none allocated per token).
  OwnedTensor x_, h_, q_, k_, v_, attn_, gate_, up_, logits_;
  // Device inputs: prefill ids, positions and image row targets (i32 [1, max_chunk]); the decode
  // token and position (i32 [1, 1]); the sampler state.
  OwnedTensor ids_, positions_, image_rows_, token_, position_, sampler_;
  std::unique_ptr<Graph> step_graph_, sample_graph_;  // recorded on first use, then replayed
};

}  // namespace px
