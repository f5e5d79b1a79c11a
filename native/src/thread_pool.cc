// See thread_pool.h.
#include "thread_pool.h"

#include <algorithm>

namespace px {

int default_thread_count() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

ThreadPool::ThreadPool(int threads) {
  int extra = std::max(threads, 1) - 1;
  for (int i = 0; i < extra; ++i) workers_.emplace_back([this, i] { worker_loop(i + 1); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::run_tasks(uint32_t generation, const Job& job, int n_tasks, int thread_index) {
  uint64_t s = next_.load(std::memory_order_acquire);
  for (;;) {
    const int task = static_cast<int>(static_cast<uint32_t>(s));
    if (static_cast<uint32_t>(s >> 32) != generation || task >= n_tasks) return;
    if (!next_.compare_exchange_weak(s, s + 1, std::memory_order_acq_rel)) continue;
    job(task, thread_index);
    if (finished_.fetch_add(1, std::memory_order_acq_rel) + 1 == n_tasks) {
      std::lock_guard<std::mutex> lock(mu_);  // pairs with the caller's predicate check
      done_.notify_one();
    }
    s = next_.load(std::memory_order_acquire);
  }
}

void ThreadPool::worker_loop(int thread_index) {
  uint32_t seen = 0;
  for (;;) {
    const Job* job;
    int n_tasks;
    {
      std::unique_lock<std::mutex> lock(mu_);
      wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
      job = job_;
      n_tasks = n_tasks_;
    }
    run_tasks(seen, *job, n_tasks, thread_index);
  }
}

void ThreadPool::parallel_for(int n_tasks, const std::function<void(int, int)>& fn) {
  if (n_tasks <= 0) return;
  if (workers_.empty() || n_tasks == 1) {
    for (int t = 0; t < n_tasks; ++t) fn(t, 0);
    return;
  }
  uint32_t generation;
  {
    std::lock_guard<std::mutex> lock(mu_);
    generation = ++generation_;
    job_ = &fn;
    n_tasks_ = n_tasks;
    finished_.store(0, std::memory_order_relaxed);
    next_.store(static_cast<uint64_t>(generation) << 32, std::memory_order_release);
  }
  wake_.notify_all();
  run_tasks(generation, fn, n_tasks, 0);
  // Only tasks a worker claimed are left; they are running now, so wait briefly before sleeping.
  for (int spin = 0; spin < 4096 && finished_.load(std::memory_order_acquire) != n_tasks; ++spin) {
  }
  if (finished_.load(std::memory_order_acquire) == n_tasks) return;
  std::unique_lock<std::mutex> lock(mu_);
  done_.wait(lock, [&] { return finished_.load(std::memory_order_acquire) == n_tasks; });
}

}  // namespace px
