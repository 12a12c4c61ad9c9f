// LeaveGroup (key 13): one member (v0-2) or a batch identified by member or instance id
// (v3+, KIP-345), each with its own error.
// ACLs: READ on the group.
#include "actors/connections/kafka/handlers.hpp"
#include "actors/connections/transport/log_text.hpp"
#include "logging/loggers.hpp"

namespace portask::kafka {

namespace sec = protocol::security;
using namespace std::chrono_literals;

void handle_leave_group(self_ptr self, const request& r, protocol::byte_view body) {
  msg::LeaveGroupRequest req;
  if (!PORTASK_KAFKA_DECODE(LeaveGroup, body, req)) return;
  const bool flexible = msg::LeaveGroupRequest_is_flexible(r.api_version);
  // Refused as a whole before the coordinator hears of it: the top-level error, no members.
  if (!allowed(self, sec::acl_operation::read, sec::resource_type::group, req.groupId)) {
    msg::LeaveGroupResponse res;
    res.errorCode = static_cast<std::int16_t>(error_code::group_authorization_failed);
    return respond(self, r, res, flexible, true);
  }
  std::vector<member_ref> members;
  if (r.api_version < 3)
    members.push_back({req.memberId, std::nullopt, -1});
  else
    for (const auto& m : req.members) members.push_back({m.memberId, m.groupInstanceId, -1});
  auto answer = [=](errc group_error, const std::vector<std::int32_t>& results) {
    msg::LeaveGroupResponse res;
    res.errorCode = to_kafka_group(group_error);
    if (r.api_version < 3) {
      if (group_error == errc::ok && !results.empty())
        res.errorCode = to_kafka_group(static_cast<errc>(results.front()));
    } else if (group_error == errc::ok) {
      for (std::size_t i = 0; i < members.size(); ++i)
        res.members.push_back({members[i].member_id, members[i].instance_id,
                               to_kafka_group(static_cast<errc>(results.at(i)))});
    }
    respond(self, r, res, flexible, res.errorCode != 0);
  };
  // Only the offset APIs and DescribeGroups/DeleteGroups take an empty group id (Kafka keeps
  // it for old standalone consumers); a group that coordinates members needs a name.
  if (req.groupId.empty()) return answer(errc::invalid_request, {});  // INVALID_GROUP_ID
  // v5+ (KIP-800): why each member leaves, logged as Kafka's coordinator logs it.
  for (const auto& m : req.members)
    if (m.reason)
      logging::kafka().info("group {}: member '{}' leaves; client reason: {}", printable(req.groupId),
                            printable(m.memberId), printable(*m.reason));
  with_group(
      self, req.groupId,
      [=](group_coordinator_actor& g) {
        self->request(g, 10s, leave_atom::value, members)
            .then([=](std::vector<std::int32_t>& results) { answer(errc::ok, results); },
                  [=](caf::error& e) { answer(to_errc(e), {}); });
      },
      [=](errc e) { answer(e, {}); });
}

}  // namespace portask::kafka
