// parallel_for and CancelToken: every item runs once, the first error comes back to the
// caller, cancellation stops the handing out of items, and a thread that cannot start
// leaves its share to the others. Needs no model.
#include <sys/resource.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "check.h"
#include "common/parallel.h"
#include "fastsbert/errors.h"

namespace {

using fastsbert_test::check;

// Runs parallel_for over `count` items; checks each ran once on a valid worker.
void check_every_item_once(size_t count, int threads) {
  std::vector<std::atomic<int>> runs(count);
  const size_t workers = fastsbert::parallel_workers(count, threads);
  std::atomic<bool> bad_worker{false};
  fastsbert::parallel_for(count, threads, nullptr, [&](size_t item, size_t worker) {
    runs[item].fetch_add(1);
    if (worker >= workers) bad_worker = true;
  });
  bool once = true;
  for (auto& r : runs) once = once && r.load() == 1;
  const std::string what = std::to_string(count) + " items, threads " + std::to_string(threads);
  check(once, what + ": every item runs exactly once");
  check(!bad_worker, what + ": worker index below parallel_workers()");
}

size_t vm_size_bytes() {
  std::ifstream status("/proc/self/status");
  std::string key;
  while (status >> key) {
    if (key == "VmSize:") {
      size_t kb = 0;
      status >> kb;
      return kb * 1024;
    }
  }
  return 0;
}

}  // namespace

int main() {
  using fastsbert::parallel_for;
  const int cpus = fastsbert::available_cpus();

  // No thread can start (the address space has no room for a stack): the calling thread
  // does all the work instead of the process ending in std::terminate. First of all, while
  // the C library has no stack of an ended thread cached for reuse.
  if (cpus > 1) {
    rlimit old{};
    getrlimit(RLIMIT_AS, &old);
    const size_t vm = vm_size_bytes();
    constexpr size_t kHeadroom = 2 << 20;  // below one thread stack (8 MiB by default)
    rlimit tight = old;
    tight.rlim_cur = vm + kHeadroom;
    std::vector<int> runs(64, 0);  // allocated before the limit matters
    if (vm > 0 && setrlimit(RLIMIT_AS, &tight) == 0) {
      bool threads_fail = false;
      try {
        std::thread([] {}).join();
      } catch (const std::system_error&) {
        threads_fail = true;
      }
      check(threads_fail, "no thread starts under the address-space limit (test setup)");
      std::atomic<bool> other_worker{false};
      bool threw = false;
      try {
        parallel_for(runs.size(), cpus, nullptr, [&](size_t item, size_t worker) {
          ++runs[item];
          if (worker != 0) other_worker = true;
        });
      } catch (...) {
        threw = true;
      }
      setrlimit(RLIMIT_AS, &old);
      bool once = true;
      for (int r : runs) once = once && r == 1;
      check(!threw, "no exception when threads cannot start");
      check(once && !other_worker, "the calling thread ran every item");
    }
  }

  check(cpus >= 1, "available_cpus() >= 1");
  check(fastsbert::thread_count(0) == cpus, "threads 0 means available_cpus()");
  check(fastsbert::thread_count(1000000) == cpus, "thread counts are capped at available_cpus()");
  check(fastsbert::thread_count(1) == 1, "one thread stays one");
  try {
    fastsbert::thread_count(-1);
    check(false, "negative thread count rejected");
  } catch (const std::invalid_argument&) {
  }

  for (int threads : {0, 1, 3, 1000000}) {
    for (size_t count : {size_t(0), size_t(1), size_t(7), size_t(1000)}) {
      check_every_item_once(count, threads);
    }
  }

  // The first error comes back with its type and message; later items are not handed out.
  {
    std::atomic<size_t> ran{0};
    try {
      parallel_for(100000, 4, nullptr, [&](size_t item, size_t) {
        ran.fetch_add(1);
        if (item == 5) throw std::out_of_range("item 5 failed");
      });
      check(false, "error propagates");
    } catch (const std::out_of_range& e) {
      check(std::string(e.what()) == "item 5 failed", "the body's own exception is rethrown");
    }
    check(ran.load() < 100000, "items after an error are not handed out");
  }

  // Cancellation: from inside the work, before the call, and after the last item.
  {
    fastsbert::CancelToken cancel;
    std::atomic<size_t> ran{0};
    try {
      parallel_for(100000, 4, &cancel, [&](size_t item, size_t) {
        ran.fetch_add(1);
        if (item == 10) cancel.cancel();
      });
      check(false, "a cancelled call throws");
    } catch (const fastsbert::Cancelled&) {
    }
    check(ran.load() < 100000, "items after cancellation are not handed out");

    size_t ran_after = 0;
    try {
      parallel_for(10, 1, &cancel, [&](size_t, size_t) { ++ran_after; });
      check(false, "an already cancelled token stops the call");
    } catch (const fastsbert::Cancelled&) {
    }
    check(ran_after == 0, "no item runs with an already cancelled token");

    fastsbert::CancelToken late;
    parallel_for(10, 1, &late, [&](size_t item, size_t) {
      if (item == 9) late.cancel();  // every item has run: nothing to report
    });
  }

  // Stop hooks run on cancel() while subscribed, at once when already cancelled, never
  // after the subscription ends.
  {
    fastsbert::CancelToken cancel;
    int stopped = 0, unsubscribed = 0;
    auto live = cancel.on_cancel([&] { ++stopped; });
    { auto gone = cancel.on_cancel([&] { ++unsubscribed; }); }
    cancel.cancel();
    cancel.cancel();
    check(stopped == 1, "a live subscription's hook runs once");
    check(unsubscribed == 0, "an ended subscription's hook does not run");
    auto late = cancel.on_cancel([&] { ++stopped; });
    check(stopped == 2, "subscribing to a cancelled token runs the hook at once");
  }

  return fastsbert_test::report("test_parallel");
}
