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

void put(std::vector<float>& table, size_t row, int hd, int j, double angle) {
  table[row * hd + j] = static_cast<float>(std::cos(angle));
  table[row * hd + hd / 2 + j] = static_cast<float>(std::sin(angle));
}

}  // namespace

std::vector<float> text_rope_table(int n, int hd, double theta) {
  const std::vector<double> f = frequencies(hd, theta);
  std::vector<float> table(static_cast<size_t>(n) * hd);
  for (int p = 0; p < n; ++p)
    for (int j = 0; j < hd / 2; ++j) put(table, p, hd, j, static_cast<double>(p) * f[j]);
  return table;
}

std::vector<float> vision_rope_table(int max_side, int hd, double theta) {
  const int quarter = hd / 4;
  const std::vector<double> f = frequencies(hd, theta);
  std::vector<float> table(static_cast<size_t>(max_side) * max_side * hd);
  for (int r = 0; r < max_side; ++r)
    for (int c = 0; c < max_side; ++c)
      for (int j = 0; j < hd / 2; ++j)
        put(table, static_cast<size_t>(r) * max_side + c, hd, j, j < quarter ? r * f[2 * j] : c * f[2 * (j - quarter) + 1]);
  return table;
}

}  // namespace px
