#pragma once
/// A native client's membership in a consumer group. The broker plays the group client for
/// it: this actor joins through the same coordinator Kafka members use (protocol type
/// "portask"), computes the assignment when it is elected leader (range or round-robin),
/// heartbeats, rejoins on every rebalance, and pushes each new assignment to the client as
/// a GroupAssignment frame. It leaves the group when told to or when its connection ends.

#include <cstdint>
#include <string>
#include <vector>

#include "actors/runtime/broker_context.hpp"
#include "protocol/group_assignment.hpp"

namespace portask {

class tcp_session;

struct native_membership {
  std::uint32_t membership_id = 0;
  std::string group;
  protocol::assignment_strategy strategy = protocol::assignment_strategy::range;
  std::int32_t session_timeout_ms = 10000;
  std::vector<std::string> topics;
  std::string client_host;
};

/// Spawns the member; it monitors `connection` and leaves when it goes down. It joins when
/// sent `join_atom` (the connection does so once its GroupJoin response is on its way);
/// send it `leave_atom` to leave early. `dir`: its connection's directory (the connection
/// passes on every update).
native_group_member_actor spawn_native_group_member(caf::actor_system& sys, native_connection_actor connection,
                                     std::shared_ptr<broker_context> ctx, actor_directory dir,
                                     std::shared_ptr<tcp_session> session, native_membership m);

}  // namespace portask
