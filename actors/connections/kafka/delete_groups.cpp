// DeleteGroups (key 42) and OffsetDelete (key 47): a group's offsets go from the store; a
// group with members is NON_EMPTY_GROUP. OffsetDelete is refused as a whole for a group
// with members (Kafka would check each topic against the members' subscriptions).
// ACLs: DeleteGroups DELETE on each group; OffsetDelete DELETE on the group, READ on each topic.
#include <set>

#include "actors/connections/kafka/handlers.hpp"

namespace portask::kafka {

namespace sec = protocol::security;
using namespace std::chrono_literals;

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
          self->request(g, 10s, delete_atom::value, std::vector<topic_partition>{}, true)
              .then([=](bool) { done(); }, [=](caf::error& e) { fail(to_errc(e)); });
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
  auto answer = [=](errc group_error) {
    msg::OffsetDeleteResponse res;
    res.errorCode = to_kafka_group(group_error);
    if (group_error == errc::ok)
      for (const auto& t : req.topics) {
        msg::OffsetDeleteResponse::OffsetDeleteResponseTopic out;
        out.name = t.name;
        const std::int16_t code =
            refused.count(t.name) ? static_cast<std::int16_t>(error_code::topic_authorization_failed) : 0;
        for (const auto& p : t.partitions) out.partitions.push_back({p.partitionIndex, code});
        res.topics.push_back(std::move(out));
      }
    respond(self, r, res, false, group_error != errc::ok);
  };
  with_group(
      self, req.groupId,
      [=](group_coordinator_actor& g) {
        self->request(g, 10s, describe_atom::value)
            .then(
                [=](group_description& d) {
                  if (!d.members.empty()) return answer(errc::group_not_empty);
                  self->request(g, 10s, delete_atom::value, tps, false)
                      .then([=](bool) { answer(errc::ok); },
                            [=](caf::error& e) { answer(to_errc(e)); });
                },
                [=](caf::error& e) { answer(to_errc(e)); });
      },
      answer);
}

}  // namespace portask::kafka
