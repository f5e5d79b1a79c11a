// CPU compute kernels: the inner loops the CPU backend runs, in one table per instruction set.
// Runtime dispatch picks the best table the processor supports (AVX-512 with VNNI, then AVX2+FMA on
// x86-64, NEON with the dot-product extension or plain NEON on arm64, else the portable one);
// PIXTRAL_KERNELS=generic|avx2|avx512-vnni|neon|neon-dotprod forces one (tests compare them).
// Weights are bf16 bit patterns (fp32 = bits << 16) or Q8_0 / Q4_0 blocks (quant_blocks.h);
// activations and accumulation are fp32, except that block-weight matvecs round the activations
// per 32-value block to int8 first (QuantizedActs), as llama.cpp's q8_0 dot products do: one int8
// product per weight is what lets a 4-bit stream keep up with memory.
#pragma once
#include <cstdint>
#include <string>

#include "float_formats.h"
#include "interleaved_blocks.h"

namespace px {

// A block of query rows x one kv head for attention_tile (see attention_tile.h). q, out: [Tq, H*hd];
// k, v: the kv head's first element of key row 0, rows kv_stride floats apart, Tk rows.
// positions (nondecreasing, or nullptr for no mask): query row i sees keys j <= positions[i].
struct AttentionTile {
  float* out;
  const float* q;
  const float* k;
  const float* v;
  size_t kv_stride;
  const int32_t* positions;
  int row0, rows, kv_head;
  int Tk, H, K, hd;
  float scale;
};

// x [T, in] rounded per 32-value block to int8 by quantize_acts: x[t, i] ≈ d[t, i/32] * q[t, i].
struct QuantizedActs {
  const int8_t* q;  // [T, in]
  const float* d;   // [T, in/32] block scales, max|x| / 127
  const float* ds;  // [T, in/32] d * sum(q) of each block (what Q4_0's offset of 8 multiplies)
};
// Block-weight matmuls of the file-layout sets with T <= kQuantizedActsRows read xq (int8
// products); larger T read x and widen the weights to fp32 a panel at a time (prefill, vision:
// compute-bound, exact activations). The interleaved set reads xq at every T.
constexpr int kQuantizedActsRows = 4;

struct CpuKernels {
  const char* name;
  // y[t, r] = (accumulate ? y[t, r] : 0) + sum_i x[t, i] * W[r, i]
  //   for t in [0, T), r in [r0, r1).  x: [T, in] (row stride in), W: [out, in] bf16, y: [T, ldy].
  void (*matmul_bf16)(float* y, int ldy, const float* x, const uint16_t* w, int T, int in, int r0,
                      int r1, bool accumulate);
  // quantize_acts: one row of n (a multiple of 32) values into q[n], d[n/32], ds[n/32].
  void (*quantize_acts)(const float* x, int n, int8_t* q, float* d, float* ds);
  // As matmul_bf16 for W [out, in] of Q8_0 / Q4_0 blocks (in a multiple of 32); xq is x quantized
  // when T <= quantized_acts_rows, else unused.
  void (*matmul_q8_0)(float* y, int ldy, const float* x, const QuantizedActs& xq, const uint8_t* w, int T, int in,
                      int r0, int r1, bool accumulate);
  void (*matmul_q4_0)(float* y, int ldy, const float* x, const QuantizedActs& xq, const uint8_t* w, int T, int in,
                      int r0, int r1, bool accumulate);
  float (*dot)(const float* a, const float* b, int n);      // sum a[i]*b[i]
  void (*axpy)(float* y, float a, const float* x, int n);   // y[i] += a*x[i]
  void (*widen_f16)(const uint16_t* h, int n, float* out);  // out[i] = h[i], IEEE half to fp32 (f16 KV cache)
  void (*attention_tile)(const AttentionTile& tile);          // softmax(q k^T * scale) v for the tile
  // Layout of the block weights matmul_q8_0 / q4_0 read: 0, the file's; kInterleavedRows, 16 rows
  // interleaved a block at a time (interleaved_blocks.h), made by the CPU backend when it takes a
  // weight. With interleaved rows the backend passes [r0, r1) as whole groups of 16 rows, or rows
  // of the tail past the last whole group (file layout there), never a range across both.
  int interleaved_rows = 0;
  // bf16 weights in 32-row panels (interleaved_blocks.h), when the set has a kernel for them
  // (nullptr: the backend keeps the file layout). The backend passes [r0, r1) as whole panels;
  // the rows past the last one go to matmul_bf16, which finds them where the file has them.
  void (*matmul_bf16_panels)(float* y, int ldy, const float* x, const uint16_t* w, int T, int in, int r0, int r1,
                             bool accumulate) = nullptr;
  // dst = src [rows, cols] of bf16 in those panels, rows past the last whole panel as they are.
  void (*interleave_bf16)(const uint16_t* src, int64_t rows, int64_t cols, uint16_t* dst) = nullptr;
  // Block-weight matmuls with T <= this many rows read xq (int8 activations), above it x in fp32.
  int quantized_acts_rows = kQuantizedActsRows;
};

// Best supported set (or the one PIXTRAL_KERNELS names, if supported).
const CpuKernels& cpu_kernels();
// A named set if this build and processor support it, else nullptr.
const CpuKernels* cpu_kernels_named(const std::string& name);

// Per-ISA tables, defined in kernels_<isa>.cc; nullptr when not compiled in.
const CpuKernels* generic_kernels();
const CpuKernels* avx2_kernels();
const CpuKernels* avx512_vnni_kernels();  // AVX-512 F/BW/VL + VNNI decode matvecs over the AVX2 set
const CpuKernels* neon_kernels();
const CpuKernels* neon_dotprod_kernels();  // nullptr also where the processor lacks SDOT

}  // namespace px
