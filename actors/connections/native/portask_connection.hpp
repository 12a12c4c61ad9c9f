#pragma once
/// The native protocol's connection actor: one per TCP connection. Owns the protocol state
/// (request ids, response order, subscriptions with their credit), turns each request frame
/// into a protocol-neutral message for the bridge, registry or storage actors, and writes the
/// answers through its tcp_session in request order. Runs on the CAF scheduler.

#include <memory>

#include "actors/runtime/broker_context.hpp"
#include "actors/connections/transport/tcp_session.hpp"

namespace portask {

/// `supervisor`: where it gets its actor directory.
native_connection_actor spawn_portask_connection(caf::actor_system& sys, std::shared_ptr<broker_context> ctx,
                                                 supervisor_actor supervisor,
                                                 std::shared_ptr<tcp_session> session);

/// The bytes written to a client refused for being over the connection limit.
protocol::buffer portask_rejection_frame();

}  // namespace portask
