#pragma once
/// A partition's memory of idempotent producers (KIP-98 semantics, one broker): for each
/// producer id its epoch and its last few batches' sequence ranges. A batch is appended only
/// when it follows the producer's last sequence; a resent batch gets its first result back
/// instead of a second copy. Plain logic, no CAF: the partition actor owns one.
///
/// Forgetting is always safe and never loses data: an unknown producer is accepted at any
/// sequence (as Kafka does once a producer's state has expired), so a failed write, a
/// restart or the size cap just drops the entry.

#include <cstdint>
#include <deque>
#include <unordered_map>

#include "actors/messages.hpp"

namespace portask {

class producer_table {
 public:
  /// Batches remembered per producer: Kafka clients keep at most 5 in flight.
  static constexpr std::size_t remembered_batches = 5;

  enum class verdict {
    append,        ///< new and in order: append it
    duplicate,     ///< already stored: answer with `stored`
    in_flight,     ///< already appended, not yet stored: retry later
    out_of_order,  ///< a gap or a sequence from the past
    stale_epoch,   ///< an older epoch than the producer's current one
  };
  struct check_result {
    verdict what;
    publish_result stored;
  };

  explicit producer_table(std::size_t max_producers = 100000) : max_producers_(max_producers) {}

  check_result check(const producer_sequence& p) const;
  /// The batch was queued for writing under `ticket`.
  void appended(const producer_sequence& p, std::uint64_t ticket);
  /// The batch under `ticket` is stored with `result`.
  void stored(std::uint64_t ticket, const publish_result& result);
  /// The batch under `ticket` failed: forget its producer (its retry is accepted as new).
  void failed(std::uint64_t ticket);

  std::size_t size() const noexcept { return producers_.size(); }

 private:
  struct batch_record {
    std::int32_t first_seq;
    std::int32_t last_seq;
    std::uint64_t ticket;
    bool done;
    publish_result result;
  };
  struct entry {
    std::int16_t epoch;
    std::deque<batch_record> recent;
    std::uint64_t last_use;
  };
  void evict_one();

  std::size_t max_producers_;
  std::uint64_t clock_ = 0;
  std::unordered_map<std::int64_t, entry> producers_;
  std::unordered_map<std::uint64_t, std::int64_t> by_ticket_;
};

}  // namespace portask
