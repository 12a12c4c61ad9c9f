#include "actors/groups/offsets_log.hpp"

#include <stdexcept>

#include "logging/loggers.hpp"
#include "protocol/kafka/offsets_topic.hpp"
#include "protocol/topic_name.hpp"

namespace portask {
namespace {

namespace wire = protocol::kafka;

publish_batch internal_batch() {
  publish_batch pb;
  pb.tp = {std::string(protocol::offsets_topic), 0};
  pb.source = protocol_kind::kafka;  // Kafka's record format
  pb.auto_create = false;
  pb.internal = true;
  return pb;
}

void add(publish_batch& pb, std::string key, std::optional<std::string> value,
         std::int64_t now_ms) {
  protocol::message m;
  m.key = std::move(key);
  m.value = std::move(value);
  m.timestamp_ms = now_ms;
  pb.batch.messages.push_back(std::move(m));
}

// The mirror is best effort (the group store holds the truth): a record Kafka's format cannot
// carry (an id longer than a Kafka string, such as a group id a native Ack stored before such
// ids were refused) is left out with a warning, never thrown through the actor mirroring it.
template <class F>
publish_batch guarded(const std::string& group, F build) {
  try {
    return build();
  } catch (const std::length_error& e) {
    logging::groups().warn("group '{}': not mirrored to {}: {}", group.substr(0, 128), protocol::offsets_topic,
                           e.what());
    return internal_batch();
  }
}

}  // namespace

storage::topic_info offsets_topic_info() {
  return {std::string(protocol::offsets_topic), offsets_topic_partitions,
          {{"cleanup.policy", "compact"}}, {}};
}

publish_batch commit_records(const std::string& group,
                             const std::vector<storage::group_offset>& offsets,
                             std::int64_t now_ms) {
  return guarded(group, [&] {
    auto pb = internal_batch();
    for (const auto& o : offsets)
      add(pb, wire::offset_commit_key(group, o.tp.topic, o.tp.partition),
          wire::offset_commit_value(o.offset.offset, o.offset.leader_epoch, o.offset.metadata,
                                    o.offset.commit_time_ms >= 0 ? o.offset.commit_time_ms : now_ms),
          now_ms);
    return pb;
  });
}

publish_batch group_record(const group_description& g, std::int64_t now_ms) {
  return guarded(g.group_id, [&] {
    wire::group_metadata value;
    value.protocol_type = g.protocol_type;
    value.generation = g.generation;
    if (!g.members.empty()) {
      value.protocol = g.protocol_name;
      value.leader = g.leader;
    }
    value.state_timestamp_ms = now_ms;
    for (const auto& m : g.members)
      value.members.push_back({m.member_id, m.instance_id, m.client_id, m.client_host,
                               m.rebalance_timeout_ms, m.session_timeout_ms, m.metadata,
                               m.assignment});
    auto pb = internal_batch();
    add(pb, wire::group_metadata_key(g.group_id), wire::group_metadata_value(value), now_ms);
    return pb;
  });
}

publish_batch tombstones(const std::string& group, const std::vector<topic_partition>& tps,
                         bool whole_group, std::int64_t now_ms) {
  return guarded(group, [&] {
    auto pb = internal_batch();
    for (const auto& tp : tps)
      add(pb, wire::offset_commit_key(group, tp.topic, tp.partition), std::nullopt, now_ms);
    if (whole_group) add(pb, wire::group_metadata_key(group), std::nullopt, now_ms);
    return pb;
  });
}

}  // namespace portask
