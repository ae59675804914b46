// CancelToken: lets one thread stop long calls (encoding, tokenizing a batch, top-k) that
// run on another.
//
// The calls check the token between work items (a batch of sequences, a block of texts, a
// tile of the score matrix) and stop a model call already running through ONNX Runtime's
// run termination, then throw fastsbert::Cancelled. The object that ran the call stays
// usable; the call's outputs are left partly written.
//
// This header exposes no ONNX Runtime or Python types.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>

namespace fastsbert {

class CancelToken {
 public:
  CancelToken() = default;
  CancelToken(const CancelToken&) = delete;
  CancelToken& operator=(const CancelToken&) = delete;

  // Asks every call using this token to stop. Safe from any thread, and more than once;
  // the token stays cancelled (use a fresh one for the next call).
  void cancel();
  bool cancelled() const noexcept { return cancelled_.load(std::memory_order_acquire); }

  // For work that cannot poll (a model call in flight): `stop` runs when cancel() is called
  // while the returned subscription lives, or at once, on this thread, if the token is
  // already cancelled. Destroying the subscription waits for a `stop` already running.
  class Subscription {
   public:
    Subscription() = default;
    Subscription(Subscription&& other) noexcept;
    Subscription& operator=(Subscription&& other) noexcept;
    ~Subscription();

   private:
    friend class CancelToken;
    Subscription(const CancelToken* token, uint64_t id) : token_(token), id_(id) {}
    const CancelToken* token_ = nullptr;
    uint64_t id_ = 0;
  };
  [[nodiscard]] Subscription on_cancel(std::function<void()> stop) const;

 private:
  std::atomic<bool> cancelled_{false};
  mutable std::mutex mutex_;
  mutable uint64_t next_id_ = 1;
  mutable std::map<uint64_t, std::function<void()>> stops_;
};

}  // namespace fastsbert
