// See decoder.h.
#include "decoder.h"

#include <algorithm>
#include <string>

#include "rope.h"

namespace px {

Decoder::Decoder(Backend& backend, const ModelFiles& files, int context, int max_chunk, DType kv_dtype)
    : be_(backend),
      cfg_(files.config()),
      pairing_(files.layout() == WeightLayout::Mistral ? RopePairing::Interleaved : RopePairing::Half),
      context_(context),
      max_chunk_(std::max(1, std::min(max_chunk, context))),
      logits_rows_(std::min(max_chunk_, 16)),
      kv_dtype_(kv_dtype),
      tok_embeddings_(backend.table(files.get("tok_embeddings.weight"))),
      norm_(backend.weight(files.get("norm.weight"))),
      output_(backend.weight(files.get("output.weight"))) {
  if (kv_dtype != DType::F32 && kv_dtype != DType::F16 && kv_dtype != DType::BF16 && kv_dtype != DType::Q8_0)
    throw EngineError(ErrorKind::BadInput, std::string("a KV cache of ") + dtype_name(kv_dtype) + " is not supported (f32, f16, bf16, q8_0)");
  if (cfg_.head_dim % dtype_traits(kv_dtype).block)
    throw EngineError(ErrorKind::BadInput, std::string("a ") + dtype_name(kv_dtype) + " KV cache needs a head size that is a multiple of " +
                                               std::to_string(dtype_traits(kv_dtype).block) + " (this model's is " +
                                               std::to_string(cfg_.head_dim) + ")");
  const int64_t C = max_chunk_, D = cfg_.dim, QD = static_cast<int64_t>(cfg_.n_heads) * cfg_.head_dim,
                KVD = static_cast<int64_t>(cfg_.n_kv_heads) * cfg_.head_dim, F = cfg_.hidden_dim;
  for (int l = 0; l < cfg_.n_layers; ++l)
    layers_.push_back(Layer{load_block_weights(backend, files, "layers." + std::to_string(l) + "."),
                            OwnedTensor(be_, kv_dtype, context_, KVD), OwnedTensor(be_, kv_dtype, context_, KVD)});
  const std::vector<float> table = text_rope_table(context_, cfg_.head_dim, cfg_.rope_theta);
  rope_ = OwnedTensor(be_, DType::F32, context_, cfg_.head_dim);
  be_.write(*rope_, table.data());
  auto f32 = [&](int64_t rows, int64_t cols) { return OwnedTensor(be_, DType::F32, rows, cols); };
  auto i32 = [&](int64_t cols) { return OwnedTensor(be_, DType::I32, 1, cols); };
  x_ = f32(C, D), h_ = f32(C, D), q_ = f32(C, QD), k_ = f32(C, KVD), v_ = f32(C, KVD), attn_ = f32(C, QD);
  gate_ = f32(C, F), up_ = f32(C, F), logits_ = f32(logits_rows_, cfg_.vocab_size);
  ids_ = i32(C), positions_ = i32(C), image_rows_ = i32(C), token_ = i32(1), position_ = i32(1);
  sampler_ = i32(kSamplerStateInts);
}

size_t Decoder::kv_cache_bytes() const {
  return static_cast<size_t>(2) * cfg_.n_layers * context_ *
         row_bytes(kv_dtype_, static_cast<int64_t>(cfg_.n_kv_heads) * cfg_.head_dim);
}

void Decoder::record_layers(Graph& g, int T, const Tensor& positions) const {
  const int H = cfg_.n_heads, K = cfg_.n_kv_heads, hd = cfg_.head_dim;
  const float eps = cfg_.norm_eps;
  const Tensor x = x_->slice_rows(0, T), h = h_->slice_rows(0, T), q = q_->slice_rows(0, T),
               k = k_->slice_rows(0, T), v = v_->slice_rows(0, T), attn = attn_->slice_rows(0, T),
               gate = gate_->slice_rows(0, T), up = up_->slice_rows(0, T);
  for (const Layer& L : layers_) {
    g.rmsnorm(h, x, L.w.attention_norm, eps);
    g.matmul(q, h, L.w.wq, Tensor{}, false);
    g.matmul(k, h, L.w.wk, Tensor{}, false);
    g.matmul(v, h, L.w.wv, Tensor{}, false);
    g.rope(q, *rope_, positions, H, hd, pairing_);
    g.rope(k, *rope_, positions, K, hd, pairing_);
    g.set_rows(*L.k_cache, k, positions);
    g.set_rows(*L.v_cache, v, positions);
    g.attention(attn, q, *L.k_cache, *L.v_cache, positions, H, K, hd);
    g.matmul(x, attn, L.w.wo, Tensor{}, true);
    g.rmsnorm(h, x, L.w.ffn_norm, eps);
    g.matmul(gate, h, L.w.w1, Tensor{}, false);
    g.matmul(up, h, L.w.w3, Tensor{}, false);
    g.silu_mul(gate, gate, up);
    g.matmul(x, gate, L.w.w2, Tensor{}, true);
    g.cancel_point();
  }
}

void Decoder::record_head(Graph& g, int r0, int n) const {
  const Tensor h = h_->slice_rows(0, n);
  g.rmsnorm(h, x_->slice_rows(r0, n), norm_, cfg_.norm_eps);
  g.matmul(logits_->slice_rows(0, n), h, output_, Tensor{}, false);
}

void Decoder::prefill(const int32_t* ids, int T, int pos, const Tensor& image_embeds, int image_token, int chunk,
                      LogitsMode mode, std::vector<float>* logits_out, const CancelToken& cancel) {
  const size_t V = cfg_.vocab_size;
  if (logits_out) logits_out->assign(mode == LogitsMode::All ? T * V : mode == LogitsMode::Last ? V : 0, 0.f);
  const int step = chunk > 0 ? std::min(chunk, max_chunk_) : max_chunk_;
  std::vector<int32_t> positions(step), image_rows(step);
  int image_row = 0;  // next unused row of image_embeds
  for (int c0 = 0; c0 < T; c0 += step) {
    const int n = std::min(step, T - c0);
    int m = 0;
    for (int t = 0; t < n; ++t) {
      positions[t] = pos + c0 + t;
      if (!image_embeds.empty() && ids[c0 + t] == image_token) image_rows[m++] = t;
    }
    const Tensor chunk_ids = ids_->first_cols(n), chunk_positions = positions_->first_cols(n);
    be_.write(chunk_ids, ids + c0);
    be_.write(chunk_positions, positions.data());
    Graph g;
    g.embed(x_->slice_rows(0, n), tok_embeddings_, chunk_ids);
    if (m > 0) {
      const Tensor rows = image_rows_->first_cols(m);
      be_.write(rows, image_rows.data());
      g.set_rows(x_->slice_rows(0, n), image_embeds.slice_rows(image_row, m), rows);
      image_row += m;
    }
    record_layers(g, n, chunk_positions);
    be_.run(g, cancel);
    if (mode == LogitsMode::All)
      for (int r = 0; r < n; r += logits_rows_) {
        const int rows = std::min(logits_rows_, n - r);
        Graph head;
        record_head(head, r, rows);
        be_.run(head, cancel);
        be_.read(logits_out->data() + static_cast<size_t>(c0 + r) * V, logits_->slice_rows(0, rows));
      }
    if (c0 + n == T) {  // keep the last row's logits for sampling
      Graph head;
      record_head(head, n - 1, 1);
      be_.run(head, cancel);
      if (mode == LogitsMode::Last) be_.read(logits_out->data(), logits_->slice_rows(0, 1));
    }
  }
}

int Decoder::sample_first(const SamplerState& state, int pos, const CancelToken& cancel) {
  if (!sample_graph_) {
    sample_graph_ = std::make_unique<Graph>(true);
    sample_graph_->sample(*token_, logits_->slice_rows(0, 1), *sampler_);
  }
  be_.write(*sampler_, &state);
  be_.write(*position_, &pos);
  be_.run(*sample_graph_, cancel);
  int32_t id = 0;
  be_.read(&id, *token_);
  return id;
}

int Decoder::step(const CancelToken& cancel) {
  if (!step_graph_) {
    step_graph_ = std::make_unique<Graph>(true);
    Graph& g = *step_graph_;
    g.embed(x_->slice_rows(0, 1), tok_embeddings_, *token_);
    record_layers(g, 1, *position_);
    record_head(g, 0, 1);
    g.sample(*token_, logits_->slice_rows(0, 1), *sampler_);
    g.add_i32(*position_, 1);
  }
  be_.run(*step_graph_, cancel);
  int32_t id = 0;
  be_.read(&id, *token_);
  return id;
}

void Decoder::read_logits(float* out) const { be_.read(out, logits_->slice_rows(0, 1)); }

}  // namespace px
