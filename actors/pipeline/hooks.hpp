#pragma once
/// Event hooks: OnConnect, OnDisconnect and OnMessage as actor subscriptions. Any component
/// (or test) subscribes an actor to a kind of event by the interface of its handle and
/// receives connect_event, disconnect_event or message_event messages. Subscribers that exit
/// are dropped. A subscription is answered once it is in place; an error answer (the hooks
/// actor was between restarts) means: ask the directory's current hooks handle again.
///
///   self->request(hooks, timeout, subscribe_atom::value, message_subscriber_actor{subscriber})

#include "actors/runtime/broker_context.hpp"

namespace portask {

/// The subscriptions outlive the hooks actor that serves them: the supervisor keeps them and
/// hands them to every incarnation (one runs at a time, so they need no lock), so a restart
/// of the hooks loses no subscriber.
struct hook_subscriptions {
  std::vector<connect_subscriber_actor> on_connect;
  std::vector<disconnect_subscriber_actor> on_disconnect;
  std::vector<message_subscriber_actor> on_message;
};

hooks_actor spawn_hooks(caf::actor_system& sys, std::shared_ptr<broker_context> ctx,
                        std::shared_ptr<hook_subscriptions> subscriptions);

}  // namespace portask
