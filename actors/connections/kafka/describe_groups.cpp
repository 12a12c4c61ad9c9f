// DescribeGroups (key 15): state, protocol, and members with their metadata and assignment.
// A group with neither members nor committed offsets is Dead, as Kafka describes it.
// ACLs: DESCRIBE on each group.
#include "actors/connections/kafka/authorized_operations.hpp"

namespace portask::kafka {

namespace sec = protocol::security;
using namespace std::chrono_literals;

void handle_describe_groups(self_ptr self, const request& r, protocol::byte_view body) {
  msg::DescribeGroupsRequest req;
  if (!PORTASK_KAFKA_DECODE(DescribeGroups, body, req)) return;
  const bool flexible = msg::DescribeGroupsRequest_is_flexible(r.api_version);
  auto res = std::make_shared<msg::DescribeGroupsResponse>();
  res->groups.resize(req.groups.size());
  auto pending = std::make_shared<std::size_t>(req.groups.size() + 1);
  auto done = [=] {
    if (--*pending == 0) respond(self, r, *res, flexible);
  };
  const bool with_operations = req.includeAuthorizedOperations && r.api_version >= 3;  // KIP-430
  for (std::size_t i = 0; i < req.groups.size(); ++i) {
    auto& out = res->groups[i];
    out.groupId = req.groups[i];
    // A group the principal may not DESCRIBE is not asked about: Kafka answers only its id and
    // the error, with an empty state.
    if (!allowed(self, sec::acl_operation::describe, sec::resource_type::group, req.groups[i])) {
      out.errorCode = static_cast<std::int16_t>(error_code::group_authorization_failed);
      done();
      continue;
    }
    auto fail = [=](errc e) {
      res->groups[i].errorCode = to_kafka_group(e);
      res->groups[i].groupState = "Dead";
      done();
    };
    with_group(
        self, req.groups[i],
        [=](group_coordinator_actor& g) {
          self->request(g, 10s, describe_atom::value)
              .then(
                  [=](group_description& d) {
                    auto& o = res->groups[i];
                    o.groupState = d.state;
                    if (with_operations)
                      o.authorizedOperations = authorized_operations(
                          self, sec::resource_type::group, o.groupId, ops::group);
                    o.protocolType = d.protocol_type;
                    // Only a stable group has a protocol and assignments to show: during a
                    // rebalance Kafka lists the members without them (the coordinator's
                    // description keeps them, for OffsetDelete and the HTTP group page).
                    const bool stable = d.state == "Stable";
                    if (stable) o.protocolData = d.protocol_name;
                    for (auto& m : d.members)
                      o.members.push_back({std::move(m.member_id), std::move(m.instance_id),
                                           std::move(m.client_id), std::move(m.client_host),
                                           stable ? std::move(m.metadata) : std::string(),
                                           stable ? std::move(m.assignment) : std::string()});
                    done();
                  },
                  [=](caf::error& e) { fail(to_errc(e)); });
        },
        fail);
  }
  done();
}

}  // namespace portask::kafka
