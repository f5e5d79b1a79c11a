// Block weights with 16 rows interleaved a block at a time: the layout the AVX-512 VNNI kernel set
// multiplies (kernels_avx512.cc), made by the CPU backend when it takes a Q8_0 / Q4_0 weight
// (native/QUANT.md, "Interleaved rows"). Rows 16g..16g+15 occupy the same bytes as in the file
// (16 rows x nb blocks), reordered block by block; rows past the last whole group keep the file
// layout. For block b of a group, at (16g * nb + 16b) * block_bytes:
//   d[16]                   fp16 scales of the 16 rows
//   Q8_0: chunk[8][16][4]   chunk k, row j: that row's q[4k..4k+3] + 128 (unsigned)
//   Q4_0: chunk[4][16][4]   chunk m, row j: that row's bytes n[4m..4m+3] (nibbles as stored)
// so one 64-byte load is a column of four weights for each of 16 rows, which VPDPBUSD multiplies
// by four broadcast activations into 16 per-row sums, with no shuffle and no horizontal add.
// Q4_0's low nibbles of chunk m are values 4m..4m+3, its high nibbles values 16+4m..16+4m+3.
#pragma once
#include <cstdint>

#include "tensor.h"

namespace px {

constexpr int kInterleavedRows = 16;

// dst = src [rows, cols] of Q8_0 / Q4_0 in the interleaved layout (same byte count).
void interleave_rows(DType t, const void* src, int64_t rows, int64_t cols, void* dst);
// Row r of an interleaved tensor back in the file layout (row_bytes(t, cols) bytes).
void file_row(DType t, const void* interleaved, int64_t rows, int64_t cols, int64_t r, void* out);

}  // namespace px
