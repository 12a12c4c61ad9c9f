#include "actors/pipeline/compaction.hpp"

#include <algorithm>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "actors/pipeline/topic_configs.hpp"
#include "protocol/frame.hpp"

namespace portask {

namespace {

// A stored batch's records, each with its offset.
expected<protocol::message_batch> records_of(const protocol::codec_manager& codecs,
                                             const storage::stored_batch& b) {
  auto frame = protocol::decode_frame(b.frame.view(), protocol::frame_limits{UINT32_MAX});
  if (!frame) return errc::corrupt_stored_data;
  auto msgs = codecs.decode(frame->header.flags, frame->payload);
  if (!msgs || msgs->messages.size() != b.record_count) return errc::corrupt_stored_data;
  return msgs;
}

enum class step { go_on, stop };

// The batches from `from`, read a page at a time, each passed to `visit` until one ends past
// `limit`, is newer than `newest_ms` or `visit` says stop. Returns the end of what was
// visited (the next offset after its last batch; `from` when nothing was).
template <class Visit>
expected<std::int64_t> walk_range(const batch_reader& read, std::int64_t from, std::int64_t limit,
                                  std::int64_t newest_ms, Visit visit) {
  std::int64_t offset = from, end = from;
  for (;;) {
    auto page = read(offset);
    if (!page) return page.error();
    const auto before = offset;
    for (const auto& b : *page) {
      if (b.next_offset() <= offset) continue;  // ends before where this page was to start
      // The batch's own newest record (min.compaction.lag.ms), not the running maximum: one
      // record stamped far ahead, once deleted, must not hold compaction back for ever.
      if (b.next_offset() > limit || b.max_timestamp > newest_ms) return end;
      auto next = visit(b);
      if (!next) return next.error();
      if (*next == step::stop) return end;
      end = offset = b.next_offset();
    }
    if (offset == before) return end;  // nothing more (or a store that gave nothing new)
  }
}

}  // namespace

std::optional<compaction_policy> compaction_of(const storage::config_entries& topic_configs) {
  if (!cleanup_policy_includes(topic_configs, "compact")) return std::nullopt;
  compaction_policy p;
  p.min_lag_ms = config_integer(topic_configs, "min.compaction.lag.ms").value_or(p.min_lag_ms);
  p.max_lag_ms = config_integer(topic_configs, "max.compaction.lag.ms").value_or(p.max_lag_ms);
  p.delete_retention_ms =
      config_integer(topic_configs, "delete.retention.ms").value_or(p.delete_retention_ms);
  p.min_dirty_ratio =
      config_ratio(topic_configs, "min.cleanable.dirty.ratio").value_or(p.min_dirty_ratio);
  return p;
}

bool compaction_due(const compaction_policy& policy, const storage::partition_bounds& bounds,
                    std::uint64_t clean_bytes, std::int64_t cleaned_at_ms, std::int64_t now_ms) {
  const auto stored = bounds.stored_bytes();
  const auto dirty_from = std::max(clean_bytes, bounds.start_bytes);
  if (stored == 0 || bounds.end_bytes <= dirty_from) return false;
  const auto dirty = bounds.end_bytes - dirty_from;
  if (static_cast<double>(dirty) >= policy.min_dirty_ratio * static_cast<double>(stored))
    return true;
  return now_ms - cleaned_at_ms >= policy.max_lag_ms;
}

compaction_progress::due_for compaction_progress::due(const compaction_policy& policy,
                                                      const storage::partition_bounds& bounds,
                                                      std::int64_t now_ms) const {
  // A wait longer than a whole retry from now means the clock was stepped back since
  // retry_later: the wait ends rather than last as long as the step.
  if (now_ms < retry_at_ms && retry_at_ms - compaction_retry_ms <= now_ms) return due_for::nothing;
  const auto horizon = tombstones.next_due_ms(policy.delete_retention_ms);
  if (tombstones_waiting && horizon && now_ms >= *horizon) return due_for::tombstones;
  if (compaction_due(policy, bounds, clean_bytes, cleaned_at_ms, now_ms)) return due_for::dirt;
  return held_until > 0 && bounds.end_bytes == end_bytes_seen ? due_for::held : due_for::nothing;
}

void tombstone_horizon::cleaned(std::int64_t offset, std::int64_t now_ms,
                                std::int64_t delete_retention_ms) {
  // A mark no higher than one already made adds nothing (that one covers what it would, from
  // sooner), and would bring a partition whose clean part moved back (a batch kept whole)
  // back for its tombstones at every pass.
  if (offset <= removable_below_ || (!waiting_.empty() && offset <= waiting_.back().offset)) return;
  // At most this many marks wait; more share the newest (later, so never sooner).
  constexpr std::size_t most_waiting = 16;
  const auto share_within = std::max<std::int64_t>(delete_retention_ms / 8, 0);
  if (!waiting_.empty() && (now_ms - waiting_.back().opened_ms < share_within ||
                            waiting_.size() >= most_waiting)) {
    auto& last = waiting_.back();
    last.offset = std::max(last.offset, offset);
    last.at_ms = std::max(last.at_ms, now_ms);
    return;
  }
  waiting_.push_back({offset, now_ms, now_ms});
}

std::int64_t tombstone_horizon::removable_below(std::int64_t now_ms,
                                                std::int64_t delete_retention_ms) {
  while (!waiting_.empty() && waiting_.front().at_ms <= now_ms - delete_retention_ms) {
    removable_below_ = std::max(removable_below_, waiting_.front().offset);
    waiting_.pop_front();
  }
  return removable_below_;
}

std::optional<std::int64_t> tombstone_horizon::next_due_ms(std::int64_t delete_retention_ms) const {
  if (waiting_.empty()) return std::nullopt;
  const auto at = waiting_.front().at_ms;
  return at > INT64_MAX - delete_retention_ms ? INT64_MAX : at + delete_retention_ms;
}

expected<compaction_plan> plan_compaction(const protocol::codec_manager& codecs,
                                          const topic_partition& tp,
                                          const compaction_range& range,
                                          const compaction_policy& policy, std::int64_t now_ms,
                                          const batch_reader& read) {
  const auto log_start = range.log_start;
  // With no lag, a record stamped in the future (a producer's clock ahead) holds nothing back.
  const auto newest_ms = policy.min_lag_ms <= 0       ? INT64_MAX
                         : policy.min_lag_ms > now_ms ? INT64_MIN
                                                      : now_ms - policy.min_lag_ms;
  compaction_plan plan;
  plan.clean_offset = range.clean_offset;

  // First read: the dirty part (written since the last compaction), the newest offset of each
  // key in it, within the budget. The clean part before it holds each key once already.
  std::unordered_map<std::string, std::int64_t> newest;
  std::uint64_t dirty_bytes = 0, range_end_bytes = 0;
  std::int64_t dirty_tombstones = 0;
  bool removable = false;  // found in the dirty part alone
  const auto dirty_from = std::max(log_start, range.clean_offset);
  auto end = walk_range(
      read, dirty_from, range.limit, newest_ms,
      [&](const storage::stored_batch& b) -> expected<step> {
        if (dirty_bytes > 0 && dirty_bytes + b.frame.size() > range.dirty_budget) return step::stop;
        dirty_bytes += b.frame.size();
        auto msgs = records_of(codecs, b);
        if (!msgs) return msgs.error();
        range_end_bytes = b.end_bytes;
        for (std::size_t i = 0; i < msgs->messages.size(); ++i) {
          const auto& m = msgs->messages[i];
          const auto offset = b.base_offset + static_cast<std::int64_t>(i);
          removable = removable || !m.key || offset < log_start ||
                      (!m.value && offset < range.tombstones_below);
          if (!m.key) continue;
          if (!m.value) ++dirty_tombstones;
          auto [it, added] = newest.try_emplace(*m.key, offset);
          if (!added) {
            it->second = offset;
            removable = true;
          }
        }
        return step::go_on;
      });
  if (!end) return end.error();
  // Nothing dirty that is old enough, and no tombstone of the clean part newly removable.
  if (*end == dirty_from && !range.tombstones_due) return plan;
  // A first compaction whose records are all different keys: nothing to remove.
  if (!removable && *end > dirty_from && dirty_from <= log_start && range.clean_offset <= log_start) {
    plan.clean_offset = *end;
    plan.clean_bytes = range_end_bytes;
    plan.clean_moved = true;
    plan.tombstones_kept = dirty_tombstones;
    return plan;
  }

  // Second read, from the log start: what stays of each batch. A record stays unless a newer
  // record of its key is in the dirty part, it lies below the log start, it has no key, or it
  // is a tombstone clean for delete.retention.ms (kept, though, while an older record of its
  // key had to stay: removing it would bring that record back).
  storage::log_compaction c;
  c.first_base = -1;
  std::unordered_set<std::string> pinned;  // keys with a superseded record kept
  std::int64_t pinned_from = -1;           // the first batch kept whole with records to remove
  std::int64_t held_from = -1;             // the first one kept whole for want of a snapshot
  std::int64_t last_end = -1;              // the last batch taken: where it ends, its bytes
  std::uint64_t last_end_bytes = 0, rewritten_bytes = 0, taken_bytes = 0;
  std::int64_t kept_tombstones = 0;
  bool partial = false;
  std::vector<std::size_t> sizes;  // of each batch's frame, kept ones included
  auto built = walk_range(
      read, log_start, *end, INT64_MAX, [&](const storage::stored_batch& b) -> expected<step> {
        if (c.first_base < 0) c.first_base = b.base_offset;
        auto msgs = records_of(codecs, b);
        if (!msgs) return msgs.error();
        auto& records = msgs->messages;
        std::vector<bool> stays(records.size()), superseded(records.size());
        std::size_t staying = 0;
        for (std::size_t i = 0; i < records.size(); ++i) {
          const auto offset = b.base_offset + static_cast<std::int64_t>(i);
          const auto& m = records[i];
          auto it = m.key ? newest.find(*m.key) : newest.end();
          superseded[i] = it != newest.end() && it->second > offset;
          const bool young_tombstone = !m.value && offset >= range.tombstones_below;
          stays[i] = m.key && !superseded[i] && offset >= log_start &&
                     (m.value || young_tombstone || pinned.contains(*m.key));
          staying += stays[i] ? 1 : 0;
          if (stays[i] && young_tombstone) ++kept_tombstones;
        }
        auto keep_whole = [&] {
          // Its superseded records stay: their keys' tombstones must stay too, and the next
          // plan must read them as dirty to meet their newer records again.
          for (std::size_t i = 0; i < records.size(); ++i) {
            if (!superseded[i]) continue;
            pinned.insert(*records[i].key);
            if (pinned_from < 0) pinned_from = b.base_offset;
          }
          c.batches.push_back({b, false});
          c.batches.back().batch.frame = {};  // the store keeps its own
          sizes.push_back(b.frame.size());
        };
        auto taken = [&] {
          last_end = b.next_offset();
          last_end_bytes = b.end_bytes;
          taken_bytes += b.frame.size();
          return step::go_on;
        };
        // An idempotent producer's batch the snapshot does not cover is kept whole: a
        // rebuild of the producer's window reads its header. Records of it that would have
        // gone wait for a snapshot that covers it.
        const bool uncovered = b.producer.present() && b.next_offset() > range.producers_covered;
        if (staying == records.size() || uncovered) {
          if (uncovered && staying < records.size() && held_from < 0) {
            held_from = b.base_offset;
            plan.held_until = b.next_offset();
          }
          keep_whole();
          return taken();
        }
        if (staying == 0) {
          plan.records_removed += static_cast<std::int64_t>(records.size());
          return taken();
        }
        auto frame = protocol::decode_frame(b.frame.view(), protocol::frame_limits{UINT32_MAX});
        if (!frame) return errc::corrupt_stored_data;
        auto encoding = protocol::encoding_of(frame->header.flags);
        if (!encoding) return errc::corrupt_stored_data;
        // One batch per run of consecutive records that stay.
        std::vector<storage::stored_batch> runs;
        std::size_t runs_bytes = 0;
        for (std::size_t i = 0; i < records.size();) {
          if (!stays[i]) {
            ++i;
            continue;
          }
          std::size_t j = i;
          protocol::message_batch run;
          // Its records' newest timestamp, as Kafka recomputes a rewritten batch's: a record
          // removed must not leave its own (one stamped far ahead would keep the rest from
          // retention.ms for ever). Records sent without a timestamp (-1) are stored so, their
          // batch stamped with the time of its append, which retention.ms counts from (and
          // min.compaction.lag.ms): with no stamp among them (all negative), what is left
          // keeps the batch's, as frame_encoded stamps it (else it would look as old as the
          // epoch). A Kafka record stamped 0 is stamped: it counts, as in Kafka.
          // The new frame's base is its first record's, as for any batch encoded.
          std::int64_t newest_kept = -1;
          for (; j < records.size() && stays[j]; ++j) {
            auto& m = run.messages.emplace_back(records[j]);
            m.topic = run.messages.size() == 1 ? tp.topic : std::string{};
            m.offset = protocol::no_offset;
            newest_kept = std::max(newest_kept, m.timestamp_ms);
          }
          const std::int64_t max_ts = newest_kept >= 0 ? newest_kept : b.max_timestamp;
          protocol::buffer out;
          if (auto ec = codecs.append_batch_frame(run, *encoding, protocol::message_type::publish, out))
            return ec;
          storage::stored_batch w;
          w.base_offset = b.base_offset + static_cast<std::int64_t>(i);
          w.record_count = static_cast<std::uint32_t>(j - i);
          w.max_timestamp = max_ts;
          w.end_timestamp = b.end_timestamp;
          w.frame = protocol::shared_bytes::adopt(std::move(out));
          runs_bytes += w.frame.size();
          runs.push_back(std::move(w));
          i = j;
        }
        // What one plan writes anew is bounded; the next pass goes on from here.
        if (rewritten_bytes > 0 && rewritten_bytes + runs_bytes > range.rewrite_budget) {
          partial = true;
          return step::stop;
        }
        rewritten_bytes += runs_bytes;
        plan.records_removed += static_cast<std::int64_t>(records.size() - staying);
        for (auto& w : runs) {
          sizes.push_back(w.frame.size());
          c.batches.push_back({std::move(w), true});
        }
        return taken();
      });
  if (!built) return built.error();
  if (!partial && *built != *end) return errc::offset_conflict;  // the log changed between the reads
  if (last_end < 0) return plan;
  c.end = last_end;
  c.end_bytes = last_end_bytes;
  // Running bytes counted back from the range's end: what went is taken off the front, so
  // the totals never decrease and the bytes stored stay exact.
  auto running = last_end_bytes;
  for (std::size_t i = c.batches.size(); i-- > 0;) {
    c.batches[i].batch.end_bytes = running;
    running -= std::min<std::uint64_t>(running, sizes[i]);
  }
  plan.range_bytes = taken_bytes;
  plan.range_bytes_left = c.end_bytes - running;
  // What the next pass reads as dirty: from the first batch kept whole with superseded
  // records (they must meet their newer records again) or with records that wait for a
  // producer snapshot, else from the range's end; what makes it due is what was written after
  // the range (or, for the latter, a snapshot: compaction_progress::due). A partial plan
  // leaves both.
  if (!partial) {
    plan.clean_moved = true;
    plan.clean_offset = c.end;
    if (pinned_from >= 0) plan.clean_offset = std::min(plan.clean_offset, pinned_from);
    if (held_from >= 0) plan.clean_offset = std::min(plan.clean_offset, held_from);
    plan.clean_bytes = c.end_bytes;
    plan.tombstones_kept = kept_tombstones;
  }
  if (plan.records_removed > 0) plan.compaction = std::move(c);
  return plan;
}

}  // namespace portask
