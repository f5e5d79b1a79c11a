// Pipeline stage: images -> vision features. Pixtral-ViT (spec b): bias-free patch conv, ln_pre,
// 2D RoPE, pre-norm blocks with SwiGLU, no final norm. Several images of different sizes are packed
// into one sequence; attention is block-diagonal, computed image by image so no S x S mask exists.
#pragma once
#include <vector>

#include "backend.h"
#include "block_weights.h"
#include "cancel.h"
#include "model_files.h"

namespace px {

// One preprocessed image on the host: float CHW [3, height, width], sides multiples of the patch.
struct ImageInput {
  const float* pixels = nullptr;
  int height = 0;
  int width = 0;
};

// Intermediate activations for parity tests, each [S, Dv] on the host.
struct VisionCapture {
  std::vector<float> patch_embeds_conv;
  std::vector<float> ln_pre;
  std::vector<std::vector<float>> layers;
};

class VisionEncoder {
 public:
  VisionEncoder(Backend& backend, const ModelFiles& files);

  // Patch rows an image contributes (h * w); throws EngineError for sizes the model cannot take.
  int patches_for(const ImageInput& image) const;
  int hidden() const { return cfg_.hidden; }

  // out: device [S, Dv], S = sum of patches_for(images). capture may be null.
  void encode(const std::vector<ImageInput>& images, float* out, VisionCapture* capture, const CancelToken& cancel);

 private:
  Backend& be_;
  VisionConfig cfg_;
  RopePairing pairing_;
  Weight patch_conv_;  // [Dv, 3*P*P]
  Weight ln_pre_;      // [Dv]
  std::vector<BlockWeights> layers_;
};

}  // namespace px
