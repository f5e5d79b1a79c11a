// The op_harness program: runs the op harness (op_harness.h) on one backend and prints one JSON
// object per case and a summary line; exits 1 when a case fails. Runs without Node, so it also
// checks the NEON kernels under qemu-user and the CUDA library on a GPU machine.
//   op_harness [--backend cpu|cuda] [--kernels generic|avx2|avx512-vnni|neon|neon-dotprod] [--threads N] [--device N]
//              [--seed N] [--filter TEXT]
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "../src/backend_plugin.h"
#include "../src/cpu_backend.h"
#include "../src/json.h"
#include "op_harness.h"

namespace {

int usage() {
  std::fprintf(stderr, "usage: op_harness [--backend cpu|cuda] [--kernels NAME] [--threads N] [--device N] [--seed N] [--filter TEXT]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string backend_name = "cpu", kernels, filter;
  int threads = 0, device = 0;
  uint64_t seed = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) return usage();
    const char* v = argv[++i];
    if (a == "--backend") backend_name = v;
    else if (a == "--kernels") kernels = v;
    else if (a == "--threads") threads = std::atoi(v);
    else if (a == "--device") device = std::atoi(v);
    else if (a == "--seed") seed = std::strtoull(v, nullptr, 10);
    else if (a == "--filter") filter = v;
    else return usage();
  }
  px::SharedLibrary library;
  std::unique_ptr<px::Backend> backend;
  try {
    if (backend_name == "cpu") {
      const px::CpuKernels* k = kernels.empty() ? nullptr : px::cpu_kernels_named(kernels);
      if (!kernels.empty() && !k) {
        std::printf("{\"unsupported\": %s}\n", px::json::quote("kernel set " + kernels + " does not run here").c_str());
        return 3;
      }
      backend = std::make_unique<px::CpuBackend>(threads, k);
    } else {
      backend = px::create_plugin_backend(backend_name, "{\"device\": " + std::to_string(device) + "}", library);
    }
  } catch (const std::exception& e) {
    std::printf("{\"unsupported\": %s}\n", px::json::quote(e.what()).c_str());
    return 3;
  }
  // CUDA's tensor cores take bf16 operands: its tolerance profile (op_harness.h).
  px::harness::Options options{seed, filter, backend_name == "cuda"};
  if (backend_name == "cpu") options.int8_activation_rows = (kernels.empty() ? px::cpu_kernels() : *px::cpu_kernels_named(kernels)).quantized_acts_rows;
  const auto results = px::harness::run_all(*backend, options);
  int failed = 0;
  for (const auto& r : results) {
    failed += !r.ok;
    std::printf("{\"op\": %s, \"case\": %s, \"error\": %.6g, \"tolerance\": %.3g, \"measure\": %s, \"ok\": %s%s}\n",
                px::json::quote(r.op).c_str(), px::json::quote(r.name).c_str(), r.error, r.tolerance, px::json::quote(r.measure).c_str(),
                r.ok ? "true" : "false", r.failure.empty() ? "" : (", \"failure\": " + px::json::quote(r.failure)).c_str());
  }
  std::printf("{\"backend\": %s, \"seed\": %llu, \"cases\": %zu, \"failed\": %d}\n", px::json::quote(backend->name()).c_str(),
              static_cast<unsigned long long>(seed), results.size(), failed);
  return failed ? 1 : 0;
}
