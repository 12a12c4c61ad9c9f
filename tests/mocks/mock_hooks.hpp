#pragma once
/// Hooks: a scripted hooks_actor (records subscriptions and events, fans out nothing), and a
/// subscriber that records the events it gets. interfaces.hpp has no type for subscribers
/// (the hooks actor keeps them as caf::actor), so theirs is spelled out here from what
/// actors/pipeline/hooks.cpp sends them. Subscribe one with
///   anon_send(hooks, subscribe_atom::value, on_message_atom::value,
///             caf::actor_cast<caf::actor>(subscriber))

#include <memory>

#include "tests/mocks/mock_script.hpp"

namespace portask::testing {

struct hooks_script {
  heard<caf::atom_value, caf::actor> subscribe;
  heard<connect_event> connects;
  heard<disconnect_event> disconnects;
  heard<message_event> messages;
};

inline hooks_actor::behavior_type mock_hooks(hooks_actor::pointer,
                                             std::shared_ptr<hooks_script> s) {
  return {
      [s](subscribe_atom, on_connect_atom, const caf::actor& subscriber) {
        s->subscribe(on_connect_atom::value, subscriber);
      },
      [s](subscribe_atom, on_disconnect_atom, const caf::actor& subscriber) {
        s->subscribe(on_disconnect_atom::value, subscriber);
      },
      [s](subscribe_atom, on_message_atom, const caf::actor& subscriber) {
        s->subscribe(on_message_atom::value, subscriber);
      },
      [s](const connect_event& e) { s->connects(e); },
      [s](const disconnect_event& e) { s->disconnects(e); },
      [s](const message_event& e) { s->messages(e); },
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
