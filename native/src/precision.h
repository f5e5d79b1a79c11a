// Weight precision of a load (native/QUANT.md): which checkpoint tensors are stored in which block
// type. One rule, used by the quantizer that writes the weights (quantize.cc) and by the memory plan
// the fit check reads (Engine::plan), so the two can never disagree.
//   bf16     the checkpoint as it is
//   q8_0     every matrix Q8_0
//   q4_0     every matrix Q4_0, except the outlier-sensitive ones kept at Q8_0: the token
//            embeddings, the output head and the vision patch convolution
//   q4_0-pure every matrix Q4_0 (llama.cpp's --pure)
// Norm weights and biases stay bf16; a matrix whose rows are not whole 32-value blocks stays bf16.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "tensor.h"

namespace px {

enum class Precision : uint8_t { BF16, Q8_0, Q4_0, Q4_0_Pure };

// "bf16" | "q8_0" | "q4_0" | "q4_0-pure"; throws EngineError(BadInput) naming the choices.
Precision precision_from_name(const std::string& name);
const char* precision_name(Precision p);

// The type tensor `mistral_name` of this shape (checkpoint order, bf16 in the checkpoint) is kept
// in at precision p.
DType stored_dtype(Precision p, const std::string& mistral_name, const std::vector<int64_t>& shape);

}  // namespace px
