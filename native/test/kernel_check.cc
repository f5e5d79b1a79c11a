// Standalone check of the CPU kernel sets against float64, for targets the test machine cannot
// load the addon on (arm64 under qemu-user): builds with kernels*.cc only, draws fresh random
// inputs from the seed in argv[1], prints the worst relative error per kernel set and shape, and
// exits non-zero when one exceeds 1e-5.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "../src/kernels.h"

int main(int argc, char** argv) {
  const unsigned seed = argc > 1 ? static_cast<unsigned>(std::strtoul(argv[1], nullptr, 10)) : 1u;
  std::mt19937 gen(seed);
  std::normal_distribution<float> normal(0.f, 1.f);
  const px::CpuKernels* sets[] = {px::generic_kernels(), px::avx2_kernels(), px::neon_kernels()};
  const int shapes[][3] = {{1, 5120, 64}, {1, 37, 13}, {2, 300, 70}, {3, 256, 33}, {5, 513, 65}, {37, 259, 97}};
  bool ok = true;
  for (const px::CpuKernels* k : sets) {
    if (!k) continue;
    for (const auto& s : shapes) {
      const int T = s[0], in = s[1], out = s[2];
      std::vector<float> x(static_cast<size_t>(T) * in), y(static_cast<size_t>(T) * out);
      std::vector<uint16_t> w(static_cast<size_t>(out) * in);
      for (float& v : x) v = normal(gen);
      for (uint16_t& v : w) v = px::f32_to_bf16(normal(gen) * 0.05f);
      k->matmul_bf16(y.data(), out, x.data(), w.data(), T, in, 0, out, false);
      double worst = 0;
      for (int t = 0; t < T; ++t)
        for (int r = 0; r < out; ++r) {
          double exact = 0, scale = 0;
          for (int i = 0; i < in; ++i) {
            const double p = static_cast<double>(x[t * in + i]) * px::bf16_to_f32(w[static_cast<size_t>(r) * in + i]);
            exact += p;
            scale += std::fabs(p);
          }
          worst = std::fmax(worst, std::fabs(y[t * out + r] - exact) / scale);
        }
      // dot and axpy on the first row of x against float64.
      double dot_exact = 0;
      for (int i = 0; i < in; ++i) dot_exact += static_cast<double>(x[i]) * x[i];
      const double dot_err = std::fabs(k->dot(x.data(), x.data(), in) - dot_exact) / dot_exact;
      std::vector<float> acc(x.begin(), x.begin() + in);
      k->axpy(acc.data(), 0.5f, x.data(), in);
      double axpy_err = 0;
      for (int i = 0; i < in; ++i) axpy_err = std::fmax(axpy_err, std::fabs(acc[i] - 1.5 * x[i]));
      const bool pass = worst < 1e-5 && dot_err < 1e-5 && axpy_err < 1e-6;
      ok = ok && pass;
      std::printf("%-8s T=%-3d in=%-5d out=%-4d matmul %.2e dot %.2e axpy %.2e %s\n", k->name, T, in, out, worst,
                  dot_err, axpy_err, pass ? "ok" : "FAIL");
    }
  }
  // attention_tile: causal, grouped heads (H=6, K=2), against float64.
  const int Tq = 20, H = 6, K = 2, hd = 20, group = H / K;
  std::vector<float> q(static_cast<size_t>(Tq) * H * hd), kv(static_cast<size_t>(Tq) * K * hd), vv(kv.size()), o(q.size());
  for (float& x : q) x = normal(gen);
  for (float& x : kv) x = normal(gen);
  for (float& x : vv) x = normal(gen);
  for (const px::CpuKernels* k : sets) {
    if (!k) continue;
    const float scale = 1.f / std::sqrt(static_cast<float>(hd));
    for (int g = 0; g < K; ++g) k->attention_tile(px::AttentionTile{o.data(), q.data(), kv.data(), vv.data(), 0, Tq, g, Tq, H, K, hd, 0, scale});
    double worst = 0;
    for (int i = 0; i < Tq; ++i)
      for (int h = 0; h < H; ++h) {
        const int g = h / group;
        std::vector<double> p(i + 1);
        double mx = -1e300, sum = 0;
        for (int j = 0; j <= i; ++j) {
          double d = 0;
          for (int c = 0; c < hd; ++c) d += static_cast<double>(q[(i * H + h) * hd + c]) * kv[(j * K + g) * hd + c];
          p[j] = d * scale;
          mx = std::fmax(mx, p[j]);
        }
        for (double& x : p) sum += (x = std::exp(x - mx));
        for (int c = 0; c < hd; ++c) {
          double acc = 0;
          for (int j = 0; j <= i; ++j) acc += p[j] / sum * vv[(j * K + g) * hd + c];
          worst = std::fmax(worst, std::fabs(acc - o[(i * H + h) * hd + c]));
        }
      }
    const bool pass = worst < 2e-5;
    ok = ok && pass;
    std::printf("%-8s attention_tile Tq=%d H=%d K=%d hd=%d causal: %.2e %s\n", k->name, Tq, H, K, hd, worst, pass ? "ok" : "FAIL");
  }
  return ok ? 0 : 1;
}
