// OffsetCommit (key 8): the coordinator checks the member and generation (a zombie's commit
// is fenced) and stores every partition's offset in one store round trip. Kafka reports
// errors per partition; a group-level refusal applies to all of them.
// ACLs: READ on the group, and READ on each topic committed to.
#include <algorithm>
#include <limits>
#include <map>
#include <set>

#include "actors/connections/kafka/handlers.hpp"
#include "actors/connections/kafka/partition_counts.hpp"
#include "actors/groups/commit_metadata.hpp"
#include "actors/groups/group_waits.hpp"
#include "actors/pipeline/wall_clock.hpp"

namespace portask::kafka {

namespace sec = protocol::security;
using namespace std::chrono_literals;

namespace {

// Refused per partition (commit_metadata.hpp); a null metadata is none.
bool metadata_too_large(const std::optional<std::string>& metadata) {
  return metadata && commit_metadata_too_large(*metadata);
}

}  // namespace

void handle_offset_commit(self_ptr self, const request& r, protocol::byte_view body) {
  auto req = std::make_shared<msg::OffsetCommitRequest>();
  if (!PORTASK_KAFKA_DECODE(OffsetCommit, body, *req)) return;
  const bool flexible = msg::OffsetCommitRequest_is_flexible(r.api_version);
  // Without READ on the group nothing is stored and, as in Kafka, every partition asked for
  // carries the error, whether its topic exists or not.
  if (!allowed(self, sec::acl_operation::read, sec::resource_type::group, req->groupId)) {
    msg::OffsetCommitResponse res;
    for (const auto& t : req->topics) {
      msg::OffsetCommitResponse::OffsetCommitResponseTopic out;
      out.name = t.name;
      for (const auto& p : t.partitions)
        out.partitions.push_back(
            {p.partitionIndex, static_cast<std::int16_t>(error_code::group_authorization_failed)});
      res.topics.push_back(std::move(out));
    }
    return respond(self, r, res, flexible, true);
  }
  // Topics the principal may not READ are answered TOPIC_AUTHORIZATION_FAILED and not stored.
  // Kafka checks this before existence, so they are not looked up either.
  auto refused = std::make_shared<std::set<std::string>>();
  for (const auto& t : req->topics)
    if (!allowed(self, sec::acl_operation::read, sec::resource_type::topic, t.name))
      refused->insert(t.name);
  // Partitions of topics that do not exist are answered UNKNOWN_TOPIC_OR_PARTITION and not
  // stored, as Kafka does; the rest go to the coordinator. Partition counts are remembered
  // per connection (a consumer commits the same partitions again and again) until any topic
  // changes, and looked up in the registry only for a topic or partition not known then.
  auto partition_counts = std::make_shared<std::map<std::string, std::int32_t>>();
  // Topics whose lookup failed for another reason than their absence (the registry
  // restarting, a timeout): their partitions get a retriable group error, not
  // UNKNOWN_TOPIC_OR_PARTITION, which Kafka says only of topics that do not exist.
  auto unresolved = std::make_shared<std::map<std::string, errc>>();
  std::vector<std::string> to_look_up;
  for (const auto& t : req->topics) {
    if (refused->count(t.name)) continue;
    auto& cached = topic_caches(self).commit_partition_counts;
    auto known = cached.find(t.name);
    std::int32_t count = known == cached.end() ? -1 : known->second;
    for (const auto& p : t.partitions)
      if (p.partitionIndex >= count) count = -1;
    if (count < 0 && !partition_counts->count(t.name)) to_look_up.push_back(t.name);
    (*partition_counts)[t.name] = std::max(count, 0);
  }
  // Only for topics not refused: the others have no partition count.
  auto exists = [=](const std::string& topic, std::int32_t partition) {
    return partition >= 0 && partition < partition_counts->at(topic);
  };
  constexpr auto topic_refused = static_cast<std::int16_t>(error_code::topic_authorization_failed);
  auto answer = [=](errc e) {
    msg::OffsetCommitResponse res;
    const auto code = to_kafka_group(e);
    for (const auto& t : req->topics) {
      msg::OffsetCommitResponse::OffsetCommitResponseTopic out;
      out.name = t.name;
      for (const auto& p : t.partitions) {
        // As Kafka: the metadata's size is looked at once the group took the commit.
        std::int16_t e_partition = code;
        if (refused->count(t.name))
          e_partition = topic_refused;
        else if (auto u = unresolved->find(t.name); u != unresolved->end())
          e_partition = to_kafka_group(u->second);
        else if (!exists(t.name, p.partitionIndex))
          e_partition = static_cast<std::int16_t>(error_code::unknown_topic_or_partition);
        else if (code == 0 && metadata_too_large(p.committedMetadata))
          e_partition = static_cast<std::int16_t>(error_code::offset_metadata_too_large);
        out.partitions.push_back({p.partitionIndex, e_partition});
      }
      res.topics.push_back(std::move(out));
    }
    respond(self, r, res, flexible, e != errc::ok);
  };
  auto commit = [=] {
    commit_offsets_request c;
    c.member = {req->memberId, req->groupInstanceId, req->generationIdOrMemberEpoch};
    // As Kafka: v1's commit timestamp when given (else the coordinator stamps it), and
    // v2-4's retention time as an expiry time counted from now (-1: the broker's retention).
    const auto now_ms = wall_clock_ms();
    const auto expire_ms =
        req->retentionTimeMs < 0 ? std::int64_t{-1}
        : req->retentionTimeMs > std::numeric_limits<std::int64_t>::max() - now_ms
            ? std::numeric_limits<std::int64_t>::max()
            : now_ms + req->retentionTimeMs;
    for (const auto& t : req->topics)
      for (const auto& p : t.partitions)
        if (!refused->count(t.name) && exists(t.name, p.partitionIndex) &&
            !metadata_too_large(p.committedMetadata))
          c.offsets.push_back({{t.name, p.partitionIndex},
                               {p.committedOffset, p.committedMetadata.value_or(""),
                                std::max(p.committedLeaderEpoch, -1),
                                p.commitTimestamp >= 0 ? p.commitTimestamp : -1,
                                expire_ms}});
    with_group(
        self, req->groupId,
        [=](group_coordinator_actor& g) {
          // Longer than the coordinator's worst case (group_waits.hpp), so that its own answer
          // comes. An error may still leave the commit stored (its store call timed out): the
          // client retries, and storing the same offset again changes nothing.
          self->request(g, group_write_wait(self->state.ctx->config), commit_atom::value, c)
              .then([=](bool) { answer(errc::ok); }, [=](caf::error& e) { answer(to_errc(e)); });
        },
        answer);
  };
  look_up_partition_counts(
      self, to_look_up,
      [=](const std::string& topic, std::int32_t count) {
        (*partition_counts)[topic] = count;
        self->state.commit_partition_counts[topic] = count;
      },
      [=](const std::string& topic, errc why) {
        self->state.commit_partition_counts.erase(topic);
        if (lookup_may_pass(why)) (*unresolved)[topic] = why;
      },
      commit);
}

}  // namespace portask::kafka
