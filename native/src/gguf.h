// Stage 0 of the pipeline for llama.cpp users' files: one memory-mapped GGUF file (versions 2 and
// 3), validated in full before any tensor pointer is handed out, as safetensors.cc does for its
// format: magic and version, every string and array inside the file, known value and tensor types,
// shapes whose byte size does not overflow, tensor data aligned to general.alignment, inside the
// data section and not overlapping. Tensors of the types the engine reads (F32, F16, BF16, Q8_0,
// Q4_0) become TensorViews into the mapping; the others are listed by name and type so the loader
// can say which quant type it does not read.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "safetensors.h"

namespace px {

class GgufFile {
 public:
  // A metadata value: scalars keep their value, arrays their element type and length.
  struct Value {
    uint32_t type = 0;  // GGUF value type (4 = uint32, 6 = float32, 8 = string, 9 = array, ...)
    int64_t integer = 0;
    double number = 0;
    bool boolean = false;
    std::string string;
    uint32_t array_type = 0;
    uint64_t array_length = 0;
  };

  // Throws EngineError(BadWeights) naming the file, the key or tensor and the byte offset.
  static std::unique_ptr<GgufFile> open(const std::string& path);
  ~GgufFile();
  GgufFile(const GgufFile&) = delete;
  GgufFile& operator=(const GgufFile&) = delete;

  const std::string& path() const { return path_; }
  const Value* find(const std::string& key) const;
  // Typed lookups; throw EngineError naming the key when it is missing or of another kind.
  int64_t integer(const std::string& key) const;
  double number(const std::string& key) const;  // any integer or float type
  const std::string& string(const std::string& key) const;

  const TensorView* tensor(const std::string& name) const;  // a tensor of a type the engine reads
  // The ggml type name of a tensor the engine does not read ("Q4_K"), or "" when there is none.
  std::string unread_type(const std::string& name) const;

 private:
  GgufFile() = default;
  std::string path_;
  void* map_ = nullptr;
  size_t size_ = 0;
  std::map<std::string, Value> metadata_;
  std::map<std::string, TensorView> tensors_;
  std::map<std::string, std::string> unread_;  // name -> ggml type name
};

}  // namespace px
