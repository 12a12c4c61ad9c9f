#include "actors/connections/native/native_group_member.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "actors/connections/transport/log_limiter.hpp"
#include "actors/connections/transport/tcp_session.hpp"
#include "logging/loggers.hpp"
#include "protocol/native_messages.hpp"

namespace portask {
namespace {

using namespace std::chrono_literals;
namespace native = protocol::native;

struct member_state {
  std::shared_ptr<broker_context> ctx;
  actor_directory dir;  ///< the registry and groups; its connection passes on every update
  std::shared_ptr<tcp_session> session;
  native_membership m;
  group_coordinator_actor coordinator;
  std::string member_id;
  std::int32_t generation = -1;
  /// As leader: the partition count of every subscribed topic the last assignment was
  /// computed from (0: the topic did not exist), watched as a Kafka leader watches metadata.
  std::map<std::string, std::int32_t> assigned_counts;
  bool leading = false;
  bool watching = false;  ///< a look at the counts is out
  int ticks = 0;
  bool joining = false;
  bool left = false;
  static inline const char* name = "portask.native_group_member";
};

using self_ptr = native_group_member_actor::stateful_pointer<member_state>;

void join(self_ptr self);

void leave(self_ptr self) {
  auto& st = self->state;
  if (st.left) return;
  st.left = true;
  if (st.coordinator && !st.member_id.empty())
    caf::anon_send(st.coordinator, leave_atom::value,
                   std::vector<member_ref>{{st.member_id, std::nullopt, st.generation}});
}

// Rejoins after `delay` (retriable trouble), or at once.
void rejoin(self_ptr self, errc why, std::chrono::milliseconds delay = 0ms) {
  auto& st = self->state;
  if (why == errc::unknown_member) st.member_id.clear();
  st.joining = false;
  st.leading = false;
  if (delay.count() == 0) return join(self);
  st.joining = true;  // no heartbeats meanwhile
  self->delayed_send(self, delay, join_atom::value);
}

void push_assignment(self_ptr self, const std::string& bytes) {
  auto& st = self->state;
  auto parts = protocol::decode_assignment(protocol::as_bytes(bytes));
  native::group_assignment a{st.m.membership_id, st.m.group, st.member_id, st.generation, {}};
  if (parts) a.partitions = std::move(*parts);
  else if (!bytes.empty()) logging::native().warn("group '{}': malformed assignment ignored", st.m.group);
  protocol::buffer out;
  native::encode(out, a);
  st.session->send(std::move(out));
}

void sync(self_ptr self, std::vector<std::pair<std::string, std::string>> assignments) {
  auto& st = self->state;
  sync_group_request req{st.member_id, std::nullopt, st.generation, std::string("portask"),
                         std::string(protocol::to_protocol_name(st.m.strategy)),
                         std::move(assignments)};
  self->request(st.coordinator, caf::infinite, sync_atom::value, std::move(req))
      .then([=](sync_group_result& r) {
        if (self->state.left) return;
        if (r.error != errc::ok) return rejoin(self, r.error, r.error == errc::rebalance_in_progress ? 0ms : 200ms);
        self->state.joining = false;
        push_assignment(self, r.assignment);
      },
      [=](caf::error& e) { rejoin(self, to_errc(e), 500ms); });
}

// A count the registry could not give: a lookup that failed other than with unknown_topic
// (the registry restarting, the store unreachable) says nothing of the topic.
constexpr std::int32_t count_unknown = -1;

bool all_known(const std::map<std::string, std::int32_t>& counts) {
  return std::none_of(counts.begin(), counts.end(), [](const auto& c) { return c.second == count_unknown; });
}

// The partition count of each of `topics` (0 for one that does not exist, count_unknown for
// one the registry could not answer), then `done` with them on `self`.
template <class F>
void count_partitions(self_ptr self, const std::set<std::string>& topics, F done) {
  auto registry = self->state.dir.registry;
  auto counts = std::make_shared<std::map<std::string, std::int32_t>>();
  for (const auto& t : topics) (*counts)[t] = registry ? 0 : count_unknown;
  auto pending = std::make_shared<std::size_t>(topics.size() + 1);
  auto one_done = [=]() mutable {
    if (--*pending == 0) done(*counts);
  };
  for (const auto& t : topics) {
    if (!registry) {
      one_done();
      continue;
    }
    self->request(registry, 10s, topic_atom::value, t, false)
        .then([=](storage::topic_info& info) mutable { (*counts)[t] = info.partitions; one_done(); },
              [=](caf::error& e) mutable {
                if (to_errc(e) != errc::unknown_topic) (*counts)[t] = count_unknown;
                one_done();
              });
  }
  one_done();
}

// The leader's part: subscriptions of every member, partition counts from the registry,
// then the strategy.
void assign_as_leader(self_ptr self, const std::vector<group_member_info>& members) {
  std::vector<protocol::group_subscriber> subscribers;
  std::set<std::string> topics;
  for (const auto& m : members) {
    auto t = protocol::decode_subscription(protocol::as_bytes(m.metadata));
    subscribers.push_back({m.member_id, t ? *t : std::vector<std::string>{}});
    if (t) topics.insert(t->begin(), t->end());
  }
  const auto generation = self->state.generation;
  count_partitions(self, topics, [=](std::map<std::string, std::int32_t>& counts) {
    if (self->state.left || self->state.generation != generation) return;
    // What is known is assigned now; a topic whose count the registry could not give is
    // left out, and recorded as unknown, so the watch rebalances once it can be counted.
    auto assignable = counts;
    for (auto& [t, n] : assignable)
      if (n == count_unknown) {
        n = 0;
        logging::native().warn("group '{}': partitions of topic '{}' could not be counted; assigned once they can",
                               self->state.m.group, t);
      }
    auto plan = protocol::assign_partitions(self->state.m.strategy, subscribers, assignable);
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& [id, parts] : plan) out.emplace_back(id, protocol::encode_assignment(parts));
    self->state.assigned_counts = std::move(counts);
    self->state.leading = true;
    sync(self, std::move(out));
  });
}

// As a Kafka consumer leader does on its metadata: when a subscribed topic appears, gains
// partitions or is deleted, the leader rejoins, so the group rebalances and every partition
// there is is read (and none that is gone).
void watch_partitions(self_ptr self) {
  auto& st = self->state;
  if (!st.leading || st.watching || st.joining) return;
  st.watching = true;
  std::set<std::string> topics;
  for (const auto& [t, n] : st.assigned_counts) topics.insert(t);
  const auto generation = st.generation;
  count_partitions(self, topics, [=](std::map<std::string, std::int32_t>& counts) {
    auto& s = self->state;
    s.watching = false;
    // A count unknown now is no change: it is looked at again next time.
    if (!all_known(counts) || s.left || s.joining || !s.leading || s.generation != generation || counts == s.assigned_counts)
      return;
    logging::native().info("group '{}': a subscribed topic appeared, was deleted or changed its partitions; rebalancing",
                           s.m.group);
    rejoin(self, errc::ok);
  });
}

// The member cannot be in the group through this connection: the client hears why, and the
// membership ends.
void give_up(self_ptr self, errc why) {
  auto& s = self->state;
  // A client can send such joins at will (a session timeout out of range, pipelined by the
  // hundred): one line a second, as other refusals (docs/operations.md).
  static log_limiter refusals;
  if (const auto events = refusals.count(); events > 0)
    logging::native().warn("group '{}': native member cannot join: {}{}", s.m.group,
                           make_error_code(why).message(), more_since_last_line(events));
  native::error_response err{0, static_cast<std::uint16_t>(why), is_retriable(why),
                             "group " + s.m.group + ": " + make_error_code(why).message()};
  protocol::buffer out;
  native::encode(out, err);
  s.session->send(std::move(out));
  s.left = true;
  self->quit();
}

void send_join(self_ptr self) {
  auto& st = self->state;
  join_group_request req;
  req.member_id = st.member_id;
  req.client_id = "portask-native";
  req.client_host = st.m.client_host;
  req.session_timeout_ms = st.m.session_timeout_ms;
  req.rebalance_timeout_ms = st.m.session_timeout_ms;
  req.protocol_type = "portask";
  req.protocols.push_back({protocol::to_protocol_name(st.m.strategy),
                           protocol::encode_subscription(st.m.topics)});
  self->request(st.coordinator, caf::infinite, join_atom::value, std::move(req))
      .then(
          [=](join_group_result& r) {
            auto& s = self->state;
            if (s.left) return;
            if (r.error != errc::ok) {
              if (r.error != errc::not_coordinator &&
                  (r.error == errc::unknown_member || is_retriable(r.error)))
                return rejoin(self, r.error, 200ms);
              // Not joinable (another protocol type, a bad timeout, another node of the
              // cluster coordinates the group): say so and stop.
              return give_up(self, r.error);
            }
            s.member_id = r.member_id;
            s.generation = r.generation;
            if (r.leader == r.member_id)
              assign_as_leader(self, r.members);
            else
              sync(self, {});
          },
          [=](caf::error& e) {
            if (to_errc(e) == errc::not_coordinator) return give_up(self, errc::not_coordinator);
            rejoin(self, to_errc(e), 500ms);
          });
}

// Every join looks the coordinator up afresh: one that failed or retired since the last join
// has a successor, and only the directory knows it. Between joins the member keeps its handle
// (heartbeats, sync, leave); any failure there leads back here.
void join(self_ptr self) {
  auto& st = self->state;
  if (st.left || st.joining) return;
  st.joining = true;
  auto groups = st.dir.groups;
  if (!groups) {
    st.joining = false;
    return rejoin(self, errc::not_ready, 500ms);
  }
  self->request(groups, 10s, group_atom::value, st.m.group)
      .then(
          [=](group_coordinator_actor& g) {
            if (self->state.left) return;
            self->state.coordinator = std::move(g);
            send_join(self);
          },
          [=](caf::error& e) {
            self->state.joining = false;
            // In a cluster, a native client joins a group on the node that coordinates it.
            if (to_errc(e) == errc::not_coordinator) return give_up(self, errc::not_coordinator);
            rejoin(self, to_errc(e), 500ms);
          });
}

native_group_member_actor::behavior_type member_impl(self_ptr self, native_connection_actor connection, std::shared_ptr<broker_context> ctx,
                          actor_directory dir, std::shared_ptr<tcp_session> session, native_membership m) {
  auto& st = self->state;
  st.ctx = std::move(ctx);
  st.dir = std::move(dir);
  st.session = std::move(session);
  st.m = std::move(m);
  self->monitor(connection);
  self->set_down_handler([=](caf::down_msg&) {
    leave(self);
    self->quit();
  });
  // Heartbeats are how a member learns of a rebalance: often enough to react within a second.
  const auto beat = std::chrono::milliseconds(std::clamp(st.m.session_timeout_ms / 10, 100, 1000));
  // The leader looks at its topics' partition counts about every 5 s.
  const int watch_every = static_cast<int>(std::max<std::int64_t>(1, 5000 / beat.count()));
  // The first join waits for join_atom from the connection (its response goes out first).
  self->delayed_send(self, beat, tick_atom::value);
  return {
      [=](join_atom) {
        self->state.joining = false;
        join(self);
      },
      [=](leave_atom) {
        leave(self);
        self->quit();
      },
      [=](tick_atom) {
        auto& s = self->state;
        if (s.left) return;
        self->delayed_send(self, beat, tick_atom::value);
        if (s.joining || s.member_id.empty()) return;
        if (++s.ticks % watch_every == 0) watch_partitions(self);
        self->request(s.coordinator, 10s, heartbeat_atom::value,
                      member_ref{s.member_id, std::nullopt, s.generation})
            .then([](bool) {},
                  [=](caf::error& e) {
                    if (self->state.joining || self->state.left) return;
                    const auto code = to_errc(e);
                    rejoin(self, code, is_retriable(code) && code != errc::rebalance_in_progress ? 200ms : 0ms);
                  });
      },
      [=](directory_atom, actor_directory& next) { self->state.dir = std::move(next); },
  };
}

}  // namespace

native_group_member_actor spawn_native_group_member(caf::actor_system& sys, native_connection_actor connection,
                                     std::shared_ptr<broker_context> ctx, actor_directory dir,
                                     std::shared_ptr<tcp_session> session, native_membership m) {
  return sys.spawn(member_impl, std::move(connection), std::move(ctx), std::move(dir),
                   std::move(session), std::move(m));
}

}  // namespace portask
