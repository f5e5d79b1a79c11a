// Tensors at the backend boundary: a typed, shaped view into a buffer that a backend owns. The model
// code (vision_encoder, adapter, decoder) holds only these views and makes sub-views of rows; it
// never sees a pointer into device memory, so a CUDA allocation and a WebGPU buffer handle plus an
// offset look alike. Element types include block layouts (several values share a scale), whose
// rows are a whole number of blocks.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "error.h"

namespace px {

// Element type of a tensor on a backend. Block types pack `block` values into `block_bytes`.
enum class DType : uint8_t {
  F32,
  F16,
  BF16,
  I32,
  // Block types (native/QUANT.md): 32 weights share one fp16 scale d; the byte layouts are those of
  // llama.cpp's GGUF, so a GGUF tensor is used in place.
  Q8_0,  // {f16 d; int8 q[32]}: x = d * q
  Q4_0,  // {f16 d; uint8 n[16]}: x[j] = d * ((n[j] & 15) - 8), x[j + 16] = d * ((n[j] >> 4) - 8)
};

struct DTypeTraits {
  const char* name;
  int block;        // values per block (1 for scalar types)
  int block_bytes;  // bytes per block
};

constexpr DTypeTraits dtype_traits(DType t) {
  switch (t) {
    case DType::F32: return {"f32", 1, 4};
    case DType::F16: return {"f16", 1, 2};
    case DType::BF16: return {"bf16", 1, 2};
    case DType::I32: return {"i32", 1, 4};
    case DType::Q8_0: return {"q8_0", 32, 34};
    case DType::Q4_0: return {"q4_0", 32, 18};
  }
  return {"?", 1, 1};
}

inline const char* dtype_name(DType t) { return dtype_traits(t).name; }
inline bool is_block(DType t) { return dtype_traits(t).block > 1; }

// Bytes of one row of `cols` values; throws when cols is not a whole number of blocks.
inline size_t row_bytes(DType t, int64_t cols) {
  const DTypeTraits d = dtype_traits(t);
  if (cols < 0 || cols % d.block)
    throw EngineError(ErrorKind::BadInput, std::string("a row of ") + std::to_string(cols) + " " + d.name +
                                               " values is not a whole number of " + std::to_string(d.block) +
                                               "-value blocks");
  return static_cast<size_t>(cols / d.block) * d.block_bytes;
}

// Memory owned by one backend. Backends derive from it; the model code only passes it around.
class Buffer {
 public:
  explicit Buffer(size_t bytes) : bytes_(bytes) {}
  virtual ~Buffer() = default;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  size_t bytes() const { return bytes_; }

 private:
  size_t bytes_;
};

// A 2-D row-major view [rows, cols] of `dtype` starting `offset` bytes into `buffer`. Rows are
// contiguous (row stride = row_bytes). A vector is one row.
struct Tensor {
  Buffer* buffer = nullptr;
  size_t offset = 0;
  DType dtype = DType::F32;
  int64_t rows = 0;
  int64_t cols = 0;

  bool empty() const { return buffer == nullptr; }
  int64_t numel() const { return rows * cols; }
  size_t row_bytes() const { return px::row_bytes(dtype, cols); }
  size_t bytes() const { return static_cast<size_t>(rows) * row_bytes(); }

  // Rows [r0, r0 + n) of this tensor.
  Tensor slice_rows(int64_t r0, int64_t n) const {
    if (r0 < 0 || n < 0 || r0 + n > rows)
      throw EngineError(ErrorKind::Internal, "rows [" + std::to_string(r0) + ", " + std::to_string(r0 + n) +
                                                 ") are outside a tensor of " + std::to_string(rows) + " rows");
    Tensor t = *this;
    t.offset += static_cast<size_t>(r0) * row_bytes();
    t.rows = n;
    return t;
  }
  // Values [0, n) of a one-row tensor (an id or position list used in part).
  Tensor first_cols(int64_t n) const {
    if (rows != 1 || n < 0 || n > cols)
      throw EngineError(ErrorKind::Internal, "cannot take " + std::to_string(n) + " values of " + shape());
    return reshape(cols, 1).slice_rows(0, n).reshape(1, n);
  }
  // The same bytes seen as [rows, cols] (rows * cols must not change).
  Tensor reshape(int64_t new_rows, int64_t new_cols) const {
    if (new_rows * new_cols != numel())
      throw EngineError(ErrorKind::Internal, "cannot view " + shape() + " as [" + std::to_string(new_rows) + ", " +
                                                 std::to_string(new_cols) + "]");
    Tensor t = *this;
    t.rows = new_rows;
    t.cols = new_cols;
    return t;
  }
  std::string shape() const {
    return std::string(dtype_name(dtype)) + "[" + std::to_string(rows) + ", " + std::to_string(cols) + "]";
  }
};

}  // namespace px
