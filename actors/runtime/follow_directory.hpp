#pragma once
/// How an actor spawned after the supervisor (a connection, the cluster actor, an HTTP
/// request) gets its copy of the actor directory: it asks the supervisor, the one actor that
/// never restarts, and handles nothing else until the answer is in (CAF's await keeps the
/// other messages queued, in order). The supervisor answers from memory, never from the
/// store, so the wait is one message round trip.

#include "actors/interfaces.hpp"

namespace portask {

/// Subscribes `self` to the directory's changes (sent as directory_update until `self` ends)
/// and stores the current one in `self->state.dir` first. A supervisor that is gone (the
/// broker is stopping) ends `self`.
template <class Self>
void follow_directory(Self* self, const supervisor_actor& supervisor) {
  self->request(supervisor, caf::infinite, subscribe_atom::value, directory_atom::value)
      .await([=](actor_directory& dir) { self->state.dir = std::move(dir); });
}

/// The current directory once, for an actor that lives for one request.
template <class Self>
void read_directory(Self* self, const supervisor_actor& supervisor) {
  self->request(supervisor, caf::infinite, directory_atom::value)
      .await([=](actor_directory& dir) { self->state.dir = std::move(dir); });
}

}  // namespace portask
