#pragma once
/// How an actor spawned after the supervisor (a connection, the cluster actor) gets its copy
/// of the actor directory and keeps it current: it subscribes with the supervisor, the one
/// actor that never restarts, and handles nothing else until the answer is in (CAF's await
/// keeps every other message queued, in order). The supervisor answers from memory, never
/// from the store, so the wait is one message round trip. (An HTTP request's actor, which
/// lives for one request, asks once instead: http_api.cpp.)

#include "actors/interfaces.hpp"

namespace portask {

struct nothing_more {
  void operator()() const {}
};

/// Subscribes `self` (whose interface must take directory_update: the compiler checks) to
/// the directory's changes (sent as directory_update until `self` ends), stores the current one in `self->state.dir` and then runs `then`. A supervisor
/// that is gone (the broker is stopping) ends `self`.
template <class Self, class Then = nothing_more>
void follow_directory(Self* self, const supervisor_actor& supervisor, Then then = {}) {
  self->request(supervisor, caf::infinite, subscribe_atom::value, directory_follower_actor{self})
      .await([=](actor_directory& current) {
        self->state.dir = std::move(current);
        then();
      });
}

}  // namespace portask
