// ListOffsets (key 2): earliest (-2) and latest (-1) from the partition's bounds; a
// timestamp finds the first record stamped at or after it, and -3 (v7) the record with the
// largest timestamp. Time lookups scan the partition's batches from the log start, skipping
// every batch whose max timestamp rules it out without decoding it (there is no time index
// yet: the cost is one read per megabyte of log).
#include <spdlog/spdlog.h>

#include "actors/kafka/handlers.hpp"
#include "actors/partition.hpp"

namespace portask::kafka {

using namespace std::chrono_literals;

namespace {

constexpr std::int64_t latest = -1;
constexpr std::int64_t earliest = -2;
constexpr std::int64_t max_timestamp = -3;

struct found {
  std::int64_t offset = -1;
  std::int64_t timestamp = -1;
};

// Scans [cursor, high watermark) of `part` for `target` and calls `done(found)`, or
// `fail(error)`. One partition read per step; each step continues from the last batch seen.
template <class Done, class Fail>
void scan_for_time(self_ptr self, partition_actor part, std::int64_t target, std::int64_t cursor,
                   found best, Done done, Fail fail) {
  fetch_request fr;
  fr.offset = cursor;
  fr.max_bytes = 1u << 20;
  fr.max_wait_ms = 0;
  fr.source = protocol_kind::kafka;
  self->request(part, 10s, fetch_atom::value, fr)
      .then(
          [=](fetch_result& res) mutable {
            const auto& ctx = *self->state.ctx;
            std::int64_t next = cursor;
            for (const auto& b : res.batches) {
              next = b.next_offset();
              const bool may_hold = target == max_timestamp ? b.max_timestamp > best.timestamp
                                                            : b.max_timestamp >= target;
              if (!may_hold) continue;
              auto frame = protocol::decode_frame(b.frame, protocol::frame_limits{UINT32_MAX});
              auto msgs = frame ? ctx.codecs.decode(frame->header.flags, frame->payload)
                                : expected<protocol::message_batch>(frame.error());
              if (!msgs) {
                spdlog::error("kafka list offsets: stored frame at offset {} failed its check",
                              b.base_offset);
                auto err = make_caf_error(errc::corrupt_stored_data);
                return fail(err);
              }
              for (std::size_t i = 0; i < msgs->messages.size(); ++i) {
                const auto ts = msgs->messages[i].timestamp_ms;
                const auto offset = b.base_offset + static_cast<std::int64_t>(i);
                if (target == max_timestamp) {
                  if (ts > best.timestamp) best = {offset, ts};
                } else if (ts >= target) {
                  return done(found{offset, ts});
                }
              }
            }
            if (res.batches.empty() || next >= res.high_watermark) return done(best);
            scan_for_time(self, part, target, next, best, done, fail);
          },
          [=](caf::error& e) mutable { fail(e); });
}

}  // namespace

void handle_list_offsets(self_ptr self, const request& r, protocol::byte_view body) {
  msg::ListOffsetsRequest req;
  if (!PORTASK_KAFKA_DECODE(ListOffsets, body, req)) return;
  auto res = std::make_shared<msg::ListOffsetsResponse>();
  auto pending = std::make_shared<std::size_t>(1);
  const bool flexible = msg::ListOffsetsRequest_is_flexible(r.api_version);
  auto done = [=] {
    if (--*pending == 0) respond(self, r, *res, flexible);
  };
  res->topics.resize(req.topics.size());
  auto registry = self->state.ctx->registry();
  for (std::size_t ti = 0; ti < req.topics.size(); ++ti) {
    res->topics[ti].name = req.topics[ti].name;
    res->topics[ti].partitions.resize(req.topics[ti].partitions.size());
    for (std::size_t pi = 0; pi < req.topics[ti].partitions.size(); ++pi) {
      ++*pending;
      const auto p = req.topics[ti].partitions[pi];
      auto& out = res->topics[ti].partitions[pi];
      out.partitionIndex = p.partitionIndex;
      auto fail = [=](caf::error& e) {
        res->topics[ti].partitions[pi].errorCode = to_kafka(to_errc(e));
        done();
      };
      auto answer = [=](found f) {
        auto& o = res->topics[ti].partitions[pi];
        o.offset = f.offset;
        o.timestamp = f.timestamp;
        // One leader since the partition began: epoch 0, as Metadata and Fetch say.
        o.leaderEpoch = f.offset >= 0 ? 0 : -1;
        // v0 answers a list (Kafka's segment starts); empty when no offset qualifies.
        o.oldStyleOffsets.clear();
        if (f.offset >= 0) o.oldStyleOffsets.push_back(f.offset);
        done();
      };
      if (p.timestamp < max_timestamp || (p.timestamp == max_timestamp && r.api_version < 7)) {
        out.errorCode = static_cast<std::int16_t>(error_code::invalid_request);
        done();
        continue;
      }
      const topic_partition tp{req.topics[ti].name, p.partitionIndex};
      ask_partition(
          self, registry, tp, 10s,
          [=](storage::partition_bounds& b) {
            if (p.timestamp == earliest) return answer({b.log_start, -1});
            if (p.timestamp == latest) return answer({b.next_offset, -1});
            if (b.log_start >= b.next_offset) return answer({-1, -1});
            self->request(registry, 10s, partition_atom::value, tp, false)
                .then(
                    [=](partition_actor& part) {
                      scan_for_time(self, part, p.timestamp, b.log_start, found{}, answer, fail);
                    },
                    fail);
          },
          fail, 3, bounds_atom::value);
    }
  }
  done();
}

}  // namespace portask::kafka
