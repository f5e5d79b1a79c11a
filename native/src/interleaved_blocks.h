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
//
// bf16 weights, for the same kernel set, as panels of 32 rows: rows 32g..32g+31 occupy the same
// elements as in the file, input by input, each input's 32 weights paired: panel[k][2i] = W[32g + i, k]
// and panel[k][2i + 1] = W[32g + 16 + i, k] for i < 16. One 64-byte load is one input's weight for
// 32 rows, and two bit operations on its 32-bit lanes (shift left 16; keep the high half) widen
// rows 0..15 and 16..31 to fp32 in order, with no shuffle. Decode needs no horizontal sum, and a
// prefill panel's inputs k0..k0+255 are 16 KiB in one place rather than 512 bytes in each of 32
// rows `cols` apart, which the hardware prefetchers did not follow (the widening that read them
// was a sixth of prefill). Rows past the last whole panel keep the file layout, as for the blocks.
#pragma once
#include <cstdint>

#include "tensor.h"

namespace px {

constexpr int kInterleavedRows = 16;
constexpr int kBf16PanelRows = 32;

// Rows interleaved together for weights of type t: 16 for Q8_0 / Q4_0, 32 for bf16.
inline int interleaved_rows_of(DType t) { return t == DType::BF16 ? kBf16PanelRows : kInterleavedRows; }
// Where row j of a bf16 panel sits among an input's 32 weights. The kernel set that reads the
// panels also lays them out (CpuKernels::interleave_bf16).
inline int panel_slot(int j) { return j < 16 ? 2 * j : 2 * (j - 16) + 1; }

// dst = src [rows, cols] of Q8_0 / Q4_0 in the interleaved layout (same byte count).
void interleave_rows(DType t, const void* src, int64_t rows, int64_t cols, void* dst);

}  // namespace px
