// Block-quantized weights (native/QUANT.md): the two block layouts of the backend boundary, Q8_0
// and Q4_0 (tensor.h), byte for byte those of llama.cpp's GGUF. 32 values share one fp16 scale:
//   Q8_0 (34 bytes): d, q[32] int8            x[j] = d * q[j]
//   Q4_0 (18 bytes): d, n[16] two nibbles     x[j] = d * ((n[j] & 15) - 8), x[j+16] = d * ((n[j] >> 4) - 8)
// Q4_0 puts values j and j+16 in one byte, so one 16-byte load, a mask and a shift give 32 values
// in order with no shuffle. The reference (de)quantizers here define the values: the quantizer at
// load (quantize.cc), the KV cache (set_rows) and the op harness all round through them.
#pragma once
#include <cstddef>
#include <cstdint>

#include "tensor.h"

namespace px {

constexpr int kBlock = 32;  // values per block of both types

struct BlockQ8_0 {
  uint16_t d;  // fp16 scale
  int8_t q[kBlock];
};
struct BlockQ4_0 {
  uint16_t d;  // fp16 scale
  uint8_t n[kBlock / 2];
};
static_assert(sizeof(BlockQ8_0) == 34 && sizeof(BlockQ4_0) == 18, "GGUF block sizes");

// Rounds n values (a multiple of 32) into blocks, as llama.cpp's reference quantizers do:
// Q8_0: d = max|x| / 127, q = round(x / d); Q4_0: m = the value of largest magnitude, d = m / -8,
// n = min(15, trunc(x / d + 8.5)).
void quantize_row(DType t, const float* x, int64_t n, void* blocks);
// out[i] = the value block i / 32 holds for element i.
void dequantize_row(DType t, const void* blocks, int64_t n, float* out);

}  // namespace px
