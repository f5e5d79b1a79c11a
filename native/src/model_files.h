// Stage 0 of the pipeline: a model folder on disk -> validated config + tensor views.
// Detects the layout (Mistral: params.json + consolidated.safetensors; transformers: config.json +
// model.safetensors or model-*.safetensors with model.safetensors.index.json), parses the
// hyperparameters, maps every file and checks that every tensor the engine needs exists with the
// shape the config implies and dtype BF16. Tensors are exposed under their Mistral names whatever
// the layout; `layout` tells the engine which RoPE pairing the q/k rows use (spec a.3). At a
// precision other than bf16 the views are those of the quantized weights (quantize.h), made from
// the validated checkpoint on the first load. A folder of GGUF files (llama.cpp: a "llama" text
// model and a "clip" pixtral mmproj) loads at the precision of its files, under Mistral names.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "model_config.h"
#include "precision.h"
#include "safetensors.h"

namespace px {

class GgufFile;
class QuantizedWeights;

enum class WeightLayout { Mistral, HF };

class ModelFiles {
 public:
  // Throws EngineError with a message naming the folder/file/tensor for: no recognisable layout,
  // bad params.json/config.json, an index naming a missing shard, any invalid safetensors file,
  // a missing tensor, a tensor with the wrong shape or dtype.
  static std::unique_ptr<ModelFiles> open(const std::string& dir, Precision precision = Precision::BF16);
  ~ModelFiles();

  const ModelConfig& config() const { return config_; }
  WeightLayout layout() const { return layout_; }
  const std::string& dir() const { return dir_; }

  // Mistral-name lookup, e.g. "layers.3.attention.wq.weight". Throws EngineError if absent
  // (cannot happen for names validated at open()).
  const TensorView& get(const std::string& mistral_name) const;
  const TensorView* find(const std::string& mistral_name) const;

  Precision precision() const { return precision_; }
  bool gguf() const { return gguf_; }  // loaded from GGUF files
  // The quantized weights file these views come from; empty at bf16 or when built in memory.
  std::string quantized_path() const;
  // This open quantized the checkpoint (first load at the precision, or an outdated file).
  bool quantized_now() const;

  size_t weight_bytes() const;  // sum of nbytes of all validated tensors (at this precision)
  size_t weight_bytes_at(Precision p) const;  // the same at another precision (precision.h's rule)
  size_t tensor_count() const { return by_name_.size(); }
  std::vector<std::string> files() const;  // paths of the mapped .safetensors files

 private:
  std::string dir_;
  ModelConfig config_;
  WeightLayout layout_ = WeightLayout::Mistral;
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, const TensorView*> by_name_;
  void open_gguf(std::unique_ptr<GgufFile> text, std::unique_ptr<GgufFile> mmproj, Precision precision);

  Precision precision_ = Precision::BF16;
  std::unique_ptr<QuantizedWeights> quantized_;
  bool gguf_ = false;
  std::vector<std::unique_ptr<GgufFile>> ggufs_;
};

}  // namespace px
