#pragma once
/// The storage writer's logic, without CAF: append_sets queue up while a round trip is in
/// flight, and the next flush writes all of them with one store call (one pipeline, one
/// XADD per batch). After a store outage it fails fast for a backoff period instead of
/// hammering the store; the first flush after the period reconnects.
///
/// A partition may have two sets out at once (partition_log::max_sets_in_flight). A set that
/// follows another (append_set::follows) is stored only if this writer stored the one it
/// follows, or sends it in the same store call ahead of it; otherwise it is refused unsent
/// (not_ready). So when a set fails, the one sent behind it never lands after the gap, even
/// when it reaches the writer after its store call failed, or reaches a restarted writer.

#include <chrono>
#include <memory>
#include <unordered_map>
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

  /// The most partitions whose last stored set a writer remembers; past it the memory is
  /// cleared, and a set following one stored before is refused (retriable: its partition
  /// reads its bounds back and goes on).
  static constexpr std::size_t max_remembered_partitions = 65536;

 private:
  std::unique_ptr<storage::log_store> store_;
  metrics_registry* metrics_;
  std::vector<append_set> queue_;
  /// Per partition, the id of the last set this writer stored whole (absent: the last one
  /// failed, or none was tracked).
  std::unordered_map<topic_partition, std::uint64_t, storage::topic_partition_hash> last_stored_;
  // Reused across flushes: which queued sets go to the store, and per partition the set a
  // following one must name within this flush.
  std::vector<char> sent_;
  std::unordered_map<topic_partition, std::uint64_t, storage::topic_partition_hash> flush_last_;
  std::chrono::milliseconds backoff_{0};
  clock::time_point unavailable_until_{};
  // Reused across flushes: no per-flush allocation once warmed up.
  std::vector<storage::append_request> requests_;
  std::vector<std::error_code> results_;
};

}  // namespace portask
