// Heartbeat (key 12): keeps a member's session alive; REBALANCE_IN_PROGRESS tells it to
// rejoin, ILLEGAL_GENERATION / UNKNOWN_MEMBER_ID / FENCED_INSTANCE_ID that it is out.
#include "actors/connections/kafka/handlers.hpp"

namespace portask::kafka {

using namespace std::chrono_literals;

void handle_heartbeat(self_ptr self, const request& r, protocol::byte_view body) {
  msg::HeartbeatRequest req;
  if (!PORTASK_KAFKA_DECODE(Heartbeat, body, req)) return;
  const bool flexible = msg::HeartbeatRequest_is_flexible(r.api_version);
  auto answer = [=](errc e) {
    msg::HeartbeatResponse res;
    res.errorCode = to_kafka_group(e);
    respond(self, r, res, flexible, e != errc::ok && e != errc::rebalance_in_progress);
  };
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
