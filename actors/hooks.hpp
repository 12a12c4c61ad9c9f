#pragma once
/// Event hooks: OnConnect, OnDisconnect and OnMessage as actor subscriptions. Any component
/// (or test) subscribes an actor to a kind of event and receives connect_event,
/// disconnect_event or message_event messages. Subscribers that exit are dropped.
///
///   anon_send(hooks, subscribe_atom::value, hook_kind, subscriber)

#include "actors/broker_context.hpp"

namespace portask {

using on_connect_atom = caf::atom_constant<caf::atom("onconnect")>;
using on_disconnect_atom = caf::atom_constant<caf::atom("ondisconn")>;
using on_message_atom = caf::atom_constant<caf::atom("onmessage")>;

caf::actor spawn_hooks(caf::actor_system& sys, std::shared_ptr<broker_context> ctx);

}  // namespace portask
