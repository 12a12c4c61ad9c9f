#pragma once
/// A partition's idempotence window (KIP-98 rules, as Apache Kafka 3.x applies them): for each
/// producer id its epoch and its last few batches' sequence ranges. A batch is appended only
/// when it follows the producer's last sequence; a resent batch gets its first result back
/// instead of a second copy. Plain logic, no CAF: the partition actor owns one.
///
/// The table is never guessed at. It is rebuilt from the store (the producer snapshot plus
/// the batches logged after it) whenever the partition starts and after every failed or
/// ambiguous write, because a write that timed out may well be stored: only a read says.
/// While it is being rebuilt the partition takes no appends.

#include <array>
#include <cstdint>
#include <deque>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "actors/messages.hpp"

namespace portask {

class producer_table {
 public:
  /// Batches remembered per producer: Kafka clients keep at most 5 in flight.
  static constexpr std::size_t remembered_batches = 5;

  enum class verdict {
    append,            ///< new and in order: append it
    duplicate,         ///< already stored: answer with `stored`
    in_flight,         ///< already appended, not yet stored: retry later
    out_of_order,      ///< a gap, or a sequence from the past
    stale_epoch,       ///< an older epoch than the producer's current one
    unknown_producer,  ///< no state for this producer and the sequence is not 0
    /// Past the next expected sequence, but the expected batch was refused by us with a
    /// retriable error and not resent yet: refuse this one retriably too (a pipelined
    /// successor), as a broker whose partition is unavailable does, rather than call it a
    /// gap (which librdkafka takes for a lost broker state and fails the producer on).
    retry_later,
  };
  struct check_result {
    verdict what;
    publish_result stored;
  };

  explicit producer_table(std::size_t max_producers = 100000) : max_producers_(max_producers) {}

  check_result check(const producer_sequence& p) const;
  /// The batch was queued for writing under `ticket` at wall-clock `now_ms`.
  void appended(const producer_sequence& p, std::uint64_t ticket, std::int64_t now_ms);
  /// The batch under `ticket` is stored with `result`.
  void stored(std::uint64_t ticket, const publish_result& result);
  /// A batch was refused with a retriable error (or failed under `ticket`): its producer's
  /// later batches wait for its resend (see verdict::retry_later). Survives a rebuild.
  void refused(const producer_sequence& p);
  void refused(std::uint64_t ticket);

  /// Replaces the whole table with what the store holds (`partition` labels the results).
  void rebuild(const storage::producer_history& history, std::int32_t partition,
               std::int64_t now_ms);

  /// Forgets producers idle for longer than `ttl_ms` (Kafka's producer id expiration).
  void expire(std::int64_t now_ms, std::int64_t ttl_ms);

  /// The stored windows of the producers that changed since the last snapshot (and the ids
  /// forgotten since), for the store's snapshot covering offsets below `covers`.
  storage::producer_snapshot take_snapshot(std::int64_t covers);
  /// The snapshot could not be written: its producers count as changed again.
  void snapshot_failed(const storage::producer_snapshot& s);
  /// Whether some producer changed (a batch stored, a producer forgotten) since the last
  /// snapshot was taken, or since the rebuild for what the log held after the store's one.
  bool unsaved() const noexcept { return !changed_.empty() || !forgotten_.empty(); }

  std::size_t size() const noexcept { return producers_.size(); }
  /// The producers with at least one stored batch in their current epoch, by id: the last
  /// stored batch's last sequence and the producer's last write (wall clock, ms).
  std::vector<producer_summary> summaries() const;
  /// The producer's window in words, for log lines ("epoch 0: 5-9 stored, 10-12 writing").
  std::string describe(std::int64_t id) const;

 private:
  struct batch_record {
    std::int32_t first_seq;
    std::int32_t last_seq;
    std::uint64_t ticket;  ///< 0 once stored
    bool done;
    publish_result result;
  };
  struct entry {
    std::int16_t epoch;
    std::deque<batch_record> recent;
    std::int64_t last_use_ms;
  };
  entry& touch(std::int64_t id, std::int16_t epoch, std::int64_t now_ms);
  void forget(std::unordered_map<std::int64_t, entry>::iterator it);
  bool evict_one();  ///< false: every producer has a batch being written

  std::size_t max_producers_;
  std::unordered_map<std::int64_t, entry> producers_;
  std::unordered_map<std::uint64_t, std::int64_t> by_ticket_;
  std::unordered_set<std::int64_t> changed_;
  std::unordered_set<std::int64_t> forgotten_;
  /// Per producer: the first sequences of its latest batches that we refused retriably.
  /// One that was stored since (a resend, or an ambiguous failure that was stored after all)
  /// lies before the expected sequence from then on and so never matches again.
  struct refusals {
    std::int16_t epoch = -1;
    std::array<std::int32_t, 8> first_seqs{};
    std::size_t count = 0;
    bool contains(std::int32_t seq) const noexcept;
  };
  std::unordered_map<std::int64_t, refusals> refused_;
};

}  // namespace portask
