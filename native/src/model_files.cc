// Stage 0: a model folder -> validated config + tensor views under Mistral names (model_files.h).
// Order matters: config first (it fixes every expected shape), then every safetensors header,
// then every required tensor's presence, dtype and shape; only then does the engine see a view.
#include "model_files.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "error.h"
#include "gguf.h"
#include "json.h"
#include "quantize.h"

namespace px {

namespace {

namespace fs = std::filesystem;

constexpr uint64_t kMaxConfigBytes = 64ull << 20;  // index files of huge models are ~100 KB

std::string join(const std::string& dir, const std::string& name) {
  if (dir.empty() || dir.back() == '/' || dir.back() == '\\') return dir + name;
  return dir + "/" + name;
}

// Paths are UTF-8 (from JS); u8path keeps them intact on Windows too.
bool is_file(const std::string& path) {
  std::error_code ec;
  return fs::is_regular_file(fs::u8path(path), ec);
}

std::string read_text(const std::string& path) {
  std::ifstream in(fs::u8path(path), std::ios::binary);
  if (!in) throw EngineError(ErrorKind::BadWeights, path + ": cannot open");
  in.seekg(0, std::ios::end);
  std::streamoff size = in.tellg();
  if (size < 0) throw EngineError(ErrorKind::BadWeights, path + ": cannot read");
  if (static_cast<uint64_t>(size) > kMaxConfigBytes)
    throw EngineError(ErrorKind::BadWeights, path + ": " + std::to_string(size) + " bytes is too large for a config file");
  std::string text(static_cast<size_t>(size), '\0');
  in.seekg(0);
  if (!in.read(&text[0], size)) throw EngineError(ErrorKind::BadWeights, path + ": cannot read");
  return text;
}

// One tensor the engine needs: canonical (Mistral) name, transformers name, GGUF name (llama.cpp's
// "llama" text model and "clip" pixtral mmproj), shape from the config.
struct TensorSpec {
  std::string mistral;
  std::string hf;
  std::string gguf;
  std::vector<int64_t> shape;
  bool vision = false;  // in the mmproj file of a GGUF model
};

// Spec a.2, in generic form. Vision and adapter tensors only when the config has a vision tower.
std::vector<TensorSpec> required_tensors(const ModelConfig& c) {
  std::vector<TensorSpec> out;
  bool vision = false;
  auto add = [&](std::string m, std::string h, std::string g, std::vector<int64_t> shape) {
    out.push_back({std::move(m), std::move(h), std::move(g), std::move(shape), vision});
  };
  const int64_t D = c.dim, F = c.hidden_dim, V = c.vocab_size;
  const int64_t q_rows = int64_t{c.n_heads} * c.head_dim, kv_rows = int64_t{c.n_kv_heads} * c.head_dim;

  add("tok_embeddings.weight", "language_model.model.embed_tokens.weight", "token_embd.weight", {V, D});
  for (int l = 0; l < c.n_layers; ++l) {
    const std::string m = "layers." + std::to_string(l) + ".";
    const std::string h = "language_model.model.layers." + std::to_string(l) + ".";
    const std::string g = "blk." + std::to_string(l) + ".";
    add(m + "attention_norm.weight", h + "input_layernorm.weight", g + "attn_norm.weight", {D});
    add(m + "attention.wq.weight", h + "self_attn.q_proj.weight", g + "attn_q.weight", {q_rows, D});
    add(m + "attention.wk.weight", h + "self_attn.k_proj.weight", g + "attn_k.weight", {kv_rows, D});
    add(m + "attention.wv.weight", h + "self_attn.v_proj.weight", g + "attn_v.weight", {kv_rows, D});
    add(m + "attention.wo.weight", h + "self_attn.o_proj.weight", g + "attn_output.weight", {D, q_rows});
    add(m + "ffn_norm.weight", h + "post_attention_layernorm.weight", g + "ffn_norm.weight", {D});
    add(m + "feed_forward.w1.weight", h + "mlp.gate_proj.weight", g + "ffn_gate.weight", {F, D});
    add(m + "feed_forward.w3.weight", h + "mlp.up_proj.weight", g + "ffn_up.weight", {F, D});
    add(m + "feed_forward.w2.weight", h + "mlp.down_proj.weight", g + "ffn_down.weight", {D, F});
  }
  add("norm.weight", "language_model.model.norm.weight", "output_norm.weight", {D});
  add("output.weight", "language_model.lm_head.weight", "output.weight", {V, D});
  if (!c.has_vision) return out;

  vision = true;
  const VisionConfig& v = c.vision;
  const int64_t Dv = v.hidden, Fv = v.intermediate;
  add("vision_encoder.patch_conv.weight", "vision_tower.patch_conv.weight", "v.patch_embd.weight", {Dv, v.channels, v.patch, v.patch});
  add("vision_encoder.ln_pre.weight", "vision_tower.ln_pre.weight", "v.pre_ln.weight", {Dv});
  for (int l = 0; l < v.layers; ++l) {
    const std::string m = "vision_encoder.transformer.layers." + std::to_string(l) + ".";
    const std::string h = "vision_tower.transformer.layers." + std::to_string(l) + ".";
    const std::string g = "v.blk." + std::to_string(l) + ".";
    add(m + "attention_norm.weight", h + "attention_norm.weight", g + "ln1.weight", {Dv});
    add(m + "attention.wq.weight", h + "attention.q_proj.weight", g + "attn_q.weight", {Dv, Dv});
    add(m + "attention.wk.weight", h + "attention.k_proj.weight", g + "attn_k.weight", {Dv, Dv});
    add(m + "attention.wv.weight", h + "attention.v_proj.weight", g + "attn_v.weight", {Dv, Dv});
    add(m + "attention.wo.weight", h + "attention.o_proj.weight", g + "attn_out.weight", {Dv, Dv});
    add(m + "ffn_norm.weight", h + "ffn_norm.weight", g + "ln2.weight", {Dv});
    add(m + "feed_forward.w1.weight", h + "feed_forward.gate_proj.weight", g + "ffn_gate.weight", {Fv, Dv});
    add(m + "feed_forward.w3.weight", h + "feed_forward.up_proj.weight", g + "ffn_up.weight", {Fv, Dv});
    add(m + "feed_forward.w2.weight", h + "feed_forward.down_proj.weight", g + "ffn_down.weight", {Dv, Fv});
  }
  add("vision_language_adapter.w_in.weight", "multi_modal_projector.linear_1.weight", "mm.1.weight", {D, Dv});
  add("vision_language_adapter.w_out.weight", "multi_modal_projector.linear_2.weight", "mm.2.weight", {D, D});
  if (v.adapter_bias) {
    add("vision_language_adapter.w_in.bias", "multi_modal_projector.linear_1.bias", "mm.1.bias", {D});
    add("vision_language_adapter.w_out.bias", "multi_modal_projector.linear_2.bias", "mm.2.bias", {D});
  }
  return out;
}

// The mapped files of one layout and where each tensor (by its name in the files) lives.
struct Catalog {
  std::vector<std::unique_ptr<SafetensorsFile>> files;
  std::map<std::string, const TensorView*> tensors;
  std::string listing;  // the file that lists the tensors, for "missing tensor" messages
};

Catalog single_file(const std::string& path) {
  Catalog cat;
  cat.files.push_back(SafetensorsFile::open(path));
  for (const auto& [name, view] : cat.files.back()->tensors()) cat.tensors[name] = &view;
  cat.listing = path;
  return cat;
}

// A shard must be a plain file name: the index is data from the internet and must not make us
// open files outside the model folder.
bool plain_file_name(const std::string& name) {
  return !name.empty() && name != "." && name != ".." && name.find_first_of("/\\:") == std::string::npos;
}

Catalog sharded(const std::string& dir, const std::string& index_path) {
  const json::Value index = json::parse(read_text(index_path), index_path);
  const json::Value* weight_map = index.is_object() ? index.find("weight_map") : nullptr;
  if (!weight_map || !weight_map->is_object())
    throw EngineError(ErrorKind::BadWeights, index_path + ": key \"weight_map\" is missing or not an object");

  Catalog cat;
  cat.listing = index_path;
  std::map<std::string, const SafetensorsFile*> shards;
  for (const json::Member& entry : weight_map->object()) {
    const std::string& tensor = entry.key;
    if (!entry.value.is_string())
      throw EngineError(ErrorKind::BadWeights, index_path + ": weight_map entry for tensor " + tensor + " is not a file name string");
    const std::string& shard = entry.value.string();
    auto it = shards.find(shard);
    if (it == shards.end()) {
      if (!plain_file_name(shard))
        throw EngineError(ErrorKind::BadWeights, index_path + ": shard \"" + shard + "\" (for tensor " + tensor +
                          ") is not a file name inside the model folder");
      const std::string path = join(dir, shard);
      if (!is_file(path))
        throw EngineError(ErrorKind::BadWeights, index_path + ": shard " + shard + " (for tensor " + tensor + ") does not exist: " + path);
      cat.files.push_back(SafetensorsFile::open(path));
      it = shards.emplace(shard, cat.files.back().get()).first;
    }
    const TensorView* view = it->second->find(tensor);
    if (!view)
      throw EngineError(ErrorKind::BadWeights, index_path + ": weight_map puts tensor " + tensor + " in " + it->second->path() +
                        ", which does not contain it");
    cat.tensors[tensor] = view;
  }
  return cat;
}

// The GGUF files of a folder: one "llama" text model and at most one "clip" mmproj.
struct GgufPair {
  std::unique_ptr<GgufFile> text, mmproj;
};

GgufPair gguf_files(const std::string& dir) {
  GgufPair pair;
  std::error_code ec;
  std::vector<std::string> paths;
  for (const auto& entry : fs::directory_iterator(fs::u8path(dir), ec))
    if (entry.path().extension() == ".gguf" && entry.is_regular_file(ec)) paths.push_back(entry.path().u8string());
  std::sort(paths.begin(), paths.end());
  for (const std::string& path : paths) {
    auto f = GgufFile::open(path);
    const GgufFile::Value* arch = f->find("general.architecture");
    const std::string name = arch ? arch->string : "";
    std::unique_ptr<GgufFile>& slot = name == "clip" ? pair.mmproj : pair.text;
    if (name != "clip" && name != "llama")
      throw EngineError(ErrorKind::BadWeights, path + ": general.architecture is \"" + name +
                                                   "\"; Pixtral's GGUF files are a \"llama\" text model and a \"clip\" mmproj");
    if (slot) throw EngineError(ErrorKind::BadWeights, dir + ": two " + name + " GGUF files (" + slot->path() + ", " + path + ")");
    slot = std::move(f);
  }
  if (!pair.text && pair.mmproj) throw EngineError(ErrorKind::BadWeights, dir + ": an mmproj GGUF but no text model GGUF");
  return pair;
}

// The hyperparameters of a GGUF pair as the params.json they came from, so they pass the same
// checks (model_config.cc).
ModelConfig gguf_config(const GgufPair& g) {
  const GgufFile& t = *g.text;
  const int64_t heads = t.integer("llama.attention.head_count"), dim = t.integer("llama.embedding_length");
  const GgufFile::Value* kv = t.find("llama.attention.head_count_kv");
  const GgufFile::Value* hd = t.find("llama.attention.key_length");
  const GgufFile::Value* tokens = t.find("tokenizer.ggml.tokens");
  const TensorView* embd = t.tensor("token_embd.weight");
  int64_t vocab = embd && !embd->shape.empty() ? embd->shape[0] : 0;
  if (t.find("llama.vocab_size")) vocab = t.integer("llama.vocab_size");
  else if (tokens) vocab = static_cast<int64_t>(tokens->array_length);
  auto num = [](double v) {
    std::ostringstream s;
    s.precision(17);
    s << v;
    return s.str();
  };
  std::string p = "{\"dim\": " + std::to_string(dim) + ", \"n_layers\": " + std::to_string(t.integer("llama.block_count")) +
                  ", \"head_dim\": " + std::to_string(hd ? t.integer("llama.attention.key_length") : (heads ? dim / heads : 0)) +
                  ", \"hidden_dim\": " + std::to_string(t.integer("llama.feed_forward_length")) + ", \"n_heads\": " + std::to_string(heads) +
                  ", \"n_kv_heads\": " + std::to_string(kv ? t.integer("llama.attention.head_count_kv") : heads) +
                  ", \"rope_theta\": " + num(t.find("llama.rope.freq_base") ? t.number("llama.rope.freq_base") : 1e4) +
                  ", \"norm_eps\": " + num(t.number("llama.attention.layer_norm_rms_epsilon")) + ", \"vocab_size\": " + std::to_string(vocab);
  if (g.mmproj) {
    const GgufFile& v = *g.mmproj;
    if (v.string("clip.projector_type") != "pixtral")
      throw EngineError(ErrorKind::BadWeights, v.path() + ": clip.projector_type is \"" + v.string("clip.projector_type") + "\", not \"pixtral\"");
    const char* theta = v.find("clip.vision.rope.freq_base") ? "clip.vision.rope.freq_base" : "clip.rope.freq_base";
    p += ", \"vision_encoder\": {\"hidden_size\": " + std::to_string(v.integer("clip.vision.embedding_length")) +
         ", \"num_channels\": 3, \"image_size\": " + std::to_string(v.integer("clip.vision.image_size")) +
         ", \"patch_size\": " + std::to_string(v.integer("clip.vision.patch_size")) +
         ", \"rope_theta\": " + num(v.find(theta) ? v.number(theta) : 1e4) +
         ", \"intermediate_size\": " + std::to_string(v.integer("clip.vision.feed_forward_length")) +
         ", \"num_hidden_layers\": " + std::to_string(v.integer("clip.vision.block_count")) +
         ", \"num_attention_heads\": " + std::to_string(v.integer("clip.vision.attention.head_count")) +
         ", \"adapter_bias\": " + (v.tensor("mm.1.bias") || !v.unread_type("mm.1.bias").empty() ? "true" : "false") + "}";
  }
  return parse_params_json(p + "}", t.path() + " (GGUF metadata)");
}

// The precision a GGUF model's matrices are stored at (what the fit check and the status show).
Precision gguf_precision(const std::map<std::string, const TensorView*>& by_name) {
  bool q8 = false, q4 = false, q4_head = false;
  for (const auto& [name, view] : by_name) {
    if (view->shape.size() < 2) continue;
    q8 |= view->dtype == FileDType::Q8_0;
    q4 |= view->dtype == FileDType::Q4_0;
    if (name == "output.weight") q4_head = view->dtype == FileDType::Q4_0;
  }
  return q4 ? (q4_head ? Precision::Q4_0_Pure : Precision::Q4_0) : q8 ? Precision::Q8_0 : Precision::BF16;
}

}  // namespace

ModelFiles::~ModelFiles() = default;

std::unique_ptr<ModelFiles> ModelFiles::open(const std::string& dir, Precision precision) {
  std::error_code ec;
  if (!fs::is_directory(fs::u8path(dir), ec)) throw EngineError(ErrorKind::BadWeights, dir + ": not a folder or does not exist");

  auto m = std::make_unique<ModelFiles>();
  m->dir_ = dir;
  const std::string params = join(dir, "params.json"), consolidated = join(dir, "consolidated.safetensors");
  const std::string config = join(dir, "config.json"), single = join(dir, "model.safetensors");
  const std::string index = join(dir, "model.safetensors.index.json");
  Catalog cat;
  if (is_file(params) && is_file(consolidated)) {
    m->layout_ = WeightLayout::Mistral;
    m->config_ = parse_params_json(read_text(params), params);
    cat = single_file(consolidated);
  } else if (is_file(config)) {
    m->layout_ = WeightLayout::HF;
    m->config_ = parse_hf_config_json(read_text(config), config);
    // transformers' own order: the single file wins over an index.
    if (is_file(single)) cat = single_file(single);
    else if (is_file(index)) cat = sharded(dir, index);
    else throw EngineError(ErrorKind::BadWeights, dir + ": config.json is there but neither model.safetensors nor model.safetensors.index.json");
  } else if (GgufPair g = gguf_files(dir); g.text) {
    m->config_ = gguf_config(g);
    m->open_gguf(std::move(g.text), std::move(g.mmproj), precision);
    return m;
  } else {
    throw EngineError(ErrorKind::BadWeights, dir + ": no model found: looked for params.json + consolidated.safetensors (Mistral layout), "
                            "config.json + model.safetensors or model.safetensors.index.json (transformers layout) and *.gguf (llama.cpp)");
  }

  const bool hf = m->layout_ == WeightLayout::HF;
  std::vector<QuantizedWeights::Source> sources;
  for (const TensorSpec& spec : required_tensors(m->config_)) {
    const std::string& name = hf ? spec.hf : spec.mistral;
    auto it = cat.tensors.find(name);
    if (it == cat.tensors.end())
      throw EngineError(ErrorKind::BadWeights, cat.listing + ": missing tensor " + name + (hf ? " (Mistral name " + spec.mistral + ")" : ""));
    const TensorView& t = *it->second;
    if (t.dtype != FileDType::BF16)
      throw EngineError(ErrorKind::BadWeights, t.file + ": tensor " + t.name + " has dtype " + file_dtype_name(t.dtype) + ", expected BF16");
    if (t.shape != spec.shape)
      throw EngineError(ErrorKind::BadWeights, t.file + ": tensor " + t.name + " has shape " + t.shape_str() + ", expected " +
                        shape_str(spec.shape) + " from the config");
    m->by_name_[spec.mistral] = &t;
    sources.push_back({spec.mistral, &t});
  }
  m->files_ = std::move(cat.files);
  m->precision_ = precision;
  if (precision != Precision::BF16) {
    m->quantized_ = QuantizedWeights::open(dir, precision, sources, m->files());
    for (auto& [name, view] : m->by_name_) view = m->quantized_->find(name);
  }
  return m;
}

void ModelFiles::open_gguf(std::unique_ptr<GgufFile> text, std::unique_ptr<GgufFile> mmproj, Precision precision) {
  // llama.cpp's converters store q/k rows in the interleaved (Mistral) order; tensors get the
  // Mistral names here, so the rest of the engine sees the Mistral layout.
  layout_ = WeightLayout::Mistral;
  gguf_ = true;
  for (const TensorSpec& spec : required_tensors(config_)) {
    const GgufFile& f = spec.vision ? *mmproj : *text;
    const TensorView* t = f.tensor(spec.gguf);
    if (!t) {
      const std::string type = f.unread_type(spec.gguf);
      if (!type.empty())
        throw EngineError(ErrorKind::Unsupported, f.path() + ": tensor " + spec.gguf + " is " + type +
                                                      ", a quant type this engine does not read (it reads F32, F16, BF16, Q8_0 and Q4_0; "
                                                      "llama-quantize can rewrite the file as Q8_0, or load the safetensors checkpoint)");
      throw EngineError(ErrorKind::BadWeights, f.path() + ": missing tensor " + spec.gguf + " (Mistral name " + spec.mistral + ")");
    }
    const bool vector = spec.shape.size() == 1;
    if (vector && t->dtype != FileDType::F32 && t->dtype != FileDType::F16 && t->dtype != FileDType::BF16)
      throw EngineError(ErrorKind::BadWeights, f.path() + ": tensor " + spec.gguf + " is " + file_dtype_name(t->dtype) + "; a norm weight or bias must be F32, F16 or BF16");
    if (t->shape != spec.shape)
      throw EngineError(ErrorKind::BadWeights, f.path() + ": tensor " + spec.gguf + " has shape " + t->shape_str() + ", expected " +
                                                   shape_str(spec.shape) + " from its metadata");
    by_name_[spec.mistral] = t;
  }
  precision_ = gguf_precision(by_name_);
  if (precision != Precision::BF16 && precision != precision_)
    throw EngineError(ErrorKind::BadInput, text->path() + " is stored at " + precision_name(precision_) + "; a GGUF model loads at its own precision, not " +
                                               precision_name(precision));
  ggufs_.push_back(std::move(text));
  if (mmproj) ggufs_.push_back(std::move(mmproj));
}

std::string ModelFiles::quantized_path() const { return quantized_ ? quantized_->path() : ""; }
bool ModelFiles::quantized_now() const { return quantized_ && quantized_->created(); }

size_t ModelFiles::weight_bytes_at(Precision p) const {
  if (gguf_) {
    if (p != precision_ && p != Precision::BF16)
      throw EngineError(ErrorKind::BadInput, dir_ + ": a GGUF model loads at its own precision (" + precision_name(precision_) + "), not " +
                                                 precision_name(p));
    return weight_bytes();
  }
  size_t total = 0;
  for (const auto& [name, view] : by_name_) {
    const int64_t rows = view->shape.size() <= 1 ? 1 : view->shape[0];
    total += static_cast<size_t>(rows) * row_bytes(stored_dtype(p, name, view->shape), rows ? view->numel() / rows : 0);
  }
  return total;
}

const TensorView* ModelFiles::find(const std::string& mistral_name) const {
  auto it = by_name_.find(mistral_name);
  return it == by_name_.end() ? nullptr : it->second;
}

const TensorView& ModelFiles::get(const std::string& mistral_name) const {
  const TensorView* t = find(mistral_name);
  if (!t) throw EngineError(ErrorKind::BadWeights, dir_ + ": no validated tensor " + mistral_name);
  return *t;
}

size_t ModelFiles::weight_bytes() const {
  size_t total = 0;
  for (const auto& [name, view] : by_name_) total += view->nbytes;
  return total;
}

std::vector<std::string> ModelFiles::files() const {
  std::vector<std::string> out;
  for (const auto& f : files_) out.push_back(f->path());
  for (const auto& f : ggufs_) out.push_back(f->path());
  return out;
}

}  // namespace px
