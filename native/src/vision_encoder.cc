// See vision_encoder.h.
#include "vision_encoder.h"

#include <string>

#include "rope.h"

namespace px {
namespace {

// Host im2col: image [3, H, W] -> patches [h*w, 3*P*P], row-major patches, (ch, ky, kx) inside a
// patch, matching the flattened conv weight [Dv, 3, P, P].
void gather_patches(const ImageInput& img, int P, float* out) {
  const int gh = img.height / P, gw = img.width / P;
  const size_t plane = static_cast<size_t>(img.height) * img.width;
  for (int r = 0; r < gh; ++r)
    for (int c = 0; c < gw; ++c) {
      float* dst = out + (static_cast<size_t>(r) * gw + c) * 3 * P * P;
      for (int ch = 0; ch < 3; ++ch)
        for (int ky = 0; ky < P; ++ky) {
          const float* src = img.pixels + ch * plane + static_cast<size_t>(r * P + ky) * img.width + c * P;
          for (int kx = 0; kx < P; ++kx) *dst++ = src[kx];
        }
    }
}

}  // namespace

VisionEncoder::VisionEncoder(Backend& backend, const ModelFiles& files)
    : be_(backend),
      cfg_(files.config().vision),
      pairing_(files.layout() == WeightLayout::Mistral ? RopePairing::Interleaved : RopePairing::Half),
      patch_conv_(backend.weight(files.get("vision_encoder.patch_conv.weight"))),
      ln_pre_(backend.weight(files.get("vision_encoder.ln_pre.weight"))) {
  for (int l = 0; l < cfg_.layers; ++l)
    layers_.push_back(load_block_weights(backend, files, "vision_encoder.transformer.layers." + std::to_string(l) + "."));
  const int side = cfg_.image_size / cfg_.patch;
  const std::vector<float> table = vision_rope_table(side, cfg_.head_dim, cfg_.rope_theta);
  rope_ = OwnedTensor(backend, DType::F32, static_cast<int64_t>(side) * side, cfg_.head_dim);
  backend.write(*rope_, table.data());
}

int VisionEncoder::patches_for(const ImageInput& img) const {
  const int P = cfg_.patch;
  if (img.height <= 0 || img.width <= 0 || img.height % P || img.width % P)
    throw EngineError(ErrorKind::BadInput, "image of " + std::to_string(img.width) + "x" + std::to_string(img.height) +
                                               " px: both sides must be positive multiples of the patch size " +
                                               std::to_string(P));
  if (img.height > cfg_.image_size || img.width > cfg_.image_size)
    throw EngineError(ErrorKind::BadInput, "image of " + std::to_string(img.width) + "x" + std::to_string(img.height) +
                                               " px exceeds the model's maximum side of " +
                                               std::to_string(cfg_.image_size) + " px");
  return (img.height / P) * (img.width / P);
}

VisionPass VisionEncoder::record(Graph& g, const std::vector<ImageInput>& images, const Tensor& out,
                                 bool capture) const {
  const int P = cfg_.patch, Dv = cfg_.hidden, hv = cfg_.head_dim, heads = cfg_.heads, Fv = cfg_.intermediate;
  const int side = cfg_.image_size / P;
  std::vector<int> counts;
  int S = 0;
  for (const ImageInput& img : images) S += counts.emplace_back(patches_for(img));
  VisionPass pass;
  if (S == 0) return pass;

  // Inputs: patches [S, 3PP] and each patch's row in the RoPE table (restarting at (0, 0) per image).
  const size_t patch_len = static_cast<size_t>(3) * P * P;
  std::vector<float> patches(S * patch_len);
  std::vector<int32_t> positions(S);
  int row = 0;
  for (const ImageInput& img : images) {
    gather_patches(img, P, patches.data() + row * patch_len);
    const int gw = img.width / P;
    for (int i = 0, n = (img.height / P) * gw; i < n; ++i) positions[row + i] = (i / gw) * side + i % gw;
    row += (img.height / P) * gw;
  }
  const Tensor d_patches = *pass.inputs.emplace_back(be_, DType::F32, S, static_cast<int64_t>(patch_len));
  const Tensor d_positions = *pass.inputs.emplace_back(be_, DType::I32, 1, S);
  be_.write(d_patches, patches.data());
  be_.write(d_positions, positions.data());

  // Copies of the views: the vector of owners may move them, never the buffers they point to.
  auto activation = [&](int64_t cols) { return *pass.scratch.emplace_back(be_, DType::F32, S, cols); };
  const Tensor h = activation(Dv), q = activation(Dv), k = activation(Dv), v = activation(Dv), attn = activation(Dv),
               gate = activation(Fv), up = activation(Fv);
  const Tensor& x = out;  // the residual stream lives in the output [S, Dv]
  auto snapshot = [&] {
    if (capture) g.copy(*pass.captures.emplace_back(be_, DType::F32, S, Dv), x);
  };

  g.matmul(x, d_patches, patch_conv_, Tensor{}, false);
  snapshot();
  g.rmsnorm(x, x, ln_pre_, VisionConfig::norm_eps);
  snapshot();
  for (const BlockWeights& L : layers_) {
    g.rmsnorm(h, x, L.attention_norm, VisionConfig::norm_eps);
    g.matmul(q, h, L.wq, Tensor{}, false);
    g.matmul(k, h, L.wk, Tensor{}, false);
    g.matmul(v, h, L.wv, Tensor{}, false);
    g.rope(q, *rope_, d_positions, heads, hv, pairing_);
    g.rope(k, *rope_, d_positions, heads, hv, pairing_);
    // Block-diagonal attention = one unmasked attention per image over its own rows.
    int r0 = 0;
    for (int n : counts) {
      g.attention(attn.slice_rows(r0, n), q.slice_rows(r0, n), k.slice_rows(r0, n), v.slice_rows(r0, n), Tensor{},
                  heads, heads, hv);
      r0 += n;
    }
    g.matmul(x, attn, L.wo, Tensor{}, true);
    g.rmsnorm(h, x, L.ffn_norm, VisionConfig::norm_eps);
    g.matmul(gate, h, L.w1, Tensor{}, false);
    g.matmul(up, h, L.w3, Tensor{}, false);
    g.silu_mul(gate, gate, up);
    g.matmul(x, gate, L.w2, Tensor{}, true);
    snapshot();
    g.cancel_point();
  }
  return pass;
}

}  // namespace px
