// Stage 0: hyperparameters from params.json (Mistral) or config.json (transformers Llava), checked
// for the invariants the engine relies on (see model_config.h). Every error names the file and the
// key, e.g. `params.json: key "vision_encoder.patch_size" must be a positive integer, got -16`.
#include "model_config.h"

#include <climits>
#include <cmath>
#include <sstream>

#include "error.h"
#include "json.h"

namespace px {

namespace {

constexpr int64_t kDefaultContext = 131072;  // spec e: Pixtral 12B's window, whatever the config says

std::string describe(const json::Value& v) {
  if (v.is_number()) {
    std::ostringstream s;
    s.precision(17);
    s << v.number();
    return s.str();
  }
  if (v.is_string()) return "\"" + v.string() + "\"";
  if (v.is_bool()) return v.boolean() ? "true" : "false";
  return json::kind_name(v.kind());
}

// Typed access to one JSON object of a config file; `prefix` ("vision_encoder.") makes messages
// name nested keys in full. A key whose value is null counts as absent, as in transformers.
class Keys {
 public:
  Keys(const json::Value& obj, const std::string& path, std::string prefix)
      : obj_(obj), path_(path), prefix_(std::move(prefix)) {}

  [[noreturn]] void fail(const std::string& key, const std::string& what) const {
    throw EngineError(ErrorKind::BadWeights, path_ + ": key \"" + prefix_ + key + "\" " + what);
  }

  const json::Value* get(const char* key) const {
    const json::Value* v = obj_.find(key);
    return v && !v->is_null() ? v : nullptr;
  }

  const json::Value& required(const char* key) const {
    const json::Value* v = get(key);
    if (!v) fail(key, "is missing");
    return *v;
  }

  int64_t int_in(const char* key, const json::Value& v, int64_t lo, int64_t hi, const char* what) const {
    if (!v.is_integer() || v.integer() < lo || v.integer() > hi) fail(key, std::string("must be ") + what + ", got " + describe(v));
    return v.integer();
  }

  int positive_int(const char* key) const {
    return static_cast<int>(int_in(key, required(key), 1, INT_MAX, "a positive integer"));
  }
  int positive_int(const char* key, int fallback) const {
    const json::Value* v = get(key);
    return v ? static_cast<int>(int_in(key, *v, 1, INT_MAX, "a positive integer")) : fallback;
  }
  int64_t positive_int64(const char* key, int64_t fallback) const {
    const json::Value* v = get(key);
    return v ? int_in(key, *v, 1, INT64_MAX, "a positive integer") : fallback;
  }
  // A token id must index the embedding table.
  int token_id(const char* key, int fallback, int vocab_size) const {
    const json::Value* v = get(key);
    if (!v) return fallback;
    return static_cast<int>(int_in(key, *v, 0, vocab_size - 1,
                                   ("a token id in [0, " + std::to_string(vocab_size) + ")").c_str()));
  }

  double positive_number(const char* key, double fallback) const {
    const json::Value* v = get(key);
    return v ? positive_number(key, *v) : fallback;
  }
  double positive_number(const char* key) const { return positive_number(key, required(key)); }

  bool boolean(const char* key, bool fallback) const {
    const json::Value* v = get(key);
    if (!v) return fallback;
    if (!v->is_bool()) fail(key, "must be true or false, got " + describe(*v));
    return v->boolean();
  }

  // The string value, or "" when absent.
  std::string string(const char* key) const {
    const json::Value* v = get(key);
    if (!v) return "";
    if (!v->is_string()) fail(key, "must be a string, got " + describe(*v));
    return v->string();
  }

  // A nested object; nullptr when absent.
  const json::Value* object(const char* key) const {
    const json::Value* v = get(key);
    if (v && !v->is_object()) fail(key, "must be an object, got " + describe(*v));
    return v;
  }
  Keys child(const json::Value& obj, const char* key) const { return Keys(obj, path_, prefix_ + key + "."); }

 private:
  double positive_number(const char* key, const json::Value& v) const {
    if (!v.is_number() || !(v.number() > 0) || !std::isfinite(v.number()))
      fail(key, "must be a positive number, got " + describe(v));
    return v.number();
  }

  const json::Value& obj_;
  const std::string& path_;
  std::string prefix_;
};

json::Value parse_object(const std::string& text, const std::string& path) {
  json::Value root = json::parse(text, path);
  if (!root.is_object()) throw EngineError(ErrorKind::BadWeights, path + ": top level is " + json::kind_name(root.kind()) + ", not an object");
  return root;
}

// Later Mistral vision models (spec j) set these; the engine implements none of them, and
// ignoring them would produce plausible garbage.
void reject_unimplemented(const Keys& k) {
  if (k.positive_int("spatial_merge_size", 1) != 1)
    k.fail("spatial_merge_size", "> 1 (patch merging) is not supported by this engine");
  std::string projector = k.string("mm_projector_id");
  if (!projector.empty() && projector != "mlp")
    k.fail("mm_projector_id", "is \"" + projector + "\"; only the \"mlp\" adapter is supported");
  if (k.boolean("add_pre_mm_projector_layer_norm", false))
    k.fail("add_pre_mm_projector_layer_norm", "is true; a pre-adapter norm is not supported by this engine");
}

// Key names of the text invariants, which differ between the two formats.
struct TextKeyNames {
  const char* n_heads;
  const char* n_kv_heads;
  const char* head_dim;
};

void validate_text(const ModelConfig& c, const Keys& k, const TextKeyNames& names) {
  if (c.n_heads % c.n_kv_heads != 0)
    k.fail(names.n_kv_heads, "(" + std::to_string(c.n_kv_heads) + ") must divide " + names.n_heads + " (" +
                                 std::to_string(c.n_heads) + ")");
  if (c.head_dim % 2 != 0)
    k.fail(names.head_dim, "(" + std::to_string(c.head_dim) + ") must be even: RoPE rotates pairs of dims");
}

// Vision keys shared by params.json "vision_encoder" and config.json "vision_config"; `defaults`
// supplies absent keys (transformers omits keys equal to the class default; Mistral omits none).
void read_vision_sizes(VisionConfig& v, const Keys& k, const VisionConfig* defaults) {
  auto size = [&](const char* key, int VisionConfig::*field) {
    return defaults ? k.positive_int(key, defaults->*field) : k.positive_int(key);
  };
  v.hidden = size("hidden_size", &VisionConfig::hidden);
  v.layers = size("num_hidden_layers", &VisionConfig::layers);
  v.heads = size("num_attention_heads", &VisionConfig::heads);
  v.intermediate = size("intermediate_size", &VisionConfig::intermediate);
  v.patch = size("patch_size", &VisionConfig::patch);
  v.image_size = size("image_size", &VisionConfig::image_size);
  v.channels = k.positive_int("num_channels", 3);
  v.rope_theta = k.positive_number("rope_theta", 1e4);

  if (v.channels != 3) k.fail("num_channels", "is " + std::to_string(v.channels) + "; only RGB (3) is supported");
  if (v.hidden % v.heads != 0)
    k.fail("num_attention_heads", "(" + std::to_string(v.heads) + ") must divide hidden_size (" +
                                      std::to_string(v.hidden) + ")");
  v.head_dim = v.hidden / v.heads;
  if (v.head_dim % 4 != 0)
    k.fail("hidden_size", "/ num_attention_heads = " + std::to_string(v.head_dim) +
                              " must be a multiple of 4: the 2D RoPE splits each head into row and column pairs");
  if (v.image_size % v.patch != 0)
    k.fail("image_size", "(" + std::to_string(v.image_size) + ") must be a multiple of patch_size (" +
                             std::to_string(v.patch) + ")");
  reject_unimplemented(k);
}

}  // namespace

ModelConfig parse_params_json(const std::string& text, const std::string& path) {
  const json::Value root = parse_object(text, path);
  Keys k(root, path, "");
  ModelConfig c;
  c.dim = k.positive_int("dim");
  c.n_layers = k.positive_int("n_layers");
  c.hidden_dim = k.positive_int("hidden_dim");
  c.n_heads = k.positive_int("n_heads");
  c.n_kv_heads = k.positive_int("n_kv_heads");
  c.vocab_size = k.positive_int("vocab_size");
  if (k.get("head_dim")) {
    c.head_dim = k.positive_int("head_dim");
  } else {
    if (c.dim % c.n_heads != 0) k.fail("head_dim", "is absent and dim is not a multiple of n_heads");
    c.head_dim = c.dim / c.n_heads;
  }
  c.rope_theta = k.positive_number("rope_theta", 1e4);
  c.norm_eps = static_cast<float>(k.positive_number("norm_eps"));
  c.max_seq_len = k.positive_int64("max_seq_len", kDefaultContext);
  validate_text(c, k, {"n_heads", "n_kv_heads", "head_dim"});
  reject_unimplemented(k);

  if (const json::Value* ve = k.object("vision_encoder")) {
    Keys vk = k.child(*ve, "vision_encoder");
    VisionConfig& v = c.vision;
    read_vision_sizes(v, vk, nullptr);
    const VisionConfig d;
    v.image_token_id = vk.token_id("image_token_id", d.image_token_id, c.vocab_size);
    v.image_break_token_id = vk.token_id("image_break_token_id", d.image_break_token_id, c.vocab_size);
    v.image_end_token_id = vk.token_id("image_end_token_id", d.image_end_token_id, c.vocab_size);
    v.adapter_bias = vk.boolean("adapter_bias", d.adapter_bias);
    c.has_vision = true;
  }
  return c;
}

ModelConfig parse_hf_config_json(const std::string& text, const std::string& path) {
  const json::Value root = parse_object(text, path);
  Keys k(root, path, "");
  const json::Value* tc = k.object("text_config");
  if (!tc) k.fail("text_config", "is missing (not a Llava config.json?)");
  Keys tk = k.child(*tc, "text_config");

  // Fallbacks are transformers' MistralConfig defaults, which save_pretrained leaves out.
  ModelConfig c;
  c.dim = tk.positive_int("hidden_size", 4096);
  c.n_layers = tk.positive_int("num_hidden_layers", 32);
  c.n_heads = tk.positive_int("num_attention_heads", 32);
  c.n_kv_heads = tk.positive_int("num_key_value_heads", 8);
  c.hidden_dim = tk.positive_int("intermediate_size", 14336);
  c.vocab_size = tk.positive_int("vocab_size", 32000);
  if (tk.get("head_dim")) {
    c.head_dim = tk.positive_int("head_dim");
  } else {
    if (c.dim % c.n_heads != 0) tk.fail("head_dim", "is absent and hidden_size is not a multiple of num_attention_heads");
    c.head_dim = c.dim / c.n_heads;
  }
  c.rope_theta = tk.positive_number("rope_theta", 1e4);
  c.norm_eps = static_cast<float>(tk.positive_number("rms_norm_eps", 1e-6));
  c.max_seq_len = kDefaultContext;  // max_position_embeddings is a converter default, not the window
  validate_text(c, tk, {"num_attention_heads", "num_key_value_heads", "head_dim"});
  reject_unimplemented(k);

  if (const json::Value* vc = k.object("vision_config")) {
    Keys vk = k.child(*vc, "vision_config");
    VisionConfig& v = c.vision;
    // Fallbacks for absent vision keys: transformers' PixtralVisionConfig defaults (the 12B tower).
    VisionConfig d;
    d.hidden = 1024;
    d.layers = 24;
    d.heads = 16;
    d.intermediate = 4096;
    read_vision_sizes(v, vk, &d);
    if (vk.get("head_dim") && vk.positive_int("head_dim") != v.head_dim)
      vk.fail("head_dim", "(" + std::to_string(vk.positive_int("head_dim")) + ") must equal hidden_size / num_attention_heads (" +
                              std::to_string(v.head_dim) + ")");
    std::string act = vk.string("hidden_act");
    if (!act.empty() && act != "silu") vk.fail("hidden_act", "is \"" + act + "\"; the Pixtral vision MLP is SiLU-gated");

    std::string proj_act = k.string("projector_hidden_act");
    if (!proj_act.empty() && proj_act != "gelu")
      k.fail("projector_hidden_act", "is \"" + proj_act + "\"; the adapter uses exact GELU");
    // Llava defaults (-2, "default") would take the second-to-last layer and drop the first patch.
    const json::Value* layer = k.get("vision_feature_layer");
    if (!layer || !layer->is_integer() || layer->integer() != -1)
      k.fail("vision_feature_layer", std::string("must be -1 (the last vision layer), got ") +
                                         (layer ? describe(*layer) : "nothing (transformers default -2)"));
    std::string strategy = k.string("vision_feature_select_strategy");
    if (strategy != "full")
      k.fail("vision_feature_select_strategy", "must be \"full\", got " +
                                                   (strategy.empty() ? "nothing (transformers default \"default\")" : "\"" + strategy + "\""));
    // The break/end ids are not in config.json: they are tekken's [IMG_BREAK]/[IMG_END] (defaults).
    v.image_token_id = k.token_id("image_token_index", v.image_token_id, c.vocab_size);
    v.adapter_bias = k.boolean("multimodal_projector_bias", true);
    c.has_vision = true;
  }
  return c;
}

}  // namespace px
