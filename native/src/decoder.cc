// See decoder.h.
#include "decoder.h"

#include <algorithm>
#include <string>

#include "error.h"
#include "rope.h"

namespace px {
Decoder::Decoder(Backend& backend, const ModelFiles& files, int context, int max_chunk)
    : be_(backend),
      cfg_(files.config()),
      pairing_(files.layout() == WeightLayout::Mistral ? RopePairing::Interleaved : RopePairing::Half),
      context_(context),
      max_chunk_(std::max(1, std::min(max_chunk, context))),
      tok_embeddings_(backend.weight(files.get("tok_embeddings.weight"))),
      norm_(backend.weight(files.get("norm.weight"))),
      output_(backend.weight(files.get("output.weight"))) {
  const size_t C = max_chunk_, D = cfg_.dim, QD = static_cast<size_t>(cfg_.n_heads) * cfg_.head_dim,
               KVD = static_cast<size_t>(cfg_.n_kv_heads) * cfg_.head_dim, F = cfg_.hidden_dim;
  logits_rows_ = std::min(max_chunk_, 16);
  x_ = DeviceBuffer(be_, C * D);
  h_ = DeviceBuffer(be_, C * D);
  q_ = DeviceBuffer(be_, C * QD);
  attn_ = DeviceBuffer(be_, C * QD);
  gate_ = DeviceBuffer(be_, C * F);
  up_ = DeviceBuffer(be_, C * F);
  rope_ = DeviceBuffer(be_, C * cfg_.head_dim);
  logits_ = DeviceBuffer(be_, static_cast<size_t>(logits_rows_) * cfg_.vocab_size);
  try {
    for (int l = 0; l < cfg_.n_layers; ++l) {
      Layer L{load_block_weights(backend, files, "layers." + std::to_string(l) + "."), nullptr, nullptr};
      L.k_cache = be_.alloc(static_cast<size_t>(context_) * KVD);
      layers_.push_back(L);
      layers_.back().v_cache = be_.alloc(static_cast<size_t>(context_) * KVD);
    }
  } catch (...) {
    for (Layer& L : layers_) {
      be_.release(L.k_cache);
      be_.release(L.v_cache);
    }
    throw;
  }
}

Decoder::~Decoder() {
  for (Layer& L : layers_) {
    be_.release(L.k_cache);
    be_.release(L.v_cache);
  }
}

size_t Decoder::kv_cache_bytes() const {
  return static_cast<size_t>(2) * cfg_.n_layers * context_ * cfg_.n_kv_heads * cfg_.head_dim * sizeof(float);
}

size_t Decoder::scratch_bytes() const {
  return (x_.size() + h_.size() + q_.size() + attn_.size() + gate_.size() + up_.size() + rope_.size() +
          logits_.size()) *
         sizeof(float);
}

void Decoder::run_layers(int T, int pos, const CancelToken& cancel) {
  const int D = cfg_.dim, H = cfg_.n_heads, K = cfg_.n_kv_heads, hd = cfg_.head_dim, F = cfg_.hidden_dim;
  const size_t KVD = static_cast<size_t>(K) * hd;
  text_rope_table(pos, T, hd, cfg_.rope_theta, rope_host_);
  be_.upload(rope_.get(), rope_host_.data(), rope_host_.size());

  float* x = x_.get();
  for (const Layer& L : layers_) {
    cancel.check();
    float* k_rows = L.k_cache + static_cast<size_t>(pos) * KVD;
    float* v_rows = L.v_cache + static_cast<size_t>(pos) * KVD;
    be_.rmsnorm(h_.get(), x, L.w.attention_norm, T, D, cfg_.norm_eps);
    be_.matmul(q_.get(), h_.get(), L.w.wq, nullptr, T, false);
    be_.matmul(k_rows, h_.get(), L.w.wk, nullptr, T, false);  // written straight into the cache
    be_.matmul(v_rows, h_.get(), L.w.wv, nullptr, T, false);
    be_.rope(q_.get(), H * hd, rope_.get(), T, H, hd, pairing_);
    be_.rope(k_rows, static_cast<int>(KVD), rope_.get(), T, K, hd, pairing_);
    be_.attention(attn_.get(), q_.get(), L.k_cache, L.v_cache, T, pos + T, H, K, hd, pos);
    be_.matmul(x, attn_.get(), L.w.wo, nullptr, T, true);
    be_.rmsnorm(h_.get(), x, L.w.ffn_norm, T, D, cfg_.norm_eps);
    be_.matmul(gate_.get(), h_.get(), L.w.w1, nullptr, T, false);
    be_.matmul(up_.get(), h_.get(), L.w.w3, nullptr, T, false);
    be_.silu_mul(gate_.get(), up_.get(), static_cast<size_t>(T) * F);
    be_.matmul(x, gate_.get(), L.w.w2, nullptr, T, true);
  }
}

void Decoder::head(int r0, int n, float* out) {
  const int D = cfg_.dim, V = cfg_.vocab_size;
  for (int done = 0; done < n; done += logits_rows_) {
    const int rows = std::min(logits_rows_, n - done);
    float* xr = x_.get() + static_cast<size_t>(r0 + done) * D;
    be_.rmsnorm(h_.get(), xr, norm_, rows, D, cfg_.norm_eps);
    be_.matmul(logits_.get(), h_.get(), output_, nullptr, rows, false);
    be_.download(out + static_cast<size_t>(done) * V, logits_.get(), static_cast<size_t>(rows) * V);
  }
}

void Decoder::append(const int32_t* ids, int T, const float* image_embeds, int image_token, bool all_logits,
                     int chunk, std::vector<float>& logits_out, const CancelToken& cancel) {
  if (T <= 0) throw EngineError("no tokens to run");
  if (pos_ + T > context_)
    throw EngineError("the prompt needs " + std::to_string(pos_ + T) + " tokens but the context holds " +
                      std::to_string(context_));
  const int D = cfg_.dim, V = cfg_.vocab_size;
  logits_out.assign(static_cast<size_t>(all_logits ? T : 1) * V, 0.f);
  const int start = pos_;
  const int step = chunk > 0 ? std::min(chunk, max_chunk_) : max_chunk_;
  int image_row = 0;
  for (int c0 = 0; c0 < T; c0 += step) {
    const int n = std::min(step, T - c0);
    be_.embed(x_.get(), tok_embeddings_, ids + c0, n);
    for (int t = 0; t < n; ++t)
      if (image_embeds && ids[c0 + t] == image_token)
        be_.copy(x_.get() + static_cast<size_t>(t) * D, image_embeds + static_cast<size_t>(image_row++) * D, D);
    run_layers(n, start + c0, cancel);  // a throw here leaves pos_ at `start`: the rows are ignored
    if (all_logits) head(0, n, logits_out.data() + static_cast<size_t>(c0) * V);
    else if (c0 + n == T) head(n - 1, 1, logits_out.data());
  }
  pos_ = start + T;
}

}  // namespace px
