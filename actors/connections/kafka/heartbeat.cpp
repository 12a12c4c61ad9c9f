// Heartbeat (key 12): keeps a member's session alive; REBALANCE_IN_PROGRESS tells it to
// rejoin, ILLEGAL_GENERATION / UNKNOWN_MEMBER_ID / FENCED_INSTANCE_ID that it is out.
// ACLs: READ on the group.
#include "actors/connections/kafka/handlers.hpp"

namespace portask::kafka {

namespace sec = protocol::security;
using namespace std::chrono_literals;

void handle_heartbeat(self_ptr self, const request& r, protocol::byte_view body) {
  msg::HeartbeatRequest req;
  if (!PORTASK_KAFKA_DECODE(Heartbeat, body, req)) return;
  const bool flexible = msg::HeartbeatRequest_is_flexible(r.api_version);
  // Refused before the coordinator hears of it: the member's session is not kept alive.
  if (!allowed(self, sec::acl_operation::read, sec::resource_type::group, req.groupId)) {
    msg::HeartbeatResponse res;
    res.errorCode = static_cast<std::int16_t>(error_code::group_authorization_failed);
    return respond(self, r, res, flexible, true);
  }
  auto answer = [=](errc e) {
    msg::HeartbeatResponse res;
    res.errorCode = to_kafka_group(e);
    respond(self, r, res, flexible, e != errc::ok && e != errc::rebalance_in_progress);
  };
  // Only the offset APIs and DescribeGroups/DeleteGroups take an empty group id (Kafka keeps
  // it for old standalone consumers); a group that coordinates members needs a name.
  if (req.groupId.empty()) return answer(errc::invalid_request);  // INVALID_GROUP_ID
  const member_ref m{req.memberId, req.groupInstanceId, req.generationId};
  with_group(
      self, req.groupId,
      [=](group_coordinator_actor& g) {
        self->request(g, 10s, heartbeat_atom::value, m)
            .then([=](bool) { answer(errc::ok); }, [=](caf::error& e) { answer(to_errc(e)); });
      },
      answer);
}

}  // namespace portask::kafka
