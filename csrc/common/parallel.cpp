#include "common/parallel.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#if defined(__linux__)
#include <sched.h>
#endif

#include "fastsbert/errors.h"

namespace fastsbert {

int available_cpus() {
#if defined(__linux__)
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
#endif
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

int thread_count(int requested) {
  if (requested < 0) {
    throw std::invalid_argument("thread count must be >= 0 (0: all available CPUs), got " +
                                std::to_string(requested));
  }
  const int cpus = available_cpus();
  return requested == 0 ? cpus : std::min(requested, cpus);
}

size_t parallel_workers(size_t count, int threads) {
  return std::max<size_t>(1, std::min(count, static_cast<size_t>(thread_count(threads))));
}

void throw_if_cancelled(const CancelToken* cancel) {
  if (cancel && cancel->cancelled()) throw Cancelled("cancelled");
}

void parallel_for(size_t count, int threads, const CancelToken* cancel,
                  const std::function<void(size_t item, size_t worker)>& body) {
  const size_t workers = parallel_workers(count, threads);
  if (count == 0) return;
  std::atomic<size_t> next{0};
  std::atomic<bool> stop{false};
  std::atomic<bool> skipped{false};  // an item was left undone because of `cancel`
  std::exception_ptr error;
  std::mutex error_mutex;

  auto work = [&](size_t worker) {
    try {
      while (!stop.load(std::memory_order_relaxed)) {
        const size_t item = next.fetch_add(1, std::memory_order_relaxed);
        if (item >= count) return;
        if (cancel && cancel->cancelled()) {
          skipped = true;
          stop = true;
          return;
        }
        body(item, worker);
      }
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mutex);
      if (!error) error = std::current_exception();
      stop = true;
    }
  };

  std::vector<std::thread> pool;
  try {
    pool.reserve(workers - 1);
    for (size_t w = 1; w < workers; ++w) pool.emplace_back(work, w);
  } catch (const std::exception&) {
    // No more threads (or no memory to track them): the running workers share the items.
  }
  work(0);
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);
  if (skipped) throw Cancelled("cancelled");
}

// ---------------------------------------------------------------- CancelToken
void CancelToken::cancel() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (cancelled_.exchange(true, std::memory_order_acq_rel)) return;
  for (auto& entry : stops_) {
    try {
      entry.second();
    } catch (...) {
      // Stopping is best effort: the workers still see the flag between items.
    }
  }
}

CancelToken::Subscription CancelToken::on_cancel(std::function<void()> stop) const {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!cancelled()) {
      const uint64_t id = next_id_++;
      stops_.emplace(id, std::move(stop));
      return Subscription(this, id);
    }
  }
  stop();
  return Subscription();
}

CancelToken::Subscription::Subscription(Subscription&& other) noexcept
    : token_(other.token_), id_(other.id_) {
  other.token_ = nullptr;
}

CancelToken::Subscription& CancelToken::Subscription::operator=(Subscription&& other) noexcept {
  if (this != &other) {
    Subscription old(std::move(*this));
    token_ = other.token_;
    id_ = other.id_;
    other.token_ = nullptr;
  }
  return *this;
}

CancelToken::Subscription::~Subscription() {
  if (!token_) return;
  std::lock_guard<std::mutex> lock(token_->mutex_);
  token_->stops_.erase(id_);
}

}  // namespace fastsbert
