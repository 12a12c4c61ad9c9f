// DeleteGroups (key 42) and OffsetDelete (key 47): a group's offsets go from the store; a
// group with members is NON_EMPTY_GROUP for DeleteGroups. OffsetDelete on a consumer group
// with members deletes the offsets of topics no member subscribes to and answers the others
// GROUP_SUBSCRIBED_TO_TOPIC, as Kafka does; another kind of group with members is
// NON_EMPTY_GROUP. The coordinator decides which go in the same step as it deletes them.
// A partition that does not exist is UNKNOWN_TOPIC_OR_PARTITION, checked here first.
// ACLs: DeleteGroups DELETE on each group; OffsetDelete DELETE on the group, READ on each topic.
#include <map>
#include <set>

#include "actors/connections/kafka/handlers.hpp"
#include "actors/connections/kafka/partition_counts.hpp"
#include "actors/groups/group_waits.hpp"

namespace portask::kafka {

namespace sec = protocol::security;
using namespace std::chrono_literals;

namespace {

// Longer than a coordinator takes at worst (group_waits.hpp: the wait for the store, then the
// deletion's read and its delete), so that its own answer comes. An error refused before the
// delete (not empty, not found, waited too long) deleted nothing; one of the delete itself
// (a store call timed out) may have deleted: the client asks again.
std::chrono::milliseconds deletion_wait(self_ptr self) {
  return group_write_wait(self->state.ctx->config);
}

}  // namespace

void handle_delete_groups(self_ptr self, const request& r, protocol::byte_view body) {
  msg::DeleteGroupsRequest req;
  if (!PORTASK_KAFKA_DECODE(DeleteGroups, body, req)) return;
  const bool flexible = msg::DeleteGroupsRequest_is_flexible(r.api_version);
  auto res = std::make_shared<msg::DeleteGroupsResponse>();
  res->results.resize(req.groupsNames.size());
  auto pending = std::make_shared<std::size_t>(req.groupsNames.size() + 1);
  auto done = [=] {
    if (--*pending == 0) respond(self, r, *res, flexible);
  };
  for (std::size_t i = 0; i < req.groupsNames.size(); ++i) {
    res->results[i].groupId = req.groupsNames[i];
    if (!allowed(self, sec::acl_operation::remove, sec::resource_type::group, req.groupsNames[i])) {
      res->results[i].errorCode = static_cast<std::int16_t>(error_code::group_authorization_failed);
      done();
      continue;
    }
    auto fail = [=](errc e) {
      res->results[i].errorCode = to_kafka_group(e);
      done();
    };
    with_group(
        self, req.groupsNames[i],
        [=](group_coordinator_actor& g) {
          self->request(g, deletion_wait(self), delete_atom::value, std::vector<topic_partition>{}, true)
              .then([=](std::vector<topic_partition>&) { done(); },
                    [=](caf::error& e) { fail(to_errc(e)); });
        },
        fail);
  }
  done();
}

void handle_offset_delete(self_ptr self, const request& r, protocol::byte_view body) {
  auto req = std::make_shared<msg::OffsetDeleteRequest>();
  if (!PORTASK_KAFKA_DECODE(OffsetDelete, body, *req)) return;
  // Kafka needs DELETE on the group (not READ) and refuses the request as a whole without it.
  if (!allowed(self, sec::acl_operation::remove, sec::resource_type::group, req->groupId)) {
    msg::OffsetDeleteResponse res;
    res.errorCode = static_cast<std::int16_t>(error_code::group_authorization_failed);
    return respond(self, r, res, false, true);
  }
  // Partitions of topics the principal may not READ are answered TOPIC_AUTHORIZATION_FAILED
  // and keep their offsets. Kafka checks this before existence, so they are not looked up.
  auto refused = std::make_shared<std::set<std::string>>();
  std::set<std::string> to_look_up;
  for (const auto& t : req->topics) {
    if (!allowed(self, sec::acl_operation::read, sec::resource_type::topic, t.name))
      refused->insert(t.name);
    else
      to_look_up.insert(t.name);
  }
  // Partitions that do not exist (of a topic that does not, or beyond its count) are
  // answered UNKNOWN_TOPIC_OR_PARTITION and not handed to the coordinator, as Kafka answers
  // those its metadata does not hold. Counts come from the registry, as OffsetCommit's do.
  auto partition_counts = std::make_shared<std::map<std::string, std::int32_t>>();
  // Whether a lookup failed for another reason than the topic's absence (the registry
  // restarting, a timeout): UNKNOWN_TOPIC_OR_PARTITION would be untrue.
  auto unresolved = std::make_shared<bool>(false);
  auto exists = [=](const std::string& topic, std::int32_t partition) {
    const auto count = partition_counts->find(topic);
    return count != partition_counts->end() && partition >= 0 && partition < count->second;
  };
  auto answer_with = [=](errc group_error, const std::set<topic_partition>& kept) {
    msg::OffsetDeleteResponse res;
    res.errorCode = to_kafka_group(group_error);
    if (group_error == errc::ok)
      for (const auto& t : req->topics) {
        msg::OffsetDeleteResponse::OffsetDeleteResponseTopic out;
        out.name = t.name;
        for (const auto& p : t.partitions) {
          std::int16_t code = 0;
          if (refused->count(t.name))
            code = static_cast<std::int16_t>(error_code::topic_authorization_failed);
          else if (!exists(t.name, p.partitionIndex))
            code = static_cast<std::int16_t>(error_code::unknown_topic_or_partition);
          else if (kept.count({t.name, p.partitionIndex}))
            code = static_cast<std::int16_t>(error_code::group_subscribed_to_topic);
          out.partitions.push_back({p.partitionIndex, code});
        }
        res.topics.push_back(std::move(out));
      }
    respond(self, r, res, false, group_error != errc::ok);
  };
  auto answer = [=](errc group_error) { answer_with(group_error, {}); };
  // Unlike DeleteGroups, OffsetDelete takes no empty group id in Kafka.
  if (req->groupId.empty()) return answer(errc::invalid_request);  // INVALID_GROUP_ID
  auto delete_existing = [=] {
    // Retriable (COORDINATOR_NOT_AVAILABLE): the admin client asks again; nothing is deleted.
    if (*unresolved) return answer(errc::not_ready);
    std::vector<topic_partition> tps;
    for (const auto& t : req->topics)
      if (!refused->count(t.name))
        for (const auto& p : t.partitions)
          if (exists(t.name, p.partitionIndex)) tps.push_back({t.name, p.partitionIndex});
    // The group is asked even when no partition is left, as Kafka asks its coordinator: a
    // group that does not exist, or a non-consumer one with members, is answered as such.
    with_group(
        self, req->groupId,
        [=](group_coordinator_actor& g) {
          // The coordinator keeps the offsets of topics a member subscribes to (a member whose
          // subscription cannot be read counts as subscribed to every topic, as Kafka counts a
          // group whose subscriptions it cannot tell) and answers those partitions.
          self->request(g, deletion_wait(self), delete_atom::value, tps, false)
              .then(
                  [=](std::vector<topic_partition>& kept) {
                    answer_with(errc::ok, std::set<topic_partition>(kept.begin(), kept.end()));
                  },
                  [=](caf::error& e) { answer(to_errc(e)); });
        },
        answer);
  };
  look_up_partition_counts(
      self, to_look_up,
      [=](const std::string& topic, std::int32_t count) { (*partition_counts)[topic] = count; },
      [=](const std::string&, errc why) {
        if (lookup_may_pass(why)) *unresolved = true;
      },
      delete_existing);
}

}  // namespace portask::kafka
