#pragma once
/// What every protocol's connection actor does when it starts and when it ends: count the
/// connection in the metrics, get its copy of the actor directory from the supervisor, fire
/// OnConnect / OnDisconnect hooks, and close the socket once its pending writes are out. One
/// place, so a new protocol cannot forget a step.

#include <memory>
#include <string>

#include "actors/connections/transport/tcp_session.hpp"
#include "actors/runtime/broker_context.hpp"
#include "actors/runtime/follow_directory.hpp"

namespace portask {

/// A connection as the hooks see it: OnConnect once the connection has its directory (which
/// names the hooks), OnDisconnect when the connection's state goes, however its actor ended.
/// A member of the connection's state, declared after its `dir`, which it reads the current
/// hooks from (members go in reverse order, so `dir` is still there).
class hook_presence {
 public:
  hook_presence() = default;
  hook_presence(const hook_presence&) = delete;
  hook_presence& operator=(const hook_presence&) = delete;
  ~hook_presence();
  void announce(const actor_directory& dir, protocol_kind protocol, std::string peer);

 private:
  const actor_directory* dir_ = nullptr;
  protocol_kind protocol_{};
  std::string peer_;
};

/// Counts the connection as open now and closed when `self` ends, and closes its session
/// once its pending writes are out.
void count_connection(caf::local_actor* self, const std::shared_ptr<broker_context>& ctx,
                      const std::shared_ptr<tcp_session>& session, protocol_kind protocol);

/// The whole start: counted, subscribed to the directory (nothing else is handled until it is
/// in `self->state.dir`), announced to the hooks (`self->state.presence`).
template <class Self>
void track_connection(Self* self, const std::shared_ptr<broker_context>& ctx,
                      const supervisor_actor& supervisor,
                      const std::shared_ptr<tcp_session>& session, protocol_kind protocol) {
  count_connection(self, ctx, session, protocol);
  follow_directory(self, supervisor, [=] {
    self->state.presence.announce(self->state.dir, protocol, session->peer());
  });
}

}  // namespace portask
