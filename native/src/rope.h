// Rotary position tables, computed on the host in double precision and rounded to fp32 once:
// angles p * theta^(-2j/hd) reach 1.3e5 rad at p = 131071, where an fp32 product would already be
// off by ~1e-2 rad. Layout [positions, hd]: row p holds the hd/2 cosines then the hd/2 sines of
// position p (what Op::Rope gathers by position). Built once at load and kept on the device.
#pragma once
#include <vector>

namespace px {

// Text decoder (spec e.3): positions 0 .. n-1, pair j angle p * theta^(-2j/hd).
std::vector<float> text_rope_table(int n, int hd, double theta);

// Vision encoder (spec b.4): every patch of a max_side x max_side grid, row-major (position
// r * max_side + c, HF's position_ids); pair j < hd/4 uses the row and frequency 2j, pair
// hd/4 + j the column and frequency 2j+1.
std::vector<float> vision_rope_table(int max_side, int hd, double theta);

}  // namespace px
