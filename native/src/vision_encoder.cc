// See vision_encoder.h.
#include "vision_encoder.h"

#include <string>

#include "error.h"
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
}

int VisionEncoder::patches_for(const ImageInput& img) const {
  const int P = cfg_.patch;
  if (img.height <= 0 || img.width <= 0 || img.height % P || img.width % P)
    throw EngineError("image of " + std::to_string(img.width) + "x" + std::to_string(img.height) +
                      " px: both sides must be positive multiples of the patch size " + std::to_string(P));
  if (img.height > cfg_.image_size || img.width > cfg_.image_size)
    throw EngineError("image of " + std::to_string(img.width) + "x" + std::to_string(img.height) +
                      " px exceeds the model's maximum side of " + std::to_string(cfg_.image_size) + " px");
  return (img.height / P) * (img.width / P);
}

void VisionEncoder::encode(const std::vector<ImageInput>& images, float* out, VisionCapture* capture,
                           const CancelToken& cancel) {
  const int P = cfg_.patch, Dv = cfg_.hidden, hv = cfg_.head_dim, heads = cfg_.heads, Fv = cfg_.intermediate;
  std::vector<int> counts;
  int S = 0;
  for (const ImageInput& img : images) S += counts.emplace_back(patches_for(img));
  if (S == 0) return;
  const size_t patch_len = static_cast<size_t>(3) * P * P;

  // Host-side inputs: patches [S, 3PP] and the 2D RoPE table [2, S, hv/2] of all images, restarting
  // at (0, 0) for each image.
  std::vector<float> patches(S * patch_len);
  std::vector<float> rope(static_cast<size_t>(2) * S * (hv / 2));
  int row = 0;
  for (size_t k = 0; k < images.size(); ++k) {
    gather_patches(images[k], P, patches.data() + row * patch_len);
    const std::vector<float> t = vision_rope_table(images[k].height / P, images[k].width / P, hv, cfg_.rope_theta);
    const size_t n = static_cast<size_t>(counts[k]) * (hv / 2);
    std::copy(t.begin(), t.begin() + n, rope.begin() + row * (hv / 2));
    std::copy(t.begin() + n, t.end(), rope.begin() + static_cast<size_t>(S) * (hv / 2) + row * (hv / 2));
    row += counts[k];
  }

  DeviceBuffer d_patches(be_, patches.size()), d_rope(be_, rope.size());
  DeviceBuffer h(be_, static_cast<size_t>(S) * Dv), q(be_, static_cast<size_t>(S) * Dv),
      k(be_, static_cast<size_t>(S) * Dv), v(be_, static_cast<size_t>(S) * Dv), attn(be_, static_cast<size_t>(S) * Dv),
      gate(be_, static_cast<size_t>(S) * Fv), up(be_, static_cast<size_t>(S) * Fv);
  be_.upload(d_patches.get(), patches.data(), patches.size());
  be_.upload(d_rope.get(), rope.data(), rope.size());

  float* x = out;  // the residual stream lives in the output buffer [S, Dv]
  auto snapshot = [&](std::vector<float>& dst) {
    dst.resize(static_cast<size_t>(S) * Dv);
    be_.download(dst.data(), x, dst.size());
  };

  be_.matmul(x, d_patches.get(), patch_conv_, nullptr, S, false);
  if (capture) snapshot(capture->patch_embeds_conv);
  be_.rmsnorm(x, x, ln_pre_, S, Dv, VisionConfig::norm_eps);
  if (capture) snapshot(capture->ln_pre);

  for (const BlockWeights& L : layers_) {
    cancel.check();
    be_.rmsnorm(h.get(), x, L.attention_norm, S, Dv, VisionConfig::norm_eps);
    be_.matmul(q.get(), h.get(), L.wq, nullptr, S, false);
    be_.matmul(k.get(), h.get(), L.wk, nullptr, S, false);
    be_.matmul(v.get(), h.get(), L.wv, nullptr, S, false);
    // RoPE over all rows at once: the table already restarts per image.
    be_.rope(q.get(), Dv, d_rope.get(), S, heads, hv, pairing_);
    be_.rope(k.get(), Dv, d_rope.get(), S, heads, hv, pairing_);
    // Block-diagonal attention = one unmasked attention per image over its own rows.
    int r0 = 0;
    for (int n : counts) {
      const size_t off = static_cast<size_t>(r0) * Dv;
      be_.attention(attn.get() + off, q.get() + off, k.get() + off, v.get() + off, n, n, heads, heads, hv, -1);
      r0 += n;
    }
    be_.matmul(x, attn.get(), L.wo, nullptr, S, true);
    be_.rmsnorm(h.get(), x, L.ffn_norm, S, Dv, VisionConfig::norm_eps);
    be_.matmul(gate.get(), h.get(), L.w1, nullptr, S, false);
    be_.matmul(up.get(), h.get(), L.w3, nullptr, S, false);
    be_.silu_mul(gate.get(), up.get(), static_cast<size_t>(S) * Fv);
    be_.matmul(x, gate.get(), L.w2, nullptr, S, true);
    if (capture) snapshot(capture->layers.emplace_back());
  }
}

}  // namespace px
