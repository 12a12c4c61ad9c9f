// ListOffsets (key 2): earliest (-2) and latest (-1) from the partition's bounds; a
// timestamp finds the first record stamped at or after it, and -3 (v7) the record with the
// largest timestamp (actors/pipeline/offset_for_time.hpp), in a bounded number of reads: a
// lookup that uses them up is REQUEST_TIMED_OUT, which clients retry. Kafka's tiered-storage
// sentinels (KIP-405's -4, v8; KIP-1005's -5, v9) are answered as Kafka's broker answers them
// for a topic without remote storage, at any version (it does not check the version): the
// earliest local offset is the log start, the latest tiered offset -1. Any other negative is
// a timestamp like any other (the first record), but at v0, which lists offsets before a
// time and finds none before a negative one (-3 included). The client's current leader epoch
// (v4+) is checked on the leader before anything else can fail (leader_epochs.hpp), and an
// offset found comes with the partition's epoch.
// ACLs: DESCRIBE on the topic, else each of its partitions is TOPIC_AUTHORIZATION_FAILED.
#include <map>
#include <utility>

#include "actors/connections/kafka/handlers.hpp"
#include "actors/connections/kafka/leader_epochs.hpp"
#include "actors/pipeline/offset_for_time.hpp"
#include "actors/pipeline/partition.hpp"

namespace portask::kafka {

namespace sec = protocol::security;
using namespace std::chrono_literals;

namespace {

constexpr std::int64_t latest = -1;
constexpr std::int64_t earliest = -2;
constexpr std::int64_t max_timestamp = max_timestamp_target;
constexpr std::int64_t earliest_local = -4;
constexpr std::int64_t latest_tiered = -5;
using found = offset_found;

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
  // A partition asked for twice (v1+) is INVALID_REQUEST in every place, as in Kafka: which
  // of the two questions to answer is not the broker's guess.
  std::map<std::pair<std::string, std::int32_t>, int> asked;
  for (const auto& t : req.topics)
    for (const auto& p : t.partitions) ++asked[{t.name, p.partitionIndex}];
  for (std::size_t ti = 0; ti < req.topics.size(); ++ti) {
    res->topics[ti].name = req.topics[ti].name;
    res->topics[ti].partitions.resize(req.topics[ti].partitions.size());
    // As Kafka: authorized before anything else; a refused partition keeps offset and
    // timestamp -1, and the bridge is not asked.
    const bool authorized =
        allowed(self, sec::acl_operation::describe, sec::resource_type::topic, req.topics[ti].name);
    for (std::size_t pi = 0; pi < req.topics[ti].partitions.size(); ++pi) {
      const auto p = req.topics[ti].partitions[pi];
      auto& out = res->topics[ti].partitions[pi];
      out.partitionIndex = p.partitionIndex;
      if (!authorized) {
        out.errorCode = static_cast<std::int16_t>(error_code::topic_authorization_failed);
        continue;
      }
      if (r.api_version >= 1 && asked.at({req.topics[ti].name, p.partitionIndex}) > 1) {
        out.errorCode = static_cast<std::int16_t>(error_code::invalid_request);
        out.offset = -1;
        out.timestamp = -1;
        continue;
      }
      ++*pending;
      const topic_partition tp{req.topics[ti].name, p.partitionIndex};
      auto fail = [=](caf::error& e) {
        const auto why = to_errc(e);
        auto& o = res->topics[ti].partitions[pi];
        o.errorCode = to_kafka(why);
        // On the leader, as in Kafka, a stale or future epoch is said before any other
        // failure; another node holds no replica and says NOT_LEADER_OR_FOLLOWER.
        if (why != errc::unknown_topic && why != errc::unknown_partition && why != errc::not_leader) {
          const auto current = self->state.ctx->cluster()->leader_epoch(tp);
          if (auto err = check_current_epoch(p.currentLeaderEpoch, current); current >= 0 && err != 0)
            o.errorCode = err;
        }
        done();
      };
      auto answer = [=](found f) {
        auto& o = res->topics[ti].partitions[pi];
        o.offset = f.offset;
        o.timestamp = f.timestamp;
        // The epoch Metadata reports: the lease's in a cluster, 0 on a single node.
        o.leaderEpoch = f.offset >= 0 ? self->state.ctx->cluster()->leader_epoch(tp) : -1;
        // v0 answers a list (Kafka's segment starts), of at most maxNumOffsets offsets
        // (legacyFetchOffsetsBefore); empty when no offset qualifies or none is asked for.
        o.oldStyleOffsets.clear();
        if (f.offset >= 0 && p.maxNumOffsets > 0) o.oldStyleOffsets.push_back(f.offset);
        done();
      };
      // -3 (max timestamp) needs v7 from v1 on (INVALID_REQUEST); v0, which Kafka answers
      // with a handler of its own that checks no version (handleListOffsetRequestV0), takes
      // it as a time (below).
      if (p.timestamp == max_timestamp && r.api_version >= 1 && r.api_version < 7) {
        out.errorCode = static_cast<std::int16_t>(error_code::invalid_request);
        done();
        continue;
      }
      ask_partition(
          self, self->state.dir, tp, 10s,
          [=](storage::partition_bounds& b) {
            const auto current = self->state.ctx->cluster()->leader_epoch(tp);
            if (auto err = check_current_epoch(p.currentLeaderEpoch, current); err != 0) {
              res->topics[ti].partitions[pi].errorCode = err;
              return done();
            }
            // A negative maxNumOffsets (v0) sizes Kafka's list below zero: its broker fails
            // the partition with UNKNOWN_SERVER_ERROR once the partition is found, whatever
            // the timestamp (legacyFetchOffsetsBefore's NegativeArraySizeException).
            if (r.api_version == 0 && p.maxNumOffsets < 0) {
              res->topics[ti].partitions[pi].errorCode = static_cast<std::int16_t>(error_code::unknown_server_error);
              return done();
            }
            // Without tiered storage the local log is the whole log, and nothing is tiered.
            if (p.timestamp == earliest || p.timestamp == earliest_local)
              return answer({b.log_start, -1});
            if (p.timestamp == latest) return answer({b.next_offset, -1});
            if (p.timestamp == latest_tiered) return answer({-1, -1});
            // v0 lists the starts of the segments last modified at or before the time
            // (legacyFetchOffsetsBefore), and none was before a negative one: the sentinels
            // above aside, -3 and every other negative time list nothing.
            if (r.api_version == 0 && p.timestamp < 0) return answer({-1, -1});
            if (b.log_start >= b.next_offset) return answer({-1, -1});
            auto bridge = self->state.dir.bridge_for(tp);
            if (!bridge) {
              auto e = make_caf_error(errc::not_ready);
              return fail(e);
            }
            time_lookup look;
            look.bridge = bridge;
            look.tp = tp;
            look.codecs = &self->state.ctx->codecs;
            look.source = protocol_kind::kafka;
            look.target = p.timestamp;
            find_offset_for_time(
                self, std::move(look), b,
                [=](found f) {
                  // Undecided after every read a lookup may make: said, not guessed.
                  if (f.gave_up) {
                    auto timed_out = make_caf_error(errc::timeout);
                    return fail(timed_out);
                  }
                  answer(f);
                },
                fail);
          },
          fail, bounds_atom::value);
    }
  }
  done();
}

}  // namespace portask::kafka
