// A fixed pool of worker threads for the CPU backend. parallel_for hands out task indices from an
// atomic counter (dynamic scheduling: uneven rows or heads balance themselves) and the calling
// thread works too, so a pool of N threads uses N cores.
#pragma once
#include <atomic>
#include <condition_variable>
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
  void worker_loop(int thread_index);
  void run_tasks(int thread_index);

  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::condition_variable done_;
  const std::function<void(int, int)>* job_ = nullptr;
  int n_tasks_ = 0;
  std::atomic<int> next_{0};
  int active_ = 0;       // workers still inside the current job
  uint64_t generation_ = 0;
  bool stop_ = false;
};

int default_thread_count();

}  // namespace px
