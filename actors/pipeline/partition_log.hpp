#pragma once
/// A partition's logic, without CAF: offset assignment, the high watermark, the bounded tail
/// of recent batches that tailing consumers read without touching the store, and the write
/// queue (at most one append_set in flight; everything arriving meanwhile goes in the next).
///
/// After any failed write the partition re-reads its bounds from the store before it accepts
/// more: the store is the truth, so no offset is ever handed out twice.

#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

#include "actors/messages.hpp"
#include "actors/pipeline/tail_budget.hpp"

namespace portask {

class partition_log {
 public:
  /// The tail takes its share of `tails` (which must outlive the log) once warm_up() is
  /// called: it starts cool, holding nothing.
  partition_log(topic_partition tp, tail_budget& tails) : tp_(std::move(tp)), tails_(tails) {
    tails_.join();
  }
  ~partition_log() {
    tails_.used(-static_cast<std::ptrdiff_t>(tail_bytes_));
    if (warm_) tails_.cool();
    tails_.leave();
  }
  partition_log(const partition_log&) = delete;
  partition_log& operator=(const partition_log&) = delete;

  const topic_partition& tp() const noexcept { return tp_; }
  bool ready() const noexcept { return ready_; }
  std::int64_t high_watermark() const noexcept { return high_watermark_; }
  std::int64_t log_start() const noexcept { return log_start_; }
  /// The acknowledged bounds, with the running totals of the stored log.
  storage::partition_bounds bounds() const noexcept {
    return {log_start_, high_watermark_, start_bytes_, acked_end_bytes_, acked_end_timestamp_};
  }

  /// Installs bounds read from the store (at start and after a failed write). The log start
  /// never moves back: a deletion this partition made may not have reached the store yet.
  /// Nor does the high watermark: a store that lost acknowledged records (restarted from an
  /// old snapshot, evicted keys, failed over to a replica behind) must not have their offsets
  /// given to new records, which consumers past them would never read. Offsets go on from the
  /// acknowledged end, leaving a gap readers step over. Returns how many acknowledged offsets
  /// the store no longer reaches (0 normally), for the caller to report.
  std::int64_t recovered(storage::partition_bounds b);
  /// Moves the log start up to `offset` (at most the high watermark): reads below it are out
  /// of range from now on, and the tail forgets what lies wholly below it. Returns the number
  /// of records below the new start that were above the old one.
  std::int64_t advance_start(std::int64_t offset);
  /// A compaction is replacing every batch below `end`: the tail forgets them (reads of
  /// them go to the store).
  void forget_tail_below(std::int64_t end);
  /// The store's bounds after a deletion or a compaction: its running bytes at the start.
  void deleted(const storage::partition_bounds& stored) noexcept;
  /// Marks the partition as needing recovery (drops the tail).
  void lost_track() noexcept;

  // -- write path ------------------------------------------------------------------------
  /// Queues a batch; returns a ticket that its completion will carry.
  std::uint64_t enqueue(framed_batch b);
  std::size_t queued() const noexcept { return queue_.size(); }
  bool write_in_flight() const noexcept { return !in_flight_.empty(); }
  /// When ready, nothing is in flight and batches are queued: assigns their offsets and
  /// returns them as one append_set (now in flight).
  ///
  /// With `merge_bytes`, consecutive queued batches without an idempotent producer or a
  /// Kafka view, in the binary encoding uncompressed (as the broker frames a native
  /// publish), each at most half of it, go to the store as one frame of at most
  /// `merge_bytes`: small publishes that queued behind a write then cost the store one
  /// entry (one XADD) between them, not one each. Every publish keeps its own offsets and
  /// answer. Merged frames are built on the heap: for a remote store only (see try_write).
  std::optional<append_set> take_write_set(std::size_t merge_bytes = 0);

  struct completion {
    std::uint64_t ticket;
    errc error;  ///< ok: stored, result is valid
    publish_result result;
  };
  /// Applies the writer's outcome for the in-flight set.
  std::vector<completion> write_completed(const append_outcome& outcome);
  /// The in-flight set failed as a whole (the writer is gone): every batch gets `e`.
  std::vector<completion> write_failed(errc e);
  /// Fails everything queued (not yet in flight), e.g. when recovery keeps failing.
  std::vector<completion> fail_queued(errc e);

  // -- read path -------------------------------------------------------------------------
  enum class read_status { served, needs_store, wait, out_of_range };
  /// Serves `offset` from the tail when it can. `served` fills `out`; `needs_store` means the
  /// offset lies before the tail; `wait` means nothing at or after it yet (offset == HWM).
  /// `max_bytes` counts each batch as it is stored, or, with `as_sent` (a Kafka reader, which
  /// is sent the producer's bytes as they came), as its Kafka view when it has one: a
  /// compressed batch takes what it is sent, not its stored size. The first batch comes whole.
  read_status read(std::int64_t offset, std::uint32_t max_bytes, fetch_result& out,
                   bool as_sent = false) const;
  std::size_t tail_bytes() const noexcept { return tail_bytes_; }
  /// Drops the tail's oldest batches until it fits its share of the budget as it is now
  /// (others may have warmed since it grew). The newest batch stays past the share only
  /// while all tails together are within the budget; otherwise reads of it go to the store.
  void trim_tail();
  std::size_t tail_batches() const noexcept { return tail_.size(); }

  /// Nobody wrote or read the partition for a while (tail_budget::cool_after): its tail
  /// gives back everything and takes no share of the budget; reads go to the store, and a
  /// write acknowledged while cool is not kept.
  void cool_down();
  /// Written again: the tail takes a share and grows from the next acknowledged write.
  void warm_up() noexcept;
  bool warm() const noexcept { return warm_; }

 private:
  struct queued_batch {
    std::uint64_t ticket;
    framed_batch batch;
  };
  /// A batch sent to the store or in the tail, with the Kafka view it came with.
  struct tail_batch {
    storage::stored_batch batch;
    protocol::shared_bytes kafka_view;
    std::size_t cost() const noexcept { return batch.frame.size() + kafka_view.size(); }
  };
  void add_to_tail(tail_batch b);
  /// The next stored batch of a write set: the batches queued at [first, last), merged
  /// into at most `merge_bytes` when there are several (false if they cannot be: they then
  /// go one by one).
  bool take_stored(std::size_t first, std::size_t last, std::size_t merge_bytes, append_set& set);
  static bool mergeable(const queued_batch& q, std::size_t merge_bytes) noexcept;

  void drop_tail_front();

  topic_partition tp_;
  tail_budget& tails_;
  bool warm_ = false;
  bool ready_ = false;
  std::int64_t next_offset_ = 0;
  std::int64_t high_watermark_ = 0;
  /// Acknowledged offsets the store lost (recovered()): reads there go on after them.
  std::int64_t lost_from_ = 0, lost_to_ = 0;
  std::int64_t log_start_ = 0;
  // Running totals (storage::stored_batch): as assigned to batches sent to the store, and as
  // of the last acknowledged one; the bytes before the first stored batch.
  std::uint64_t end_bytes_ = 0;
  std::int64_t end_timestamp_ = -1;
  std::uint64_t acked_end_bytes_ = 0;
  std::int64_t acked_end_timestamp_ = -1;
  std::uint64_t start_bytes_ = 0;
  std::uint64_t next_ticket_ = 1;
  std::deque<queued_batch> queue_;
  /// The in-flight set: one entry per stored batch, and one part per publish it holds (a
  /// merged batch holds several), in order.
  struct in_flight_part {
    std::uint64_t ticket;
    std::int64_t base_offset;
    std::uint32_t record_count;
    std::size_t stored;  ///< index into in_flight_
  };
  std::vector<tail_batch> in_flight_;
  std::vector<in_flight_part> in_flight_parts_;
  // Reused from set to set (a merged frame's buffer goes to the store with it).
  std::vector<protocol::byte_view> merge_views_;
  std::vector<errc> stored_results_;
  std::deque<tail_batch> tail_;
  std::size_t tail_bytes_ = 0;
};

}  // namespace portask
