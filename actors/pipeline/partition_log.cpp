#include "actors/pipeline/partition_log.hpp"

#include <algorithm>

namespace portask {

void partition_log::recovered(storage::partition_bounds b) {
  ready_ = true;
  next_offset_ = b.next_offset;
  high_watermark_ = b.next_offset;
  log_start_ = std::min(std::max(log_start_, b.log_start), b.next_offset);
  end_bytes_ = acked_end_bytes_ = b.end_bytes;
  end_timestamp_ = acked_end_timestamp_ = b.end_timestamp;
  start_bytes_ = b.start_bytes;
  while (!tail_.empty()) drop_tail_front();
}

void partition_log::lost_track() noexcept {
  ready_ = false;
  while (!tail_.empty()) drop_tail_front();
}

void partition_log::drop_tail_front() {
  const auto cost = tail_.front().cost();
  tail_bytes_ -= cost;
  tails_.used(-static_cast<std::ptrdiff_t>(cost));
  tail_.pop_front();
}

void partition_log::cool_down() {
  if (!warm_) return;
  warm_ = false;
  tails_.cool();
  while (!tail_.empty()) drop_tail_front();
}

void partition_log::warm_up() noexcept {
  if (warm_) return;
  warm_ = true;
  tails_.warm();
}

std::int64_t partition_log::advance_start(std::int64_t offset) {
  offset = std::min(offset, high_watermark_);
  if (offset <= log_start_) return 0;
  const auto removed = offset - log_start_;
  log_start_ = offset;
  while (!tail_.empty() && tail_.front().batch.next_offset() <= offset) drop_tail_front();
  return removed;
}

void partition_log::deleted(const storage::partition_bounds& stored) noexcept {
  start_bytes_ = std::max(start_bytes_, stored.start_bytes);
}

std::uint64_t partition_log::enqueue(framed_batch b) {
  const auto ticket = next_ticket_++;
  queue_.push_back({ticket, std::move(b)});
  return ticket;
}

std::optional<append_set> partition_log::take_write_set() {
  if (!ready_ || write_in_flight() || queue_.empty()) return std::nullopt;
  append_set set;
  set.tp = tp_;
  set.batches.reserve(queue_.size());
  for (auto& q : queue_) {
    storage::stored_batch b;
    b.base_offset = next_offset_;
    b.record_count = q.batch.record_count;
    b.max_timestamp = q.batch.max_timestamp;
    b.producer = {q.batch.producer.id, q.batch.producer.epoch, q.batch.producer.first_seq};
    b.frame = std::move(q.batch.frame);
    end_bytes_ += b.frame.size();
    end_timestamp_ = std::max(end_timestamp_, b.max_timestamp);
    b.end_bytes = end_bytes_;
    b.end_timestamp = end_timestamp_;
    next_offset_ += q.batch.record_count;
    in_flight_.emplace_back(q.ticket, tail_batch{b, std::move(q.batch.kafka_view)});
    set.batches.push_back(std::move(b));
  }
  queue_.clear();
  return set;
}

std::vector<partition_log::completion> partition_log::write_completed(const append_outcome& outcome) {
  std::vector<completion> done;
  done.reserve(in_flight_.size());
  bool failed = false;
  for (std::size_t i = 0; i < in_flight_.size(); ++i) {
    auto& [ticket, entry] = in_flight_[i];
    const auto& b = entry.batch;
    errc e = i < outcome.results.size() ? outcome.results[i] : errc::internal;
    // After a failure nothing later in the set is acknowledged, even if stored: a producer
    // told that N+1 is stored takes N as stored too. It is told "outcome unknown" (timeout):
    // its retry finds the stored batch (the recovery that follows reads it back) and gets its
    // offsets. A "not stored" answer could make a client renumber it and store it twice.
    if (failed && e == errc::ok) e = errc::timeout;
    // The store holds that offset already (a write this partition could not see): the
    // recovery below reads the true bounds, so for the producer it is worth a retry.
    if (e == errc::offset_conflict) e = errc::not_ready;
    if (e == errc::ok) {
      high_watermark_ = b.next_offset();
      acked_end_bytes_ = b.end_bytes;
      acked_end_timestamp_ = b.end_timestamp;
      done.push_back(
          {ticket, errc::ok, {tp_.partition, b.base_offset, b.record_count, false, log_start_}});
      add_to_tail(std::move(entry));
    } else {
      failed = true;
      done.push_back({ticket, e, {}});
    }
  }
  in_flight_.clear();
  if (failed) lost_track();
  return done;
}

std::vector<partition_log::completion> partition_log::write_failed(errc e) {
  std::vector<completion> done;
  for (const auto& [ticket, entry] : in_flight_) done.push_back({ticket, e, {}});
  in_flight_.clear();
  lost_track();
  return done;
}

std::vector<partition_log::completion> partition_log::fail_queued(errc e) {
  std::vector<completion> done;
  for (const auto& q : queue_) done.push_back({q.ticket, e, {}});
  queue_.clear();
  return done;
}

void partition_log::add_to_tail(tail_batch b) {
  if (!warm_) return;  // cooled while its write was out (tail_budget)
  const auto cost = b.cost();
  tail_.push_back(std::move(b));
  tail_bytes_ += cost;
  tails_.used(static_cast<std::ptrdiff_t>(cost));
  // Keep at least the newest batch, however large, so tailing readers are always served.
  const auto share = tails_.share();
  while (tail_bytes_ > share && tail_.size() > 1) drop_tail_front();
}

partition_log::read_status partition_log::read(std::int64_t offset, std::uint32_t max_bytes,
                                               fetch_result& out) const {
  out.partition = tp_.partition;
  out.high_watermark = high_watermark_;
  out.log_start = log_start_;
  out.batches.clear();
  out.kafka_views.clear();
  if (offset < log_start_ || offset > high_watermark_) return read_status::out_of_range;
  if (offset == high_watermark_) return read_status::wait;
  if (tail_.empty() || offset < tail_.front().batch.base_offset) return read_status::needs_store;
  // First batch whose range ends after the offset.
  auto it = std::upper_bound(tail_.begin(), tail_.end(), offset,
                             [](std::int64_t o, const tail_batch& b) {
                               return o < b.batch.next_offset();
                             });
  std::size_t bytes = 0;
  bool views = false;
  for (; it != tail_.end(); ++it) {
    if (!out.batches.empty() && bytes + it->batch.frame.size() > max_bytes) break;
    bytes += it->batch.frame.size();
    out.batches.push_back(it->batch);
    views = views || it->kafka_view;
    out.kafka_views.push_back(it->kafka_view);
  }
  if (!views) out.kafka_views.clear();  // nobody produced these with Kafka
  return out.batches.empty() ? read_status::wait : read_status::served;
}

}  // namespace portask
