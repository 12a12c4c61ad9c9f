#pragma once
/// Finding an offset by time, for Kafka's ListOffsets and the native ListOffsets alike: the
/// first record stamped at or after a timestamp, or (target -3) the record with the largest
/// timestamp. There is no time index yet. scan_for_time reads the partition's batches from a
/// cursor, one megabyte per step, and skips undecoded every batch whose max timestamp rules it
/// out. find_offset_for_time reads no more than it must: a target past the newest timestamp
/// the log holds is answered without a read, and a binary search over the batches' running
/// maximum timestamps (time_search) finds where the scan may start; its reads are bounded.

#include <chrono>
#include <cstdint>

#include "actors/interfaces.hpp"
#include "logging/loggers.hpp"
#include "protocol/codec_manager.hpp"
#include "protocol/frame.hpp"

namespace portask {

inline constexpr std::int64_t max_timestamp_target = -3;

/// The reads one find_offset_for_time makes at most by default. The search makes the usual
/// lookup a few reads, but a log whose running maximum cannot narrow it (a record stamped far
/// ahead, since deleted, still counts in every later batch's running maximum) needs the scan
/// from the log start, and a bound of a few hundred reads would make such a partition's every
/// lookup fail for as long as it lives, where Kafka answers. So the default is a whole
/// partition's worth (64 Ki reads of a megabyte), there only so that a scan chasing a high
/// watermark that moves as fast as it reads still ends. Callers that must not wait for a whole
/// partition's reads (the HTTP browser) give a smaller bound; past it `gave_up` says so.
inline constexpr std::uint32_t time_lookup_steps = 64 * 1024;

struct offset_found {
  std::int64_t offset = -1;  ///< -1: no record qualifies
  std::int64_t timestamp = -1;
  bool gave_up = false;  ///< the scan used its reads up before it found the answer
};

/// What one read of a scan tells (scan_batches).
struct scan_read {
  enum class outcome {
    found,    ///< `best` is the answer
    more,     ///< undecided: the scan reads on from `next`
    end,      ///< the log ends here: `best` is the answer (none, for a timestamp target)
    corrupt,  ///< a stored frame failed its check
  };
  outcome what = outcome::more;
  offset_found best;
  std::int64_t next = 0;
};

/// The batches one read from `cursor` brought, examined for `target` (a timestamp, or
/// max_timestamp_target with `best` the largest timestamp seen so far). Every batch whose max
/// timestamp rules it out is skipped undecoded.
inline scan_read scan_batches(const fetch_result& res, std::int64_t target, std::int64_t cursor,
                              offset_found best, const protocol::codec_manager& codecs) {
  std::int64_t next = cursor;
  for (const auto& b : res.batches) {
    next = b.next_offset();
    const bool may_hold = target == max_timestamp_target ? b.max_timestamp > best.timestamp
                                                         : b.max_timestamp >= target;
    if (!may_hold) continue;
    auto frame = protocol::decode_frame(b.frame, protocol::frame_limits{UINT32_MAX});
    auto msgs = frame ? codecs.decode(frame->header.flags, frame->payload)
                      : expected<protocol::message_batch>(frame.error());
    if (!msgs) {
      logging::pipeline().error("offset by time: stored frame at offset {} failed its check",
                                b.base_offset);
      return {scan_read::outcome::corrupt, best, next};
    }
    for (std::size_t i = 0; i < msgs->messages.size(); ++i) {
      const auto ts = msgs->messages[i].timestamp_ms;
      const auto offset = b.base_offset + static_cast<std::int64_t>(i);
      // A read returns the whole batch holding the cursor: records before it (below the log
      // start, after a deletion in mid-batch) are not answers.
      if (offset < cursor) continue;
      if (target == max_timestamp_target) {
        if (ts > best.timestamp) best = {offset, ts, false};
      } else if (ts >= target) {
        return {scan_read::outcome::found, offset_found{offset, ts, false}, next};
      }
    }
  }
  const bool at_end = res.batches.empty() || next >= res.high_watermark;
  return {at_end ? scan_read::outcome::end : scan_read::outcome::more, best, next};
}

/// Where a scan for a timestamp (the goal) may start without passing its answer: at the first
/// stored batch whose running maximum (stored_batch::end_timestamp) reaches the goal. That
/// maximum never decreases along the log, so every batch before that one is stamped below the
/// goal; a binary search by offset finds it in about log2(next offset - log start) reads of one
/// batch each, as retention finds the first batch it keeps (log_store::retention_point). The
/// batches after it may still be stamped below the goal (a batch stamped far ahead raises the
/// maximum for all that follow): the scan skips those undecoded.
class time_search {
 public:
  time_search(std::int64_t log_start, std::int64_t next_offset, std::int64_t goal) noexcept
      : lo_(log_start), hi_(next_offset), goal_(goal) {}

  bool done() const noexcept { return lo_ >= hi_; }
  /// The offset to read next; found() takes the batch holding it, or the first after it.
  std::int64_t next_probe() const noexcept { return lo_ + (hi_ - lo_) / 2; }
  /// What the read at next_probe() brought first (none: nothing stored from there on).
  void found(const storage::stored_batch* b) noexcept {
    const auto probe = next_probe();
    if (b == nullptr || b->base_offset >= hi_)
      hi_ = probe;  // nothing stored in [probe, hi_): the batch there is the one at hi_
    else if (b->end_timestamp < goal_)
      lo_ = b->next_offset();  // it, and every batch before it, is stamped below the goal
    else
      hi_ = b->base_offset;  // it reaches the goal: the first that does is no later
  }
  /// Where the scan starts once done(): every record below it is stamped below the goal.
  std::int64_t start() const noexcept { return lo_; }
  std::int64_t goal() const noexcept { return goal_; }

 private:
  std::int64_t lo_;
  std::int64_t hi_;
  std::int64_t goal_;
};

/// A read of a lookup failed with `err`. OFFSET_OUT_OF_RANGE means that retention or
/// DeleteRecords moved the log start past the lookup's cursor meanwhile: what lay below the
/// new start is no answer any more, and `again` goes on from the partition's bounds now,
/// once (`restarted`: it did already, and this fails it). Anything else fails the lookup.
template <class Self, class Again, class Fail>
void after_failed_read(Self* self, const protocol_bridge_actor& bridge, const topic_partition& tp,
                       caf::error& err, bool restarted, Again again, Fail fail) {
  using namespace std::chrono_literals;
  if (restarted || to_errc(err) != errc::offset_out_of_range) return fail(err);
  self->request(bridge, 10s, bounds_atom::value, tp)
      .then([=](storage::partition_bounds& now) mutable { again(now); },
            [=](caf::error& e) mutable { fail(e); });
}

/// Scans [cursor, high watermark) of the partition `tp` (read through `bridge`) for `target`
/// and calls `done(offset_found)` or `fail(caf::error&)`. `best` carries the largest
/// timestamp seen for the -3 target. At most `steps` reads of a megabyte are made; past them
/// the scan is done with `gave_up` (a caller that must not hold a connection for a whole
/// partition's worth of reads gives a bound). A read below a log start that moved meanwhile
/// starts the scan again from the new start, once (after_failed_read).
template <class Self, class Done, class Fail>
void scan_for_time(Self* self, protocol_bridge_actor bridge, topic_partition tp,
                   const protocol::codec_manager* codecs, protocol_kind source,
                   std::int64_t target, std::int64_t cursor, offset_found best, Done done,
                   Fail fail, std::uint32_t steps = UINT32_MAX, bool restarted = false) {
  if (steps == 0) {
    best.gave_up = true;
    return done(best);
  }
  using namespace std::chrono_literals;
  fetch_request fr;
  fr.tp = tp;
  fr.offset = cursor;
  fr.max_bytes = 1u << 20;
  fr.max_wait_ms = 0;
  fr.source = source;
  self->request(bridge, 10s, fetch_atom::value, fr)
      .then(
          [=](fetch_result& res) mutable {
            const auto step = scan_batches(res, target, cursor, best, *codecs);
            switch (step.what) {
              case scan_read::outcome::corrupt: {
                auto err = make_caf_error(errc::corrupt_stored_data);
                return fail(err);
              }
              case scan_read::outcome::found:
              case scan_read::outcome::end: return done(step.best);
              case scan_read::outcome::more: break;
            }
            scan_for_time(self, bridge, tp, codecs, source, target, step.next, step.best, done,
                          fail, steps == UINT32_MAX ? steps : steps - 1, restarted);
          },
          [=](caf::error& e) mutable {
            after_failed_read(
                self, bridge, tp, e, restarted,
                [=](const storage::partition_bounds& now) mutable {
                  // The best record seen so far may be gone with the records below the start.
                  if (now.log_start >= now.next_offset) return done(offset_found{});
                  scan_for_time(self, bridge, tp, codecs, source, target, now.log_start,
                                offset_found{}, done, fail, steps, true);
                },
                fail);
          });
}

/// A lookup by time through find_offset_for_time, as it goes from read to read.
struct time_lookup {
  protocol_bridge_actor bridge;  ///< the partition is read through it
  topic_partition tp;
  const protocol::codec_manager* codecs = nullptr;
  protocol_kind source = protocol_kind::portask;
  std::int64_t target = 0;  ///< a timestamp, or max_timestamp_target
  std::uint32_t steps_left = time_lookup_steps;  ///< the reads it may still make
  bool restarted = false;  ///< it started again once already (after_failed_read)
  std::int64_t log_start = 0;  ///< of the bounds it started from (set by find_offset_for_time)
};

/// Finds `look.target` in the partition whose bounds are `bounds` and calls
/// `done(offset_found)` or `fail(caf::error&)`. No record is stamped past the log's running
/// maximum timestamp (partition_bounds::end_timestamp), so a later target is answered "none"
/// (-1, -1, as Kafka answers it) without a read. Otherwise time_search finds the first batch
/// whose running maximum reaches it and the scan starts there. The -3 target looks for the
/// first record stamped with that maximum in the same way, and only when it is no longer
/// stored (deleted, or below the log start in the first batch) scans the log from its start
/// for the largest timestamp left. All of it in at most `look.steps_left` reads, past which
/// `done` gets `gave_up`; a read below a log start that moved meanwhile starts the lookup
/// again from the bounds then, once.
template <class Self, class Done, class Fail>
void find_offset_for_time(Self* self, time_lookup look, const storage::partition_bounds& bounds,
                          Done done, Fail fail);

namespace offset_for_time_detail {

template <class Self, class Done, class Fail>
void time_scan_step(Self* self, time_lookup look, std::int64_t target, std::int64_t cursor,
                    offset_found best, Done done, Fail fail);

// A read of the lookup failed: it starts again, or fails (after_failed_read).
template <class Self, class Done, class Fail>
void time_read_failed(Self* self, time_lookup look, caf::error& err, Done done, Fail fail) {
  const bool restarted = look.restarted;
  look.restarted = true;
  after_failed_read(
      self, look.bridge, look.tp, err, restarted,
      [=](const storage::partition_bounds& now) mutable {
        find_offset_for_time(self, look, now, done, fail);
      },
      fail);
}

// One probe of the search (a batch, read alone), or the scan once the search is done.
template <class Self, class Done, class Fail>
void time_search_step(Self* self, time_lookup look, time_search where, Done done, Fail fail) {
  using namespace std::chrono_literals;
  if (where.done())
    return time_scan_step(self, look, where.goal(), where.start(), offset_found{}, done, fail);
  if (look.steps_left == 0) return done(offset_found{-1, -1, true});
  --look.steps_left;
  fetch_request fr;
  fr.tp = look.tp;
  fr.offset = where.next_probe();
  fr.max_bytes = 1;  // the batch holding the offset, or the first after it, alone
  fr.max_wait_ms = 0;
  fr.source = look.source;
  self->request(look.bridge, 10s, fetch_atom::value, fr)
      .then(
          [=](fetch_result& res) mutable {
            where.found(res.batches.empty() ? nullptr : &res.batches.front());
            time_search_step(self, look, where, done, fail);
          },
          [=](caf::error& e) mutable { time_read_failed(self, look, e, done, fail); });
}

// One megabyte of the scan for `target`: the lookup's goal, or for -3 whose goal is gone,
// max_timestamp_target itself (from the log start). A Kafka lookup's megabyte counts a batch
// the tail keeps as its producer sent it at that size, as a Kafka fetch does
// (partition_log::read): compressed, such batches bring more stored bytes to a read, at most
// the tail's (at most 8 MiB); their frames are shared, not copied, and the scan decodes the
// same batches as when counted as stored (those that may hold its answer), in fewer reads.
template <class Self, class Done, class Fail>
void time_scan_step(Self* self, time_lookup look, std::int64_t target, std::int64_t cursor,
                    offset_found best, Done done, Fail fail) {
  using namespace std::chrono_literals;
  if (look.steps_left == 0) {
    best.gave_up = true;
    return done(best);
  }
  --look.steps_left;
  fetch_request fr;
  fr.tp = look.tp;
  fr.offset = cursor;
  fr.max_bytes = 1u << 20;
  fr.max_wait_ms = 0;
  fr.source = look.source;
  self->request(look.bridge, 10s, fetch_atom::value, fr)
      .then(
          [=](fetch_result& res) mutable {
            const auto step = scan_batches(res, target, cursor, best, *look.codecs);
            switch (step.what) {
              case scan_read::outcome::corrupt: {
                auto err = make_caf_error(errc::corrupt_stored_data);
                return fail(err);
              }
              case scan_read::outcome::found: return done(step.best);
              case scan_read::outcome::end:
                // -3 looked for the record stamped with the log's running maximum, and it is
                // gone: the largest timestamp still stored is found the long way.
                if (look.target == max_timestamp_target && target != max_timestamp_target)
                  return time_scan_step(self, look, max_timestamp_target, look.log_start,
                                        offset_found{}, done, fail);
                return done(step.best);
              case scan_read::outcome::more: break;
            }
            time_scan_step(self, look, target, step.next, step.best, done, fail);
          },
          [=](caf::error& e) mutable { time_read_failed(self, look, e, done, fail); });
}

}  // namespace offset_for_time_detail

template <class Self, class Done, class Fail>
void find_offset_for_time(Self* self, time_lookup look, const storage::partition_bounds& bounds,
                          Done done, Fail fail) {
  look.log_start = bounds.log_start;
  const auto goal = look.target == max_timestamp_target ? bounds.end_timestamp : look.target;
  // An empty log, a target past every timestamp, or -3 in a log of records stamped -1
  // (none: as the scan from the start would answer). A negative target otherwise (Kafka's
  // ListOffsets takes one as a timestamp) is searched for as any other: the first record.
  if (bounds.log_start >= bounds.next_offset || goal > bounds.end_timestamp ||
      (look.target == max_timestamp_target && goal < 0))
    return done(offset_found{});
  offset_for_time_detail::time_search_step(
      self, look, time_search{bounds.log_start, bounds.next_offset, goal}, done, fail);
}

}  // namespace portask
