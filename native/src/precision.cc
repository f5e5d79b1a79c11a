// See precision.h.
#include "precision.h"

#include "error.h"

namespace px {

Precision precision_from_name(const std::string& name) {
  if (name == "bf16") return Precision::BF16;
  if (name == "q8_0") return Precision::Q8_0;
  if (name == "q4_0") return Precision::Q4_0;
  if (name == "q4_0-pure") return Precision::Q4_0_Pure;
  throw EngineError(ErrorKind::BadInput, "precision \"" + name + "\" is not one of bf16, q8_0, q4_0, q4_0-pure");
}

const char* precision_name(Precision p) {
  switch (p) {
    case Precision::BF16: return "bf16";
    case Precision::Q8_0: return "q8_0";
    case Precision::Q4_0: return "q4_0";
    case Precision::Q4_0_Pure: return "q4_0-pure";
  }
  return "?";
}

DType stored_dtype(Precision p, const std::string& name, const std::vector<int64_t>& shape) {
  int64_t cols = 1;
  for (size_t i = 1; i < shape.size(); ++i) cols *= shape[i];
  if (p == Precision::BF16 || shape.size() < 2 || cols % 32) return DType::BF16;
  if (p == Precision::Q8_0) return DType::Q8_0;
  const bool sensitive = name == "tok_embeddings.weight" || name == "output.weight" || name == "vision_encoder.patch_conv.weight";
  return p == Precision::Q4_0 && sensitive ? DType::Q8_0 : DType::Q4_0;
}

}  // namespace px
