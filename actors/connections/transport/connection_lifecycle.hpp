#pragma once
/// What every protocol's connection actor does when it starts and when it ends: count the
/// connection in the metrics, get its copy of the actor directory from the supervisor, fire
/// OnConnect / OnDisconnect hooks, and close the socket once its pending writes are out. One
/// place, so a new protocol cannot forget a step.

#include <chrono>
#include <cstddef>
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

/// How long a closing connection waits for its answers. A connection that ends (the client
/// closed, or sent what cannot be served) still answers the requests it read before the end,
/// in order, and goes once they are written: a Produce pipelined ahead of bytes that end the
/// connection is acknowledged, not stored and then sent again by a producer that never heard.
/// But it waits only so long: an answer that never comes (a bridge that crashed drops its
/// promises without an error in CAF 0.17) must not keep the actor, its socket and its
/// connection-table slot until the broker stops. A member of the connection's state.
class close_deadline {
 public:
  /// The wait: the listener's request timeout, or that timeout's default when the listener has
  /// none (the wait bounds the broker's answers, not the client, so it is never unbounded).
  static std::chrono::milliseconds grace(const session_limits& limits) noexcept {
    return limits.request_timeout > std::chrono::milliseconds::zero() ? limits.request_timeout
                                                                        : session_limits{}.request_timeout;
  }

  /// Starts the wait, once: `self` gets (closed_atom, errc::timeout) from itself when it has
  /// passed. True the first time.
  template <class Self>
  bool arm(Self* self, const tcp_session& session) {
    if (armed_) return false;
    armed_ = true;
    self->delayed_send(self, grace(session.limits()), closed_atom::value, errc::timeout);
    return true;
  }

  /// Whether the (closed_atom, errc) being handled is the deadline, which the actor sent
  /// itself, rather than the session's framing error, which comes anonymously.
  static bool passed(caf::local_actor* self) { return self->current_sender().get() == self->ctrl(); }

  /// The line for a connection that went without `missing` answers (at most one a second: a
  /// client can cause it, with requests that wait long and then bytes that end the connection).
  static void log_passed(protocol_kind protocol, const std::string& peer, std::size_t missing,
                         const session_limits& limits);

  /// Ends `self` if the (closed_atom, errc) being handled is the deadline, with the line for
  /// the answers it goes without (its state's `responses` still pending). True if it did.
  template <class Self>
  static bool quit_if_passed(Self* self, protocol_kind protocol) {
    if (!passed(self)) return false;
    const auto& st = self->state;
    log_passed(protocol, st.session->peer(), st.responses->pending(), st.session->limits());
    self->quit();
    return true;
  }

 private:
  bool armed_ = false;
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
