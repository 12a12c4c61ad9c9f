#pragma once
/// Log compaction, as Kafka's log cleaner does it for a topic whose cleanup.policy includes
/// "compact": of the records with the same key only the newest stays; a tombstone (a null
/// value) stays for delete.retention.ms after compaction first cleaned it, so that consumers
/// see the deletion, then goes too; a record without a key goes (Kafka's cleaner drops them;
/// partitions of a compacted topic refuse them as they are produced). Offsets never change: what is left
/// of a batch is written anew as one batch per run of consecutive offsets, and readers step
/// over the gaps, as Kafka's do.
///
/// The plan is made from the store, without the partition, as Kafka's cleaner makes it: a
/// worker of the retention actor reads the part of the log written since the last
/// compaction (the newest offset of each of its keys, within a budget), then the log from its
/// start to there again to build what stays; the retention actor hands the plan to the
/// partition, which drops what its tail holds of the range and has the store carry it out
/// in one step (log_store::compact). The part
/// before (clean) holds each key once already, so the keys held in memory are those of the
/// dirty part only. Pure functions here: the reads come through a callback.

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <span>

#include "actors/messages.hpp"
#include "protocol/codec_manager.hpp"

namespace portask {

/// What a topic's configs ask of compaction (Kafka's topic config names and defaults).
struct compaction_policy {
  std::int64_t min_lag_ms = 0;                   ///< min.compaction.lag.ms
  std::int64_t max_lag_ms = INT64_MAX;           ///< max.compaction.lag.ms
  std::int64_t delete_retention_ms = 86'400'000;  ///< delete.retention.ms
  double min_dirty_ratio = 0.5;                  ///< min.cleanable.dirty.ratio
};

/// The policy of a topic whose cleanup.policy includes "compact"; nothing otherwise.
std::optional<compaction_policy> compaction_of(const storage::config_entries& topic_configs);

/// Whether a partition is due: the share of its stored bytes after its clean part
/// (`clean_bytes`: the running bytes where the last plan left it; 0: none) reaches
/// min.cleanable.dirty.ratio, or max.compaction.lag.ms has passed since that plan
/// (`cleaned_at_ms`). The newest batch is never compacted, so it always counts as dirty.
bool compaction_due(const compaction_policy& policy, const storage::partition_bounds& bounds,
                    std::uint64_t clean_bytes, std::int64_t cleaned_at_ms, std::int64_t now_ms);

/// When a partition's tombstones may go: delete.retention.ms after a compaction first put them
/// in the clean part, as Kafka's cleaner counts (its delete horizon), not from the tombstone's
/// own timestamp, which is the producer's clock: a deletion produced with an old timestamp
/// (a replay, a clock behind) would otherwise vanish before consumers had the time to read it.
/// Kept in memory by the retention actor: after a restart the count starts again, so
/// tombstones stay longer, never shorter.
class tombstone_horizon {
 public:
  /// A compaction left the partition's clean part ending at `offset` at `now_ms`: every
  /// tombstone below it has been seen. Marks less than an eighth of delete.retention.ms apart
  /// share one (at the later time), so at most about nine wait at a time; one no higher than
  /// the last is dropped.
  void cleaned(std::int64_t offset, std::int64_t now_ms, std::int64_t delete_retention_ms);
  /// Tombstones below the offset returned have been clean for delete.retention.ms at `now_ms`.
  std::int64_t removable_below(std::int64_t now_ms, std::int64_t delete_retention_ms);
  /// When the oldest mark still waiting has been clean for delete.retention.ms; nothing when
  /// none waits.
  std::optional<std::int64_t> next_due_ms(std::int64_t delete_retention_ms) const;

 private:
  struct mark {
    std::int64_t offset = 0;
    std::int64_t opened_ms = 0;  ///< when its first compaction was done
    std::int64_t at_ms = 0;      ///< when its last compaction was done: it counts from here
  };
  std::deque<mark> waiting_;
  std::int64_t removable_below_ = 0;
};

/// How long a partition waits to be planned again after its plan failed, or its log could
/// not be read, or the partition did not carry the plan out (a compaction of it still
/// running, its log changed meanwhile): a plan reads the log's dirty part whole, so neither
/// at every pass nor a whole max.compaction.lag.ms later.
inline constexpr std::int64_t compaction_retry_ms = 300'000;

/// What the retention actor knows of a compacted partition between its passes. Kept in
/// memory: after a restart each partition is read whole once more.
struct compaction_progress {
  /// Where the last plan left the clean part (compaction_plan::clean_offset), and the running
  /// bytes there (compaction_due's `clean_bytes`).
  std::int64_t clean_offset = 0;
  std::uint64_t clean_bytes = 0;
  std::int64_t cleaned_at_ms = 0;  ///< when it was last planned (max.compaction.lag.ms)
  /// Not planned again before (retry_later), by the wall clock as the rest: a wait that
  /// now ends more than compaction_retry_ms ahead (the clock stepped back) is over.
  std::int64_t retry_at_ms = 0;
  /// When its cleaned tombstones may go, and whether the last plan left any waiting.
  tombstone_horizon tombstones;
  bool tombstones_waiting = false;
  /// Where the first batch ends that the last plan held back for want of a producer snapshot
  /// (compaction_plan::held_until; 0: none). The clean part starts no later than that batch,
  /// but its bytes count as clean: what makes the partition due for it is a snapshot (due).
  std::int64_t held_until = 0;
  /// The partition's appended bytes (bounds.end_bytes) as the last pass found them: one that
  /// has not grown since is quiet.
  std::uint64_t end_bytes_seen = 0;

  enum class due_for {
    nothing,
    dirt,
    tombstones,
    /// Batches held back for want of a producer snapshot (held_until), in a quiet partition:
    /// due if the snapshot the store holds now covers held_until, which the caller finds out
    /// (having the partition write one if need be).
    held,
  };
  /// Why the partition is to be planned at `now_ms`: not before retry_at_ms (unless that is
  /// more than compaction_retry_ms ahead), then for its waiting tombstones once they may go,
  /// then as compaction_due decides, else for batches held back for want of a producer
  /// snapshot once nothing was appended since the last pass (`end_bytes_seen`), whatever
  /// min.cleanable.dirty.ratio says: a partition whose writes stopped would otherwise keep
  /// them, with the records in them that later ones superseded, for ever. Not while writes
  /// go on: each plan then holds back what was written since the last snapshot, and every
  /// snapshot (each 500 batches) would bring another plan, a read of the whole log; the next
  /// plan the dirty share brings looks at them again.
  due_for due(const compaction_policy& policy, const storage::partition_bounds& bounds,
              std::int64_t now_ms) const;
  void retry_later(std::int64_t now_ms) {
    retry_at_ms = now_ms > INT64_MAX - compaction_retry_ms ? INT64_MAX : now_ms + compaction_retry_ms;
  }
};

/// Reads the batches of the partition from an offset on (at least one while any is left;
/// none past the end).
using batch_reader =
    std::function<expected<std::vector<storage::stored_batch>>(std::int64_t offset)>;

struct compaction_plan {
  /// Nothing when no record would go: the range is clean already.
  std::optional<storage::log_compaction> compaction;
  std::int64_t records_removed = 0;
  /// Where the next plan's dirty part starts once this one is done, and the running bytes
  /// there (after it). Unmoved (false) when the plan stopped at its write budget, or found
  /// nothing dirty old enough.
  bool clean_moved = false;
  /// Tombstones left in the range because they have not been clean for delete.retention.ms
  /// yet (compaction_range::tombstones_below): a later plan removes them.
  std::int64_t tombstones_kept = 0;
  std::int64_t clean_offset = 0;
  std::uint64_t clean_bytes = 0;
  /// Where the first batch ends that the plan kept whole only because the producer snapshot
  /// does not cover it (compaction_range::producers_covered), though records of it would have
  /// gone (0: none): the clean part starts no later than that batch, and a plan made once a
  /// snapshot covers this offset removes them (compaction_progress::held_until).
  std::int64_t held_until = 0;
  /// The stored bytes of the batches the plan covers, and what is left of them once it is
  /// carried out (batches kept whole and written anew): what the compaction log line reports.
  std::uint64_t range_bytes = 0;
  std::uint64_t range_bytes_left = 0;
};

/// Where a plan may go in a partition's log.
struct compaction_range {
  std::int64_t log_start = 0;
  /// Only batches that end at or below it (the caller keeps the newest batch out: like
  /// Kafka's active segment, it is never cleaned, so the log never empties).
  std::int64_t limit = 0;
  /// The offset the partition's producer snapshot covers: an idempotent producer's batch at
  /// or after it is kept whole, since a partition rebuilding its producers' windows reads
  /// those batches' headers from the log.
  std::int64_t producers_covered = 0;
  /// Where the dirty part starts (compaction_plan::clean_offset of the last plan; 0: all).
  std::int64_t clean_offset = 0;
  /// Tombstones below it may go (tombstone_horizon::removable_below); the others stay.
  std::int64_t tombstones_below = 0;
  /// Plan even when nothing was written since the last plan: tombstones of the clean part
  /// have become removable since.
  bool tombstones_due = false;
  /// Frame bytes of the dirty part one plan reads (its keys are held in memory), and of the
  /// batches one plan writes anew (they travel to the store in one step); at least one
  /// batch each. What does not fit is left to the next pass.
  std::uint64_t dirty_budget = 64u << 20;
  std::uint64_t rewrite_budget = 32u << 20;
};

/// Plans a compaction of the log of `tp` over the batches of `range` up to the first one
/// that holds a record younger than min.compaction.lag.ms (none with no lag). `now_ms`
/// decides the lag only: tombstones go by `range.tombstones_below`. Records below
/// the log start go (nobody can read them). A frame that does not decode stops the plan
/// (corrupt_stored_data); a log that changed between the two reads, too (offset_conflict).
expected<compaction_plan> plan_compaction(const protocol::codec_manager& codecs,
                                          const topic_partition& tp,
                                          const compaction_range& range,
                                          const compaction_policy& policy, std::int64_t now_ms,
                                          const batch_reader& read);

}  // namespace portask
