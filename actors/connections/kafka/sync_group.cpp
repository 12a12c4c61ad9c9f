// SyncGroup (key 14): the leader's assignment ends the rebalance; every member gets its
// share (members wait for the leader).
// ACLs: READ on the group.
#include "actors/connections/kafka/handlers.hpp"

namespace portask::kafka {

namespace sec = protocol::security;

void handle_sync_group(self_ptr self, const request& r, protocol::byte_view body) {
  msg::SyncGroupRequest req;
  if (!PORTASK_KAFKA_DECODE(SyncGroup, body, req)) return;
  const bool flexible = msg::SyncGroupRequest_is_flexible(r.api_version);
  // From v5 the protocol type and name are mandatory (KIP-559): a request without them is
  // answered as Kafka answers it, before the coordinator hears of it.
  if (r.api_version >= 5 && (!req.protocolType || !req.protocolName)) {
    msg::SyncGroupResponse res;
    res.errorCode = static_cast<std::int16_t>(error_code::inconsistent_group_protocol);
    return respond(self, r, res, flexible, true);
  }
  // Refused before the coordinator hears of it (a member that may not read cannot sync).
  if (!allowed(self, sec::acl_operation::read, sec::resource_type::group, req.groupId)) {
    msg::SyncGroupResponse res;
    res.errorCode = static_cast<std::int16_t>(error_code::group_authorization_failed);
    return respond(self, r, res, flexible, true);
  }
  sync_group_request s;
  s.member_id = req.memberId;
  s.instance_id = req.groupInstanceId;
  s.generation = req.generationId;
  s.protocol_type = req.protocolType;
  s.protocol_name = req.protocolName;
  for (auto& a : req.assignments) s.assignments.emplace_back(std::move(a.memberId), std::move(a.assignment));
  auto answer = [=](const sync_group_result& sr) {
    msg::SyncGroupResponse res;
    res.errorCode = to_kafka_group(sr.error);
    if (sr.error == errc::ok) {
      res.protocolType = sr.protocol_type;
      res.protocolName = sr.protocol_name;
      res.assignment = sr.assignment;
    }
    respond(self, r, res, flexible, sr.error != errc::ok);
  };
  auto fail = [=](errc e) { answer(sync_group_result{e, {}, {}, {}}); };
  // Only the offset APIs and DescribeGroups/DeleteGroups take an empty group id (Kafka keeps
  // it for old standalone consumers); a group that coordinates members needs a name.
  if (req.groupId.empty()) return fail(errc::invalid_request);  // INVALID_GROUP_ID
  with_group(
      self, req.groupId,
      [=](group_coordinator_actor& g) {
        self->request(g, caf::infinite, sync_atom::value, s)
            .then([=](sync_group_result& sr) { answer(sr); },
                  [=](caf::error& e) { fail(to_errc(e)); });
      },
      fail);
}

}  // namespace portask::kafka
