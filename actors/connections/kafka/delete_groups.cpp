// DeleteGroups (key 42) and OffsetDelete (key 47): a group's offsets go from the store; a
// group with members is NON_EMPTY_GROUP for DeleteGroups. OffsetDelete on a consumer group
// with members deletes the offsets of topics no member subscribes to and answers the others
// GROUP_SUBSCRIBED_TO_TOPIC, as Kafka does; another kind of group with members is
// NON_EMPTY_GROUP. The coordinator decides which go in the same step as it deletes them.
// ACLs: DeleteGroups DELETE on each group; OffsetDelete DELETE on the group, READ on each topic.
#include <set>

#include "actors/connections/kafka/handlers.hpp"
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
  msg::OffsetDeleteRequest req;
  if (!PORTASK_KAFKA_DECODE(OffsetDelete, body, req)) return;
  // Kafka needs DELETE on the group (not READ) and refuses the request as a whole without it.
  if (!allowed(self, sec::acl_operation::remove, sec::resource_type::group, req.groupId)) {
    msg::OffsetDeleteResponse res;
    res.errorCode = static_cast<std::int16_t>(error_code::group_authorization_failed);
    return respond(self, r, res, false, true);
  }
  // Partitions of topics the principal may not READ are answered TOPIC_AUTHORIZATION_FAILED
  // and keep their offsets.
  std::set<std::string> refused;
  std::vector<topic_partition> tps;
  for (const auto& t : req.topics) {
    if (!allowed(self, sec::acl_operation::read, sec::resource_type::topic, t.name)) {
      refused.insert(t.name);
      continue;
    }
    for (const auto& p : t.partitions) tps.push_back({t.name, p.partitionIndex});
  }
  auto answer_with = [=](errc group_error, const std::set<std::string>& subscribed) {
    msg::OffsetDeleteResponse res;
    res.errorCode = to_kafka_group(group_error);
    if (group_error == errc::ok)
      for (const auto& t : req.topics) {
        msg::OffsetDeleteResponse::OffsetDeleteResponseTopic out;
        out.name = t.name;
        std::int16_t code = 0;
        if (refused.count(t.name))
          code = static_cast<std::int16_t>(error_code::topic_authorization_failed);
        else if (subscribed.count(t.name))
          code = static_cast<std::int16_t>(error_code::group_subscribed_to_topic);
        for (const auto& p : t.partitions) out.partitions.push_back({p.partitionIndex, code});
        res.topics.push_back(std::move(out));
      }
    respond(self, r, res, false, group_error != errc::ok);
  };
  auto answer = [=](errc group_error) { answer_with(group_error, {}); };
  // Unlike DeleteGroups, OffsetDelete takes no empty group id in Kafka.
  if (req.groupId.empty()) return answer(errc::invalid_request);  // INVALID_GROUP_ID
  with_group(
      self, req.groupId,
      [=](group_coordinator_actor& g) {
        // The coordinator keeps the offsets of topics a member subscribes to (a member whose
        // subscription cannot be read counts as subscribed to every topic, as Kafka counts a
        // group whose subscriptions it cannot tell) and answers those partitions.
        self->request(g, deletion_wait(self), delete_atom::value, tps, false)
            .then(
                [=](std::vector<topic_partition>& kept) {
                  std::set<std::string> subscribed;
                  for (const auto& tp : kept) subscribed.insert(tp.topic);
                  answer_with(errc::ok, subscribed);
                },
                [=](caf::error& e) { answer(to_errc(e)); });
      },
      answer);
}

}  // namespace portask::kafka
