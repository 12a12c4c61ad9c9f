#pragma once
/// Hooks: a scripted hooks_actor (records subscriptions and events, fans out nothing), and a
/// subscriber to every kind of event that records the events it gets. Its handle converts to
/// each subscriber interface of interfaces.hpp; subscribe it to one kind with
///   self->request(hooks, timeout, subscribe_atom::value, message_subscriber_actor{subscriber})

#include <memory>

#include "tests/mocks/mock_script.hpp"

namespace portask::testing {

struct hooks_script {
  heard<std::string, caf::actor_addr> subscribe;  ///< the kind ("connect", ...), who
  heard<connect_event> connects;
  heard<disconnect_event> disconnects;
  heard<message_event> messages;
};

inline hooks_actor::behavior_type mock_hooks(hooks_actor::pointer,
                                             std::shared_ptr<hooks_script> s) {
  return {
      [s](subscribe_atom, const connect_subscriber_actor& subscriber) {
        s->subscribe("connect", subscriber.address());
        return true;
      },
      [s](subscribe_atom, const disconnect_subscriber_actor& subscriber) {
        s->subscribe("disconnect", subscriber.address());
        return true;
      },
      [s](subscribe_atom, const message_subscriber_actor& subscriber) {
        s->subscribe("message", subscriber.address());
        return true;
      },
      [s](const connect_event& e) { s->connects(e); },
      [s](const disconnect_event& e) { s->disconnects(e); },
      [s](const message_event& e) { s->messages(e); },
      [](tick_atom) {},  // the real one's own drop report
  };
}

inline hooks_actor spawn_mock_hooks(caf::actor_system& sys, std::shared_ptr<hooks_script> s) {
  return sys.spawn(mock_hooks, std::move(s));
}

using hooks_subscriber_actor =
    caf::typed_actor<caf::reacts_to<connect_event>, caf::reacts_to<disconnect_event>,
                     caf::reacts_to<message_event>>;

struct hooks_subscriber_script {
  heard<connect_event> connects;
  heard<disconnect_event> disconnects;
  heard<message_event> messages;
};

inline hooks_subscriber_actor::behavior_type mock_hooks_subscriber(
    hooks_subscriber_actor::pointer, std::shared_ptr<hooks_subscriber_script> s) {
  return {
      [s](const connect_event& e) { s->connects(e); },
      [s](const disconnect_event& e) { s->disconnects(e); },
      [s](const message_event& e) { s->messages(e); },
  };
}

inline hooks_subscriber_actor spawn_mock_hooks_subscriber(
    caf::actor_system& sys, std::shared_ptr<hooks_subscriber_script> s) {
  return sys.spawn(mock_hooks_subscriber, std::move(s));
}

}  // namespace portask::testing
