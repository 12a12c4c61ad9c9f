#include "actors/runtime/supervisor.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "actors/groups/group_coordinator.hpp"
#include "actors/pipeline/hooks.hpp"
#include "actors/security/security_actor.hpp"
#include "actors/pipeline/protocol_bridge.hpp"
#include "actors/runtime/restart_backoff.hpp"
#include "actors/runtime/restart_intensity.hpp"
#include "actors/pipeline/retention.hpp"
#include "actors/pipeline/storage_actors.hpp"
#include "storage/redis_store.hpp"
#include "actors/pipeline/topic_registry.hpp"
#include "logging/loggers.hpp"

namespace portask {
namespace {

using namespace std::chrono_literals;

// Restart times come from the actor clock (virtual under the test coordinator) and go to
// restart_backoff and restart_intensity, which count in steady_clock.
static_assert(std::is_same_v<caf::actor_clock::time_point, restart_intensity::clock::time_point>);

struct child {
  child_kind kind;
  std::size_t index;
  /// Held, not only addressed: a child that ends at once (before it is monitored) stays
  /// monitorable, and one that nobody else holds (retention) lives as long as it should.
  /// Untyped because it only serves the lifecycle (monitor, exit); messages go through the
  /// typed handles in the directory and `follower`.
  caf::actor handle;
  directory_follower_actor follower;  ///< null: a child that does not follow the directory
  std::chrono::milliseconds backoff{0};
  caf::actor_clock::time_point started{};  ///< by the actor's clock (a test's is virtual)
  bool restarted = false;         ///< this incarnation is a restart, not the one spawned first
  bool awaiting_restart = false;  ///< exited; its restart is due after the backoff
  bool crash_loop = false;        ///< see set_crash_loop
};

struct supervisor_state {
  std::shared_ptr<broker_context> ctx;
  child_factory make;
  actor_directory dir;
  /// Actors spawned after the supervisor that hold a copy of the directory (connections,
  /// the cluster actor), monitored: a down one is forgotten.
  std::unordered_map<caf::actor_addr, directory_follower_actor> subscribers;
  /// Shared with the functor that ends the children when the supervisor ends.
  std::shared_ptr<std::vector<child>> children;
  kept_state kept;
  /// Restarts counted per kind of child (restart_intensity.hpp).
  std::map<child_kind, restart_intensity> intensity;
  bool shutting_down = false;
  std::optional<bool> store_reachable;  ///< as of the last health ping; unknown at first
  /// A health ping out to a reader and not answered yet.
  struct outstanding_ping {
    std::uint64_t id;
    caf::actor_addr reader;
    caf::actor_clock::time_point sent;
  };
  /// The ping out to each reader (by its place in the directory); at most one each.
  std::vector<std::optional<outstanding_ping>> pings;
  std::uint64_t pings_sent = 0;
  static inline const char* name = "portask.supervisor";
};

using supervisor_ptr = supervisor_actor::stateful_pointer<supervisor_state>;

}  // namespace

const char* to_string(child_kind k) {
  switch (k) {
    case child_kind::writer: return "storage writer";
    case child_kind::reader: return "storage reader";
    case child_kind::bridge: return "protocol bridge";
    case child_kind::registry: return "topic registry";
    case child_kind::groups: return "group directory";
    case child_kind::hooks: return "hooks";
    case child_kind::retention: return "retention";
    case child_kind::security: return "security";
  }
  return "child";
}

namespace {

// A kind as the `kind` label of its metrics (portask_actor_restarts_total).
const char* metric_label(child_kind k) {
  switch (k) {
    case child_kind::writer: return "writer";
    case child_kind::reader: return "reader";
    case child_kind::bridge: return "bridge";
    case child_kind::registry: return "registry";
    case child_kind::groups: return "groups";
    case child_kind::hooks: return "hooks";
    case child_kind::retention: return "retention";
    case child_kind::security: return "security";
  }
  return "child";
}

constexpr std::size_t metric_slot(child_kind k) { return static_cast<std::size_t>(k); }

// Whether too many restarts of a kind stop the node (restart_intensity.hpp). Not for the
// protocol bridges: they hold nothing that a new process would build differently, so their
// crash loop is most likely a request a client keeps retrying, which would crash the next
// process as well (in a cluster, the node the partition moves to). A bridge builds nothing
// before its first message either, so such a request crashes each new bridge at once: no
// sign of a bridge that cannot start. They are restarted for as long as they fail, at most
// once per restart_backoff::most each, and their crash loop is reported (set_crash_loop).
constexpr bool gives_up_on(child_kind kind) { return kind != child_kind::bridge; }

// A child is in a crash loop from when it exits again within restart_backoff::healthy_run of
// its restart until a restart of it has run that long (end_crash_loops): per child, so the
// flag holds steady through a loop however far apart the backoff spaces its restarts. Logged
// as it begins and ends; portask_actor_crash_loop{kind} counts the kind's children in one.
void set_crash_loop(supervisor_ptr self, child& c, bool looping) {
  if (c.crash_loop == looping) return;
  c.crash_loop = looping;
  auto& st = self->state;
  const auto& all = *st.children;
  const auto of_kind = std::count_if(all.begin(), all.end(), [&](const child& o) {
    return o.kind == c.kind && o.crash_loop;
  });
  st.ctx->metrics.crash_loops(metric_slot(c.kind), static_cast<std::size_t>(of_kind));
  const auto healthy_s =
      std::chrono::duration_cast<std::chrono::seconds>(restart_backoff::healthy_run).count();
  if (looping)
    logging::runtime().error(
        "{} {}: exited again within {} s of its restart, a crash loop (portask_actor_crash_loop, "
        "/health crash_loop) until it runs that long",
        to_string(c.kind), c.index, healthy_s);
  else
    logging::runtime().info("{} {}: ran {} s since its restart, out of its crash loop",
                            to_string(c.kind), c.index, healthy_s);
}

// Every tick: a child in a crash loop whose current incarnation has run a healthy run is
// out of it.
void end_crash_loops(supervisor_ptr self) {
  const auto now = self->clock().now();
  for (auto& c : *self->state.children)
    if (c.crash_loop && !c.awaiting_restart && now - c.started >= restart_backoff::healthy_run)
      set_crash_loop(self, c, false);
}

// Logs the store's reachability when it changes: an unreachable store at start is a warning
// an operator sees, not a detail at debug level.
void note_store(supervisor_ptr self, bool up, const std::string& why) {
  auto& st = self->state;
  st.ctx->metrics.store_up(up);
  if (st.store_reachable == up) return;
  if (!up)
    logging::runtime().warn("store {} is unreachable ({}); requests that need it fail until it answers",
                 storage::url_without_credentials(st.ctx->config.store), why);
  else if (st.store_reachable.has_value())
    logging::runtime().info("store {} is reachable again", storage::url_without_credentials(st.ctx->config.store));
  st.store_reachable = up;
}

// Spawns (or respawns) one child with the directory as it is.
child_handle start_child(caf::actor_system& sys, const std::shared_ptr<broker_context>& ctx,
                         const actor_directory& dir, const kept_state& kept, child_kind kind,
                         std::size_t) {
  switch (kind) {
    case child_kind::writer:
      return spawn_storage_writer(sys, ctx->store_factory,
                                  std::shared_ptr<metrics_registry>(ctx, &ctx->metrics),
                                  ctx->writes_wait_on_io);
    case child_kind::reader: return spawn_storage_reader(sys, ctx->store_factory);
    case child_kind::bridge: return spawn_protocol_bridge(sys, ctx, dir);
    case child_kind::registry: return spawn_topic_registry(sys, ctx, dir);
    case child_kind::groups: return spawn_group_directory(sys, ctx, dir);
    case child_kind::hooks: return spawn_hooks(sys, ctx, kept.hooks);
    case child_kind::security: return spawn_security(sys, ctx);
    case child_kind::retention: return spawn_retention(sys, ctx, dir);
  }
  return {};
}

// The slot of interface T in child_handle (its position in the variant).
template <class T, class Variant>
struct slot_of;
template <class T, class... Interfaces>
struct slot_of<T, std::variant<Interfaces...>> {
  static constexpr std::size_t value = [] {
    constexpr bool same[] = {std::is_same_v<T, Interfaces>...};
    std::size_t i = 0;
    while (i < sizeof...(Interfaces) && !same[i]) ++i;
    return i;
  }();
  static_assert(value < sizeof...(Interfaces), "not an interface child_handle holds");
};

// The interface a child of each kind must have, as its slot in child_handle.
constexpr std::size_t interface_of(child_kind kind) {
  switch (kind) {
    case child_kind::writer: return slot_of<storage_writer_actor, child_handle>::value;
    case child_kind::reader: return slot_of<storage_reader_actor, child_handle>::value;
    case child_kind::bridge: return slot_of<protocol_bridge_actor, child_handle>::value;
    case child_kind::registry: return slot_of<topic_registry_actor, child_handle>::value;
    case child_kind::groups: return slot_of<group_directory_actor, child_handle>::value;
    case child_kind::hooks: return slot_of<hooks_actor, child_handle>::value;
    case child_kind::retention: return slot_of<retention_actor, child_handle>::value;
    case child_kind::security: return slot_of<security_actor, child_handle>::value;
  }
  return std::variant_npos;
}

// Puts a (re)spawned child's handle in its place in the directory; false when the factory
// gave a handle of another interface than the kind's.
bool record(actor_directory& dir, child_kind kind, std::size_t index, const child_handle& h) {
  if (h.index() != interface_of(kind)) return false;
  std::visit(
      [&](const auto& a) {
        using handle = std::decay_t<decltype(a)>;
        if constexpr (std::is_same_v<handle, storage_writer_actor>) dir.writers.at(index) = a;
        else if constexpr (std::is_same_v<handle, storage_reader_actor>) dir.readers.at(index) = a;
        else if constexpr (std::is_same_v<handle, protocol_bridge_actor>) dir.bridges.at(index) = a;
        else if constexpr (std::is_same_v<handle, topic_registry_actor>) dir.registry = a;
        else if constexpr (std::is_same_v<handle, group_directory_actor>) dir.groups = a;
        else if constexpr (std::is_same_v<handle, hooks_actor>) dir.hooks = a;
        else if constexpr (std::is_same_v<handle, security_actor>) dir.security = a;
        // retention: found by nobody, it only sends
      },
      h);
  return true;
}

// A child as the supervisor holds it: its lifecycle handle and, if it follows the directory,
// its follower handle.
child make_child(child_kind kind, std::size_t index, const child_handle& h) {
  child c{kind, index, {}, follower_of(h)};
  c.handle = std::visit([](const auto& a) { return caf::actor_cast<caf::actor>(a); }, h);
  return c;
}

// Sends the directory to everyone who holds a copy.
void publish_directory(supervisor_ptr self) {
  auto& st = self->state;
  for (const auto& c : *st.children)
    if (c.follower) caf::anon_send(c.follower, directory_atom::value, st.dir);
  for (const auto& [addr, subscriber] : st.subscribers)
    caf::anon_send(subscriber, directory_atom::value, st.dir);
}

// Store health, independent of traffic: every tick, a ping to each reader that has none
// unanswered, so a hung store shows within `ping_timeout` however many readers there are. A
// reader busy in a long store call (a delete_records) takes its mailbox in order, so one with
// a ping unanswered is sent no other (each would queue behind it). The store counts as
// failing when a ping is answered with an error, or when every reader has one unanswered for
// `ping_timeout` (every tick, until one answers): a single busy reader is no sign of a
// failing store. A ping to a reader restarted since is forgotten (a dead actor answers
// nothing), and one bounced by a reader that ended says nothing of the store.
void ping_store(supervisor_ptr self) {
  static constexpr auto ping_timeout = 2s;
  auto& st = self->state;
  const auto now = self->clock().now();
  const auto& readers = st.dir.readers;
  st.pings.resize(readers.size());
  for (std::size_t i = 0; i < readers.size(); ++i)
    if (st.pings[i] && st.pings[i]->reader != readers[i].address()) st.pings[i].reset();
  const bool all_overdue =
      !st.pings.empty() && std::all_of(st.pings.begin(), st.pings.end(), [&](const auto& p) {
        return p && now - p->sent >= ping_timeout;
      });
  if (all_overdue) note_store(self, false, "no reader answered its health ping within 2 s");
  for (std::size_t i = 0; i < readers.size(); ++i) {
    if (st.pings[i] || !readers[i]) continue;
    const auto id = ++st.pings_sent;
    st.pings[i] = supervisor_state::outstanding_ping{id, readers[i].address(), now};
    // Answered, or bounced: this reader may be pinged again.
    auto answered = [self, i, id] {
      auto& pings = self->state.pings;
      if (i < pings.size() && pings[i] && pings[i]->id == id) pings[i].reset();
    };
    self->request(readers[i], caf::infinite, ping_atom::value)
        .then(
            [=](bool) {
              answered();
              note_store(self, true, {});
            },
            [=](caf::error& e) {
              answered();
              if (e == caf::sec::request_receiver_down) return;
              note_store(self, false, self->system().render(e));
            });
  }
}

supervisor_actor::behavior_type supervisor_impl(supervisor_ptr self,
                                                std::shared_ptr<broker_context> ctx,
                                                child_factory make, actor_directory dir,
                                                std::vector<child> children, kept_state kept) {
    auto& st = self->state;
    st.ctx = ctx;
    st.make = std::move(make);
    st.dir = std::move(dir);
    st.children = std::make_shared<std::vector<child>>(std::move(children));
    st.kept = std::move(kept);
    for (auto& c : *st.children) {
      c.started = self->clock().now();
      self->monitor(c.handle);
      ctx->metrics.supervised_kind(metric_slot(c.kind), metric_label(c.kind));
    }
    // Children spawned early got the directory without those spawned after them.
    publish_directory(self);
    // However the supervisor ends (shutdown, giving up, or killed), its children end with
    // it: nothing would restart them any more, and the node must not limp on without it.
    self->attach_functor([all = st.children](const caf::error& reason) {
      // A shutdown ends them as one; a failure of the supervisor kills them.
      const bool shutdown = !reason || reason == caf::exit_reason::user_shutdown;
      for (const auto& c : *all)
        if (c.handle)
          caf::anon_send_exit(c.handle, shutdown ? caf::exit_reason::user_shutdown : caf::exit_reason::kill);
    });

    self->set_down_handler([=](caf::down_msg& msg) {
      auto& s = self->state;
      if (s.subscribers.erase(msg.source) > 0) return;
      if (s.shutting_down) return;
      for (std::size_t k = 0; k < s.children->size(); ++k) {
        auto& c = (*s.children)[k];
        if (c.handle.address() != msg.source) continue;
        const auto now = self->clock().now();
        auto& intensity = s.intensity[c.kind];
        if (gives_up_on(c.kind) && !intensity.allow(now)) {  // a kind never given up on keeps no count
          // Restarts are not mending it: fail, so the broker stops (see broker.cpp) rather
          // than serving without this child.
          logging::runtime().critical(
              "{} {} exited ({}): {} restarts of this kind within {} s; the supervisor gives up",
              to_string(c.kind), c.index, self->system().render(msg.reason), intensity.recent(),
              restart_intensity::window.count());
          s.shutting_down = true;
          self->quit(caf::make_error(caf::sec::runtime_error, "too many restarts"));
          return;
        }
        const auto ran = now - c.started;
        s.ctx->metrics.actor_restarted(metric_slot(c.kind));
        c.backoff = restart_backoff::next(c.backoff, ran);
        c.awaiting_restart = true;
        logging::runtime().error("{} {} exited ({}); restarting in {} ms", to_string(c.kind), c.index,
                      self->system().render(msg.reason), c.backoff.count());
        set_crash_loop(self, c, c.restarted && ran < restart_backoff::healthy_run);
        self->delayed_send(self, c.backoff, respawn_atom::value, k);
        return;
      }
    });
    self->set_exit_handler([=](caf::exit_msg& msg) {
      // Shutdown: stop restarting; the children end with us (attach_functor above).
      self->state.shutting_down = true;
      self->quit(msg.reason);
    });
    self->send(self, tick_atom::value);
    return {
        [=](respawn_atom, std::size_t k) {
          auto& c = self->state.children->at(k);
          if (self->state.shutting_down) return;
          auto& s = self->state;
          const auto spawned = s.make(self->system(), s.ctx, s.dir, s.kept, c.kind, c.index);
          if (!record(s.dir, c.kind, c.index, spawned)) {
            std::visit([](const auto& a) { caf::anon_send_exit(a, caf::exit_reason::kill); }, spawned);
            logging::runtime().critical("{} {}: the factory gave a handle of another interface",
                                        to_string(c.kind), c.index);
            s.shutting_down = true;
            self->quit(caf::make_error(caf::sec::runtime_error, "child of the wrong interface"));
            return;
          }
          // The same child in a new incarnation: its backoff and crash loop carry over.
          auto fresh = make_child(c.kind, c.index, spawned);
          c.handle = std::move(fresh.handle);
          c.follower = std::move(fresh.follower);
          c.started = self->clock().now();
          c.restarted = true;
          c.awaiting_restart = false;
          self->monitor(c.handle);
          publish_directory(self);
          logging::runtime().info("{} {} restarted", to_string(c.kind), c.index);
        },
        [=](directory_atom) { return self->state.dir; },
        [=](subscribe_atom, directory_follower_actor follower) {
          auto& s = self->state;
          if (follower && s.subscribers.emplace(follower.address(), follower).second)
            self->monitor(follower);
          return s.dir;
        },
        [=](node_atom, cluster_actor node) {
          self->state.dir.cluster = std::move(node);
          publish_directory(self);
        },
        [=](tick_atom) {
          ping_store(self);
          end_crash_loops(self);
          self->delayed_send(self, 1s, tick_atom::value);
        },
    };

}

}  // namespace

child_factory broker_children() { return start_child; }

directory_follower_actor follower_of(const child_handle& h) {
  return std::visit(
      [](const auto& a) -> directory_follower_actor {
        using signatures = typename std::decay_t<decltype(a)>::signatures;
        if constexpr (caf::detail::tl_subset_of<directory_follower_actor::signatures,
                                                signatures>::value)
          return a;
        else
          return {};
      },
      h);
}

supervisor_actor spawn_supervisor(caf::actor_system& sys, std::shared_ptr<broker_context> ctx,
                                  runtime_sizes sizes, child_factory make) {
  actor_directory dir;
  dir.writers.resize(sizes.writers);
  dir.readers.resize(sizes.readers);
  dir.bridges.resize(sizes.bridges);
  // Children are spawned here, before the supervisor runs, each with the directory so far;
  // the supervisor sends the whole one to them first thing.
  std::vector<child> children;
  kept_state kept;
  bool well_typed = true;
  auto add = [&](child_kind k, std::size_t i) {
    const auto handle = make(sys, ctx, dir, kept, k, i);
    well_typed = record(dir, k, i, handle) && well_typed;
    children.push_back(make_child(k, i, handle));
  };
  for (std::size_t i = 0; i < sizes.writers; ++i) add(child_kind::writer, i);
  for (std::size_t i = 0; i < sizes.readers; ++i) add(child_kind::reader, i);
  add(child_kind::hooks, 0);
  add(child_kind::registry, 0);
  add(child_kind::groups, 0);
  for (std::size_t i = 0; i < sizes.bridges; ++i) add(child_kind::bridge, i);
  add(child_kind::retention, 0);
  add(child_kind::security, 0);
  if (!well_typed) {
    for (const auto& c : children)
      if (c.handle) caf::anon_send_exit(c.handle, caf::exit_reason::kill);
    throw std::logic_error("the supervisor's child factory gave a handle of another interface");
  }
  return sys.spawn(supervisor_impl, ctx, std::move(make), std::move(dir), std::move(children),
                   std::move(kept));
}

}  // namespace portask
