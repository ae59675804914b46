// The one way fastsbert runs work on several threads.
#pragma once

#include <cstddef>
#include <functional>

#include "fastsbert/cancel.h"
#include "fastsbert/threads.h"

namespace fastsbert {

// Worker count for a requested thread count: 0 means available_cpus(), and requests above
// it are capped at it. Throws std::invalid_argument below 0 (public entry points check
// first, so that their message names their own argument).
int thread_count(int requested);

// Workers parallel_for(count, threads, ...) may use: body's `worker` argument is below this.
// Size per-worker state with it.
size_t parallel_workers(size_t count, int threads);

// Runs body(item, worker) for every item in [0, count). Items are handed out one at a time
// in increasing order to parallel_workers(count, threads) workers; the calling thread is
// worker 0 (so a single worker runs inline, with no thread started). A thread that cannot
// be started leaves its share to the workers already running.
//
// The first exception thrown by body makes the other workers stop taking items; it is
// rethrown here once all have returned. When `cancel` is cancelled, workers stop taking
// items and the call throws fastsbert::Cancelled, unless every item had run (or started).
void parallel_for(size_t count, int threads, const CancelToken* cancel,
                  const std::function<void(size_t item, size_t worker)>& body);

// Throws fastsbert::Cancelled when `cancel` is set and cancelled: for the serial steps
// between parallel ones.
void throw_if_cancelled(const CancelToken* cancel);

}  // namespace fastsbert
