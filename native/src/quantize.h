// Stage 0b of the pipeline: a bf16 checkpoint -> its weights at a lower precision (precision.h).
// The first load at a precision quantizes the checkpoint one tensor at a time, a slab of rows at a
// time (memory bounded by the slab, not the model), into <model dir>/pixtral-<precision>.safetensors
// (layout: native/QUANT.md); every later load validates and maps that file. A folder that cannot be
// written (read-only, full disk) gets the same bytes in memory instead, rebuilt on each load.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "precision.h"
#include "safetensors.h"

namespace px {

class QuantizedWeights {
 public:
  struct Source {
    std::string name;        // Mistral name
    const TensorView* view;  // bf16, in the checkpoint
  };

  // `sources` in checkpoint order; `source_files`: the checkpoint's files, whose sizes and times
  // say whether an existing quantized file is still theirs. Throws EngineError on a source the
  // quantizer cannot read; an outdated or corrupt quantized file is replaced, not an error.
  static std::unique_ptr<QuantizedWeights> open(const std::string& dir, Precision precision,
                                                const std::vector<Source>& sources,
                                                const std::vector<std::string>& source_files);
  ~QuantizedWeights();
  QuantizedWeights(const QuantizedWeights&) = delete;
  QuantizedWeights& operator=(const QuantizedWeights&) = delete;

  // Every source tensor at this precision: block types with their logical shape, the rest bf16.
  const TensorView* find(const std::string& name) const;
  // The file the weights are mapped from; empty when they were built in memory.
  const std::string& path() const { return path_; }
  // This load quantized the checkpoint (a first load, or the file was outdated).
  bool created() const { return created_; }

  static std::string file_name(Precision precision);  // "pixtral-q4_0.safetensors"

 private:
  QuantizedWeights() = default;
  std::string path_;
  bool created_ = false;
  std::unique_ptr<SafetensorsFile> file_;
  void* memory_ = nullptr;  // the in-memory build
  size_t memory_bytes_ = 0;
  std::map<std::string, TensorView> views_;
};

}  // namespace px
