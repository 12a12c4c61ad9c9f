#include "actors/pipeline/partition_log.hpp"

#include <algorithm>

#include "protocol/codec_manager.hpp"
#include "protocol/frame.hpp"
#include "protocol/frame_merge.hpp"

namespace portask {

std::int64_t partition_log::recovered(storage::partition_bounds b) {
  ready_ = true;
  const auto lost = std::max<std::int64_t>(0, high_watermark_ - b.next_offset);
  if (lost > 0) {
    lost_from_ = b.next_offset;
    lost_to_ = high_watermark_;
  }
  next_offset_ = high_watermark_ = std::max(high_watermark_, b.next_offset);
  log_start_ = std::min(std::max(log_start_, b.log_start), high_watermark_);
  end_bytes_ = acked_end_bytes_ = b.end_bytes;
  end_timestamp_ = acked_end_timestamp_ = b.end_timestamp;
  start_bytes_ = b.start_bytes;
  while (!tail_.empty()) drop_tail_front();
  return lost;
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

void partition_log::forget_tail_below(std::int64_t end) {
  while (!tail_.empty() && tail_.front().batch.base_offset < end) drop_tail_front();
}

void partition_log::deleted(const storage::partition_bounds& stored) noexcept {
  start_bytes_ = std::max(start_bytes_, stored.start_bytes);
}

std::uint64_t partition_log::enqueue(framed_batch b) {
  const auto ticket = next_ticket_++;
  queue_.push_back({ticket, std::move(b)});
  return ticket;
}

bool partition_log::mergeable(const queued_batch& q, std::size_t merge_bytes) noexcept {
  if (merge_bytes == 0 || q.batch.producer.present() || q.batch.kafka_view ||
      q.batch.frame.size() > merge_bytes / 2)
    return false;
  // Only the binary encoding, uncompressed, merges: a store configured for another
  // encoding never has its frames taken apart.
  auto header = protocol::decode_header(q.batch.frame);
  if (!header || header->type != protocol::message_type::publish) return false;
  auto e = protocol::encoding_of(header->flags);
  return e && *e == protocol::encoding{};
}

std::optional<append_set> partition_log::take_write_set(std::size_t merge_bytes) {
  if (!ready_ || write_in_flight() || queue_.empty()) return std::nullopt;
  append_set set;
  set.tp = tp_;
  set.batches.reserve(queue_.size());
  for (std::size_t i = 0; i < queue_.size();) {
    // The run of mergeable batches from i whose frames fit one merged frame.
    std::size_t j = i + 1;
    if (mergeable(queue_[i], merge_bytes)) {
      std::size_t bytes = queue_[i].batch.frame.size();
      while (j < queue_.size() && mergeable(queue_[j], merge_bytes) &&
             bytes + queue_[j].batch.frame.size() <= merge_bytes)
        bytes += queue_[j++].batch.frame.size();
    }
    if (j - i < 2 || !take_stored(i, j, merge_bytes, set))
      for (std::size_t k = i; k < j; ++k) take_stored(k, k + 1, merge_bytes, set);
    i = j;
  }
  queue_.clear();
  return set;
}

bool partition_log::take_stored(std::size_t first, std::size_t last, std::size_t merge_bytes,
                                append_set& set) {
  storage::stored_batch b;
  b.base_offset = next_offset_;
  if (last - first == 1) {
    auto& q = queue_[first];
    b.record_count = q.batch.record_count;
    b.max_timestamp = q.batch.max_timestamp;
    b.producer = {q.batch.producer.id, q.batch.producer.epoch, q.batch.producer.first_seq};
    b.frame = std::move(q.batch.frame);
  } else {
    merge_views_.clear();
    for (auto k = first; k < last; ++k) merge_views_.push_back(queue_[k].batch.frame);
    protocol::buffer merged;
    // Re-based timestamp deltas can make the merged frame longer than its parts together
    // (messages far apart in time): over the limit, they go as they came.
    if (protocol::merge_frames(merge_views_, merged) || merged.size() > merge_bytes) return false;
    b.frame = protocol::shared_bytes::adopt(std::move(merged));
    b.max_timestamp = queue_[first].batch.max_timestamp;
    for (auto k = first; k < last; ++k) {
      b.record_count += queue_[k].batch.record_count;
      b.max_timestamp = std::max(b.max_timestamp, queue_[k].batch.max_timestamp);
    }
  }
  end_bytes_ += b.frame.size();
  end_timestamp_ = std::max(end_timestamp_, b.max_timestamp);
  b.end_bytes = end_bytes_;
  b.end_timestamp = end_timestamp_;
  for (auto k = first; k < last; ++k) {
    auto& q = queue_[k];
    in_flight_parts_.push_back({q.ticket, next_offset_, q.batch.record_count, in_flight_.size()});
    next_offset_ += q.batch.record_count;
  }
  in_flight_.push_back(tail_batch{b, last - first == 1 ? std::move(queue_[first].batch.kafka_view)
                                                       : protocol::shared_bytes{}});
  set.batches.push_back(std::move(b));
  return true;
}

std::vector<partition_log::completion> partition_log::write_completed(const append_outcome& outcome) {
  stored_results_.clear();
  bool failed = false;
  for (std::size_t i = 0; i < in_flight_.size(); ++i) {
    auto& entry = in_flight_[i];
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
    } else {
      failed = true;
    }
    stored_results_.push_back(e);
  }
  std::vector<completion> done;
  done.reserve(in_flight_parts_.size());
  for (const auto& p : in_flight_parts_) {
    const auto e = stored_results_[p.stored];
    if (e == errc::ok)
      done.push_back({p.ticket, e, {tp_.partition, p.base_offset, p.record_count, false, log_start_}});
    else
      done.push_back({p.ticket, e, {}});
  }
  for (std::size_t i = 0; i < in_flight_.size(); ++i)
    if (stored_results_[i] == errc::ok) add_to_tail(std::move(in_flight_[i]));
  in_flight_.clear();
  in_flight_parts_.clear();
  if (failed) lost_track();
  return done;
}

std::vector<partition_log::completion> partition_log::write_failed(errc e) {
  std::vector<completion> done;
  for (const auto& p : in_flight_parts_) done.push_back({p.ticket, e, {}});
  in_flight_.clear();
  in_flight_parts_.clear();
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
  trim_tail();
}

void partition_log::trim_tail() {
  const auto share = tails_.share();
  // The newest batch, however large, serves the tailing readers without a store read; but
  // not at the cost of the budget.
  while (!tail_.empty() && tail_bytes_ > share && (tail_.size() > 1 || tails_.over()))
    drop_tail_front();
}

partition_log::read_status partition_log::read(std::int64_t offset, std::uint32_t max_bytes,
                                               fetch_result& out, bool as_sent) const {
  out.partition = tp_.partition;
  out.high_watermark = high_watermark_;
  out.log_start = log_start_;
  out.batches.clear();
  out.kafka_views.clear();
  if (offset < log_start_ || offset > high_watermark_) return read_status::out_of_range;
  // Offsets the store lost hold nothing: a read there is a read after them (it waits when
  // nothing follows, rather than finding nothing at once, again and again).
  if (offset >= lost_from_ && offset < lost_to_) offset = lost_to_;
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
    const auto size =
        as_sent && it->kafka_view ? it->kafka_view.size() : it->batch.frame.size();
    if (!out.batches.empty() && bytes + size > max_bytes) break;
    bytes += size;
    out.batches.push_back(it->batch);
    views = views || it->kafka_view;
    out.kafka_views.push_back(it->kafka_view);
  }
  if (!views) out.kafka_views.clear();  // nobody produced these with Kafka
  return out.batches.empty() ? read_status::wait : read_status::served;
}

}  // namespace portask
