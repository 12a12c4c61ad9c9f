// JoinGroup (key 11): to the group's coordinator, which parks the request until the
// rebalance completes. v4+ first joins get MEMBER_ID_REQUIRED with an id (KIP-394); a v9+
// static leader back in a stable group may be told to skip the assignment (KIP-814).
// ACLs: READ on the group.
#include "actors/connections/kafka/handlers.hpp"
#include "actors/connections/transport/log_text.hpp"
#include "logging/loggers.hpp"

namespace portask::kafka {

namespace sec = protocol::security;

void handle_join_group(self_ptr self, const request& r, protocol::byte_view body) {
  msg::JoinGroupRequest req;
  if (!PORTASK_KAFKA_DECODE(JoinGroup, body, req)) return;
  const bool flexible = msg::JoinGroupRequest_is_flexible(r.api_version);
  // Refused before the coordinator hears of it; Kafka's bare error response echoes no member id.
  if (!allowed(self, sec::acl_operation::read, sec::resource_type::group, req.groupId)) {
    msg::JoinGroupResponse res;
    res.errorCode = static_cast<std::int16_t>(error_code::group_authorization_failed);
    res.protocolName = r.api_version >= 7 ? std::nullopt : std::optional<std::string>("");
    return respond(self, r, res, flexible, true);
  }
  join_group_request j;
  j.member_id = req.memberId;
  j.instance_id = req.groupInstanceId;
  j.client_id = self->state.client_id;
  j.client_host = "/" + self->state.host.text();  // as Kafka shows it: the address, no port
  j.session_timeout_ms = req.sessionTimeoutMs;
  j.rebalance_timeout_ms = r.api_version >= 1 ? req.rebalanceTimeoutMs : req.sessionTimeoutMs;
  j.protocol_type = req.protocolType;
  for (auto& p : req.protocols) j.protocols.push_back({std::move(p.name), std::move(p.metadata)});
  j.require_known_member = r.api_version >= 4;
  j.supports_skip_assignment = r.api_version >= 9;  // KIP-814
  const auto member = req.memberId;
  auto fail = [=](errc e) {
    msg::JoinGroupResponse res;
    res.errorCode = to_kafka_group(e);
    res.memberId = member;
    res.protocolName = r.api_version >= 7 ? std::nullopt : std::optional<std::string>("");
    respond(self, r, res, flexible, true);
  };
  // Only the offset APIs and DescribeGroups/DeleteGroups take an empty group id (Kafka keeps
  // it for old standalone consumers); a group that coordinates members needs a name.
  if (req.groupId.empty()) return fail(errc::invalid_request);  // INVALID_GROUP_ID
  // A protocol type that reads longer than a Kafka string (bytes that are not UTF-8 read as
  // U+FFFD) could not be listed back: every ListGroups answer carries it.
  if (req.protocolType.size() > protocol::kafka::max_string_bytes)
    return fail(errc::inconsistent_protocol);
  // v8+ (KIP-800): why the client (re)joins, logged as Kafka's coordinator logs it.
  if (req.reason)
    logging::kafka().info("group {}: member '{}' joins; client reason: {}", printable(req.groupId),
                          printable(req.memberId), printable(*req.reason));
  with_group(
      self, req.groupId,
      [=](group_coordinator_actor& g) {
        // No timeout: a join waits for the rebalance, bounded by the rebalance timeout.
        self->request(g, caf::infinite, join_atom::value, j)
            .then(
                [=](join_group_result& jr) {
                  msg::JoinGroupResponse res;
                  res.errorCode = to_kafka_group(jr.error);
                  res.memberId = jr.member_id;
                  res.generationId = jr.error == errc::ok ? jr.generation : -1;
                  if (jr.error == errc::ok) {
                    res.protocolType = jr.protocol_type;
                    res.protocolName = jr.protocol_name;
                  } else {
                    res.protocolName = r.api_version >= 7 ? std::nullopt : std::optional<std::string>("");
                  }
                  res.leader = jr.leader;
                  res.skipAssignment = jr.skip_assignment;
                  for (auto& m : jr.members)
                    res.members.push_back({std::move(m.member_id), std::move(m.instance_id),
                                           std::move(m.metadata)});
                  respond(self, r, res, flexible, jr.error != errc::ok);
                },
                [=](caf::error& e) { fail(to_errc(e)); });
      },
      fail);
}

}  // namespace portask::kafka
