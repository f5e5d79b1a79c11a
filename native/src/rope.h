// Rotary position tables, computed on the host in double precision and rounded to fp32 once:
// angles p * theta^(-2j/hd) reach 1.3e5 rad at p = 131071, where an fp32 product would already be
// off by ~1e-2 rad. Layout [2, T, hd/2]: all cosines, then all sines (what Backend::rope reads).
#pragma once
#include <vector>

namespace px {

// Text decoder (spec e.3): T tokens at positions pos0 .. pos0+T-1, pair j angle p * theta^(-2j/hd),
// written into `table` (resized; reusing one vector keeps the decode loop free of allocations).
void text_rope_table(int pos0, int T, int hd, double theta, std::vector<float>& table);

// Vision encoder (spec b.4): a grid_h x grid_w image, tokens row-major; pair j < hd/4 uses the row
// and frequency 2j, pair hd/4 + j the column and frequency 2j+1.
std::vector<float> vision_rope_table(int grid_h, int grid_w, int hd, double theta);

}  // namespace px
