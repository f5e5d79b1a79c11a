// The 16-bit float formats of weights and KV caches, converted to and from fp32 on the CPU:
// bf16 (fp32's upper half) and IEEE half (f16). Conversions to 16 bits round to nearest even.
// Also row loaders that widen any float or block dtype of the boundary to fp32 (and back).
#pragma once
#include <cstdint>
#include <cstring>

#include "tensor.h"

namespace px {

// Block types (quant_blocks.cc).
void quantize_row(DType t, const float* x, int64_t n, void* blocks);
void dequantize_row(DType t, const void* blocks, int64_t n, float* out);

inline float bits_to_f32(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

inline uint32_t f32_to_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

inline float bf16_to_f32(uint16_t h) { return bits_to_f32(static_cast<uint32_t>(h) << 16); }

inline uint16_t f32_to_bf16(float f) {
  const uint32_t u = f32_to_bits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40);  // NaN stays NaN
  return static_cast<uint16_t>((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

inline float f16_to_f32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu, man = h & 0x3ffu;
  if (exp == 0) {  // zero or subnormal: man * 2^-24
    const float v = static_cast<float>(man) * 5.9604644775390625e-8f;
    return sign ? -v : v;
  }
  if (exp == 31) return bits_to_f32(sign | 0x7f800000u | (man << 13));  // inf / NaN
  return bits_to_f32(sign | ((exp + 112) << 23) | (man << 13));
}

inline uint16_t f32_to_f16(float f) {
  const uint32_t u = f32_to_bits(f);
  const uint16_t sign = static_cast<uint16_t>((u >> 16) & 0x8000u);
  const uint32_t a = u & 0x7fffffffu;
  if (a > 0x7f800000u) return static_cast<uint16_t>(sign | 0x7e00u);  // NaN
  if (a >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // rounds past 65504: inf
  if (a < 0x38800000u) {  // below 2^-14: subnormal half, value = round(|f| * 2^24) * 2^-24
    const float scaled = bits_to_f32(a) * 16777216.f;  // exact: a power-of-two scale
    const uint32_t m = static_cast<uint32_t>(scaled);
    const float rest = scaled - static_cast<float>(m);
    const uint32_t r = m + (rest > 0.5f || (rest == 0.5f && (m & 1u)));
    return static_cast<uint16_t>(sign | r);
  }
  // Normal: rebias the exponent, round the 23-bit mantissa to 10 bits (nearest even).
  const uint32_t rounded = a + 0xfffu + ((a >> 13) & 1u);
  return static_cast<uint16_t>(sign | ((rounded - 0x38000000u) >> 13));
}

// out[i] = row[i] as fp32, for a row of `n` values of a float dtype.
inline void widen_row(DType t, const void* row, int64_t n, float* out) {
  switch (t) {
    case DType::F32: std::memcpy(out, row, static_cast<size_t>(n) * 4); return;
    case DType::BF16:
      for (int64_t i = 0; i < n; ++i) out[i] = bf16_to_f32(static_cast<const uint16_t*>(row)[i]);
      return;
    case DType::F16:
      for (int64_t i = 0; i < n; ++i) out[i] = f16_to_f32(static_cast<const uint16_t*>(row)[i]);
      return;
    case DType::Q8_0:
    case DType::Q4_0: return dequantize_row(t, row, n, out);
    default: throw EngineError(ErrorKind::Internal, std::string("cannot widen ") + dtype_name(t) + " to f32");
  }
}

// row[i] = in[i] rounded to a float dtype.
inline void narrow_row(DType t, const float* in, int64_t n, void* row) {
  switch (t) {
    case DType::F32: std::memcpy(row, in, static_cast<size_t>(n) * 4); return;
    case DType::BF16:
      for (int64_t i = 0; i < n; ++i) static_cast<uint16_t*>(row)[i] = f32_to_bf16(in[i]);
      return;
    case DType::F16:
      for (int64_t i = 0; i < n; ++i) static_cast<uint16_t*>(row)[i] = f32_to_f16(in[i]);
      return;
    case DType::Q8_0:
    case DType::Q4_0: return quantize_row(t, in, n, row);
    default: throw EngineError(ErrorKind::Internal, std::string("cannot store f32 as ") + dtype_name(t));
  }
}

}  // namespace px
