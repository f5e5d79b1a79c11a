// Pipeline stage: images -> vision features. Pixtral-ViT (spec b): bias-free patch conv, ln_pre,
// 2D RoPE, pre-norm blocks with SwiGLU, no final norm. Several images of different sizes are packed
// into one sequence; attention is block-diagonal, computed image by image so no S x S mask exists.
// The encoder is recorded into a Graph (with the adapter after it, when prefilling) and run at once.
#pragma once
#include <vector>

#include "backend.h"
#include "block_weights.h"
#include "model_files.h"

namespace px {

// One preprocessed image on the host: float CHW [3, height, width], sides multiples of the patch.
struct ImageInput {
  const float* pixels = nullptr;
  int height = 0;
  int width = 0;
};

// The device tensors one recorded encoder pass reads and writes; they must outlive its run.
struct VisionPass {
  std::vector<OwnedTensor> inputs;   // patches [S, 3*P*P], positions i32 [1, S]
  std::vector<OwnedTensor> scratch;  // activations
  // With capture: f32 [S, Dv] copies of the patch conv output, ln_pre and each layer's output.
  std::vector<OwnedTensor> captures;
};

class VisionEncoder {
 public:
  VisionEncoder(Backend& backend, const ModelFiles& files);

  // Patch rows an image contributes (h * w); throws EngineError for sizes the model cannot take.
  int patches_for(const ImageInput& image) const;
  int hidden() const { return cfg_.hidden; }

  // Records the encoder over `images` into g, writing its inputs to the device now; out: [S, Dv]
  // with S = sum of patches_for(images).
  VisionPass record(Graph& g, const std::vector<ImageInput>& images, const Tensor& out, bool capture) const;

 private:
  Backend& be_;
  VisionConfig cfg_;
  RopePairing pairing_;
  Tensor patch_conv_;   // [Dv, 3*P*P]
  Tensor ln_pre_;       // [1, Dv]
  std::vector<BlockWeights> layers_;
  OwnedTensor rope_;    // f32 [(image_size/P)^2, hv]: 2D RoPE of every patch position
};

}  // namespace px
