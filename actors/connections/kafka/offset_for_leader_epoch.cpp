// OffsetForLeaderEpoch (key 23): consumers check after a leader change whether their position
// survived log truncation. Portask never truncates: every node appends to the one log in the
// store, fenced by the partition's lease, so no epoch ever lost an acknowledged record. The
// current epoch is the lease's (0 on a single node); every epoch up to it ends at the log
// end offset (nothing after it was ever truncated), and so does a later one (answer_for).
// ACLs: CLUSTER_ACTION on the cluster or DESCRIBE on the topic, else TOPIC_AUTHORIZATION_FAILED.
#include "actors/connections/kafka/handlers.hpp"
#include "actors/connections/kafka/leader_epochs.hpp"
#include "actors/pipeline/partition.hpp"

namespace portask::kafka {

namespace sec = protocol::security;
using namespace std::chrono_literals;

namespace {

using end_offset = msg::OffsetForLeaderEpochResponse::OffsetForLeaderTopicResult::EpochEndOffset;

// Kafka's LeaderEpochFileCache.endOffsetFor, for a log that was never truncated.
void answer_for(end_offset& o, std::int32_t requested, std::int32_t current,
                const storage::partition_bounds& b) {
  if (requested >= 0 && requested <= current) {
    o.leaderEpoch = requested;
    o.endOffset = b.next_offset;
  } else if (current >= 0 && requested > current) {
    // Newer than ours: Kafka, which may have truncated, answers UNDEFINED and the client
    // resets its position. Here the epoch went back (the partitions' leases were given up:
    // the cluster became a single node, whose epoch is 0) and nothing was truncated, so the
    // client's position stands: the log ends where it ends.
    o.leaderEpoch = current;
    o.endOffset = b.next_offset;
  } else if (requested < undefined_epoch) {
    // Older than any epoch we know: the start of the first one (Kafka answers the same).
    o.leaderEpoch = requested;
    o.endOffset = b.log_start;
  } else {
    // -1 (undefined): UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET.
    o.leaderEpoch = undefined_epoch;
    o.endOffset = -1;
  }
}

}  // namespace

void handle_offset_for_leader_epoch(self_ptr self, const request& r, protocol::byte_view body) {
  msg::OffsetForLeaderEpochRequest req;
  if (!PORTASK_KAFKA_DECODE(OffsetForLeaderEpoch, body, req)) return;
  auto res = std::make_shared<msg::OffsetForLeaderEpochResponse>();
  auto pending = std::make_shared<std::size_t>(1);
  const bool flexible = msg::OffsetForLeaderEpochRequest_is_flexible(r.api_version);
  auto done = [=] {
    if (--*pending == 0) respond(self, r, *res, flexible);
  };
  res->topics.resize(req.topics.size());
  // As Kafka: replicas (CLUSTER_ACTION) may ask about any topic, consumers about the topics
  // they may describe (KIP-320); the epochs stay -1 for a refused partition.
  const bool any_topic = allowed_on_cluster(self, sec::acl_operation::cluster_action, denial_log::quiet);
  for (std::size_t ti = 0; ti < req.topics.size(); ++ti) {
    const auto& t = req.topics[ti];
    res->topics[ti].topic = t.topic;
    res->topics[ti].partitions.resize(t.partitions.size());
    const bool authorized = any_topic || allowed(self, sec::acl_operation::describe,
                                                 sec::resource_type::topic, t.topic);
    for (std::size_t pi = 0; pi < t.partitions.size(); ++pi) {
      const auto p = t.partitions[pi];
      res->topics[ti].partitions[pi].partition = p.partition;
      if (!authorized) {
        res->topics[ti].partitions[pi].errorCode =
            static_cast<std::int16_t>(error_code::topic_authorization_failed);
        continue;
      }
      auto fail = [=](caf::error& e) {
        res->topics[ti].partitions[pi].errorCode = to_kafka(to_errc(e));
        done();
      };
      ++*pending;
      // The partition must exist before its epoch is checked (Kafka): both come after
      // its bounds are known.
      ask_partition(
          self, self->state.dir, topic_partition{t.topic, p.partition}, 10s,
          [=](storage::partition_bounds& b) {
            const auto current = self->state.ctx->cluster()->leader_epoch({t.topic, p.partition});
            if (auto err = check_current_epoch(p.currentLeaderEpoch, current); err != 0) {
              res->topics[ti].partitions[pi].errorCode = err;
              return done();
            }
            answer_for(res->topics[ti].partitions[pi], p.leaderEpoch, current, b);
            done();
          },
          fail, bounds_atom::value);
    }
  }
  done();
}

}  // namespace portask::kafka
