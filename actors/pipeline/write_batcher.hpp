#pragma once
/// The storage writer's logic, without CAF: append_sets queue up while a round trip is in
/// flight, and the next flush writes all of them with one store call (one pipeline, one
/// XADD per batch). After a store outage it fails fast for a backoff period instead of
/// hammering the store; the first flush after the period reconnects.

#include <chrono>
#include <memory>
#include <vector>

#include "actors/messages.hpp"
#include "actors/metrics/metrics.hpp"

namespace portask {

class write_batcher {
 public:
  using clock = std::chrono::steady_clock;
  static constexpr std::chrono::milliseconds min_backoff{50};
  static constexpr std::chrono::milliseconds max_backoff{2000};

  write_batcher(std::unique_ptr<storage::log_store> store, metrics_registry* metrics)
      : store_(std::move(store)), metrics_(metrics) {}

  void enqueue(append_set set) { queue_.push_back(std::move(set)); }
  bool empty() const noexcept { return queue_.empty(); }
  std::size_t queued() const noexcept { return queue_.size(); }

  /// Writes everything queued; returns one outcome per queued set, in enqueue order.
  std::vector<append_outcome> flush(clock::time_point now);

  std::chrono::milliseconds backoff() const noexcept { return backoff_; }

 private:
  std::unique_ptr<storage::log_store> store_;
  metrics_registry* metrics_;
  std::vector<append_set> queue_;
  std::chrono::milliseconds backoff_{0};
  clock::time_point unavailable_until_{};
  // Reused across flushes: no per-flush allocation once warmed up.
  std::vector<storage::append_request> requests_;
  std::vector<std::error_code> results_;
};

}  // namespace portask
