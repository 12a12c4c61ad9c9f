#pragma once
/// Event hooks: OnConnect, OnDisconnect and OnMessage as actor subscriptions. Any component
/// (or test) subscribes an actor to a kind of event by the interface of its handle and
/// receives connect_event, disconnect_event or message_event messages. Subscribers that exit
/// are dropped. A subscription is answered once it is in place; an error answer (the hooks
/// actor was between restarts) means: ask the directory's current hooks handle again.
///
///   self->request(hooks, timeout, subscribe_atom::value, message_subscriber_actor{subscriber})
///
/// Delivery is bounded and at most once. Each event goes to a subscriber as a request, and
/// the subscriber's answer (CAF sends one by itself when a handler returns void) is its
/// acknowledgement, so a handler must return (or answer the promise it took): at most
/// `max_hook_events_in_flight` events are out to one subscriber (of all kinds together) at a
/// time, and an event that finds its subscriber that far behind is dropped for it. There is
/// no timeout: a subscriber that never answers keeps its slots and all its later events are
/// dropped; that is what bounds what it holds. Drops are counted
/// (portask_hook_events_dropped_total) and logged: at most one warning every 10 s, and none
/// held back longer. So a subscriber that stalls holds at most `max_hook_events_in_flight`
/// events (a message event holds its decoded batch), and one that is only slow is sent more
/// as it catches up. The bridges build message events only while someone subscribes to them
/// (broker_context::message_hook_subscribers); the hooks actor itself only hands events on,
/// waiting for nothing, so its own mailbox empties as fast as the bridges fill it.
///
/// Events sent while the hooks actor is between a failure and its restart (the restart's
/// backoff, 100 ms at first, until the senders have the new directory), and those still in
/// the failed actor's mailbox, are lost. A subscriber that must see every message reads the
/// topic instead.

#include <cstddef>

#include "actors/runtime/broker_context.hpp"

namespace portask {

/// Events out to one subscriber and not yet acknowledged, at most.
inline constexpr std::size_t max_hook_events_in_flight = 128;

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
