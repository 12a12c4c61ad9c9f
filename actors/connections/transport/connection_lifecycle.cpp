#include "actors/connections/transport/connection_lifecycle.hpp"

#include "actors/connections/transport/log_limiter.hpp"
#include "logging/loggers.hpp"

namespace portask {

void close_deadline::log_passed(protocol_kind protocol, const std::string& peer, std::size_t missing,
                                const session_limits& limits) {
  static log_limiter lines;
  if (const auto events = lines.count(); events > 0)
    logging::net().warn("{} {}: {} request(s) still unanswered {} ms after the connection began to close; "
                        "closed without their answers{}",
                        to_string(protocol), peer, missing, grace(limits).count(),
                        more_since_last_line(events));
}

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
