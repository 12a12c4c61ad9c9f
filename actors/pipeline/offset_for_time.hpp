#pragma once
/// Finding an offset by time, for Kafka's ListOffsets and the native ListOffsets alike: the
/// first record stamped at or after a timestamp, or (target -3) the record with the largest
/// timestamp. There is no time index yet: the partition's batches are read from a cursor, one
/// megabyte per step, and every batch whose max timestamp rules it out is skipped undecoded.

#include <chrono>
#include <cstdint>

#include "actors/interfaces.hpp"
#include "logging/loggers.hpp"
#include "protocol/codec_manager.hpp"
#include "protocol/frame.hpp"

namespace portask {

inline constexpr std::int64_t max_timestamp_target = -3;

struct offset_found {
  std::int64_t offset = -1;  ///< -1: no record qualifies
  std::int64_t timestamp = -1;
  bool gave_up = false;  ///< the scan used its reads up before it found the answer
};

/// Scans [cursor, high watermark) of the partition `tp` (read through `bridge`) for `target`
/// and calls `done(offset_found)` or `fail(caf::error&)`. `best` carries the largest
/// timestamp seen for the -3 target. At most `steps` reads of a megabyte are made; past them
/// the scan is done with `gave_up` (a caller that must not hold a connection for a whole
/// partition's worth of reads gives a bound).
template <class Self, class Done, class Fail>
void scan_for_time(Self* self, protocol_bridge_actor bridge, topic_partition tp,
                   const protocol::codec_manager* codecs, protocol_kind source,
                   std::int64_t target, std::int64_t cursor, offset_found best, Done done,
                   Fail fail, std::uint32_t steps = UINT32_MAX) {
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
            std::int64_t next = cursor;
            for (const auto& b : res.batches) {
              next = b.next_offset();
              const bool may_hold = target == max_timestamp_target
                                        ? b.max_timestamp > best.timestamp
                                        : b.max_timestamp >= target;
              if (!may_hold) continue;
              auto frame = protocol::decode_frame(b.frame, protocol::frame_limits{UINT32_MAX});
              auto msgs = frame ? codecs->decode(frame->header.flags, frame->payload)
                                : expected<protocol::message_batch>(frame.error());
              if (!msgs) {
                logging::pipeline().error("offset by time: stored frame at offset {} failed its check",
                              b.base_offset);
                auto err = make_caf_error(errc::corrupt_stored_data);
                return fail(err);
              }
              for (std::size_t i = 0; i < msgs->messages.size(); ++i) {
                const auto ts = msgs->messages[i].timestamp_ms;
                const auto offset = b.base_offset + static_cast<std::int64_t>(i);
                // A read returns the whole batch holding the cursor: records before it (below
                // the log start, after a deletion in mid-batch) are not answers.
                if (offset < cursor) continue;
                if (target == max_timestamp_target) {
                  if (ts > best.timestamp) best = {offset, ts, false};
                } else if (ts >= target) {
                  return done(offset_found{offset, ts, false});
                }
              }
            }
            if (res.batches.empty() || next >= res.high_watermark) return done(best);
            scan_for_time(self, bridge, tp, codecs, source, target, next, best, done, fail,
                          steps == UINT32_MAX ? steps : steps - 1);
          },
          [=](caf::error& e) mutable { fail(e); });
}

}  // namespace portask
