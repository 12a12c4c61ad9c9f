#include "actors/groups/group_coordinator.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <unordered_map>

#include "actors/groups/consumer_group.hpp"
#include "actors/groups/offsets_log.hpp"
#include "logging/loggers.hpp"
#include "protocol/kafka/consumer_protocol.hpp"
#include "protocol/topic_name.hpp"
#include "actors/pipeline/wall_clock.hpp"

namespace portask {
namespace {

using namespace std::chrono_literals;

// Time is the actor clock's (steady_clock in a running broker), so that deterministic tests
// move it by hand. How often a group with members checks sessions and rebalance deadlines.
constexpr auto tick_interval = 100ms;
// A coordinator with no members and no requests for this long stops (its offsets are in the
// store; the next request spawns a new one), so looking up many group names cannot pile up
// actors.
constexpr auto idle_limit = 60s;

struct coordinator_state {
  std::shared_ptr<broker_context> ctx;
  actor_directory dir;  ///< bridges, registry, readers; its own directory's handle
  group_directory_actor directory;
  std::string group_id;
  /// In a cluster: the group lease this coordinator acts under (its commits and deletions of
  /// offsets are fenced by it) and that lease's epoch; empty and 0 on a single node.
  std::string fence;
  std::int64_t epoch = 0;
  std::unique_ptr<consumer_group> group;
  std::uint64_t next_ticket = 1;
  std::unordered_map<std::uint64_t, caf::typed_response_promise<join_group_result>> joins;
  std::unordered_map<std::uint64_t, caf::typed_response_promise<sync_group_result>> syncs;
  bool ticking = false;
  /// Commits wait here while one store round trip is in flight; the next round trip takes
  /// all of them (one HSET however many requests), as the storage writer does for batches.
  std::vector<std::pair<std::vector<storage::group_offset>, caf::typed_response_promise<bool>>>
      queued_commits;
  bool commit_in_flight = false;
  consumer_group::time_point last_request{};
  /// The last time (wall-clock ms) this coordinator saw the group with members; 0: never.
  /// Its offsets' retention counts from then at the earliest.
  std::int64_t members_seen_ms = 0;
  // The offsets-topic mirror: whether the topic is known to exist, and the last membership
  // written to it (a record per new stable generation, and one when the group empties).
  bool offsets_topic_ready = false;
  std::int32_t mirrored_generation = -1;
  bool mirrored_empty = true;
  /// A coordinator that ends (it failed, or its directory stopped and took it along) answers
  /// what it holds: a parked join or sync has no deadline of its asker's (connections ask
  /// with none), and would otherwise hold a client's ordered answers until its own timeout.
  /// Not ready is retriable: Kafka clients look the coordinator up again.
  ~coordinator_state() {
    for (auto& [ticket, rp] : joins) rp.deliver(make_caf_error(errc::not_ready));
    for (auto& [ticket, rp] : syncs) rp.deliver(make_caf_error(errc::not_ready));
    for (auto& [offsets, rp] : queued_commits) rp.deliver(make_caf_error(errc::not_ready));
  }
  static inline const char* name = "portask.group_coordinator";
};

using coordinator_ptr = group_coordinator_actor::stateful_pointer<coordinator_state>;

// In a cluster: this node no longer holds the group lease this coordinator was started under
// (the group moved to another node, or came back under a new lease). Members that kept this
// coordinator's handle are sent to find the current one rather than served here in parallel.
bool moved(coordinator_ptr self) {
  const auto view = self->state.ctx->cluster();
  if (!view->clustered) return false;
  const auto* lease = view->group_lease(self->state.group_id);
  return lease == nullptr || lease->epoch != self->state.epoch;
}

// A group's generations grow with its lease's epoch (the high 16 bits), so they keep
// increasing when the group moves to another coordinator, which knows nothing of the old
// one's: a member of an earlier generation is never taken for a current one.
// (Epochs wrap after 32766, so that the last tenure's 65535 rebalances stay within int32.)
std::int32_t first_generation(std::int64_t epoch) {
  return static_cast<std::int32_t>((epoch % 32767) << 16);
}

// Writes `pb` to the offsets topic through the bridge, creating the topic on first use.
// Best effort: the group store holds the truth, so a failure is logged, not returned.
void mirror(coordinator_ptr self, publish_batch pb) {
  if (pb.batch.messages.empty()) return;
  auto warn = [=](const caf::error& e) {
    if (to_errc(e) == errc::not_leader) return;  // another node owns that partition of it
    logging::groups().warn("group '{}': not mirrored to {}: {}", self->state.group_id,
                 protocol::offsets_topic, self->system().render(e));
  };
  auto send = [=](publish_batch b) {
    auto bridge = self->state.dir.bridge_for(b.tp);
    if (!bridge) return warn(make_caf_error(errc::not_ready));
    self->request(bridge, 10s, publish_atom::value, std::move(b))
        .then([](publish_result&) {}, [=](caf::error& e) { warn(e); });
  };
  if (self->state.offsets_topic_ready) return send(std::move(pb));
  auto registry = self->state.dir.registry;
  if (!registry) return warn(make_caf_error(errc::not_ready));
  self->request(registry, 10s, create_atom::value, offsets_topic_info())
      .then(
          [=](storage::topic_info&) {
            self->state.offsets_topic_ready = true;
            send(pb);
          },
          [=](caf::error& e) {
            if (to_errc(e) != errc::topic_already_exists) return warn(e);
            self->state.offsets_topic_ready = true;
            send(pb);
          });
}

// After any change of membership: a new stable generation, or a group that emptied, is
// written to the offsets topic.
void mirror_membership(coordinator_ptr self) {
  auto& st = self->state;
  const auto& g = *st.group;
  const bool stable_new = g.current_state() == consumer_group::state::stable &&
                          g.generation() != st.mirrored_generation;
  const bool emptied = g.current_state() == consumer_group::state::empty && !st.mirrored_empty;
  if (!stable_new && !emptied) return;
  st.mirrored_generation = g.generation();
  st.mirrored_empty = emptied;
  mirror(self, group_record(g.describe(), wall_clock_ms()));
}

void deliver(coordinator_ptr self, consumer_group::deliveries& out) {
  auto& st = self->state;
  for (auto& j : out.joins) {
    auto it = st.joins.find(j.ticket);
    if (it == st.joins.end()) continue;
    it->second.deliver(std::move(j.result));
    st.joins.erase(it);
  }
  for (auto& s : out.syncs) {
    auto it = st.syncs.find(s.ticket);
    if (it == st.syncs.end()) continue;
    it->second.deliver(std::move(s.result));
    st.syncs.erase(it);
  }
  out = {};
  mirror_membership(self);
}

// Ticks while the group has anything with a deadline.
void ensure_ticking(coordinator_ptr self) {
  auto& st = self->state;
  if (st.ticking) return;
  st.ticking = true;
  self->delayed_send(self, tick_interval, tick_atom::value);
}

storage_reader_actor reader_of(coordinator_ptr self) {
  return self->state.dir.reader_for({self->state.group_id, 0});
}

// Stores every queued commit in one round trip; later offsets of a partition win because
// the store applies them in order.
void flush_commits(coordinator_ptr self) {
  auto& st = self->state;
  if (st.commit_in_flight || st.queued_commits.empty()) return;
  auto batch = std::move(st.queued_commits);
  st.queued_commits.clear();
  auto fail_all = [](auto& b, const caf::error& e) {
    for (auto& [offsets, rp] : b) rp.deliver(e);
  };
  auto reader = reader_of(self);
  if (!reader) return fail_all(batch, make_caf_error(errc::not_ready));
  std::vector<storage::group_offset> all;
  for (auto& [offsets, rp] : batch)
    all.insert(all.end(), std::make_move_iterator(offsets.begin()),
               std::make_move_iterator(offsets.end()));
  st.commit_in_flight = true;
  auto shared = std::make_shared<decltype(batch)>(std::move(batch));
  auto stored = commit_records(st.group_id, all, wall_clock_ms());
  self->request(reader, 10s, commit_atom::value, st.group_id, std::move(all), st.fence)
      .then(
          [=](bool) mutable {
            mirror(self, std::move(stored));
            for (auto& [offsets, rp] : *shared) rp.deliver(true);
            self->state.commit_in_flight = false;
            flush_commits(self);
          },
          [=](caf::error& e) {
            fail_all(*shared, e);
            self->state.commit_in_flight = false;
            flush_commits(self);
          });
}

// -- handover --------------------------------------------------------------------------------
// A coordinator that stops by design (idle, or its group deleted) must leave no moment in which
// a request sent to its handle is refused: it tells the directory to forget it (the next lookup
// spawns a successor, which reads the group's offsets from the store) and from then on forwards
// whatever still reaches it through an old handle to that successor. Its retire message goes
// out before any of its lookups, so the directory never hands it back to itself. It holds no
// group state any more; CAF terminates it once nobody holds its handle, and the directory's
// end (a broker stopping) ends it too.

template <class R, class... Ts>
caf::result<R> forward_to_successor(coordinator_ptr self, Ts... xs) {
  auto rp = self->make_response_promise<R>();
  // The directory it retired from (the retire went first). A restarted directory never
  // knew this actor, which is linked to the old one and ends with it.
  auto directory = self->state.directory;
  if (!directory) {
    rp.deliver(make_caf_error(errc::not_ready));
    return rp;
  }
  self->request(directory, caf::infinite, group_atom::value, self->state.group_id)
      .then([=](group_coordinator_actor& successor) mutable { rp.delegate(successor, xs...); },
            [=](caf::error& e) mutable { rp.deliver(std::move(e)); });
  return rp;
}

group_coordinator_actor::behavior_type forwarding(coordinator_ptr self) {
  return {
      [=](join_atom a, join_group_request& r) {
        return forward_to_successor<join_group_result>(self, a, std::move(r));
      },
      [=](sync_atom a, sync_group_request& r) {
        return forward_to_successor<sync_group_result>(self, a, std::move(r));
      },
      [=](heartbeat_atom a, const member_ref& m) {
        return forward_to_successor<bool>(self, a, m);
      },
      [=](leave_atom a, const std::vector<member_ref>& ms) {
        return forward_to_successor<std::vector<std::int32_t>>(self, a, ms);
      },
      [=](commit_atom a, commit_offsets_request& r) {
        return forward_to_successor<bool>(self, a, std::move(r));
      },
      [=](offset_atom a, const std::vector<topic_partition>& tps) {
        return forward_to_successor<std::vector<storage::group_offset>>(self, a, tps);
      },
      [=](describe_atom a) { return forward_to_successor<group_description>(self, a); },
      [=](delete_atom a, std::vector<topic_partition>& tps, bool whole_group) {
        return forward_to_successor<bool>(self, a, std::move(tps), whole_group);
      },
      [](tick_atom) {},
      [](expire_atom) {},
      // The directory sends its next expiry to the successor.
      [](expire_atom, std::int64_t, std::int64_t) {},
      [=](directory_atom, actor_directory& next) { self->state.dir = std::move(next); },
  };
}

// Nothing a successor would have to take over: no member, no request or commit in flight.
bool at_rest(const coordinator_state& s) {
  return s.group->size() == 0 && s.joins.empty() && s.syncs.empty() && !s.commit_in_flight &&
         s.queued_commits.empty();
}

void retire(coordinator_ptr self) {
  auto& s = self->state;
  logging::groups().debug("group '{}': coordinator retires (no members, nothing pending)", s.group_id);
  self->send(s.directory, retire_atom::value, s.group_id, s.members_seen_ms);
  self->become(forwarding(self));
}

// While the group has members its offsets do not expire; the time it last had them is kept
// for the retention that starts once they are gone.
void note_members(coordinator_state& s) {
  if (s.group->size() > 0) s.members_seen_ms = wall_clock_ms();
}

// Whether an offset is past retention at `now_ms` in a group without members since
// `empty_since_ms`, as Kafka decides for an Empty group or a standalone consumer's: its own
// expiry time (OffsetCommit v2-4) when it has one, else the broker's retention counted from
// the later of its commit and the group's emptying (which keeps it at least as long as Kafka
// does, Kafka counting from the emptying alone).
bool expired(const storage::committed_offset& o, std::int64_t now_ms, std::int64_t empty_since_ms,
             std::int64_t retention_ms) {
  if (retention_ms < 0) return false;  // kept for ever, whatever the client asked
  if (o.expire_time_ms >= 0) return now_ms >= o.expire_time_ms;
  return now_ms - std::max(o.commit_time_ms, empty_since_ms) >= retention_ms;
}

// The topics a stable Kafka consumer group's members subscribe to, read from their
// ConsumerProtocolSubscription; nothing when the group is not such a group or a member's
// subscription cannot be read (then no topic counts as unsubscribed).
std::optional<std::set<std::string>> subscribed_topics(const consumer_group& g) {
  if (g.current_state() != consumer_group::state::stable || g.protocol_type() != "consumer") return {};
  std::set<std::string> topics;
  for (const auto& m : g.describe().members) {
    auto subscribed = protocol::kafka::decode_consumer_subscription(protocol::as_bytes(m.metadata));
    if (!subscribed) return {};
    topics.insert(subscribed->begin(), subscribed->end());
  }
  return topics;
}

// Deletes the group's offsets past retention: all of them may go when the group has no
// members; in a stable consumer group, as in Kafka, only those of topics no member
// subscribes to (counted from their commit). Commits wait meanwhile (as behind a commit in
// flight), so none is stored between the read and the deletion and then deleted with them.
void expire_offsets(coordinator_ptr self, std::int64_t now_ms, std::int64_t empty_since_ms) {
  auto& s = self->state;
  if (moved(self) || !s.joins.empty() || !s.syncs.empty() || s.commit_in_flight ||
      !s.queued_commits.empty())
    return;  // a rebalance or a commit under way: nothing expires now
  if (s.group->size() > 0 && !subscribed_topics(*s.group)) return;
  auto reader = reader_of(self);
  const auto retention = s.ctx->config.offsets_retention_ms;
  if (!reader || retention < 0) return;
  s.commit_in_flight = true;
  auto done = [=] {
    self->state.commit_in_flight = false;
    flush_commits(self);
  };
  auto failed = [=](caf::error& e) {
    // Fenced out: the group moved to another node, whose coordinator expires them now.
    if (e == make_caf_error(errc::not_coordinator))
      logging::groups().info("group '{}': expired offsets left to its new coordinator", self->state.group_id);
    else
      logging::groups().warn("group '{}': expired offsets not deleted: {}", self->state.group_id,
                             self->system().render(e));
    done();
  };
  self->request(reader, 10s, offset_atom::value, s.group_id)
      .then(
          [=](std::vector<storage::group_offset>& all) {
            // Read now: members may have come or gone, or the group moved to another node.
            const auto& now_state = self->state;
            if (moved(self) || !now_state.joins.empty()) return done();
            const bool members = now_state.group->size() > 0;
            const auto subscribed = members ? subscribed_topics(*now_state.group) : std::nullopt;
            if (members && !subscribed) return done();
            // With members, an unsubscribed topic's offset counts from its commit (never from
            // before the directory started); without, from the group's emptying too.
            const auto since = members ? empty_since_ms : std::max(empty_since_ms, now_state.members_seen_ms);
            std::vector<topic_partition> gone;
            for (const auto& o : all)
              if ((!subscribed || !subscribed->count(o.tp.topic)) && expired(o.offset, now_ms, since, retention))
                gone.push_back(o.tp);
            if (gone.empty()) return done();
            const bool whole_group = !members && gone.size() == all.size();
            self->request(reader, 10s, delete_atom::value, self->state.group_id, gone,
                          self->state.fence)
                .then(
                    [=](bool) {
                      logging::groups().info("group '{}': {} committed offset(s) expired{}",
                                             self->state.group_id, gone.size(),
                                             whole_group ? ", none left" : "");
                      mirror(self, tombstones(self->state.group_id, gone, whole_group));
                      done();
                    },
                    failed);
          },
          failed);
}

group_coordinator_actor::behavior_type coordinator_impl(coordinator_ptr self,
                                                        std::shared_ptr<broker_context> ctx,
                                                        actor_directory dir,
                                                        std::string group_id,
                                                        group_directory_actor directory,
                                                        std::string fence, std::int64_t epoch) {
  auto& st = self->state;
  st.ctx = ctx;
  st.dir = std::move(dir);
  st.directory = std::move(directory);
  st.group_id = group_id;
  st.fence = std::move(fence);
  st.epoch = epoch;
  group_limits limits;
  limits.initial_rebalance_delay =
      std::chrono::milliseconds(ctx->config.group_initial_rebalance_delay_ms);
  limits.min_session_timeout_ms = static_cast<std::int32_t>(ctx->config.group_min_session_timeout_ms);
  limits.max_session_timeout_ms = static_cast<std::int32_t>(ctx->config.group_max_session_timeout_ms);
  st.group = std::make_unique<consumer_group>(group_id, limits, first_generation(epoch));
  st.last_request = self->clock().now();
  self->delayed_send(self, idle_limit, expire_atom::value);
  // Every request counts as activity for the idle check.
  const auto now = [self] {
    const auto t = self->clock().now();
    self->state.last_request = t;
    note_members(self->state);
    return t;
  };
  return {
      [=](join_atom, join_group_request& req) -> caf::result<join_group_result> {
        if (moved(self)) return make_caf_error(errc::not_coordinator);
        auto& s = self->state;
        const auto ticket = s.next_ticket++;
        consumer_group::deliveries out;
        auto r = s.group->join(req, ticket, now(), out);
        ensure_ticking(self);
        if (r) {
          deliver(self, out);
          return std::move(*r);
        }
        auto rp = self->make_response_promise<join_group_result>();
        s.joins.emplace(ticket, rp);
        deliver(self, out);
        return rp;
      },
      [=](sync_atom, sync_group_request& req) -> caf::result<sync_group_result> {
        if (moved(self)) return make_caf_error(errc::not_coordinator);
        auto& s = self->state;
        const auto ticket = s.next_ticket++;
        consumer_group::deliveries out;
        auto r = s.group->sync(req, ticket, now(), out);
        if (r) {
          deliver(self, out);
          return std::move(*r);
        }
        auto rp = self->make_response_promise<sync_group_result>();
        s.syncs.emplace(ticket, rp);
        deliver(self, out);
        return rp;
      },
      [=](heartbeat_atom, const member_ref& m) -> caf::result<bool> {
        if (moved(self)) return make_caf_error(errc::not_coordinator);
        if (auto e = self->state.group->heartbeat(m, now()); e != errc::ok) return make_caf_error(e);
        return true;
      },
      [=](leave_atom, const std::vector<member_ref>& members) -> caf::result<std::vector<std::int32_t>> {
        // A member leaving a group this node no longer coordinates is told to find the
        // coordinator (NOT_COORDINATOR), as Kafka's is, not that it left.
        if (moved(self)) return make_caf_error(errc::not_coordinator);
        consumer_group::deliveries out;
        auto results = self->state.group->leave(members, now(), out);
        deliver(self, out);
        std::vector<std::int32_t> codes;
        for (auto e : results) codes.push_back(static_cast<std::int32_t>(e));
        return codes;
      },
      [=](commit_atom, commit_offsets_request& req) -> caf::result<bool> {
        if (moved(self)) return make_caf_error(errc::not_coordinator);
        if (auto e = self->state.group->may_commit(req.member, now()); e != errc::ok) {
          logging::groups().debug("group '{}': commit by {} (generation {}) refused: {}", self->state.group_id,
                        req.member.member_id, req.member.generation, to_string(e));
          return make_caf_error(e);
        }
        if (logging::groups().should_log(spdlog::level::debug))
          for (const auto& o : req.offsets)
            logging::groups().debug("group '{}': {} commits {}/{} at {}", self->state.group_id,
                          req.member.member_id, o.tp.topic, o.tp.partition, o.offset.offset);
        const auto committed_at = wall_clock_ms();
        for (auto& o : req.offsets)
          if (o.offset.commit_time_ms < 0) o.offset.commit_time_ms = committed_at;
        auto rp = self->make_response_promise<bool>();
        self->state.queued_commits.emplace_back(std::move(req.offsets), rp);
        flush_commits(self);
        return rp;
      },
      [=](offset_atom, const std::vector<topic_partition>& tps)
          -> caf::result<std::vector<storage::group_offset>> {
        now();
        auto reader = reader_of(self);
        if (!reader) return make_caf_error(errc::not_ready);
        auto rp = self->make_response_promise<std::vector<storage::group_offset>>();
        logging::groups().debug("group '{}': offsets fetched ({} partitions asked)", self->state.group_id,
                      tps.size());
        self->request(reader, 10s, offset_atom::value, self->state.group_id)
            .then(
                [=](std::vector<storage::group_offset>& all) mutable {
                  if (tps.empty()) {
                    rp.deliver(std::move(all));
                    return;
                  }
                  // By partition: a group of many committed partitions asking for all of
                  // them must not cost their product (the coordinator serves its joins and
                  // heartbeats on the same thread).
                  std::map<topic_partition, const storage::group_offset*> by_partition;
                  for (const auto& a : all) by_partition.insert_or_assign(a.tp, &a);
                  std::vector<storage::group_offset> out;
                  out.reserve(tps.size());
                  for (const auto& tp : tps) {
                    storage::group_offset o{tp, {}};
                    if (auto it = by_partition.find(tp); it != by_partition.end()) o.offset = it->second->offset;
                    out.push_back(std::move(o));
                  }
                  rp.deliver(std::move(out));
                },
                [=](caf::error& e) mutable { rp.deliver(std::move(e)); });
        return rp;
      },
      [=](describe_atom) -> caf::result<group_description> {
        now();
        auto d = self->state.group->describe();
        // No members in this coordinator's life: Empty when offsets are committed (after a
        // restart, or standalone commits), Dead when the group has neither, as in Kafka.
        auto reader = reader_of(self);
        if (d.state != "Empty" || d.generation != first_generation(self->state.epoch) || !reader) return d;
        auto rp = self->make_response_promise<group_description>();
        self->request(reader, 10s, offset_atom::value, self->state.group_id)
            .then(
                [=](std::vector<storage::group_offset>& offsets) mutable {
                  if (offsets.empty()) d.state = "Dead";
                  rp.deliver(std::move(d));
                },
                [=](caf::error&) mutable { rp.deliver(std::move(d)); });
        return rp;
      },
      [=](delete_atom, std::vector<topic_partition>& tps, bool whole_group) -> caf::result<bool> {
        if (moved(self)) return make_caf_error(errc::not_coordinator);
        now();
        auto& g = *self->state.group;
        if (whole_group && g.size() > 0) return make_caf_error(errc::group_not_empty);
        // A group this coordinator has seen no generation of exists only through its
        // committed offsets: with none it is unknown (GROUP_ID_NOT_FOUND, as Kafka answers
        // DeleteGroups and OffsetDelete), as describe calls it Dead.
        const bool maybe_unknown = g.size() == 0 && g.current_state() == consumer_group::state::empty &&
                                   g.generation() == first_generation(self->state.epoch);
        if (!whole_group && tps.empty() && !maybe_unknown) return true;
        auto reader = reader_of(self);
        if (!reader) return make_caf_error(errc::not_ready);
        auto rp = self->make_response_promise<bool>();
        auto remove = [=](std::vector<topic_partition> gone) mutable {
          // Checked again after the read of its offsets: a member may have joined meanwhile,
          // and deleting its group under it would drop the commits it is about to make.
          if (whole_group && self->state.group->size() > 0) {
            rp.deliver(make_caf_error(errc::group_not_empty));
            return;
          }
          auto to_delete = whole_group ? std::vector<topic_partition>{} : gone;
          self->request(reader, 10s, delete_atom::value, self->state.group_id, to_delete,
                        self->state.fence)
              .then(
                  [=](bool ok) mutable {
                    mirror(self, tombstones(self->state.group_id, gone, whole_group));
                    rp.deliver(ok);
                    // A deleted group is gone: a successor starts from the store.
                    if (whole_group && at_rest(self->state)) retire(self);
                  },
                  [=](caf::error& e) mutable { rp.deliver(std::move(e)); });
        };
        if (!whole_group && !maybe_unknown) {
          remove(std::move(tps));
          return rp;
        }
        // The whole group: its committed partitions are read first, for their tombstones.
        self->request(reader, 10s, offset_atom::value, self->state.group_id)
            .then(
                [=](std::vector<storage::group_offset>& offsets) mutable {
                  if (offsets.empty() && maybe_unknown) {
                    rp.deliver(make_caf_error(errc::unknown_group));
                    return;
                  }
                  if (!whole_group && tps.empty()) {
                    rp.deliver(true);
                    return;
                  }
                  if (!whole_group) return remove(std::move(tps));
                  std::vector<topic_partition> gone;
                  for (const auto& o : offsets) gone.push_back(o.tp);
                  remove(std::move(gone));
                },
                [=](caf::error& e) mutable { rp.deliver(std::move(e)); });
        return rp;
      },
      [=](expire_atom, std::int64_t now_ms, std::int64_t empty_since_ms) {
        expire_offsets(self, now_ms, empty_since_ms);
      },
      [=](expire_atom) {
        auto& s = self->state;
        const bool idle = at_rest(s) && self->clock().now() - s.last_request >= idle_limit;
        if (idle) return retire(self);
        self->delayed_send(self, idle_limit, expire_atom::value);
      },
      [=](tick_atom) {
        auto& s = self->state;
        s.ticking = false;
        if (moved(self)) {
          // The group's lease left this node (another node coordinates it now, or will): the
          // joins and syncs parked here are sent to find it at once, as Kafka answers them
          // when a coordinator unloads a group, rather than waiting out the other members'
          // sessions or the rebalance timeout here for a generation nobody can use.
          for (auto& [ticket, rp] : s.joins) rp.deliver(make_caf_error(errc::not_coordinator));
          for (auto& [ticket, rp] : s.syncs) rp.deliver(make_caf_error(errc::not_coordinator));
          // (The group goes on ticking: a lease that lapsed for a round comes back under
          // the same epoch, and its members' sessions still run.)
          s.joins.clear();
          s.syncs.clear();
        }
        note_members(s);
        consumer_group::deliveries out;
        s.group->tick(self->clock().now(), out);
        deliver(self, out);
        if (s.group->current_state() != consumer_group::state::empty || s.group->size() > 0 ||
            !s.joins.empty())
          ensure_ticking(self);
      },
      [=](directory_atom, actor_directory& next) { self->state.dir = std::move(next); },
  };
}

// -- directory -------------------------------------------------------------------------------

struct directory_state {
  std::shared_ptr<broker_context> ctx;
  actor_directory dir;  ///< handed to its coordinators, and every update after
  struct coordinator_entry {
    group_coordinator_actor actor;
    std::int64_t epoch = 0;  ///< of the group lease it was started under (0: no cluster)
  };
  std::map<std::string, coordinator_entry> groups;
  /// Retired coordinators, still linked: they forward until nobody holds their handle, and
  /// end with the directory (a broker stopping does not wait for their timers).
  std::set<caf::actor_addr> retired;
  /// For the offsets' retention: when this directory started (wall-clock ms; a group's
  /// emptying before it is unknown, so retention counts from here at the earliest), and
  /// when retired coordinators last saw their groups with members.
  std::int64_t started_ms = 0;
  std::map<std::string, std::int64_t> members_seen_ms;
  /// In a cluster, groups a retention pass chose whose leases were still to be taken are
  /// asked for again each renewal until this time (by the actor clock) for the pass of
  /// `retrying_pass_ms`.
  std::int64_t retrying_pass_ms = 0;
  caf::actor_clock::time_point retrying_until{};
  static inline const char* name = "portask.group_directory";
};

using directory_ptr = group_directory_actor::stateful_pointer<directory_state>;

// Remembers when a coordinator that stops last saw its group with members (nothing to keep
// when offsets never expire).
void note_members_seen(directory_state& st, const std::string& id, std::int64_t seen_ms) {
  if (seen_ms <= 0 || st.ctx->config.offsets_retention_ms < 0) return;
  auto& seen = st.members_seen_ms[id];
  seen = std::max(seen, seen_ms);
}

// The group's coordinator, spawned on first use. In a cluster, the group is coordinated by
// the node it hashes to among the live ones, once that node holds the group's lease (so that
// two nodes that briefly disagree about who is alive never both coordinate it).
// An empty group id is a group too: Kafka's offset APIs take it (the Kafka connection
// refuses it for the APIs that coordinate members, the native one for everything).
caf::expected<group_coordinator_actor> coordinator_for(directory_ptr self, const std::string& id) {
  const auto view = self->state.ctx->cluster();
  const auto* lease = view->group_lease(id);
  const auto cluster = self->state.dir.cluster;
  if (view->clustered && lease == nullptr) {
    if (view->coordinator(id) != view->self) return make_caf_error(errc::not_coordinator);
    if (cluster) self->send(cluster, group_atom::value, id, true);
    return make_caf_error(errc::not_ready);  // Kafka: COORDINATOR_NOT_AVAILABLE, retried
  }
  const std::int64_t epoch = lease != nullptr ? lease->epoch : 0;
  auto& groups = self->state.groups;
  auto it = groups.find(id);
  if (it != groups.end() && it->second.epoch != epoch) {
    // Started under an earlier lease of the group: it answers NOT_COORDINATOR from now on.
    // Whether it had members is not known here: retention counts from now.
    note_members_seen(self->state, id, wall_clock_ms());
    self->state.retired.insert(it->second.actor.address());
    groups.erase(it);
    it = groups.end();
  }
  if (it == groups.end()) {
    auto fence = lease != nullptr ? storage::lease_value(*lease) : std::string{};
    auto actor = self->spawn<caf::linked>(coordinator_impl, self->state.ctx, self->state.dir, id,
                                          caf::actor_cast<group_directory_actor>(self), std::move(fence),
                                          epoch);
    it = groups.emplace(id, directory_state::coordinator_entry{actor, epoch}).first;
    // Keep the lease while it runs: the cluster actor lets a group's lease go when no
    // coordinator starts under it within a lease time (a group id named once).
    if (view->clustered && cluster) self->send(cluster, group_atom::value, id, epoch);
  }
  return it->second.actor;
}

// Retention's list of groups whose offsets may have expired: each goes to its coordinator,
// which decides (it knows whether the group has members). A group with no coordinator here
// and offsets merely committed long ago is skipped while it had members too recently (or
// this directory started too recently), so that a restart does not spawn a coordinator for
// every old group on every pass.
void expire_groups(directory_ptr self, std::int64_t now_ms, const std::vector<std::string>& aged,
                   const std::vector<std::string>& due) {
  auto& st = self->state;
  const auto retention = st.ctx->config.offsets_retention_ms;
  if (retention < 0) return;  // kept for ever
  // Times older than retention no longer hold anything back (the start time does as much).
  for (auto it = st.members_seen_ms.begin(); it != st.members_seen_ms.end();)
    it = now_ms - it->second >= retention ? st.members_seen_ms.erase(it) : std::next(it);
  auto empty_since = [&](const std::string& id) {
    auto it = st.members_seen_ms.find(id);
    return std::max(st.started_ms, it == st.members_seen_ms.end() ? 0 : it->second);
  };
  std::vector<std::string> leasing;  // in a cluster: this node is taking their leases
  auto expire = [&](const std::string& id) {
    auto coordinator = coordinator_for(self, id);
    if (coordinator)
      self->send(*coordinator, expire_atom::value, now_ms, empty_since(id));
    else if (to_errc(coordinator.error()) == errc::not_ready)
      leasing.push_back(id);
  };
  for (const auto& id : due) expire(id);
  for (const auto& id : aged)
    if (std::find(due.begin(), due.end(), id) == due.end() &&
        (st.groups.count(id) > 0 || now_ms - empty_since(id) >= retention))
      expire(id);
  // Their leases come with the next lease round, and an unused group's lease is let go a
  // lease time after it was taken: the next pass would find it gone again. They are asked
  // for again (as due: they were chosen already) each renewal while the pass is recent (for
  // a lease time and a round: a dead node's lease runs out meanwhile).
  const auto& cluster = st.ctx->config.cluster;
  const auto clock_now = self->clock().now();
  if (st.retrying_pass_ms != now_ms) {  // a new pass: its own time to wait
    st.retrying_pass_ms = now_ms;
    st.retrying_until = clock_now + std::chrono::milliseconds(std::int64_t{cluster.lease_ms} + cluster.renew_ms);
  }
  if (!leasing.empty() && clock_now < st.retrying_until)
    self->delayed_send(self, std::chrono::milliseconds(cluster.renew_ms), expire_atom::value, now_ms,
                       std::vector<std::string>{}, std::move(leasing));
}

group_directory_actor::behavior_type directory_impl(directory_ptr self,
                                                    std::shared_ptr<broker_context> ctx,
                                                    actor_directory dir) {
  self->state.ctx = ctx;
  self->state.dir = std::move(dir);
  self->state.started_ms = wall_clock_ms();
  // A coordinator that fails is forgotten: the next request for its group spawns a fresh
  // one, and members rejoin (their old ids are unknown to it), as after a broker restart.
  self->set_exit_handler([=](caf::exit_msg& msg) {
    if (self->state.retired.erase(msg.source) > 0) return;  // a forwarder's end is no failure
    auto& groups = self->state.groups;
    for (auto it = groups.begin(); it != groups.end(); ++it) {
      if (it->second.actor.address() != msg.source) continue;
      // Idle and deleted groups' coordinators retire (moved to `retired` first), so an exit
      // of one still in the map is a failure.
      // Whether it had members is lost with it: retention counts from now.
      note_members_seen(self->state, it->first, wall_clock_ms());
      if (msg.reason)
        logging::groups().error("coordinator of group '{}' exited ({}); it restarts on next use", it->first,
                      self->system().render(msg.reason));
      else
        logging::groups().debug("coordinator of group '{}' stopped", it->first);
      // No coordinator runs for it any more: its lease is let go unless it is used again
      // (the next request starts one, which keeps it).
      if (auto cluster = self->state.dir.cluster; cluster && self->state.ctx->cluster()->clustered)
        self->send(cluster, group_atom::value, it->first, false);
      groups.erase(it);
      return;
    }
    if (msg.reason) self->quit(std::move(msg.reason));
  });
  return {
      [=](group_atom, const std::string& id) -> caf::result<group_coordinator_actor> {
        auto c = coordinator_for(self, id);
        if (!c) return std::move(c.error());
        return std::move(*c);
      },
      [=](expire_atom, std::int64_t now_ms, const std::vector<std::string>& aged,
          const std::vector<std::string>& due) { expire_groups(self, now_ms, aged, due); },
      [=](retire_atom, const std::string& id, std::int64_t members_seen_ms) {
        auto& groups = self->state.groups;
        auto it = groups.find(id);
        if (it == groups.end() ||
            it->second.actor.address() != caf::actor_cast<caf::actor_addr>(self->current_sender()))
          return;
        note_members_seen(self->state, id, members_seen_ms);
        // Its lease is let go at the cluster's next round (a new request takes it again).
        if (auto cluster = self->state.dir.cluster; cluster && self->state.ctx->cluster()->clustered)
          self->send(cluster, group_atom::value, id, false);
        // It only forwards from now on: its end is no longer a coordinator's failure. It stays
        // linked, so that it ends with the directory instead of outliving the broker's stop
        // (its pending timers would keep it alive up to a minute).
        self->state.retired.insert(it->second.actor.address());
        groups.erase(it);
      },
      [=](list_atom) -> caf::result<std::vector<group_description>> {
        // Live groups as their coordinators describe them, plus groups known only by their
        // committed offsets (Empty), as Kafka lists groups loaded from its offsets topic.
        struct pending {
          std::map<std::string, group_description> found;
          std::size_t outstanding = 1;
          caf::typed_response_promise<std::vector<group_description>> rp;
        };
        auto p = std::make_shared<pending>();
        p->rp = self->make_response_promise<std::vector<group_description>>();
        auto done = [p] {
          if (--p->outstanding > 0) return;
          std::vector<group_description> out;
          for (auto& [id, d] : p->found) out.push_back(std::move(d));
          p->rp.deliver(std::move(out));
        };
        for (const auto& [id, g] : self->state.groups) {
          ++p->outstanding;
          self->request(g.actor, 10s, describe_atom::value)
              .then([=](group_description& d) { p->found[d.group_id] = std::move(d); done(); },
                    [=](caf::error&) { done(); });
        }
        if (auto reader = self->state.dir.any_reader()) {
          ++p->outstanding;
          self->request(reader, 10s, list_atom::value)
              .then(
                  [=](std::vector<std::string>& ids) {
                    // In a cluster, only the groups this node coordinates, as each Kafka
                    // broker lists its own: another node's active group is not Empty here
                    // (clients merge the brokers' lists, the last answer winning).
                    const auto view = self->state.ctx->cluster();
                    for (auto& id : ids)
                      if (!p->found.count(id) && (!view->clustered || view->coordinator(id) == view->self)) {
                        group_description d;
                        d.group_id = id;
                        d.state = "Empty";
                        d.protocol_type = "consumer";
                        p->found.emplace(std::move(id), std::move(d));
                      }
                    done();
                  },
                  [=](caf::error&) { done(); });
        }
        auto result = p->rp;
        done();
        return result;
      },
      [=](directory_atom a, actor_directory& next) {
        auto& st = self->state;
        st.dir = std::move(next);
        for (const auto& [id, g] : st.groups) self->send(g.actor, a, st.dir);
      },
  };
}

}  // namespace

group_directory_actor spawn_group_directory(caf::actor_system& sys,
                                            std::shared_ptr<broker_context> ctx,
                                            actor_directory dir) {
  return sys.spawn(directory_impl, std::move(ctx), std::move(dir));
}

}  // namespace portask
