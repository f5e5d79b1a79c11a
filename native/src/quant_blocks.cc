// See quant_blocks.h. Scalar reference code: the fast kernels read these blocks (kernels_*.cc);
// writing them happens once per weight at load and once per KV row, so plain loops suffice.
#include "quant_blocks.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "float_formats.h"

namespace px {
namespace {

void need_blocks(DType t, int64_t n) {
  if (n % kBlock)
    throw EngineError(ErrorKind::Internal, std::string("a row of ") + std::to_string(n) + " values is not a whole number of " +
                                               dtype_name(t) + " blocks");
}

void quantize_q8_0(const float* x, BlockQ8_0& b) {
  float amax = 0;
  for (int j = 0; j < kBlock; ++j) amax = std::max(amax, std::fabs(x[j]));
  const float d = amax / 127.f, id = d != 0 ? 1.f / d : 0.f;
  b.d = f32_to_f16(d);
  // Nearest, halves away from zero (lround, without its library call: this runs once per weight).
  for (int j = 0; j < kBlock; ++j) {
    const float v = x[j] * id;
    const int t = static_cast<int>(v);
    const float f = v - static_cast<float>(t);
    b.q[j] = static_cast<int8_t>(t + (f >= 0.5f) - (f <= -0.5f));
  }
}

void quantize_q4_0(const float* x, BlockQ4_0& b) {
  float amax = 0, max = 0;
  for (int j = 0; j < kBlock; ++j)
    if (std::fabs(x[j]) > amax) amax = std::fabs(x[j]), max = x[j];
  const float d = max / -8.f, id = d != 0 ? 1.f / d : 0.f;
  b.d = f32_to_f16(d);
  auto nibble = [&](float v) { return static_cast<uint8_t>(std::min(15, static_cast<int>(v * id + 8.5f))); };
  for (int j = 0; j < kBlock / 2; ++j) b.n[j] = static_cast<uint8_t>(nibble(x[j]) | nibble(x[j + kBlock / 2]) << 4);
}

}  // namespace

void quantize_row(DType t, const float* x, int64_t n, void* blocks) {
  need_blocks(t, n);
  for (int64_t b = 0; b < n / kBlock; ++b) {
    if (t == DType::Q8_0) quantize_q8_0(x + b * kBlock, static_cast<BlockQ8_0*>(blocks)[b]);
    else if (t == DType::Q4_0) quantize_q4_0(x + b * kBlock, static_cast<BlockQ4_0*>(blocks)[b]);
    else throw EngineError(ErrorKind::Internal, std::string("cannot quantize to ") + dtype_name(t));
  }
}

void dequantize_row(DType t, const void* blocks, int64_t n, float* out) {
  need_blocks(t, n);
  for (int64_t b = 0; b < n / kBlock; ++b) {
    float* o = out + b * kBlock;
    if (t == DType::Q8_0) {
      const BlockQ8_0& q = static_cast<const BlockQ8_0*>(blocks)[b];
      const float d = f16_to_f32(q.d);
      for (int j = 0; j < kBlock; ++j) o[j] = d * q.q[j];
    } else if (t == DType::Q4_0) {
      const BlockQ4_0& q = static_cast<const BlockQ4_0*>(blocks)[b];
      const float d = f16_to_f32(q.d);
      for (int j = 0; j < kBlock / 2; ++j) {
        o[j] = d * ((q.n[j] & 15) - 8);
        o[j + kBlock / 2] = d * ((q.n[j] >> 4) - 8);
      }
    } else {
      throw EngineError(ErrorKind::Internal, std::string("cannot dequantize ") + dtype_name(t));
    }
  }
}

}  // namespace px
