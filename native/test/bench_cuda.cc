// The CUDA benchmark, our side (tools/bench_cuda/run_on_h200.sh runs it after
// transformers_bench.py wrote random 12B weights and the prompts): for a model folder, on the CUDA
// backend with a bf16 KV cache, measures
//   - the device read bandwidth (pixtral_cuda_read_bandwidth, the same run), the ceiling of every
//     decode row: a token must read the decoder weights (all but the embedding table) plus the KV
//     cache up to its context;
//   - decode tok/s at contexts 0, 4096, 16384 (greedy, the decode step as a CUDA graph);
//   - time to first token for a 1024x1024 image + 20 text tokens (vision, adapter, prefill, first
//     sample), median of 3;
//   - the vision encoder alone on that image (device time of one recorded pass), median of 5;
// and writes the last-position logits of the image prompt and of the 16k prompt for the parity
// check against transformers. Results: one JSON object on stdout and in --out/ours.json.
//   bench_cuda --model DIR --prompts DIR --out DIR [--device N] [--chunk N] [--tokens N]
// Prompt files (little-endian, from transformers_bench.py): pixels.bin f32 [3, 1024, 1024],
// ids_image.bin i32 (BOS, 64 x 65 image tokens, 20 text ids), ids_16k.bin i32 [16384].
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "../src/backend_plugin.h"
#include "../src/engine.h"
#include "../src/vision_encoder.h"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

template <typename T>
std::vector<T> read_bin(const std::string& path) {
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  if (!f) throw std::runtime_error("cannot read " + path);
  std::vector<T> v(static_cast<size_t>(f.tellg()) / sizeof(T));
  f.seekg(0);
  f.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(v.size() * sizeof(T)));
  return v;
}

void write_bin(const std::string& path, const std::vector<float>& v) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(v.data()), static_cast<std::streamsize>(v.size() * sizeof(float)));
  if (!f) throw std::runtime_error("cannot write " + path);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

struct Args {
  std::string model, prompts, out;
  int device = 0, chunk = 2048, tokens = 64;
};

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--model") a.model = v;
    else if (k == "--prompts") a.prompts = v;
    else if (k == "--out") a.out = v;
    else if (k == "--device") a.device = std::stoi(v);
    else if (k == "--chunk") a.chunk = std::stoi(v);
    else if (k == "--tokens") a.tokens = std::stoi(v);
  }
  if (a.model.empty() || a.prompts.empty() || a.out.empty()) {
    std::fprintf(stderr, "usage: bench_cuda --model DIR --prompts DIR --out DIR [--device N] [--chunk N] [--tokens N]\n");
    return 2;
  }
  try {
    const std::vector<float> pixels = read_bin<float>(a.prompts + "/pixels.bin");
    const std::vector<int32_t> ids_image = read_bin<int32_t>(a.prompts + "/ids_image.bin");
    const std::vector<int32_t> ids_16k = read_bin<int32_t>(a.prompts + "/ids_16k.bin");
    const px::ImageInput image{pixels.data(), 1024, 1024};
    const int contexts[] = {0, 4096, 16384};

    px::Engine engine;
    px::LoadOptions lo;
    lo.backend = "cuda";
    lo.device = a.device;
    lo.kv_cache = px::DType::BF16;
    lo.context = static_cast<int>(ids_16k.size()) + a.tokens + 64;
    lo.max_chunk = a.chunk;
    auto t_load = Clock::now();
    engine.load(a.model, lo);
    const double load_s = seconds_since(t_load);
    const px::ModelConfig& cfg = engine.files().config();
    const uint64_t epoch = engine.cancel_epoch();
    std::fprintf(stderr, "loaded on %s in %.1f s\n", engine.backend_name().c_str(), load_s);

    // Device read bandwidth, from the library the engine opened.
    px::SharedLibrary lib = px::SharedLibrary::open(px::backend_library_path("cuda"));
    auto bandwidth = reinterpret_cast<double (*)(int, size_t, int)>(lib.symbol("pixtral_cuda_read_bandwidth"));
    const double read_gbps = bandwidth ? bandwidth(a.device, size_t(4) << 30, 20) : 0;

    // Bytes a decode token reads: the decoder's weights (one row of the embedding table aside), plus K and V.
    const px::ModelFiles& files = engine.files();
    size_t decoder_bytes = files.get("norm.weight").nbytes + files.get("output.weight").nbytes;
    for (int l = 0; l < cfg.n_layers; ++l)
      for (const char* w : {"attention_norm", "attention.wq", "attention.wk", "attention.wv", "attention.wo", "ffn_norm",
                            "feed_forward.w1", "feed_forward.w2", "feed_forward.w3"})
        decoder_bytes += files.get("layers." + std::to_string(l) + "." + w + ".weight").nbytes;
    const size_t kv_per_token = static_cast<size_t>(2) * cfg.n_layers * cfg.n_kv_heads * cfg.head_dim * 2;

    std::string json = "{\"backend\": \"" + engine.backend_name() + "\", \"read_gbps\": " + std::to_string(read_gbps) +
                       ", \"load_s\": " + std::to_string(load_s) + ", \"decoder_bytes\": " + std::to_string(decoder_bytes) +
                       ", \"decode\": [";
    for (size_t c = 0; c < 3; ++c) {
      const int ctx = contexts[c];
      engine.reset();
      px::PrefillRequest pr;
      pr.ids.assign(ids_16k.begin(), ids_16k.begin() + std::max(1, ctx));
      pr.reserve = a.tokens;
      engine.prefill(pr, epoch);
      std::vector<Clock::time_point> at;
      px::GenerateRequest gr;
      gr.max_tokens = a.tokens;
      engine.generate(gr, [&](int, const float*) { at.push_back(Clock::now()); }, epoch);
      const double s = std::chrono::duration<double>(at.back() - at[1]).count();
      const double tok_s = (at.size() - 2) / s;
      const double bytes = static_cast<double>(decoder_bytes) + static_cast<double>(kv_per_token) * (std::max(1, ctx) + a.tokens / 2);
      const double bound = read_gbps * 1e9 / bytes;
      json += std::string(c ? ", " : "") + "{\"context\": " + std::to_string(ctx) + ", \"tok_s\": " + std::to_string(tok_s) +
              ", \"bytes_per_token\": " + std::to_string(bytes) + ", \"bound_tok_s\": " + std::to_string(bound) +
              ", \"gbps\": " + std::to_string(bytes * tok_s / 1e9) + "}";
      std::fprintf(stderr, "decode at %d: %.1f tok/s (bound %.1f)\n", ctx, tok_s, bound);
    }
    json += "]";

    // Time to first token: image + 20 text tokens, then the first sample.
    std::vector<double> ttft;
    std::vector<float> logits_image;
    for (int r = 0; r < 4; ++r) {
      engine.reset();
      auto t0 = Clock::now();
      px::PrefillRequest pr;
      pr.ids = ids_image;
      pr.images = {image};
      pr.reserve = 1;
      pr.logits = r == 0 ? px::LogitsMode::Last : px::LogitsMode::None;
      std::vector<float> l = engine.prefill(pr, epoch);
      px::GenerateRequest gr;
      gr.max_tokens = 1;
      engine.generate(gr, [](int, const float*) {}, epoch);
      if (r == 0) logits_image = std::move(l);  // the first run is also the warm-up
      else ttft.push_back(seconds_since(t0));
    }
    json += ", \"ttft_s\": " + std::to_string(median(ttft));

    // The vision encoder alone: device time of one recorded pass over the image.
    {
      px::SharedLibrary vlib;
      auto backend = px::create_plugin_backend("cuda", "{\"device\": " + std::to_string(a.device) + "}", vlib);
      const px::VisionEncoder vision(*backend, engine.files());
      const int S = vision.patches_for(image);
      px::OwnedTensor out(*backend, px::DType::F32, S, vision.hidden());
      std::vector<double> ms;
      std::atomic<uint64_t> never{0};
      float probe = 0;
      for (int r = 0; r < 6; ++r) {
        px::Graph g;
        px::VisionPass pass = vision.record(g, {image}, *out, false);
        backend->read(&probe, out->slice_rows(0, 1).first_cols(1));  // inputs uploaded, device idle
        auto t0 = Clock::now();
        backend->run(g, px::CancelToken(never, 0));
        backend->read(&probe, out->slice_rows(0, 1).first_cols(1));
        if (r > 0) ms.push_back(seconds_since(t0) * 1e3);
      }
      json += ", \"vit_ms\": " + std::to_string(median(ms));
    }

    // The 16k prompt's last logits (parity).
    engine.reset();
    px::PrefillRequest pr;
    pr.ids = ids_16k;
    pr.logits = px::LogitsMode::Last;
    auto t16 = Clock::now();
    const std::vector<float> logits_16k = engine.prefill(pr, epoch);
    json += ", \"prefill_16k_s\": " + std::to_string(seconds_since(t16)) + "}";

    write_bin(a.out + "/ours_logits_image.bin", logits_image);
    write_bin(a.out + "/ours_logits_16k.bin", logits_16k);
    std::ofstream(a.out + "/ours.json") << json << "\n";
    std::printf("%s\n", json.c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_cuda: %s\n", e.what());
    return 1;
  }
  return 0;
}
