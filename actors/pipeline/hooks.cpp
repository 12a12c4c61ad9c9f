#include "actors/pipeline/hooks.hpp"

#include <algorithm>
#include <chrono>
#include <optional>
#include <unordered_map>

#include "logging/loggers.hpp"

namespace portask {
namespace {

/// How often, at most, dropped events are reported; drops held back are reported once it has
/// passed (a tick the actor sends itself), so every drop is logged within it.
constexpr std::chrono::seconds drop_report_interval{10};

struct hooks_state {
  std::shared_ptr<broker_context> ctx;
  std::shared_ptr<hook_subscriptions> subs;
  /// Events this incarnation sent each subscriber and has not heard back about. (A restarted
  /// one starts from none: the subscriber may briefly hold its predecessor's too.)
  std::unordered_map<caf::actor_addr, std::size_t> in_flight;
  std::uint64_t unreported_drops = 0;
  std::optional<caf::actor_clock::time_point> last_drop_report;
  bool report_due = false;  ///< a tick is on its way to report the drops held back
  static inline const char* name = "portask.hooks";
};

using hooks_ptr = hooks_actor::stateful_pointer<hooks_state>;

// Reports the drops held back if drop_report_interval has passed since the last report, or
// else has a tick come when it will have (one at a time: a tick that finds the interval not
// yet over, say after a report in between, asks for another).
void report_drops_when_due(hooks_ptr self) {
  auto& st = self->state;
  const auto now = self->clock().now();
  if (st.last_drop_report && now - *st.last_drop_report < drop_report_interval) {
    if (st.report_due) return;
    st.report_due = true;
    self->delayed_send(self, *st.last_drop_report + drop_report_interval - now, tick_atom::value);
    return;
  }
  logging::pipeline().warn("hooks: {} events dropped for subscribers {} events behind ({} in all)",
                           st.unreported_drops, max_hook_events_in_flight,
                           st.ctx->metrics.hook_events_dropped_total());
  st.unreported_drops = 0;
  st.last_drop_report = now;
}

void count_drop(hooks_ptr self) {
  auto& st = self->state;
  st.ctx->metrics.hook_event_dropped();
  ++st.unreported_drops;
  report_drops_when_due(self);
}

// A subscriber answered an event, or the event bounced (it ended): one more may go out.
void acknowledged(hooks_ptr self, const caf::actor_addr& subscriber) {
  auto& in_flight = self->state.in_flight;
  // Gone when the subscriber was dropped (it ended) before its events bounced.
  if (auto it = in_flight.find(subscriber); it != in_flight.end() && it->second > 0) --it->second;
}

// Each event is a request: the subscriber's answer acknowledges it (hooks.hpp). No timeout:
// CAF 0.17 runs every request timer on one clock for the whole system, too dear for one per
// event, and an event timed out is still in the subscriber's mailbox, so giving its slot
// back would lift the bound on what a stalled subscriber holds. A subscriber that never
// answers keeps its slots, and its later events are dropped.
template <class Subscriber, class Event>
void fan_out(hooks_ptr self, const std::vector<Subscriber>& subscribers, const Event& e) {
  for (const auto& s : subscribers) {
    auto& out = self->state.in_flight[s.address()];
    if (out >= max_hook_events_in_flight) {
      count_drop(self);
      continue;
    }
    ++out;
    self->request(s, caf::infinite, e)
        .then([self, a = s.address()]() { acknowledged(self, a); },
              [self, a = s.address()](caf::error&) { acknowledged(self, a); });
  }
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
    st.in_flight.erase(msg.source);
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
      [=](const connect_event& e) { fan_out(self, self->state.subs->on_connect, e); },
      [=](const disconnect_event& e) { fan_out(self, self->state.subs->on_disconnect, e); },
      [=](const message_event& e) { fan_out(self, self->state.subs->on_message, e); },
      [=](tick_atom) {
        self->state.report_due = false;
        if (self->state.unreported_drops > 0) report_drops_when_due(self);
      },
  };
}

}  // namespace

hooks_actor spawn_hooks(caf::actor_system& sys, std::shared_ptr<broker_context> ctx,
                        std::shared_ptr<hook_subscriptions> subscriptions) {
  return sys.spawn(hooks_impl, std::move(ctx), std::move(subscriptions));
}

}  // namespace portask
