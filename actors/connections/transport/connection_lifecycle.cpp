#include "actors/connections/transport/connection_lifecycle.hpp"

namespace portask {

void track_connection(caf::local_actor* self, const std::shared_ptr<broker_context>& ctx,
                      const std::shared_ptr<tcp_session>& session, protocol_kind protocol) {
  ctx->metrics.connection_opened(protocol);
  if (auto hooks = ctx->hooks()) caf::anon_send(hooks, connect_event{protocol, session->peer()});
  self->attach_functor([ctx, session, protocol] {
    ctx->metrics.connection_closed(protocol);
    if (auto hooks = ctx->hooks()) caf::anon_send(hooks, disconnect_event{protocol, session->peer()});
    session->close_after_writes();
  });
}

}  // namespace portask
