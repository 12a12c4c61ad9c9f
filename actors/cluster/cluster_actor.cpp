#include "actors/cluster/cluster_actor.hpp"

#include <algorithm>
#include <charconv>
#include <optional>
#include <set>
#include <string>

#include "actors/cluster/group_wants.hpp"
#include "actors/cluster/lease_wait.hpp"
#include "actors/cluster/rendezvous.hpp"
#include "actors/pipeline/wall_clock.hpp"
#include "actors/runtime/follow_directory.hpp"
#include "logging/loggers.hpp"

namespace portask {
namespace {

using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;

struct cluster_state {
  std::shared_ptr<broker_context> ctx;
  actor_directory dir;  ///< the registry
  std::unique_ptr<storage::log_store> store;
  storage::node_registration me;
  std::shared_ptr<const cluster_view> view;
  /// When the last successful lease round started: the store keeps this node's leases at
  /// least lease_ms past it, and this node acts on them until shortly before that. (At the
  /// start: when the actor was spawned, just after the broker registered the node.)
  clock::time_point renewed_at{};
  /// Rounds in a row that got past the registration (renewed, or lapsing) and failed before
  /// their lease round succeeded. A round that could not renew the registration is not
  /// counted: it renews nothing the lapse would stop.
  std::uint32_t failed_lease_rounds = 0;
  bool registered = true;
  /// Lease rounds kept failing for a lease time: the registration is left to run out
  /// (logged once), until a lease round succeeds again.
  bool lapsing = false;
  /// The current wait for leases another node still holds.
  lease_wait wait;
  /// Another process registered this node's id (this one's registration had run out): the
  /// node stops after giving its partitions up.
  bool taken_over = false;
  bool store_lost_logged = false;
  bool leaving = false;
  /// The number of the round the pending tick runs; an earlier tick (overtaken by a round
  /// run on demand) is ignored.
  std::uint64_t round = 0;
  /// A round on demand is queued (new topics here, a group a client waits for): whatever
  /// else asks for one before it runs waits for that one.
  bool round_queued = false;
  std::vector<storage::topic_info> topics;
  /// Groups the group directory asked for, and whether it still wants their leases.
  group_wants groups;
  static inline const char* name = "portask.cluster";
};

bool held_by(const storage::lease_holder& h, std::int32_t node, const std::string& token) {
  return h.node == node && h.token == token;
}
bool held_by(const storage::lease_holder& h, const storage::node_registration& me) {
  return held_by(h, me.node, me.token);
}

using self_ptr = cluster_actor::stateful_pointer<cluster_state>;

// After a failed round the next comes sooner: a store that is back gets the leases renewed
// before they expire.
std::chrono::milliseconds retry_after_failure(const broker_config& c) {
  return std::max<std::chrono::milliseconds>(20ms, std::chrono::milliseconds(c.cluster.renew_ms / 4));
}

std::chrono::milliseconds lease_ttl(const cluster_state& st) {
  return std::chrono::milliseconds(st.ctx->config.cluster.lease_ms);
}

// Publishes `next`, stops the partitions this node no longer owns, counts.
void publish(self_ptr self, std::shared_ptr<cluster_view> next, metrics_registry::cluster_round counts) {
  auto& st = self->state;
  const auto& before = *st.view;
  next->version = before.version + 1;
  std::vector<topic_partition> lost;
  for (const auto& [tp, h] : before.holders) {
    if (h.node != before.self || h.token != before.token) continue;
    const storage::lease_holder* now = nullptr;
    if (!next->owns(tp, &now) || now == nullptr || now->epoch != h.epoch) lost.push_back(tp);
  }
  for (const auto& [tp, h] : next->holders) {
    if (h.node != next->self || h.token != next->token) continue;
    ++counts.owned_partitions;
    const auto* was = before.holder(tp);
    if (was != nullptr && was->node == h.node && was->token == h.token && was->epoch == h.epoch) {
      ++counts.renewed;
      continue;
    }
    ++counts.acquired;
    // A failover: the holder before let the lease run out (it died, or was paused or cut off
    // past it). A lease handed over (released on SIGTERM, or to a node that joined) or the
    // first of a partition (also of a topic created again under its name) is none.
    if (h.taken_over) ++counts.takeovers;
    logging::cluster().info("took partition {}/{} (epoch {}{})", tp.topic, tp.partition, h.epoch,
                            h.taken_over ? ", a failover: its holder before let the lease run out" : "");
  }
  for (const auto& [g, h] : next->group_holders) {
    if (!held_by(h, next->self, next->token)) continue;
    auto was = before.group_holders.find(g);
    if (was == before.group_holders.end() || was->second.epoch != h.epoch || was->second.token != h.token)
      logging::cluster().info("coordinates group '{}' (epoch {})", g, h.epoch);
  }
  for (const auto& [g, h] : before.group_holders)
    if (held_by(h, before.self, before.token) && next->group_lease(g) == nullptr)
      logging::cluster().info("no longer coordinates group '{}'", g);
  counts.lost = lost.size();
  counts.node_id = next->self;
  counts.live_nodes = next->live.size();
  for (const auto& tp : lost)
    logging::cluster().info("no longer owns partition {}/{}", tp.topic, tp.partition);
  st.view = next;
  st.ctx->publish_cluster(std::move(next));
  st.ctx->metrics.cluster_round_done(counts);
  if (!lost.empty())
    if (auto registry = st.dir.registry) self->send(registry, retire_atom::value, std::move(lost));
}

// The store could not be reached: keep the view while the next round could still renew the
// leases before they expire in the store; otherwise give them up locally now, and with them
// this node's place among the live ones, as a leaving node does (leaving_view). Holding
// nothing, it would otherwise go on naming itself coordinator of the groups it hashes to,
// which it cannot take (clients would loop on NOT_COORDINATOR), also once its registration
// has lapsed or run out and the others send its share elsewhere. The view of the next lease
// round that succeeds lists the nodes the store does.
void store_unreachable(self_ptr self, const char* what) {
  auto& st = self->state;
  const auto& config = st.ctx->config;
  const auto next_chance = clock::now() + retry_after_failure(config) + cluster_round_timeout(config);
  // Always so once the registration has lapsed (no lease round succeeded for a lease time).
  const bool expiring = next_chance >= st.renewed_at + lease_ttl(st);
  st.wait.reset();  // a wait that resumes after this starts again at its first retry
  if (!st.store_lost_logged) {
    logging::cluster().warn("cluster round: {} failed (store unreachable); partitions are given up "
                            "if the leases cannot be renewed in time",
                            what);
    st.store_lost_logged = true;
  }
  metrics_registry::cluster_round counts;
  counts.ok = false;
  publish(self, expiring ? leaving_view(*st.view) : std::make_shared<cluster_view>(*st.view), counts);
}

// Renews the node's registration, at the start of a round; a delay when the round ends
// there (the store could not be reached, or another process now runs under this id).
std::optional<std::chrono::milliseconds> renew_registration(self_ptr self) {
  auto& st = self->state;
  const auto& cfg = st.ctx->config.cluster;
  // Lease rounds that keep failing (a lease script that times out, say) while the
  // registration is renewed would keep this node listed, and handed its share of the
  // partitions, which nobody would serve. Once two or more in a row have failed and none has
  // succeeded for a lease time (every lease it held has run out in the store by then), the
  // registration is left to run out too, and the others take the share over. One failed
  // round never does: a round that times out and its retry can together pass a lease time,
  // and the registration would run out under a node whose next lease round works. Nor does
  // a store that cannot be reached at all (the registration is not renewed then either): the
  // first round that reaches it again registers the node and takes its share back. A lease
  // round that succeeds again after a lapse has the registration renewed by the round right
  // after it.
  if (st.failed_lease_rounds >= 2 && clock::now() - st.renewed_at >= lease_ttl(st)) {
    if (!st.lapsing)
      logging::cluster().warn("no lease round has succeeded for {} ms: this node stops renewing its "
                              "registration, so that the other nodes take over its share",
                              cfg.lease_ms);
    st.lapsing = true;
    st.wait.reset();
    return std::nullopt;
  }
  // The registration says when it runs out (wall clock): the other nodes look again right
  // then, rather than up to a round later, when a node stops renewing (see run_round's end).
  auto me = st.me;
  me.endpoints += "expires=" + std::to_string(wall_clock_ms() + cfg.lease_ms) + "\n";
  auto registered = st.store->register_node(me, lease_ttl(st));
  if (!registered) {
    store_unreachable(self, "renewing the node's registration");
    return retry_after_failure(st.ctx->config);
  }
  if (!*registered) {
    // Another run took this id while this one's registration had expired (it was paused):
    // it may not act as this node any more.
    // It gives up its partitions at once, and then stops the node: serving on as a node
    // that owns nothing, it would tell its clients of a cluster of itself alone, leaderless,
    // and never converge with the one that runs under its id.
    if (st.registered)
      logging::cluster().error("node id {} is now registered by another process; this one gives up "
                               "its partitions and stops",
                               st.me.node);
    auto next = std::make_shared<cluster_view>(*st.view);
    next->holders.clear();
    next->group_holders.clear();
    next->nodes.clear();
    next->tokens.clear();
    next->live.clear();
    publish(self, std::move(next), {});
    if (st.registered) st.taken_over = true;
    st.registered = false;
    return std::chrono::milliseconds(cfg.renew_ms);
  }
  st.registered = true;
  return std::nullopt;
}

// One round; returns how long until the next.
std::chrono::milliseconds run_round(self_ptr self) {
  auto& st = self->state;
  const auto renew = std::chrono::milliseconds(st.ctx->config.cluster.renew_ms);
  if (auto stop = renew_registration(self)) return *stop;
  auto nodes = st.store->live_nodes();
  auto topics = st.store->list_topics();
  if (!nodes || !topics) {
    ++st.failed_lease_rounds;
    store_unreachable(self, "reading the nodes and topics");
    return retry_after_failure(st.ctx->config);
  }
  // Topics created, grown or deleted by another node: the registry reads them again.
  std::sort(topics->begin(), topics->end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  if (*topics != st.topics) {
    st.topics = *topics;
    if (auto registry = st.dir.registry) self->send(registry, recover_atom::value);
  }
  auto next = std::make_shared<cluster_view>();
  next->self = st.me.node;
  next->token = st.me.token;
  next->clustered = true;
  for (const auto& n : *nodes) {
    next->nodes[n.node] = decode_endpoints(n.node, n.endpoints);
    next->tokens[n.node] = n.token;
    next->live.push_back(n.node);
  }
  // This node wants leases only while its own registration is live: a round that did not
  // renew it (lease rounds failing, above) may come after a pause past it, when another
  // process may run under this id; what rendezvous hashing gives the id is then that one's.
  const auto listed = next->tokens.find(st.me.node);
  const bool registered = listed != next->tokens.end() && listed->second == st.me.token;
  std::vector<storage::lease_claim> claims;
  std::vector<topic_partition> partitions;
  for (const auto& t : st.topics) {
    for (std::int32_t p = 0; p < t.partitions; ++p) {
      topic_partition tp{t.name, p};
      auto name = storage::partition_lease(tp);
      const bool mine = registered && rendezvous_owner(next->live, name) == st.me.node;
      // Every lease this node does not want it drops, rather than only looks at: a drop
      // releases a lease only if this node holds it. One it holds without its view showing
      // it (the view was emptied while the store could not be reached, or a round's answer
      // was lost) must go, not be taken for owned: nobody renewed it, and the store lets it
      // run out at its last renewal, long before the owned_until this round would give it.
      const auto intent = mine && !st.leaving ? storage::lease_intent::want : storage::lease_intent::drop;
      claims.push_back({std::move(name), intent});
      partitions.push_back(std::move(tp));
    }
  }
  // Groups: the same, for those the directory asked about (it coordinates no others). One
  // asked for but not used within a lease time (no coordinator started under its lease) is
  // let go: group ids named once, or mistyped, do not stay leased for ever.
  for (const auto& g : st.groups.expire(clock::now(), lease_ttl(st)))
    logging::cluster().debug("group '{}' was asked for but not used: its lease is let go", g);
  std::vector<std::string> groups;
  for (const auto& [g, entry] : st.groups.all()) {
    auto name = storage::group_lease(g);
    const bool mine = registered && rendezvous_owner(next->live, name) == st.me.node;
    const auto intent =
        mine && entry.wanted && !st.leaving ? storage::lease_intent::want : storage::lease_intent::drop;
    claims.push_back({std::move(name), intent});
    groups.push_back(g);
  }
  // The leases run from when the script runs, after this: taken here rather than before the
  // reads above, so that a slow store (within its timeout) does not make the round publish an
  // owned_until that has already passed.
  const auto started = clock::now();
  auto holders = st.store->lease_round({st.me.node, 0, st.me.token}, lease_ttl(st), claims);
  if (!holders) {
    ++st.failed_lease_rounds;
    store_unreachable(self, "the lease round");
    return retry_after_failure(st.ctx->config);
  }
  st.renewed_at = started;
  st.failed_lease_rounds = 0;
  next->owned_until = started + lease_ttl(st) - cluster_round_timeout(st.ctx->config);
  if (st.store_lost_logged) logging::cluster().info("cluster round: the store is reachable again");
  st.store_lost_logged = false;
  const bool lapsed = st.lapsing;  // this round did not renew the registration
  if (lapsed) logging::cluster().info("a lease round succeeded again: the registration is renewed");
  st.lapsing = false;
  std::vector<std::string> awaited;  // leases this node should hold that are still someone else's
  for (std::size_t i = 0; i < partitions.size(); ++i) {
    auto& h = (*holders)[i];
    if (claims[i].intent == storage::lease_intent::want && !held_by(h, st.me)) awaited.push_back(claims[i].name);
    if (h.held()) next->holders.emplace(std::move(partitions[i]), std::move(h));
  }
  const auto taken_at = clock::now();
  for (std::size_t j = 0; j < groups.size(); ++j) {
    const auto i = partitions.size() + j;
    auto& h = (*holders)[i];
    const bool wanted = claims[i].intent == storage::lease_intent::want;
    const bool mine = held_by(h, st.me);
    if (wanted && !mine) awaited.push_back(claims[i].name);
    // Taken now: the client that asked has a lease time to come back for its coordinator.
    const auto* was = st.view->group_lease(groups[j]);
    if (wanted && mine && (was == nullptr || was->epoch != h.epoch)) st.groups.lease_taken(groups[j], taken_at);
    // A group neither wanted nor held any more is forgotten (asked for again, it comes back).
    if (!wanted && !mine) st.groups.forget(groups[j]);
    if (h.held()) next->group_holders.emplace(groups[j], std::move(h));
  }
  publish(self, std::move(next), {});
  // The registration had lapsed, so this round wanted nothing (once it had run out) or
  // renewed a share the others may be taking over: the next round, right away, registers the
  // node again and takes its share back, not a renewal later.
  if (lapsed) return 0ms;
  // Waiting for a lease another node still holds: look again soon, then less often (50 ms,
  // doubling up to renew / 4; lease_wait). A dead node's leases run out just after its
  // registration, which this round followed, so the first retries find them free and the
  // failover takes little more than the lease time.
  if (!awaited.empty()) return st.wait.next(std::move(awaited), renew / 4);
  st.wait.reset();
  // A node whose registration runs out before the next round is likely gone (a live one
  // renews every round): look again just after it expires, so that its partitions move
  // with the lease time, not up to a round later. (Clocks of different machines may differ
  // a little: that only moves this extra round, ownership is decided by the store.)
  auto next_round = renew;
  const auto now_ms = wall_clock_ms();
  for (const auto& n : *nodes) {
    if (n.node == st.me.node) continue;
    const auto at = n.endpoints.rfind("expires=");
    std::int64_t expires = 0;
    if (at == std::string::npos ||
        std::from_chars(n.endpoints.data() + at + 8, n.endpoints.data() + n.endpoints.size(), expires).ec !=
            std::errc{})
      continue;
    const auto left = std::chrono::milliseconds(expires - now_ms) + 20ms;
    if (left > 0ms && left < next_round) next_round = left;
  }
  return std::max<std::chrono::milliseconds>(20ms, next_round);
}

cluster_actor::behavior_type cluster_impl(self_ptr self, std::shared_ptr<broker_context> ctx,
                                          supervisor_actor supervisor,
                                          storage::node_registration me, storage::store_factory factory) {
  auto& st = self->state;
  st.ctx = ctx;
  st.me = std::move(me);
  st.view = ctx->cluster();  // clustered, owning nothing (published by the broker)
  st.renewed_at = clock::now();
  auto store = factory();
  if (!store) {
    self->quit(make_caf_error(errc::storage_unavailable));
    return cluster_actor::behavior_type::make_empty_behavior();
  }
  st.store = std::move(*store);
  // The registry is found through the directory; the group directory and the registry find
  // this actor there once the supervisor has it.
  follow_directory(self, supervisor);
  self->send(supervisor, node_atom::value, caf::actor_cast<cluster_actor>(self));
  // Runs a round and schedules the next; a tick of an earlier schedule is dropped.
  auto round_now = [=] {
    auto& s = self->state;
    s.round_queued = false;  // this round covers whatever asked for one
    if (s.leaving) return;
    const auto next = run_round(self);
    if (s.taken_over)
      return self->quit(caf::make_error(caf::sec::runtime_error,
                                        "node id " + std::to_string(s.me.node) +
                                            " was taken over by another process while this one's "
                                            "registration had run out"));
    self->delayed_send(self, next, tick_atom::value, ++s.round);
  };
  // A round on demand, after the messages already queued: a burst of them (many new group
  // ids or topics at once, or those that came in while a round ran) gets one round, not one
  // each. It is an ordinary tick of the current schedule (a tick that comes first covers it).
  auto round_soon = [=] {
    auto& s = self->state;
    if (s.round_queued || s.leaving) return;
    s.round_queued = true;
    self->send(self, tick_atom::value, s.round);
  };
  self->send(self, tick_atom::value, st.round);
  return {
      [=](tick_atom, std::uint64_t round) {
        if (round == self->state.round) round_now();
      },
      // Topics created or grown here, or a partition whose change the store refused under
      // this node's lease (the view still names this node its leader).
      [=](topic_atom) { round_soon(); },
      [=](group_atom, const std::string& group, bool want) {
        auto& s = self->state;
        if (!want)
          s.groups.let_go(group, clock::now());
        else if (s.groups.asked(group, clock::now()))
          round_soon();  // a client waits: take the lease
      },
      [=](group_atom, const std::string& group, std::int64_t epoch) {
        // The directory started the group's coordinator under its lease: the lease is kept
        // until the directory lets the group go, however long no client asks for it.
        auto& s = self->state;
        const auto& sender = self->current_sender();
        s.groups.coordinated(group, sender ? sender->id() : caf::invalid_actor_id);
        logging::cluster().debug("group '{}' has its coordinator here (lease epoch {})", group, epoch);
        // A round that let the lease go (unused for a lease time) may have run just before
        // the coordinator started under it: take it again now, not a renewal later.
        const auto* lease = s.view->group_lease(group);
        if (lease == nullptr || lease->epoch != epoch) round_soon();
      },
      [=](leave_atom) -> bool {
        // SIGTERM: release every lease now (the other nodes take them at their next round)
        // and the registration, instead of making them wait for the leases to expire.
        auto& s = self->state;
        s.leaving = true;
        // Every lease it may hold is dropped: those its view shows, and those of every
        // partition and group it knows of (one held without the view showing it goes too; a
        // drop changes nothing for a lease another node holds).
        std::set<std::string> names;
        std::size_t partitions = 0, groups = 0;
        for (const auto& [tp, h] : s.view->holders)
          if (held_by(h, s.me)) {
            names.insert(storage::partition_lease(tp));
            ++partitions;
          }
        for (const auto& [g, h] : s.view->group_holders)
          if (held_by(h, s.me)) {
            names.insert(storage::group_lease(g));
            ++groups;
          }
        for (const auto& t : s.topics)
          for (std::int32_t p = 0; p < t.partitions; ++p) names.insert(storage::partition_lease({t.name, p}));
        for (const auto& [g, entry] : s.groups.all()) names.insert(storage::group_lease(g));
        std::vector<storage::lease_claim> drops;
        drops.reserve(names.size());
        for (const auto& name : names) drops.push_back({name, storage::lease_intent::drop});
        auto released = s.store->lease_round({s.me.node, 0, s.me.token}, lease_ttl(s), drops);
        const bool ok = released && !s.store->deregister_node(s.me);
        if (ok)
          logging::cluster().info("left the cluster: {} partition and {} group leases released", partitions,
                                  groups);
        else
          logging::cluster().warn("leaving the cluster: the store could not be told; other nodes "
                                  "take over when the leases expire");
        publish(self, leaving_view(*s.view), {});
        self->quit();
        return ok;
      },
      [=](directory_atom, actor_directory& next) {
        auto& s = self->state;
        // A group directory that restarted runs none of the old one's coordinators: their
        // groups are let go unless they are used again.
        if (next.groups) s.groups.directory_is(next.groups.id(), clock::now());
        s.dir = std::move(next);
      },
  };
}

class join_error_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "cluster join"; }
  std::string message(int code) const override {
    if (static_cast<join_error>(code) == join_error::node_id_in_use) return "node id in use by a live node";
    return "cannot join the cluster (" + std::to_string(code) + ")";
  }
};

}  // namespace

const std::error_category& join_error_category() noexcept {
  static const join_error_category_impl instance;
  return instance;
}

std::error_code register_cluster_node(storage::log_store& store, const cluster_config& config,
                                      const storage::node_registration& self) {
  auto r = store.register_node(self, std::chrono::milliseconds(config.lease_ms));
  if (!r) {
    logging::cluster().error("cannot join the cluster: the store is unreachable ({})", r.error().message());
    return r.error();
  }
  if (!*r) {
    log_node_id_taken(self.node, config);
    return join_error::node_id_in_use;
  }
  return {};
}

void log_node_id_taken(std::int32_t node, const cluster_config& config) {
  logging::cluster().error("cannot join the cluster: node id {} is in use by a live node (its "
                           "registration expires {} ms after that node stops)",
                           node, config.lease_ms);
}

cluster_actor spawn_cluster_actor(caf::actor_system& sys, std::shared_ptr<broker_context> ctx,
                                  supervisor_actor supervisor, storage::node_registration self,
                                  storage::store_factory store) {
  return sys.spawn<caf::detached>(cluster_impl, std::move(ctx), std::move(supervisor),
                                  std::move(self), std::move(store));
}

}  // namespace portask
