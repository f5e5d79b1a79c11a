#include "fma_peak.h"

#include <chrono>

#include "../src/thread_pool.h"

namespace px {
namespace {

constexpr long kRounds = 2'500'000;  // per task, 12 FMAs each; 8 tasks a thread: ~0.1 s at 3 GHz
constexpr int kTasksPerThread = 8;   // handed out as threads free up, so a late one does fewer
constexpr int kChains = 12;           // independent accumulators: latency 4 x 2 pipes, with room

// Twelve FMAs into twelve registers per round, so only the FMA pipes limit the rate.
#define PX_FMA12(op, reg)                                                                             \
  op " %%" reg "0, %%" reg "1, %%" reg "2\n\t" op " %%" reg "0, %%" reg "1, %%" reg "3\n\t"          \
  op " %%" reg "0, %%" reg "1, %%" reg "4\n\t" op " %%" reg "0, %%" reg "1, %%" reg "5\n\t"          \
  op " %%" reg "0, %%" reg "1, %%" reg "6\n\t" op " %%" reg "0, %%" reg "1, %%" reg "7\n\t"          \
  op " %%" reg "0, %%" reg "1, %%" reg "8\n\t" op " %%" reg "0, %%" reg "1, %%" reg "9\n\t"          \
  op " %%" reg "0, %%" reg "1, %%" reg "10\n\t" op " %%" reg "0, %%" reg "1, %%" reg "11\n\t"        \
  op " %%" reg "0, %%" reg "1, %%" reg "12\n\t" op " %%" reg "0, %%" reg "1, %%" reg "13\n\t"
#define PX_CLOBBERS "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", \
                    "xmm11", "xmm12", "xmm13"

#if defined(__x86_64__)
__attribute__((target("avx512f"))) void chains_512() {
  asm volatile("vxorps %%xmm0, %%xmm0, %%xmm0\n\tvxorps %%xmm1, %%xmm1, %%xmm1" ::: "xmm0", "xmm1");
  for (long i = 0; i < kRounds; ++i) asm volatile(PX_FMA12("vfmadd231ps", "zmm") ::: PX_CLOBBERS);
}
__attribute__((target("avx2,fma"))) void chains_256() {
  asm volatile("vxorps %%xmm0, %%xmm0, %%xmm0\n\tvxorps %%xmm1, %%xmm1, %%xmm1" ::: "xmm0", "xmm1");
  for (long i = 0; i < kRounds; ++i) asm volatile(PX_FMA12("vfmadd231ps", "ymm") ::: PX_CLOBBERS);
}
#endif

}  // namespace

FmaPeak measure_fma_peak(int threads) {
  void (*chains)() = nullptr;
  int bits = 0;
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) chains = chains_512, bits = 512;
  else if (__builtin_cpu_supports("fma")) chains = chains_256, bits = 256;
#endif
  if (!chains) return {0, 0};
  ThreadPool pool(threads > 0 ? threads : default_thread_count());
  const int tasks = pool.size() * kTasksPerThread;
  pool.parallel_for(tasks, [&](int, int) { chains(); });  // wake the threads, settle the clock
  const auto t0 = std::chrono::steady_clock::now();
  pool.parallel_for(tasks, [&](int, int) { chains(); });
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double fmas = static_cast<double>(tasks) * kRounds * kChains * (bits / 32);
  return {2 * fmas / s, bits};
}

}  // namespace px
