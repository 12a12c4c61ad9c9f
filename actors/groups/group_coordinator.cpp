#include "actors/groups/group_coordinator.hpp"

#include <algorithm>
#include <deque>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>

#include "actors/groups/consumer_group.hpp"
#include "actors/groups/group_waits.hpp"
#include "actors/groups/offsets_log.hpp"
#include "logging/loggers.hpp"
#include "protocol/kafka/consumer_protocol.hpp"
#include "protocol/topic_name.hpp"
#include "actors/pipeline/wall_clock.hpp"

namespace portask {
namespace {

using namespace std::chrono_literals;

// Time is the actor clock's (steady_clock in a running broker), so that deterministic tests
// move it by hand. How often a group with members (or with requests waiting for the store)
// checks sessions, rebalance deadlines and waits.
constexpr auto tick_interval = 100ms;
// A coordinator whose group has no members and saw neither a membership request nor a commit
// for this long stops (its offsets are in the store; the next request spawns a new one).
constexpr auto idle_limit = 60s;
// Any coordinator stays this long after the last request it served, reads included, before
// it stops: a tool polling a group without members (a lag exporter's OffsetFetch, a
// DescribeGroups) keeps one coordinator, rather than having one spawned per poll and, in a
// cluster, the group's lease let go and taken again under a new epoch each time. Short, so
// that requests naming groups nobody uses leave little behind. The directory's describe for
// ListGroups is no request of a client's and does not count.
constexpr auto request_grace = 5s;

/// A deletion of offsets waiting for the store: it starts when the store is free, and is
/// refused when it waited too long (an internal one, without `refuse`, waits as long as it
/// takes).
struct store_task {
  caf::actor_clock::time_point since;
  std::function<void()> start;
  std::function<void(const caf::error&)> refuse;
};

struct queued_commit {
  std::vector<storage::group_offset> offsets;
  caf::typed_response_promise<bool> rp;
  caf::actor_clock::time_point since;
  std::int64_t received_ms = 0;  ///< wall clock: whether it came before a topic's deletion
};

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
  /// The group's writes to the store go one at a time (store_busy while one is out): commits
  /// wait in `queued_commits` (the next round trip takes all of them: one HSET however many
  /// requests, as the storage writer does for batches), deletions in `store_waiting`.
  bool store_busy = false;
  std::vector<queued_commit> queued_commits;
  std::deque<store_task> store_waiting;
  /// Whether this coordinator holds anything of the group beyond its stored offsets: members,
  /// ids handed out to join with, or commits, since it started or the group was last deleted
  /// (or lost its last offset). Without, it retires request_grace after its last request:
  /// reads (DescribeGroups, OffsetFetch) and requests for groups that do not exist leave
  /// nothing behind for long.
  bool in_use = false;
  bool retired = false;
  /// The last join, sync, heartbeat, leave or commit (reads are no activity).
  consumer_group::time_point last_activity{};
  /// The last request of a client's, reads included.
  consumer_group::time_point last_request{};
  /// When the earliest idle check pending fires (max: none is).
  consumer_group::time_point idle_check_at = consumer_group::time_point::max();
  /// The last time (wall-clock ms) this coordinator saw the group with members; 0: never.
  /// Its offsets' retention counts from then at the earliest.
  std::int64_t members_seen_ms = 0;
  // The offsets-topic mirror: whether the topic is known to exist, and the last membership
  // written to it (a record per new stable generation, and one when the group empties).
  bool offsets_topic_ready = false;
  std::int32_t mirrored_generation = -1;
  bool mirrored_empty = true;
  // The group's metadata (protocol type, generation) in the store: the last this coordinator
  // wrote or read (none: neither yet, or that write failed), whether the store holds it (it
  // keeps a group's metadata only while the group has offsets), and writes of it not
  // answered yet.
  std::optional<storage::group_metadata> metadata_written;
  bool metadata_held = false;
  std::size_t metadata_writes = 0;
  /// Whether the group's protocol type and generation are known here: a member joined under
  /// this coordinator, or the store was read. Until then a describe reads them.
  bool metadata_known = false;
  /// A coordinator that ends (it failed, or its directory stopped and took it along) answers
  /// what it holds: a parked join or sync has no deadline of its asker's (connections ask
  /// with none), and would otherwise hold a client's ordered answers until its own timeout.
  /// Not ready is retriable: Kafka clients look the coordinator up again.
  ~coordinator_state() {
    for (auto& [ticket, rp] : joins) rp.deliver(make_caf_error(errc::not_ready));
    for (auto& [ticket, rp] : syncs) rp.deliver(make_caf_error(errc::not_ready));
    for (auto& c : queued_commits) c.rp.deliver(make_caf_error(errc::not_ready));
    for (auto& t : store_waiting)
      if (t.refuse) t.refuse(make_caf_error(errc::not_ready));
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

// The end (exclusive) of the generations the coordinator's group may reach: in a cluster its
// lease's 65535 after the first, so that a generation stored under another lease (higher,
// once the epochs wrapped) is not taken and carried past int32; on a single node, any.
std::int32_t generations_end(const coordinator_state& s) {
  if (s.fence.empty()) return std::numeric_limits<std::int32_t>::max();
  return first_generation(s.epoch) + 0xFFFF;
}

// The coordinator's group as it starts: no members, no protocol type, and the generation
// before its first rebalance.
std::unique_ptr<consumer_group> new_group(const coordinator_state& s) {
  const auto& config = s.ctx->config;
  group_limits limits;
  limits.initial_rebalance_delay = std::chrono::milliseconds(config.group_initial_rebalance_delay_ms);
  limits.min_session_timeout_ms = static_cast<std::int32_t>(config.group_min_session_timeout_ms);
  limits.max_session_timeout_ms = static_cast<std::int32_t>(config.group_max_session_timeout_ms);
  limits.max_size = config.group_max_size;
  return std::make_unique<consumer_group>(s.group_id, limits, first_generation(s.epoch));
}

// Writes `pb` (about `group`) to the offsets topic through the bridge, creating the topic on
// first use. Best effort: the group store holds the truth, so a failure is logged, not
// returned. For a coordinator, and for the directory cleaning groups that have none.
template <class Self>
void mirror_batch(Self self, const std::string& group, publish_batch pb) {
  if (pb.batch.messages.empty()) return;
  auto warn = [=](const caf::error& e) {
    if (to_errc(e) == errc::not_leader) return;  // another node owns that partition of it
    logging::groups().warn("group '{}': not mirrored to {}: {}", group, protocol::offsets_topic,
                           self->system().render(e));
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

void mirror(coordinator_ptr self, publish_batch pb) {
  mirror_batch(self, self->state.group_id, std::move(pb));
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

void store_membership(coordinator_ptr self);

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
  store_membership(self);
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

// A store call of the group's past this is answered an error (group_waits.hpp: for a write,
// an unknown outcome).
std::chrono::milliseconds store_call_timeout(coordinator_ptr self) {
  return group_store_call_timeout(self->state.ctx->config);
}

// -- the group's metadata in the store -------------------------------------------------------
// Kafka keeps a group's protocol type and generation in its metadata record, written when a
// generation becomes stable and when the group empties, and a coordinator that loads the
// group takes them back: an Empty group is listed and described with them. Here they are
// stored beside the group's offsets, and kept only while it has some (a group that never
// commits leaves nothing behind, one that lost its last offset is gone). A coordinator that
// has seen no member of its group reads them when it describes it; the directory lists them
// for groups without a coordinator.

void settle(coordinator_ptr self);

// Writes `m` as the group's metadata. Not queued with the offsets' writes: the store keeps it
// only beside offsets, and a write that found none is made again once a commit stored some.
// The reader answers in the order asked, so a commit's answer comes after every metadata
// write sent before it. A write that failed is made again at the next tick (an Empty group
// may see no other change that would write it), unless the group moved to another node
// (whose coordinator writes its own) or a later write went out meanwhile; the coordinator
// does not retire before (at_rest).
void write_metadata(coordinator_ptr self, storage::group_metadata m) {
  auto& s = self->state;
  auto reader = reader_of(self);
  if (!reader || moved(self)) return;
  s.metadata_written = m;
  ++s.metadata_writes;
  self->request(reader, store_call_timeout(self), commit_atom::value, s.group_id, m, s.fence)
      .then(
          [=](bool stored) {
            --self->state.metadata_writes;
            self->state.metadata_held = stored;
            settle(self);  // a write out kept the coordinator from retiring (at_rest)
          },
          [=](caf::error& e) {
            auto& now = self->state;
            --now.metadata_writes;
            now.metadata_held = false;
            logging::groups().debug("group '{}': metadata not stored: {}", now.group_id, self->system().render(e));
            if (to_errc(e) != errc::not_coordinator && now.metadata_written == m) {
              now.metadata_written.reset();
              ensure_ticking(self);
            }
            settle(self);
          });
}

// The group's protocol type and generation now (a group that has neither had a member here
// nor had them read from the store has none to tell).
std::optional<storage::group_metadata> current_metadata(const consumer_group& g) {
  if (g.protocol_type().empty()) return std::nullopt;
  return storage::group_metadata{g.protocol_type(), g.generation()};
}

// Whether the group's metadata is still to be written (at the next tick): its last write
// failed, or could not be sent (no reader).
bool metadata_owed(coordinator_ptr self) {
  const auto& s = self->state;
  const auto now = current_metadata(*s.group);
  return now && s.metadata_writes == 0 && s.metadata_written != now && !moved(self);
}

// After any change of membership, and at each tick: a generation that became stable, or a
// group that emptied, is written when its protocol type or generation is not the one last
// written.
void store_membership(coordinator_ptr self) {
  const auto& g = *self->state.group;
  if (g.current_state() != consumer_group::state::stable && g.current_state() != consumer_group::state::empty)
    return;
  auto now = current_metadata(g);
  if (!now || self->state.metadata_written == now) return;
  write_metadata(self, std::move(*now));
}

// Offsets were stored: a group whose metadata the store does not hold (written while the
// group had no offsets, or the write failed) has it written now.
void store_metadata_beside_offsets(coordinator_ptr self) {
  auto& s = self->state;
  if (s.metadata_held || s.metadata_writes > 0) return;
  if (auto now = current_metadata(*s.group)) write_metadata(self, std::move(*now));
}

// A coordinator that has seen no member of its group takes the protocol type and generation
// the store keeps (Kafka's coordinator loading the group), and knows the store holds them. A
// group without offsets keeps nothing: it is gone, or was never there. A stored generation
// the group did not take (another lease's: generations_end) owes no write either: the group's
// own is where its lease starts, handed out to nobody yet, and its next stable one is written.
// (Owed, it would be written at the next tick, over the stored generation, and would hold the
// coordinator until then: at_rest.)
void restore_metadata(coordinator_state& s, const stored_group& stored) {
  s.metadata_known = true;
  if (stored.offsets.empty()) return;
  s.group->restore(stored.metadata.protocol_type, stored.metadata.generation, generations_end(s));
  s.metadata_written = current_metadata(*s.group).value_or(stored.metadata);
  s.metadata_held = true;
}

// -- handover --------------------------------------------------------------------------------
// A coordinator that stops by design (idle, its group deleted, or nothing of the group held)
// must leave no moment in which a request sent to its handle is refused: it tells the
// directory to forget it (the next lookup spawns a successor, which reads the group's offsets
// from the store) and from then on forwards whatever still reaches it through an old handle
// to that successor. Its retire message goes out before any of its lookups, so the directory
// never hands it back to itself. It holds no group state any more; CAF terminates it once
// nobody holds its handle, and the directory's end (a broker stopping) ends it too.

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
        return forward_to_successor<std::vector<topic_partition>>(self, a, std::move(tps), whole_group);
      },
      // A deleted topic the directory told this one of before it heard of the retirement:
      // the successor deletes its offsets.
      [=](delete_atom a, std::string& topic, std::int64_t deleted_ms) {
        return forward_to_successor<bool>(self, a, std::move(topic), deleted_ms);
      },
      [](tick_atom) {},
      [](expire_atom) {},
      // The directory sends its next expiry to the successor.
      [](expire_atom, std::int64_t, std::int64_t) {},
      [=](directory_atom, actor_directory& next) { self->state.dir = std::move(next); },
  };
}

// The line for a deleted topic's offsets removed from a group (by its coordinator or by the
// directory's sweep).
void log_deleted_topic_offsets(const std::string& group, std::size_t removed, const std::string& topic) {
  logging::groups().info("group '{}': {} committed offset(s) of deleted topic '{}' removed", group, removed, topic);
}

// Whether the group has members, or ids handed out to join with.
bool holds_members(const coordinator_state& s) { return s.group->size() > 0 || s.group->has_pending_ids(); }

// Nothing a successor would have to take over: no member or id handed out to join with, no
// request or write in flight or waiting, the group's metadata included: a write of it out or
// owed after a failure would leave the store holding the generation before, which a successor
// restores and could hand out again. A store that fails every write keeps such a coordinator,
// writing again at each tick once the last write failed (one write out at a time); that costs
// little and only while the store fails, and in a cluster a node that cannot reach the store
// gives up its leases, so the group moves and nothing is owed here any more (metadata_owed).
bool at_rest(coordinator_ptr self) {
  const auto& s = self->state;
  return !holds_members(s) && s.joins.empty() && s.syncs.empty() && !s.store_busy &&
         s.queued_commits.empty() && s.store_waiting.empty() && s.metadata_writes == 0 &&
         !metadata_owed(self);
}

void retire(coordinator_ptr self) {
  auto& s = self->state;
  if (s.retired) return;
  s.retired = true;
  logging::groups().debug("group '{}': coordinator retires (no members, nothing pending)", s.group_id);
  self->send(s.directory, retire_atom::value, s.group_id, s.members_seen_ms);
  self->become(forwarding(self));
}

// When a coordinator at rest retires: request_grace after the last request, and while it
// holds something of its group, not before idle_limit after the last activity either.
consumer_group::time_point retire_at(const coordinator_state& s) {
  const auto after_request = s.last_request + request_grace;
  return s.in_use ? std::max(after_request, s.last_activity + idle_limit) : after_request;
}

// The idle check fires at `at` (sooner when one is pending already: it looks again then).
void arm_idle_check(coordinator_ptr self, consumer_group::time_point at) {
  auto& s = self->state;
  if (s.idle_check_at <= at) return;
  s.idle_check_at = at;
  self->delayed_send(self, at - self->clock().now(), expire_atom::value);
}

// Called once a request is answered, a write is done, or the idle check fires: a coordinator
// at rest retires when its time has come, else its idle check is armed for then. (One not at
// rest is called again when it comes to rest.)
void settle(coordinator_ptr self) {
  auto& s = self->state;
  if (s.retired) return;
  // Metadata owed is written at a tick, so one is due whatever left it owed (a failed write,
  // the group's lease back on this node): without one the coordinator would never come to rest.
  if (metadata_owed(self)) ensure_ticking(self);
  if (!at_rest(self)) return;
  const auto at = retire_at(s);
  if (self->clock().now() >= at) return retire(self);
  arm_idle_check(self, at);
}

// A client's request (not the directory's: its ListGroups describe, retention's expiry, a
// deleted topic's cleanup): the coordinator stays request_grace after it.
void note_request(coordinator_ptr self) {
  self->state.last_request = self->clock().now();
}

// A join: the group holds something now, and once a member joined, its protocol type and
// generation are this coordinator's to tell.
void note_use(coordinator_state& s) {
  if (holds_members(s)) s.in_use = true;
  if (s.group->size() > 0) s.metadata_known = true;
}

// A group with neither members nor committed offsets left is gone, as Kafka's Empty group
// without offsets becomes Dead: nothing keeps its coordinator once it is at rest, and until
// it retires, describe reads the store to say so. The store removed its metadata with its
// last offset; a group that comes back under its name (a standalone consumer's commit, a
// join) is a new one, without the protocol type or generation of the old, as in Kafka.
void forget_if_gone(coordinator_state& s, std::size_t offsets_left) {
  if (offsets_left > 0) return;
  s.metadata_held = false;
  if (holds_members(s)) return;
  s.in_use = false;
  s.group = new_group(s);  // nothing of it to keep: no member, no id handed out, no parked request
  s.mirrored_generation = -1;
  s.mirrored_empty = true;
  s.metadata_written.reset();
  s.metadata_known = true;
}

// While the group has members its offsets do not expire; the time it last had them is kept
// for the retention that starts once they are gone.
void note_members(coordinator_state& s) {
  if (s.group->size() > 0) s.members_seen_ms = wall_clock_ms();
}

// A join, sync, heartbeat, leave or commit: counts for the idle check. Returns the time.
consumer_group::time_point activity(coordinator_ptr self) {
  const auto t = self->clock().now();
  self->state.last_activity = t;
  self->state.last_request = t;
  note_members(self->state);
  return t;
}

// -- the store, one write at a time ---------------------------------------------------------
// A deletion reads the offsets it deletes from and then deletes them with nothing stored in
// between (a commit landing there would be deleted with them, or a member's subscription
// read before it joined), and a coordinator never retires with a write half done. Deletions
// waiting go before commits queued meanwhile (either order is one the clients could see).

void flush_commits(coordinator_ptr self);

// The store's current write is done: the next waiting deletion, or the queued commits.
void store_done(coordinator_ptr self) {
  auto& s = self->state;
  s.store_busy = false;
  if (!s.store_waiting.empty()) {
    auto task = std::move(s.store_waiting.front());
    s.store_waiting.pop_front();
    s.store_busy = true;
    task.start();
  } else {
    flush_commits(self);
  }
  settle(self);
}

// Runs `task` when the store is free; it calls store_done when its writes are done.
void when_store_free(coordinator_ptr self, store_task task) {
  auto& s = self->state;
  if (s.store_busy) {
    s.store_waiting.push_back(std::move(task));
    ensure_ticking(self);  // its wait is bounded
    return;
  }
  s.store_busy = true;
  task.start();
}

// Stores every queued commit in one round trip; later offsets of a partition win because
// the store applies them in order.
void flush_commits(coordinator_ptr self) {
  auto& st = self->state;
  if (st.store_busy || st.queued_commits.empty()) return;
  auto batch = std::move(st.queued_commits);
  st.queued_commits.clear();
  auto fail_all = [](auto& b, const caf::error& e) {
    for (auto& c : b) c.rp.deliver(e);
  };
  auto reader = reader_of(self);
  if (!reader) return fail_all(batch, make_caf_error(errc::not_ready));
  std::vector<storage::group_offset> all;
  for (auto& c : batch)
    all.insert(all.end(), std::make_move_iterator(c.offsets.begin()),
               std::make_move_iterator(c.offsets.end()));
  if (all.empty()) {  // every offset was of a topic deleted meanwhile: nothing to store
    for (auto& c : batch) c.rp.deliver(true);
    return;
  }
  st.store_busy = true;
  auto shared = std::make_shared<decltype(batch)>(std::move(batch));
  auto stored = commit_records(st.group_id, all, wall_clock_ms());
  self->request(reader, store_call_timeout(self), commit_atom::value, st.group_id, std::move(all), st.fence)
      .then(
          [=](bool) mutable {
            mirror(self, std::move(stored));
            for (auto& c : *shared) c.rp.deliver(true);
            store_metadata_beside_offsets(self);
            store_done(self);
          },
          [=](caf::error& e) {
            fail_all(*shared, e);
            store_done(self);
          });
}

// Commits and deletions that waited for the store past group_store_wait_limit are refused
// (before their store call started: they were not applied).
void refuse_stale_waits(coordinator_ptr self) {
  auto& s = self->state;
  const auto now = self->clock().now();
  const auto timeout = make_caf_error(errc::timeout);
  std::vector<queued_commit> fresh;
  for (auto& c : s.queued_commits) {
    if (now - c.since < group_store_wait_limit)
      fresh.push_back(std::move(c));
    else
      c.rp.deliver(timeout);
  }
  s.queued_commits = std::move(fresh);
  std::deque<store_task> waiting;
  for (auto& t : s.store_waiting) {
    if (!t.refuse || now - t.since < group_store_wait_limit)
      waiting.push_back(std::move(t));
    else
      t.refuse(timeout);
  }
  s.store_waiting = std::move(waiting);
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

// The topics a Kafka consumer group's members subscribe to, read from their
// ConsumerProtocolSubscription (for the group's protocol); nothing when the group is not such
// a group or a member's subscription cannot be read (then no topic counts as unsubscribed).
std::optional<std::set<std::string>> subscribed_topics(const consumer_group& g) {
  if (g.protocol_type() != "consumer") return {};
  std::set<std::string> topics;
  for (const auto& m : g.describe().members) {
    auto subscribed = protocol::kafka::decode_consumer_subscription(protocol::as_bytes(m.metadata));
    if (!subscribed) return {};
    topics.insert(subscribed->begin(), subscribed->end());
  }
  return topics;
}

// Retention's rule for a group with members: only a stable consumer group's subscriptions
// are known well enough to let other topics' offsets expire.
std::optional<std::set<std::string>> stable_subscriptions(const consumer_group& g) {
  if (g.current_state() != consumer_group::state::stable) return {};
  return subscribed_topics(g);
}

/// OffsetDelete's partitions: those whose offsets go, and those kept because a member
/// subscribes to their topic.
struct offset_split {
  std::vector<topic_partition> gone;
  std::vector<topic_partition> kept;
};

// Kafka's OffsetDelete rule, decided by the group as it is now: a group without members
// loses every offset asked for; a consumer group with members keeps those of topics a member
// subscribes to (all of them when a member's subscription cannot be read, as Kafka counts a
// group whose subscriptions it cannot tell); another kind of group with members refuses
// (nothing: NON_EMPTY_GROUP).
std::optional<offset_split> split_by_subscription(const consumer_group& g,
                                                  const std::vector<topic_partition>& tps) {
  offset_split out;
  if (g.size() == 0) {
    out.gone = tps;
    return out;
  }
  if (g.protocol_type() != "consumer") return std::nullopt;
  const auto topics = subscribed_topics(g);
  for (const auto& tp : tps) (topics && topics->count(tp.topic) == 0 ? out.gone : out.kept).push_back(tp);
  return out;
}

// Deletes the group's offsets past retention: all of them may go when the group has no
// members; in a stable consumer group, as in Kafka, only those of topics no member
// subscribes to (counted from their commit). It holds the store meanwhile, so no commit is
// stored between the read and the deletion and then deleted with them.
void expire_offsets(coordinator_ptr self, std::int64_t now_ms, std::int64_t empty_since_ms) {
  auto& s = self->state;
  if (moved(self) || !s.joins.empty() || !s.syncs.empty() || s.store_busy ||
      !s.store_waiting.empty() || !s.queued_commits.empty())
    return;  // a rebalance or a write under way: nothing expires now (the next pass tries)
  if (s.group->size() > 0 && !stable_subscriptions(*s.group)) return;
  auto reader = reader_of(self);
  const auto retention = s.ctx->config.offsets_retention_ms;
  if (!reader || retention < 0) return;
  s.store_busy = true;
  auto done = [=] { store_done(self); };
  auto failed = [=](caf::error& e) {
    // Fenced out: the group moved to another node, whose coordinator expires them now.
    if (e == make_caf_error(errc::not_coordinator))
      logging::groups().info("group '{}': expired offsets left to its new coordinator", self->state.group_id);
    else
      logging::groups().warn("group '{}': expired offsets not deleted: {}", self->state.group_id,
                             self->system().render(e));
    done();
  };
  self->request(reader, store_call_timeout(self), offset_atom::value, s.group_id)
      .then(
          [=](std::vector<storage::group_offset>& all) {
            // Read now: members may have come or gone, or the group moved to another node.
            auto& now_state = self->state;
            if (moved(self) || !now_state.joins.empty()) return done();
            const bool members = now_state.group->size() > 0;
            const auto subscribed = members ? stable_subscriptions(*now_state.group) : std::nullopt;
            if (members && !subscribed) return done();
            // With members, an unsubscribed topic's offset counts from its commit (never from
            // before the directory started); without, from the group's emptying too.
            const auto since = members ? empty_since_ms : std::max(empty_since_ms, now_state.members_seen_ms);
            std::vector<topic_partition> gone;
            for (const auto& o : all)
              if ((!subscribed || !subscribed->count(o.tp.topic)) && expired(o.offset, now_ms, since, retention))
                gone.push_back(o.tp);
            if (gone.empty()) {
              forget_if_gone(now_state, all.size());
              return done();
            }
            const bool whole_group = !members && gone.size() == all.size();
            const auto left = all.size() - gone.size();
            self->request(reader, store_call_timeout(self), delete_atom::value, self->state.group_id, gone,
                          self->state.fence)
                .then(
                    [=](bool) {
                      logging::groups().info("group '{}': {} committed offset(s) expired{}",
                                             self->state.group_id, gone.size(),
                                             whole_group ? ", none left" : "");
                      mirror(self, tombstones(self->state.group_id, gone, whole_group, wall_clock_ms()));
                      // With members too: the store removed the group's metadata with its
                      // last offset, to be written again beside the next commit's.
                      forget_if_gone(self->state, left);
                      done();
                    },
                    failed);
          },
          failed);
}

// DeleteGroups (`whole_group`) or OffsetDelete (`tps`), holding the store: the group's
// offsets are read first (for the tombstones, and whether the group exists at all), then
// what goes is decided by the group as it is then (a member may have joined meanwhile) and
// deleted. Answers the partitions kept.
void delete_offsets(coordinator_ptr self, caf::typed_response_promise<std::vector<topic_partition>> rp,
                    std::vector<topic_partition> tps, bool whole_group) {
  auto reader = reader_of(self);
  if (!reader) {
    rp.deliver(make_caf_error(errc::not_ready));
    return store_done(self);
  }
  auto fail = [=](caf::error& e) mutable {
    rp.deliver(std::move(e));
    store_done(self);
  };
  const auto group = self->state.group_id;
  self->request(reader, store_call_timeout(self), offset_atom::value, group)
      .then(
          [=](std::vector<storage::group_offset>& offsets) mutable {
            auto& s = self->state;
            auto refuse = [&](errc e) {
              rp.deliver(make_caf_error(e));
              store_done(self);
            };
            // Known only through its committed offsets, and it has none: it does not exist
            // (GROUP_ID_NOT_FOUND, as Kafka answers DeleteGroups and OffsetDelete).
            if (offsets.empty() && !s.in_use) return refuse(errc::unknown_group);
            offset_split split;
            if (whole_group) {
              // A member that joined meanwhile would lose the commits it is about to make.
              if (s.group->size() > 0) return refuse(errc::group_not_empty);
              for (const auto& o : offsets) split.gone.push_back(o.tp);
            } else {
              auto by_subscription = split_by_subscription(*s.group, tps);
              if (!by_subscription) return refuse(errc::group_not_empty);
              split = std::move(*by_subscription);
            }
            if (!whole_group && split.gone.empty()) {
              rp.deliver(std::move(split.kept));
              return store_done(self);
            }
            const std::set<topic_partition> going(split.gone.begin(), split.gone.end());
            const auto left = static_cast<std::size_t>(std::count_if(
                offsets.begin(), offsets.end(), [&](const auto& o) { return going.count(o.tp) == 0; }));
            auto to_delete = whole_group ? std::vector<topic_partition>{} : split.gone;
            self->request(reader, store_call_timeout(self), delete_atom::value, group, std::move(to_delete), s.fence)
                .then(
                    [=](bool) mutable {
                      auto& after = self->state;
                      mirror(self, tombstones(group, split.gone, whole_group, wall_clock_ms()));
                      // A deleted group is gone: a successor starts from the store.
                      forget_if_gone(after, whole_group ? std::size_t{0} : left);
                      rp.deliver(split.kept);
                      store_done(self);
                    },
                    fail);
          },
          fail);
}

// The partitions of `topic` among `all` whose offsets were committed at or before
// `deleted_ms`, when the topic was deleted: a topic created again under the name may have
// offsets committed since, which are its own. (An offset's commit time is the coordinator's
// clock when the commit came, or the one an OffsetCommit v1 gave; in a cluster, nodes' clocks
// differ by far less than a topic takes to be created again and consumed from.)
std::vector<topic_partition> committed_until(const std::vector<storage::group_offset>& all,
                                             const std::string& topic, std::int64_t deleted_ms) {
  std::vector<topic_partition> out;
  for (const auto& o : all)
    if (o.tp.topic == topic && o.offset.commit_time_ms <= deleted_ms) out.push_back(o.tp);
  return out;
}

// A deleted topic's offsets go from the group, holding the store (Kafka's
// onPartitionsDeleted): a topic created again under the name starts without them. Answers
// true once they are gone (the directory tries again after an error).
void drop_topic(coordinator_ptr self, caf::typed_response_promise<bool> rp, const std::string& topic,
                std::int64_t deleted_ms) {
  auto reader = reader_of(self);
  if (!reader) {
    rp.deliver(make_caf_error(errc::not_ready));
    return store_done(self);
  }
  auto failed = [=](caf::error& e) mutable {
    logging::groups().warn("group '{}': offsets of deleted topic '{}' not deleted: {}",
                           self->state.group_id, topic, self->system().render(e));
    rp.deliver(std::move(e));
    store_done(self);
  };
  const auto group = self->state.group_id;
  self->request(reader, store_call_timeout(self), offset_atom::value, group)
      .then(
          [=](std::vector<storage::group_offset>& all) mutable {
            auto gone = committed_until(all, topic, deleted_ms);
            const auto left = all.size() - gone.size();
            if (gone.empty()) {
              forget_if_gone(self->state, left);
              rp.deliver(true);
              return store_done(self);
            }
            self->request(reader, store_call_timeout(self), delete_atom::value, group, gone,
                          self->state.fence)
                .then(
                    [=](bool) mutable {
                      log_deleted_topic_offsets(group, gone.size(), topic);
                      mirror(self, tombstones(group, gone, false, wall_clock_ms()));
                      forget_if_gone(self->state, left);
                      rp.deliver(true);
                      store_done(self);
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
  st.group = new_group(st);
  // Spawned for a request on its way (or for the directory's work): its grace runs from now.
  st.last_activity = self->clock().now();
  st.last_request = st.last_activity;
  arm_idle_check(self, retire_at(st));
  return {
      [=](join_atom, join_group_request& req) -> caf::result<join_group_result> {
        if (moved(self)) return make_caf_error(errc::not_coordinator);
        auto& s = self->state;
        const auto ticket = s.next_ticket++;
        consumer_group::deliveries out;
        auto r = s.group->join(req, ticket, activity(self), out);
        note_use(s);
        ensure_ticking(self);
        if (r) {
          deliver(self, out);
          settle(self);
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
        auto r = s.group->sync(req, ticket, activity(self), out);
        if (r) {
          deliver(self, out);
          settle(self);
          return std::move(*r);
        }
        auto rp = self->make_response_promise<sync_group_result>();
        s.syncs.emplace(ticket, rp);
        deliver(self, out);
        return rp;
      },
      [=](heartbeat_atom, const member_ref& m) -> caf::result<bool> {
        if (moved(self)) return make_caf_error(errc::not_coordinator);
        const auto e = self->state.group->heartbeat(m, activity(self));
        settle(self);
        if (e != errc::ok) return make_caf_error(e);
        return true;
      },
      [=](leave_atom, const std::vector<member_ref>& members) -> caf::result<std::vector<std::int32_t>> {
        // A member leaving a group this node no longer coordinates is told to find the
        // coordinator (NOT_COORDINATOR), as Kafka's is, not that it left.
        if (moved(self)) return make_caf_error(errc::not_coordinator);
        consumer_group::deliveries out;
        auto results = self->state.group->leave(members, activity(self), out);
        deliver(self, out);
        settle(self);
        std::vector<std::int32_t> codes;
        for (auto e : results) codes.push_back(static_cast<std::int32_t>(e));
        return codes;
      },
      [=](commit_atom, commit_offsets_request& req) -> caf::result<bool> {
        if (moved(self)) return make_caf_error(errc::not_coordinator);
        auto& s = self->state;
        if (auto e = s.group->may_commit(req.member, activity(self)); e != errc::ok) {
          logging::groups().debug("group '{}': commit by {} (generation {}) refused: {}", s.group_id,
                        req.member.member_id, req.member.generation, to_string(e));
          settle(self);
          return make_caf_error(e);
        }
        if (logging::groups().should_log(spdlog::level::debug))
          for (const auto& o : req.offsets)
            logging::groups().debug("group '{}': {} commits {}/{} at {}", s.group_id,
                          req.member.member_id, o.tp.topic, o.tp.partition, o.offset.offset);
        const auto committed_at = wall_clock_ms();
        for (auto& o : req.offsets)
          if (o.offset.commit_time_ms < 0) o.offset.commit_time_ms = committed_at;
        s.in_use = true;  // a standalone consumer commits again soon
        auto rp = self->make_response_promise<bool>();
        s.queued_commits.push_back({std::move(req.offsets), rp, self->clock().now(), committed_at});
        if (s.store_busy) ensure_ticking(self);  // its wait is bounded
        flush_commits(self);
        return rp;
      },
      // Reads are no activity (a tool polling a group does not keep its group in use), but
      // requests: the coordinator stays request_grace after each.
      [=](offset_atom, const std::vector<topic_partition>& tps)
          -> caf::result<std::vector<storage::group_offset>> {
        note_request(self);
        auto reader = reader_of(self);
        if (!reader) {
          settle(self);
          return make_caf_error(errc::not_ready);
        }
        auto rp = self->make_response_promise<std::vector<storage::group_offset>>();
        logging::groups().debug("group '{}': offsets fetched ({} partitions asked)", self->state.group_id,
                      tps.size());
        self->request(reader, store_call_timeout(self), offset_atom::value, self->state.group_id)
            .then(
                [=](std::vector<storage::group_offset>& all) mutable {
                  if (tps.empty()) {
                    rp.deliver(std::move(all));
                    return settle(self);
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
                  settle(self);
                },
                [=](caf::error& e) mutable {
                  rp.deliver(std::move(e));
                  settle(self);
                });
        return rp;
      },
      [=](describe_atom) -> caf::result<group_description> {
        // ListGroups asks every coordinator through the directory: no client's request.
        const auto& own_directory = self->state.directory;
        if (!own_directory || caf::actor_cast<caf::actor_addr>(self->current_sender()) != own_directory.address())
          note_request(self);
        auto d = self->state.group->describe();
        // A group this coordinator holds nothing of exists only through what the store keeps:
        // Empty with committed offsets (after a restart, or standalone commits), with the
        // protocol type and generation it had (Kafka's Empty group keeps them), Dead with none,
        // as in Kafka, which describes a group it does not hold (deleted, or never there) with
        // no protocol type or protocol. The store is read while the group's protocol type and
        // generation are not known here, and while the coordinator holds nothing of it.
        auto reader = reader_of(self);
        if (d.state != "Empty" || (self->state.in_use && self->state.metadata_known) || !reader) {
          settle(self);
          return d;
        }
        auto rp = self->make_response_promise<group_description>();
        self->request(reader, store_call_timeout(self), describe_atom::value, self->state.group_id)
            .then(
                [=](stored_group& stored) mutable {
                  auto& s = self->state;
                  if (!s.metadata_known) {
                    // No member joined meanwhile: the group is as it was asked about.
                    restore_metadata(s, stored);
                    d = s.group->describe();
                  }
                  if (stored.offsets.empty() && !s.in_use) {
                    d.state = "Dead";
                    d.protocol_type.clear();
                    d.protocol_name.clear();
                  }
                  rp.deliver(std::move(d));
                  settle(self);
                },
                [=](caf::error&) mutable {
                  rp.deliver(std::move(d));
                  settle(self);
                });
        return rp;
      },
      [=](delete_atom, std::vector<topic_partition>& tps,
          bool whole_group) -> caf::result<std::vector<topic_partition>> {
        note_request(self);
        if (moved(self)) return make_caf_error(errc::not_coordinator);
        auto& s = self->state;
        if (whole_group && s.group->size() > 0) return make_caf_error(errc::group_not_empty);
        // Nothing asked of a group known to exist (a group known only by its offsets is
        // looked up: it may not exist).
        if (!whole_group && tps.empty() && s.in_use) return std::vector<topic_partition>{};
        auto rp = self->make_response_promise<std::vector<topic_partition>>();
        when_store_free(self, {self->clock().now(),
                               [=]() mutable { delete_offsets(self, rp, tps, whole_group); },
                               [=](const caf::error& e) mutable { rp.deliver(e); }});
        return rp;
      },
      [=](delete_atom, std::string& topic, std::int64_t deleted_ms) -> caf::result<bool> {
        // Commits of it that came before the deletion and still wait would be stored after
        // the deletion's read, and outlive it: they go now, their askers hearing they were
        // stored (as they were, then deleted with the rest). Commits that came after are the
        // new topic's, and are stored.
        auto& s = self->state;
        for (auto& c : s.queued_commits)
          if (c.received_ms <= deleted_ms)
            std::erase_if(c.offsets, [&](const storage::group_offset& o) { return o.tp.topic == topic; });
        auto rp = self->make_response_promise<bool>();
        when_store_free(self, {self->clock().now(), [=]() mutable { drop_topic(self, rp, topic, deleted_ms); }, {}});
        return rp;
      },
      [=](expire_atom, std::int64_t now_ms, std::int64_t empty_since_ms) {
        expire_offsets(self, now_ms, empty_since_ms);
        settle(self);
      },
      [=](expire_atom) {
        auto& s = self->state;
        if (self->clock().now() >= s.idle_check_at) s.idle_check_at = consumer_group::time_point::max();
        settle(self);
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
        refuse_stale_waits(self);
        if (s.group->current_state() != consumer_group::state::empty || holds_members(s) ||
            !s.joins.empty() || !s.queued_commits.empty() ||
            !s.store_waiting.empty() || metadata_owed(self))
          ensure_ticking(self);
        settle(self);
      },
      [=](directory_atom, actor_directory& next) { self->state.dir = std::move(next); },
  };
}

// -- directory -------------------------------------------------------------------------------

/// A deleted topic's offsets being removed from every group: a few groups at a time, and
/// those that failed again after a pause, a few rounds at most. Held in memory only: a broker
/// that stops meanwhile leaves the offsets of the groups not done yet (they are kept until
/// retention removes them, and a topic created again under the name would find them).
struct topic_sweep {
  std::string topic;
  std::int64_t deleted_ms = 0;  ///< wall clock: offsets committed after it stay
  int round = 1;
  bool listing = false;  ///< the groups in the store are being listed
  bool listed = false;   ///< and have been (all queued)
  std::set<std::string> queued;     ///< every group queued, so that none is cleaned twice a round
  std::deque<std::string> todo;     ///< this round's groups not started yet
  std::vector<std::string> failed;  ///< this round's groups that failed: the next round's
  std::size_t running = 0;
};

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
  /// Whether the offsets topic is known to exist (for tombstones of a deleted topic's offsets
  /// in groups without a coordinator).
  bool offsets_topic_ready = false;
  /// Deleted topics whose offsets are being removed from the groups, by sweep id.
  std::map<std::uint64_t, topic_sweep> sweeps;
  std::uint64_t next_sweep = 1;
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

// -- a deleted topic's offsets, from every group ----------------------------------------------
// Kafka's onPartitionsDeleted: a topic created again under the name must not be read from
// where the old one was left. A group with a coordinator here is cleaned by it (in turn with
// its commits); another, known only by its stored offsets, from here, through the reader its
// coordinator would use, unfenced (in a cluster another node may coordinate it). Offsets
// committed after the deletion are the new topic's and stay, so a cleanup that runs late, or
// twice, takes nothing of the new topic's.

// Groups cleaned at once, and rounds (the first, and tries again after 1 s, 2 s and 4 s).
constexpr std::size_t sweep_parallel = 8;
constexpr int sweep_rounds = 4;
constexpr auto sweep_first_pause = 1s;

using sweep_done = std::function<void(bool)>;

// The group's coordinator here, unless it was started under an earlier lease of the group
// (its deletions are fenced out: the group's offsets are cleaned as if it had none).
const group_coordinator_actor* current_coordinator(directory_ptr self, const std::string& group) {
  auto it = self->state.groups.find(group);
  if (it == self->state.groups.end()) return nullptr;
  const auto view = self->state.ctx->cluster();
  const auto* lease = view->group_lease(group);
  if (view->clustered && (lease == nullptr || lease->epoch != it->second.epoch)) return nullptr;
  return &it->second.actor;
}

void clean_by_coordinator(directory_ptr self, const group_coordinator_actor& coordinator,
                          const std::string& group, const std::string& topic, std::int64_t deleted_ms,
                          sweep_done done) {
  self->request(coordinator, group_write_wait(self->state.ctx->config), delete_atom::value, topic,
                deleted_ms)
      .then([=](bool) { done(true); },
            [=](caf::error& e) {
              logging::groups().debug("group '{}': offsets of deleted topic '{}' not deleted yet: {}", group,
                                      topic, self->system().render(e));
              done(false);
            });
}

// Starts removing one group's offsets of `topic` committed until `deleted_ms`; `done(true)`
// (called later, never from here) once they are gone. False when it cannot start.
bool clean_group(directory_ptr self, const std::string& group, const std::string& topic,
                 std::int64_t deleted_ms, sweep_done done) {
  if (const auto* coordinator = current_coordinator(self, group)) {
    clean_by_coordinator(self, *coordinator, group, topic, deleted_ms, std::move(done));
    return true;
  }
  auto reader = self->state.dir.reader_for({group, 0});
  if (!reader) return false;
  const auto timeout = group_store_call_timeout(self->state.ctx->config);
  auto failed = [=](caf::error& e) {
    logging::groups().debug("group '{}': offsets of deleted topic '{}' not deleted yet: {}", group, topic,
                            self->system().render(e));
    done(false);
  };
  self->request(reader, timeout, offset_atom::value, group)
      .then(
          [=](std::vector<storage::group_offset>& all) {
            auto gone = committed_until(all, topic, deleted_ms);
            if (gone.empty()) return done(true);
            // A coordinator started for the group meanwhile deletes them, in turn with its
            // commits; one started later sends its writes to the same reader after this.
            if (const auto* coordinator = current_coordinator(self, group))
              return clean_by_coordinator(self, *coordinator, group, topic, deleted_ms, done);
            self->request(reader, timeout, delete_atom::value, group, gone, std::string{})
                .then(
                    [=](bool) {
                      log_deleted_topic_offsets(group, gone.size(), topic);
                      mirror_batch(self, group, tombstones(group, gone, false, wall_clock_ms()));
                      done(true);
                    },
                    failed);
          },
          failed);
  return true;
}

void sweep_list(directory_ptr self, std::uint64_t id);

// Starts the sweep's groups up to sweep_parallel at a time; once a round is over, ends the
// sweep or pauses before the next.
void sweep_next(directory_ptr self, std::uint64_t id) {
  auto& sweeps = self->state.sweeps;
  auto it = sweeps.find(id);
  if (it == sweeps.end()) return;
  auto& sw = it->second;
  while (sw.running < sweep_parallel && !sw.todo.empty()) {
    auto group = std::move(sw.todo.front());
    sw.todo.pop_front();
    auto done = [=](bool ok) {
      // The sweep stays while one of its groups is being cleaned.
      auto& now = self->state.sweeps.at(id);
      --now.running;
      if (!ok) now.failed.push_back(group);
      sweep_next(self, id);
    };
    if (clean_group(self, group, sw.topic, sw.deleted_ms, std::move(done)))
      ++sw.running;
    else
      sw.failed.push_back(group);
  }
  if (sw.running > 0 || sw.listing || !sw.todo.empty()) return;
  if (sw.listed && sw.failed.empty()) {
    logging::groups().debug("offsets of deleted topic '{}' removed from every group", sw.topic);
    sweeps.erase(it);
    return;
  }
  if (sw.round >= sweep_rounds) {
    std::string left;
    for (const auto& g : sw.failed) left += (left.empty() ? "'" : ", '") + g + "'";
    logging::groups().warn("offsets of deleted topic '{}' left after {} tries in group(s) {}{}", sw.topic,
                           sw.round, left.empty() ? "-" : left,
                           sw.listed ? "" : ", and in the groups without a coordinator (not listed)");
    sweeps.erase(it);
    return;
  }
  const auto pause = sweep_first_pause * (1 << (sw.round - 1));
  ++sw.round;
  self->delayed_send(self, pause, tick_atom::value, id);
}

// The groups in the store (once listed, those not queued yet join the sweep).
void sweep_list(directory_ptr self, std::uint64_t id) {
  auto& sw = self->state.sweeps.at(id);
  auto reader = self->state.dir.any_reader();
  if (!reader) return;  // the round ends unlisted: tried again
  sw.listing = true;
  const auto topic = sw.topic;
  self->request(reader, group_store_call_timeout(self->state.ctx->config), list_atom::value)
      .then(
          [=](std::vector<std::string>& ids) {
            auto& now = self->state.sweeps.at(id);  // it stays while listing
            now.listing = false;
            now.listed = true;
            for (auto& g : ids)
              if (now.queued.insert(g).second) now.todo.push_back(std::move(g));
            sweep_next(self, id);
          },
          [=](caf::error& e) {
            logging::groups().debug("offsets of deleted topic '{}': groups not listed yet: {}", topic,
                                    self->system().render(e));
            self->state.sweeps.at(id).listing = false;
            sweep_next(self, id);
          });
}

// The next round of a sweep, after its pause: the groups that failed, and the listing if it
// failed too.
void sweep_again(directory_ptr self, std::uint64_t id) {
  auto it = self->state.sweeps.find(id);
  if (it == self->state.sweeps.end()) return;
  auto& sw = it->second;
  sw.todo.assign(std::make_move_iterator(sw.failed.begin()), std::make_move_iterator(sw.failed.end()));
  sw.failed.clear();
  if (!sw.listed) sweep_list(self, id);
  sweep_next(self, id);
}

// A topic was deleted at `deleted_ms` (from the registry): its offsets go from every group,
// those with a coordinator here first, then those the store lists.
void drop_topic_everywhere(directory_ptr self, const std::string& topic, std::int64_t deleted_ms) {
  auto& st = self->state;
  const auto id = st.next_sweep++;
  auto& sw = st.sweeps[id];
  sw.topic = topic;
  sw.deleted_ms = deleted_ms;
  for (const auto& [group, entry] : st.groups) {
    sw.queued.insert(group);
    sw.todo.push_back(group);
  }
  sweep_list(self, id);
  sweep_next(self, id);
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
      // No coordinator runs for it any more: its lease is let go a lease time from now unless
      // it is used again (the next request starts one, which keeps it).
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
      [=](delete_atom, const std::string& topic, std::int64_t deleted_ms) {
        drop_topic_everywhere(self, topic, deleted_ms);
        return true;
      },
      [=](tick_atom, std::uint64_t sweep) { sweep_again(self, sweep); },
      [=](retire_atom, const std::string& id, std::int64_t members_seen_ms) {
        auto& groups = self->state.groups;
        auto it = groups.find(id);
        if (it == groups.end() ||
            it->second.actor.address() != caf::actor_cast<caf::actor_addr>(self->current_sender()))
          return;
        note_members_seen(self->state, id, members_seen_ms);
        // Its lease is kept a lease time more, then let go: a request meanwhile starts a
        // coordinator under it (group_wants.hpp).
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
          self->request(reader, 10s, describe_atom::value)
              .then(
                  [=](std::vector<storage::group_listing>& stored) {
                    // In a cluster, only the groups this node coordinates, as each Kafka
                    // broker lists its own: another node's active group is not Empty here
                    // (clients merge the brokers' lists, the last answer winning).
                    const auto view = self->state.ctx->cluster();
                    for (auto& g : stored)
                      if (!p->found.count(g.group) &&
                          (!view->clustered || view->coordinator(g.group) == view->self)) {
                        // With the protocol type and generation its last coordinator stored
                        // (none, "", for a group that only ever had offsets committed).
                        group_description d;
                        d.group_id = g.group;
                        d.state = "Empty";
                        d.protocol_type = std::move(g.metadata.protocol_type);
                        d.generation = g.metadata.generation;
                        p->found.emplace(std::move(g.group), std::move(d));
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
