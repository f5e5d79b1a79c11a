// The op harness (after llama.cpp's test-backend-ops): every op of the backend boundary, on every
// dtype it takes and on shapes that include odd sizes, run alone on a backend with fresh random
// inputs and compared with the float64 reference (reference_ops.h) under a per-op tolerance. A
// backend is correct when it passes this and the fixtures. Used by the op_harness program (CPU
// kernel sets, the CUDA library) and by anything that can hand it a Backend.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "../src/backend.h"

namespace px::harness {

struct CaseResult {
  std::string op;      // "matmul"
  std::string name;    // "w=bf16 T=5 K=513 N=65 bias accumulate"
  double error = 0;    // the case's error measure (see `measure`)
  double tolerance = 0;
  std::string measure;  // what `error` is, e.g. "max |err| / row scale"
  bool ok = false;
  std::string failure;  // an exception the backend threw, if any
};

struct Options {
  uint64_t seed = 1;
  std::string filter;  // only cases whose "op name" contains this
  // Tolerance profile of a backend whose matrix units take bf16 operands (the CUDA backend: tensor-
  // core GEMM for T > 8 rows, flash attention for 16+ query rows). Rounding x to bf16 moves each
  // product by at most 2^-9 of |x*w|, so a matmul's error stays under 2^-9 sum|x*w| plus fp32
  // accumulation: 4e-3 instead of 1e-5. Attention also rounds q, the softmax weights and f32/f16
  // K/V to bf16 (relative 2^-9 each, scores error ~2^-8 |q||k| / sqrt(hd)): 2e-2 of the output's
  // scale instead of 2e-5. Decode-sized cases keep the fp32 tolerances.
  bool bf16_matrix_units = false;
  // Block-weight matmuls with T up to this many rows round x to int8 (the CPU kernel set's
  // quantized_acts_rows): their allowance adds the largest error that rounding can cause.
  int int8_activation_rows = 4;
};

// Runs every case on `backend`; never throws for a failing case (it is reported).
std::vector<CaseResult> run_all(Backend& backend, const Options& options);

}  // namespace px::harness
