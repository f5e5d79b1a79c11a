// A fixed pool of worker threads for the CPU backend. parallel_for hands out task indices from an
// atomic counter (dynamic scheduling: uneven rows or heads balance themselves) and the calling
// thread works too, so a pool of N threads uses N cores. The caller waits only for tasks a worker
// has claimed, never for a worker to wake up: on a busy machine a sleeping worker may not run for
// milliseconds, and a small op (a decode step of a small model) is better done by the caller alone.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace px {

class ThreadPool {
 public:
  explicit ThreadPool(int threads);  // total threads including the caller; >= 1
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  // Runs fn(task, thread_index) for task in [0, n_tasks); returns when all are done.
  // thread_index is in [0, size()) and identifies per-thread scratch. Not reentrant.
  void parallel_for(int n_tasks, const std::function<void(int task, int thread)>& fn);

 private:
  using Job = std::function<void(int, int)>;
  void worker_loop(int thread_index);
  // Claims and runs tasks of job `generation` until none is left or a later job has started.
  void run_tasks(uint32_t generation, const Job& job, int n_tasks, int thread_index);

  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::condition_variable done_;
  // Under mu_: the current job, read by a worker when it wakes.
  const Job* job_ = nullptr;
  int n_tasks_ = 0;
  uint32_t generation_ = 0;
  bool stop_ = false;
  // (generation << 32) | next task index: a claim succeeds only while its job is the current one.
  std::atomic<uint64_t> next_{0};
  std::atomic<int> finished_{0};  // tasks of the current job run to completion
};

int default_thread_count();

}  // namespace px
