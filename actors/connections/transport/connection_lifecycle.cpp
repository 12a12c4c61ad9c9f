#include "actors/connections/transport/connection_lifecycle.hpp"

namespace portask {

void hook_presence::announce(const actor_directory& dir, protocol_kind protocol, std::string peer) {
  dir_ = &dir;
  protocol_ = protocol;
  peer_ = std::move(peer);
  if (dir.hooks) caf::anon_send(dir.hooks, connect_event{protocol_, peer_});
}

hook_presence::~hook_presence() {
  if (dir_ != nullptr && dir_->hooks) caf::anon_send(dir_->hooks, disconnect_event{protocol_, peer_});
}

void count_connection(caf::local_actor* self, const std::shared_ptr<broker_context>& ctx,
                      const std::shared_ptr<tcp_session>& session, protocol_kind protocol) {
  ctx->metrics.connection_opened(protocol);
  self->attach_functor([ctx, session, protocol] {
    ctx->metrics.connection_closed(protocol);
    session->close_after_writes();
  });
}

}  // namespace portask
