// The processor's fp32 multiply-add peak, the yardstick for the compute-bound stages (prefill, the
// vision encoder) as read bandwidth is for decode: independent chains of the widest vector FMA the
// x86-64 processor runs (512-bit with AVX-512F, else 256-bit with FMA) on every thread, nothing
// loaded or stored. Elsewhere no probe is compiled yet and the benchmarks print no peak.
#pragma once

namespace px {

struct FmaPeak {
  double flops;    // FLOP/s over all threads (an FMA counts 2 per lane)
  int bits;        // vector width measured; 0 where no probe is compiled for this processor
};

FmaPeak measure_fma_peak(int threads);

}  // namespace px
