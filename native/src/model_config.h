// Hyperparameters of a Pixtral checkpoint, read from params.json (Mistral) or config.json
// (transformers Llava). Every size comes from the file: n_heads*head_dim may differ from dim,
// vocab and image size vary. Vision RMSNorm eps is 1e-5 always (spec a.1).
#pragma once
#include <cstdint>
#include <string>

namespace px {

struct VisionConfig {
  int hidden = 0;         // Dv
  int layers = 0;
  int heads = 0;
  int head_dim = 0;       // Dv / heads
  int intermediate = 0;   // Fv
  int patch = 16;         // P
  int image_size = 1024;  // max side in pixels
  int channels = 3;
  double rope_theta = 1e4;
  int image_token_id = 10;
  int image_break_token_id = 12;
  int image_end_token_id = 13;
  bool adapter_bias = true;
  static constexpr float norm_eps = 1e-5f;
};

struct ModelConfig {
  int dim = 0;          // D
  int n_layers = 0;
  int head_dim = 0;     // hd
  int hidden_dim = 0;   // F
  int n_heads = 0;      // H
  int n_kv_heads = 0;   // K
  int vocab_size = 0;   // V
  double rope_theta = 1e4;
  float norm_eps = 1e-5f;
  int64_t max_seq_len = 131072;  // context window (params max_seq_len, else 131072; spec e)
  bool has_vision = false;
  VisionConfig vision;
};

// Parse params.json text (Mistral layout). `path` is used in error messages only.
// Throws EngineError naming the file and key for missing/invalid keys, non-positive sizes,
// n_heads % n_kv_heads != 0, odd head dims, vision hidden % heads != 0, head_dim % 4 != 0 for
// the vision 2D RoPE, and for settings this engine does not implement (spatial_merge_size > 1,
// mm_projector_id other than absent/"mlp", add_pre_mm_projector_layer_norm true).
ModelConfig parse_params_json(const std::string& text, const std::string& path);
// Parse config.json text (transformers LlavaForConditionalGeneration with a pixtral vision config).
ModelConfig parse_hf_config_json(const std::string& text, const std::string& path);

}  // namespace px
