// See interleaved_blocks.h.
#include "interleaved_blocks.h"

#include <cstring>

#include "quant_blocks.h"

namespace px {
namespace {

constexpr int kGroupScaleBytes = kInterleavedRows * 2;  // d[16]

// Where row j's four bytes of chunk k start within a group's block, and what they hold.
inline size_t chunk_at(int k, int j) { return kGroupScaleBytes + static_cast<size_t>(k) * 64 + j * 4; }

// Row j's block (file layout) into a group's block.
void to_group(DType t, const uint8_t* file_block, int j, uint8_t* group_block) {
  std::memcpy(group_block + j * 2, file_block, 2);
  if (t == DType::Q8_0) {
    const int8_t* q = reinterpret_cast<const BlockQ8_0*>(file_block)->q;
    for (int k = 0; k < 8; ++k)
      for (int c = 0; c < 4; ++c) group_block[chunk_at(k, j) + c] = static_cast<uint8_t>(q[4 * k + c]) ^ 0x80;  // + 128
  } else {
    const uint8_t* n = reinterpret_cast<const BlockQ4_0*>(file_block)->n;
    for (int m = 0; m < 4; ++m) std::memcpy(group_block + chunk_at(m, j), n + 4 * m, 4);
  }
}

}  // namespace

void interleave_rows(DType t, const void* src, int64_t rows, int64_t cols, void* dst) {
  const size_t rb = row_bytes(t, cols), bb = dtype_traits(t).block_bytes;
  const int64_t nb = cols / kBlock, full = rows / kInterleavedRows * kInterleavedRows;
  const auto* s = static_cast<const uint8_t*>(src);
  auto* o = static_cast<uint8_t*>(dst);
  for (int64_t g = 0; g < full; g += kInterleavedRows)
    for (int64_t b = 0; b < nb; ++b) {
      uint8_t* gb = o + g * rb + static_cast<size_t>(b) * kInterleavedRows * bb;
      for (int j = 0; j < kInterleavedRows; ++j) to_group(t, s + (g + j) * rb + b * bb, j, gb);
    }
  std::memcpy(o + full * rb, s + full * rb, (rows - full) * rb);
}

}  // namespace px
