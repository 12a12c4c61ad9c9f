#include "actors/hooks.hpp"

#include <algorithm>

namespace portask {
namespace {

struct hooks_state {
  std::shared_ptr<broker_context> ctx;
  std::vector<caf::actor> on_connect, on_disconnect, on_message;
  static inline const char* name = "portask.hooks";
};

template <class Event>
void fan_out(const std::vector<caf::actor>& subscribers, caf::event_based_actor* self,
             const Event& e) {
  for (const auto& s : subscribers) self->send(s, e);
}

}  // namespace

namespace {
// Spawned with its arguments passed through spawn(): CAF 0.17 binds a null argument tuple
// for a functor without arguments, which UBSan reports.
caf::behavior hooks_impl(caf::stateful_actor<hooks_state>* self, std::shared_ptr<broker_context> ctx) {
    self->state.ctx = ctx;
    self->set_down_handler([=](caf::down_msg& msg) {
      auto& st = self->state;
      auto drop = [&](std::vector<caf::actor>& v) {
        const auto before = v.size();
        v.erase(std::remove_if(v.begin(), v.end(),
                               [&](const caf::actor& a) { return a.address() == msg.source; }),
                v.end());
        return before - v.size();
      };
      drop(st.on_connect);
      drop(st.on_disconnect);
      st.ctx->message_hook_subscribers.fetch_sub(static_cast<int>(drop(st.on_message)));
    });
    return {
        [=](subscribe_atom, caf::atom_value kind, caf::actor subscriber) {
          auto& st = self->state;
          self->monitor(subscriber);
          if (kind == on_connect_atom::value) {
            st.on_connect.push_back(subscriber);
          } else if (kind == on_disconnect_atom::value) {
            st.on_disconnect.push_back(subscriber);
          } else if (kind == on_message_atom::value) {
            st.on_message.push_back(subscriber);
            st.ctx->message_hook_subscribers.fetch_add(1);
          }
        },
        [=](const connect_event& e) { fan_out(self->state.on_connect, self, e); },
        [=](const disconnect_event& e) { fan_out(self->state.on_disconnect, self, e); },
        [=](const message_event& e) { fan_out(self->state.on_message, self, e); },
    };
}
}  // namespace

caf::actor spawn_hooks(caf::actor_system& sys, std::shared_ptr<broker_context> ctx) {
  return sys.spawn(hooks_impl, std::move(ctx));
}

}  // namespace portask
