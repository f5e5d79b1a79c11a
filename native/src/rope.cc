// See rope.h.
#include "rope.h"

#include <cmath>

namespace px {
namespace {

std::vector<double> frequencies(int hd, double theta) {
  std::vector<double> f(hd / 2);
  for (int j = 0; j < hd / 2; ++j) f[j] = std::pow(theta, -2.0 * j / hd);
  return f;
}

}  // namespace

void text_rope_table(int pos0, int T, int hd, double theta, std::vector<float>& table) {
  const int half = hd / 2;
  table.resize(static_cast<size_t>(2) * T * half);
  float* sin_base = table.data() + static_cast<size_t>(T) * half;
  for (int t = 0; t < T; ++t)
    for (int j = 0; j < half; ++j) {
      // pow per pair rather than a cached frequency vector: hd/2 calls, and no allocation.
      const double a = static_cast<double>(pos0 + t) * std::pow(theta, -2.0 * j / hd);
      table[static_cast<size_t>(t) * half + j] = static_cast<float>(std::cos(a));
      sin_base[static_cast<size_t>(t) * half + j] = static_cast<float>(std::sin(a));
    }
}

std::vector<float> vision_rope_table(int grid_h, int grid_w, int hd, double theta) {
  const int half = hd / 2, quarter = hd / 4;
  const std::vector<double> f = frequencies(hd, theta);
  const int T = grid_h * grid_w;
  std::vector<float> table(static_cast<size_t>(2) * T * half);
  float* sin_base = table.data() + static_cast<size_t>(T) * half;
  for (int r = 0; r < grid_h; ++r)
    for (int c = 0; c < grid_w; ++c) {
      const size_t t = static_cast<size_t>(r) * grid_w + c;
      for (int j = 0; j < half; ++j) {
        const double a = j < quarter ? r * f[2 * j] : c * f[2 * (j - quarter) + 1];
        table[t * half + j] = static_cast<float>(std::cos(a));
        sin_base[t * half + j] = static_cast<float>(std::sin(a));
      }
    }
  return table;
}

}  // namespace px
