#pragma once
/// What every protocol's connection actor does when it starts and when it ends: count the
/// connection in the metrics, fire OnConnect / OnDisconnect hooks, and close the socket once
/// its pending writes are out. One place, so a new protocol cannot forget a step.

#include <memory>

#include "actors/runtime/broker_context.hpp"
#include "actors/connections/transport/tcp_session.hpp"

namespace portask {

void track_connection(caf::local_actor* self, const std::shared_ptr<broker_context>& ctx,
                      const std::shared_ptr<tcp_session>& session, protocol_kind protocol);

}  // namespace portask
