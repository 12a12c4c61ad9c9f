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

namespace portask {

class partition_log {
 public:
  partition_log(topic_partition tp, std::size_t tail_budget_bytes)
      : tp_(std::move(tp)), tail_budget_(tail_budget_bytes) {}

  const topic_partition& tp() const noexcept { return tp_; }
  bool ready() const noexcept { return ready_; }
  std::int64_t high_watermark() const noexcept { return high_watermark_; }
  std::int64_t log_start() const noexcept { return log_start_; }
  storage::partition_bounds bounds() const noexcept { return {log_start_, high_watermark_}; }

  /// Installs bounds read from the store (at start and after a failed write).
  void recovered(storage::partition_bounds b);
  /// Marks the partition as needing recovery (drops the tail).
  void lost_track() noexcept;

  // -- write path ------------------------------------------------------------------------
  /// Queues a batch; returns a ticket that its completion will carry.
  std::uint64_t enqueue(framed_batch b);
  std::size_t queued() const noexcept { return queue_.size(); }
  bool write_in_flight() const noexcept { return !in_flight_.empty(); }
  /// When ready, nothing is in flight and batches are queued: assigns their offsets and
  /// returns them as one append_set (now in flight).
  std::optional<append_set> take_write_set();

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
  read_status read(std::int64_t offset, std::uint32_t max_bytes, fetch_result& out) const;
  std::size_t tail_bytes() const noexcept { return tail_bytes_; }
  std::size_t tail_batches() const noexcept { return tail_.size(); }

 private:
  struct queued_batch {
    std::uint64_t ticket;
    framed_batch batch;
  };
  void add_to_tail(const storage::stored_batch& b);

  topic_partition tp_;
  std::size_t tail_budget_;
  bool ready_ = false;
  std::int64_t next_offset_ = 0;
  std::int64_t high_watermark_ = 0;
  std::int64_t log_start_ = 0;
  std::uint64_t next_ticket_ = 1;
  std::deque<queued_batch> queue_;
  std::vector<std::pair<std::uint64_t, storage::stored_batch>> in_flight_;
  std::deque<storage::stored_batch> tail_;
  std::size_t tail_bytes_ = 0;
};

}  // namespace portask
