// The fixture parity program: every model case of a fixture folder's manifest.json run through
// px::Engine on a chosen backend, with the rules of test/engine/parity.test.ts, without Node (the
// GPU machine has none). Element-wise |got - ref| <= atol + rtol |ref| under the manifest's
// bf16_engine tolerances (default) or fp32_engine ones; argmax / top-5 ids only where the
// reference's margins exceed 2 atol; greedy ids while step_top2_margin > 2 logit_atol. The manifest
// gives greedy no bf16 tolerance: a bf16 run uses the largest bf16 logits atol of the other cases
// (its prompt is mm_single's) and checks every decode step until the first token that differs (ids
// only where the margin exceeds twice that atol).
//   fixture_parity --fixtures DIR [--backend cpu|cuda] [--layout mistral|hf] [--kv f32|f16|bf16]
//                  [--tolerance bf16_engine|fp32_engine] [--device N]
// Prints one line per checked output and a last line "N passed, N failed"; exits 1 on a failure.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <numeric>
#include <regex>
#include <string>
#include <vector>

#include "../src/engine.h"
#include "../src/json.h"

namespace {

using px::json::Value;

struct Options {
  std::string fixtures, backend = "cuda", layout = "mistral", kv = "bf16", tolerance = "bf16_engine";
  int device = 0;
};

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("cannot read " + path);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

struct Array {
  std::vector<int64_t> shape;
  std::vector<float> f;    // float32 arrays
  std::vector<int32_t> i;  // int32 arrays
  size_t size() const { return f.empty() ? i.size() : f.size(); }
};

Array load_array(const std::string& dir, const Value& spec) {
  Array a;
  for (const Value& d : spec.find("shape")->array()) a.shape.push_back(d.integer());
  const std::string bytes = read_file(dir + "/" + spec.find("file")->string());
  const std::string& dtype = spec.find("dtype")->string();
  if (dtype == "float32") {
    a.f.resize(bytes.size() / 4);
    std::memcpy(a.f.data(), bytes.data(), a.f.size() * 4);
  } else if (dtype == "int32") {
    a.i.resize(bytes.size() / 4);
    std::memcpy(a.i.data(), bytes.data(), a.i.size() * 4);
  } else {
    throw std::runtime_error("unexpected dtype " + dtype);
  }
  return a;
}

class Checker {
 public:
  void element_wise(const std::string& label, const float* got, const std::vector<float>& ref, double atol, double rtol) {
    double worst = 0;
    size_t bad = ref.size();
    for (size_t k = 0; k < ref.size(); ++k) {
      const double d = std::fabs(static_cast<double>(got[k]) - ref[k]);
      if (!(d <= worst)) worst = d;
      if (!(d <= atol + rtol * std::fabs(ref[k])) && bad == ref.size()) bad = k;
    }
    char line[512];
    if (bad == ref.size())
      std::snprintf(line, sizeof line, "max |err| %.3g (atol %g, rtol %g)", worst, atol, rtol);
    else
      std::snprintf(line, sizeof line, "max |err| %.3g (atol %g, rtol %g): element %zu got %g want %g", worst, atol, rtol, bad,
                    got[bad], ref[bad]);
    report(label, bad == ref.size(), line);
  }
  void report(const std::string& label, bool ok, const std::string& detail) {
    std::printf("%s %s: %s\n", ok ? "ok  " : "FAIL", label.c_str(), detail.c_str());
    (ok ? passed : failed) += 1;
  }
  int passed = 0, failed = 0;
};

// Ids of the k largest values (ties: lower id first) and their values.
std::vector<int> top_k(const float* row, int V, int k) {
  std::vector<int> ids(V);
  std::iota(ids.begin(), ids.end(), 0);
  std::partial_sort(ids.begin(), ids.begin() + k, ids.end(),
                    [&](int a, int b) { return row[a] != row[b] ? row[a] > row[b] : a < b; });
  ids.resize(k);
  return ids;
}

double logsumexp(const float* row, int V) {
  double m = -INFINITY, s = 0;
  for (int i = 0; i < V; ++i) m = std::max(m, static_cast<double>(row[i]));
  for (int i = 0; i < V; ++i) s += std::exp(row[i] - m);
  return m + std::log(s);
}

// Images: inputs pixel_values or pixel_values_<k>, in index order.
std::vector<px::ImageInput> images(const std::map<std::string, Array>& in) {
  std::vector<std::pair<int, const Array*>> found;
  const std::regex name("^pixel_values(_(\\d+))?$");
  for (const auto& [k, a] : in) {
    std::smatch m;
    if (std::regex_match(k, m, name)) found.push_back({m[2].matched ? std::stoi(m[2]) : 0, &a});
  }
  std::sort(found.begin(), found.end());
  std::vector<px::ImageInput> out;
  for (const auto& [k, a] : found) out.push_back({a->f.data(), static_cast<int>(a->shape[1]), static_cast<int>(a->shape[2])});
  return out;
}

int usage() {
  std::fprintf(stderr,
               "usage: fixture_parity --fixtures DIR [--backend cpu|cuda] [--layout mistral|hf] [--kv f32|f16|bf16] "
               "[--tolerance bf16_engine|fp32_engine] [--device N]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) return usage();
    const std::string v = argv[++i];
    if (a == "--fixtures") o.fixtures = v;
    else if (a == "--backend") o.backend = v;
    else if (a == "--layout") o.layout = v;
    else if (a == "--kv") o.kv = v;
    else if (a == "--tolerance") o.tolerance = v;
    else if (a == "--device") o.device = std::stoi(v);
    else return usage();
  }
  if (o.fixtures.empty()) return usage();
  Checker check;
  try {
    const Value manifest = px::json::parse(read_file(o.fixtures + "/manifest.json"), "manifest.json");
    const std::string weights = manifest.find("weights")->find(o.layout)->find("file")->string();
    const std::string model_dir = o.fixtures + "/" + (weights.find('/') == std::string::npos ? "." : weights.substr(0, weights.rfind('/')));
    px::Engine engine;
    px::LoadOptions lo;
    lo.backend = o.backend;
    lo.device = o.device;
    lo.context = 1024;
    lo.kv_cache = px::kv_cache_dtype(o.kv);
    engine.load(model_dir, lo);
    std::printf("fixtures %s, %s layout, backend %s, %s KV cache, %s tolerances\n", o.fixtures.c_str(), o.layout.c_str(),
                engine.backend_name().c_str(), o.kv.c_str(), o.tolerance.c_str());
    const int V = engine.files().config().vocab_size;
    const int Dv = engine.files().config().vision.hidden;
    const uint64_t epoch = engine.cancel_epoch();

    // greedy's bf16 fallback: the largest logits atol of the prompt cases
    double greedy_fallback = 0;
    for (const px::json::Member& m : manifest.find("cases")->object())
      if (const Value* t = m.value.find("tolerance")->find(o.tolerance))
        if (m.value.find("inputs")->find("input_ids") && t->find("atol")) greedy_fallback = std::max(greedy_fallback, t->find("atol")->number());

    for (const px::json::Member& m : manifest.find("cases")->object()) {
      const std::string& name = m.key;
      if (name.rfind("preprocess_", 0) == 0) continue;
      const Value& c = m.value;
      const Value* tol = c.find("tolerance")->find(o.tolerance);
      double atol = tol && tol->find("atol") ? tol->find("atol")->number() : 0;
      const double rtol = tol && tol->find("rtol") ? tol->find("rtol")->number() : 0;
      std::map<std::string, Array> in, out;
      for (const px::json::Member& x : c.find("inputs")->object())
        if (x.value.find("dtype")) in[x.key] = load_array(o.fixtures, x.value);
      for (const px::json::Member& x : c.find("outputs")->object()) out[x.key] = load_array(o.fixtures, x.value);

      if (name.rfind("vision_", 0) == 0) {
        std::vector<std::vector<float>> capture;
        const std::vector<px::ImageInput> imgs = images(in);
        const std::vector<float> got = engine.encode_images(imgs, &capture, epoch);
        std::vector<int> tokens;
        const int P = engine.files().config().vision.patch;
        for (const px::ImageInput& im : imgs) tokens.push_back((im.height / P) * (im.width / P));
        for (const auto& [key, ref] : out) {
          const float* g = nullptr;
          std::smatch mt;
          const std::string k = key;
          if (k == "vision_out") g = got.data();
          else if (k == "patch_embeds_conv") g = capture[0].data();
          else if (k == "patch_embeds_ln_pre") g = capture[1].data();
          else if (std::regex_match(k, mt, std::regex("^vision_layer(\\d+)_out$"))) g = capture[2 + std::stoi(mt[1])].data();
          else if (std::regex_match(k, mt, std::regex("^vision_out_image(\\d+)$"))) {
            const int img = std::stoi(mt[1]);
            g = got.data() + static_cast<size_t>(std::accumulate(tokens.begin(), tokens.begin() + img, 0)) * Dv;
          }
          if (!g) continue;
          check.element_wise(name + "/" + key, g, ref.f, atol, rtol);
        }
        continue;
      }
      if (name == "projector") {
        const Array& x = in.at("vision_out");
        const std::vector<float> got = engine.project(x.f.data(), static_cast<int>(x.shape[0]), epoch);
        check.element_wise(name + "/projector_out", got.data(), out.at("projector_out").f, atol, rtol);
        continue;
      }
      if (name == "greedy") {
        double logit_atol = tol && tol->find("logit_atol") ? tol->find("logit_atol")->number() : greedy_fallback;
        if (!tol) std::printf("note greedy: no %s tolerance in the manifest; logit_atol %g (the prompt cases' atol)\n", o.tolerance.c_str(), logit_atol);
        engine.reset();
        const std::vector<int32_t>& ref_ids = out.at("generated_ids").i;
        px::PrefillRequest pr;
        pr.ids = in.at("input_ids").i;
        pr.images = images(in);
        pr.reserve = static_cast<int>(ref_ids.size());
        engine.prefill(pr, epoch);
        px::GenerateRequest gr;
        gr.max_tokens = static_cast<int>(ref_ids.size());
        gr.return_logits = true;
        std::vector<int> ids;
        std::vector<std::vector<float>> logits;
        engine.generate(gr, [&](int id, const float* l) { ids.push_back(id), logits.emplace_back(l, l + V); }, epoch);
        const std::vector<float>& margins = out.at("step_top2_margin").f;
        int compared = 0;
        double worst = 0;
        bool ok = ids.size() == ref_ids.size();
        std::string why = ok ? "" : "generated " + std::to_string(ids.size()) + " tokens";
        // fp32: the manifest's rule (stop at the first step whose margin is 2 logit_atol or less).
        // bf16, which the manifest leaves open: the decode steps are still checked, logits on
        // every step whose prefix matched and ids where the margin allows, until the first
        // different token (its context differs from then on).
        for (size_t s = 0; ok && s < ref_ids.size() && (!tol || margins[s] > 2 * logit_atol); ++s, ++compared) {
          const std::vector<int> top = top_k(logits[s].data(), V, 3);
          const float* l = logits[s].data();
          const double vals[4][2] = {{l[top[0]], out.at("step_top1_logit").f[s]},
                                     {l[top[1]], out.at("step_top2_logit").f[s]},
                                     {l[top[0]] - l[top[1]], margins[s]},
                                     {logsumexp(l, V), out.at("step_logsumexp").f[s]}};
          for (const auto& v : vals) worst = std::max(worst, std::fabs(v[0] - v[1]));
          const bool clear = margins[s] > 2 * logit_atol;
          if (clear && ids[s] != ref_ids[s]) ok = false, why = "step " + std::to_string(s) + " drew " + std::to_string(ids[s]) + " want " + std::to_string(ref_ids[s]);
          if (worst > logit_atol) ok = false, why = "step " + std::to_string(s) + " logit error " + std::to_string(worst);
          if (l[top[1]] - l[top[2]] > 2 * logit_atol && top[1] != out.at("step_top2_id").i[s]) ok = false, why = "step " + std::to_string(s) + " second id";
          if (ids[s] != ref_ids[s]) {
            ++compared;
            break;
          }
        }
        if (compared == 0) ok = false, why = "no step had a margin large enough to compare";
        char detail[256];
        std::snprintf(detail, sizeof detail, "%d/%zu steps compared, max |logit err| %.3g (logit_atol %g)%s%s", compared,
                      ref_ids.size(), worst, logit_atol, ok ? "" : ": ", why.c_str());
        check.report(name, ok, detail);
        continue;
      }
      if (!tol) continue;
      if (in.count("input_ids")) {
        engine.reset();
        px::PrefillRequest pr;
        pr.ids = in.at("input_ids").i;
        pr.images = images(in);
        pr.logits = px::LogitsMode::All;
        const std::vector<float> logits = engine.prefill(pr, epoch);
        const int T = static_cast<int>(pr.ids.size());
        for (const auto& [key, ref] : out)
          if (key.rfind("logits_last", 0) == 0)
            check.element_wise(name + "/" + key, logits.data() + static_cast<size_t>(T - ref.shape[0]) * V, ref.f, atol, rtol);
        const Array& top5 = out.at("top5_logits");
        const int k = static_cast<int>(top5.shape[1]);
        const std::vector<float>& margins = out.at("top2_margin").f;
        std::vector<float> got_top(static_cast<size_t>(T) * k), got_margin(T);
        int compared = 0;
        bool ids_ok = true;
        for (int t = 0; t < T; ++t) {
          const float* row = logits.data() + static_cast<size_t>(t) * V;
          const std::vector<int> top = top_k(row, V, k);
          for (int j = 0; j < k; ++j) got_top[static_cast<size_t>(t) * k + j] = row[top[j]];
          got_margin[t] = row[top[0]] - row[top[1]];
          if (margins[t] <= 2 * atol) continue;
          ++compared;
          ids_ok = ids_ok && top[0] == out.at("argmax").i[t];
          const float* rv = top5.f.data() + static_cast<size_t>(t) * k;
          for (int j = 0; j < k; ++j) {
            const double above = j == 0 ? INFINITY : rv[j - 1] - rv[j], below = j + 1 < k ? rv[j] - rv[j + 1] : INFINITY;
            if (above > 2 * atol && below > 2 * atol) ids_ok = ids_ok && top[j] == out.at("top5_ids").i[static_cast<size_t>(t) * k + j];
          }
        }
        check.report(name + "/argmax,top5_ids", ids_ok && compared > 0, "compared at " + std::to_string(compared) + "/" + std::to_string(T) + " positions");
        check.element_wise(name + "/top5_logits", got_top.data(), top5.f, atol, rtol);
        check.element_wise(name + "/top2_margin", got_margin.data(), margins, atol, rtol);
      }
    }
  } catch (const std::exception& e) {
    check.report("run", false, e.what());
  }
  std::printf("%d passed, %d failed\n", check.passed, check.failed);
  return check.failed ? 1 : 0;
}
