#include "actors/pipeline/hooks.hpp"

#include <algorithm>

#include "logging/loggers.hpp"

namespace portask {
namespace {

struct hooks_state {
  std::shared_ptr<broker_context> ctx;
  std::shared_ptr<hook_subscriptions> subs;
  static inline const char* name = "portask.hooks";
};

using hooks_ptr = hooks_actor::stateful_pointer<hooks_state>;

// Events go out anonymously: a subscriber has no use for the hooks actor as a sender.
template <class Subscriber, class Event>
void fan_out(const std::vector<Subscriber>& subscribers, const Event& e) {
  for (const auto& s : subscribers) caf::anon_send(s, e);
}

template <class Subscriber>
bool subscribe(hooks_ptr self, std::vector<Subscriber>& list, Subscriber subscriber) {
  if (!subscriber) return false;
  // A subscriber that asks again (its first answer was lost to a timeout) is listed once.
  if (std::any_of(list.begin(), list.end(), [&](const auto& s) { return s == subscriber; }))
    return true;
  self->monitor(subscriber);
  list.push_back(std::move(subscriber));
  self->state.ctx->message_hook_subscribers.store(
      static_cast<int>(self->state.subs->on_message.size()));
  return true;
}

// Spawned with its arguments passed through spawn(): CAF 0.17 binds a null argument tuple
// for a functor without arguments, which UBSan reports.
hooks_actor::behavior_type hooks_impl(hooks_ptr self, std::shared_ptr<broker_context> ctx,
                                      std::shared_ptr<hook_subscriptions> subs) {
  self->state.ctx = ctx;
  self->state.subs = subs;
  // A restarted incarnation watches the subscriptions it inherited, and the bridge's count of
  // message subscribers is set from them, not from what the previous incarnation had added.
  const auto inherited = subs->on_connect.size() + subs->on_disconnect.size() + subs->on_message.size();
  auto watch = [self](const auto& list) {
    for (const auto& s : list) self->monitor(s);
  };
  watch(subs->on_connect);
  watch(subs->on_disconnect);
  watch(subs->on_message);
  ctx->message_hook_subscribers.store(static_cast<int>(subs->on_message.size()));
  if (inherited > 0) logging::pipeline().info("hooks: {} subscriptions carried over", inherited);
  self->set_down_handler([=](caf::down_msg& msg) {
    auto& st = self->state;
    auto drop = [&](auto& v) {
      std::erase_if(v, [&](const auto& a) { return a.address() == msg.source; });
    };
    drop(st.subs->on_connect);
    drop(st.subs->on_disconnect);
    drop(st.subs->on_message);
    st.ctx->message_hook_subscribers.store(static_cast<int>(st.subs->on_message.size()));
  });
  return {
      [=](subscribe_atom, connect_subscriber_actor subscriber) {
        return subscribe(self, self->state.subs->on_connect, std::move(subscriber));
      },
      [=](subscribe_atom, disconnect_subscriber_actor subscriber) {
        return subscribe(self, self->state.subs->on_disconnect, std::move(subscriber));
      },
      [=](subscribe_atom, message_subscriber_actor subscriber) {
        return subscribe(self, self->state.subs->on_message, std::move(subscriber));
      },
      [=](const connect_event& e) { fan_out(self->state.subs->on_connect, e); },
      [=](const disconnect_event& e) { fan_out(self->state.subs->on_disconnect, e); },
      [=](const message_event& e) { fan_out(self->state.subs->on_message, e); },
  };
}

}  // namespace

hooks_actor spawn_hooks(caf::actor_system& sys, std::shared_ptr<broker_context> ctx,
                        std::shared_ptr<hook_subscriptions> subscriptions) {
  return sys.spawn(hooks_impl, std::move(ctx), std::move(subscriptions));
}

}  // namespace portask
