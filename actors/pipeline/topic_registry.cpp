#include "actors/pipeline/topic_registry.hpp"

#include <algorithm>
#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <utility>

#include "actors/groups/offsets_log.hpp"
#include "actors/pipeline/partition.hpp"
#include "actors/pipeline/topic_configs.hpp"
#include "actors/pipeline/wall_clock.hpp"
#include "logging/loggers.hpp"
#include "protocol/topic_name.hpp"

namespace portask {
namespace {

using namespace std::chrono_literals;

struct registry_state {
  std::shared_ptr<broker_context> ctx;
  actor_directory dir;  ///< handed to the partitions it spawns, and every update after
  /// Reads and writes the topic records (linked: it stops with the registry). The registry
  /// itself never waits for the store.
  topic_store_actor topic_store;
  bool loaded = false;  ///< the topics were read once
  /// Reads of the topic list: `reading` waits for the read out at the topic store,
  /// `read_next` for the one after it (asked once that read was sent, it may have missed
  /// what its asker looks for). Each is told ok, storage_unavailable, or not_ready when the
  /// registry stops (then it must not touch the registry's state).
  bool read_out = false;
  std::vector<std::function<void(errc)>> reading, read_next;
  /// Topic writes whose outcome is unknown (the store's call failed after it may have run),
  /// each settled by the next read of the topics that succeeds: the store says what became
  /// of it. Until then the topic stays as while the write was out (its creation or deletion
  /// in progress, its change at the front of its queue). A read that fails is tried again,
  /// later each time (reread_later).
  std::vector<std::function<void()>> settling;
  /// Creations among them: a read takes these names as the store has them.
  std::set<std::string> unsure_creations;
  bool reread_armed = false;  ///< a recover_atom to itself is on its way
  std::chrono::milliseconds reread_delay{0};
  std::map<std::string, storage::topic_info> topics;
  /// Topics whose creation is out at the store, with what waits for the outcome (errc::ok:
  /// created): the creator, and lookups of the name, which then look again. Meanwhile the
  /// name is neither known nor free. Once the creation is unsure (unsure_creations), nothing
  /// new waits: lookups and creations of the name hear storage_unavailable (retriable).
  std::map<std::string, std::vector<std::function<void(errc)>>> creating;
  /// The names of `topics` and `creating` by the name Kafka's metrics give a topic ('.' and
  /// '_' are the same there): a creation whose name collides with another one is refused
  /// (topic_name_collision), as Kafka refuses it, whichever request creates the topic.
  std::map<std::string, std::set<std::string>> by_metric_name;
  /// Changes of a topic's record (grow, configure, the store's part of a deletion), one at a
  /// time per topic: the front one is out at the topic store, the others wait for it, so
  /// that each is computed from the outcome of the one before and a deletion never lands
  /// before a change that would write the record back. Lookups do not wait for them.
  struct topic_change {
    std::function<void()> start;
    std::function<void(errc)> abandon;  ///< the registry stops first: answer the asker
  };
  std::map<std::string, std::deque<topic_change>> changing;
  bool starting_changes = false;  ///< start_front's loop runs
  std::map<topic_partition, partition_actor> partitions;
  /// Each topic's write rules (max.message.bytes, keys required) as its partitions read them
  /// on every append, shared with the partition actors it starts and set whenever the
  /// topic's record changes (write_rules), so a change applies to running partitions at once.
  std::map<std::string, std::shared_ptr<topic_write_rules>> rules;
  /// In a cluster: the lease each running partition actor was started under.
  std::map<topic_partition, std::string> fences;
  /// Retired partition actors still waiting for the store's answers (partition.cpp's
  /// retire). A successor starts only once its predecessor stopped: until then both could
  /// write under one lease value, or into a topic deleted and created again.
  std::multimap<topic_partition, partition_actor> retiring;
  /// Lookups of a partition whose predecessor is retiring: answered when it stopped.
  std::map<topic_partition,
           std::vector<std::pair<caf::typed_response_promise<partition_actor>, bool>>>
      awaiting_successor;
  /// Topics being deleted, with the requests that asked for it: each is deleted in the store
  /// once its partitions have stopped (a write they still had out lands before the delete,
  /// never after it, where a topic created again under the name would find it). Meanwhile
  /// the topic is unknown to lookups, and creating it again is refused as existing.
  struct deletion {
    storage::topic_id id;  ///< of the topic asked for (another may take the name meanwhile)
    std::vector<caf::typed_response_promise<bool>> asked;
    bool at_store = false;  ///< its partitions have stopped; the store's delete is asked for
  };
  std::map<std::string, deletion> deleting;
  /// Deleted topics (name, when: wall-clock ms) the group directory could not be told of (it
  /// was restarting): told at the next directory update.
  std::vector<std::pair<std::string, std::int64_t>> untold_deletions;
  /// A registry that stops answers the lookups and deletions still waiting (retriable): a
  /// destroyed promise sends nothing in CAF 0.17.
  /// The retiring partitions stop with it, as the running ones do through their links.
  ~registry_state() {
    auto reads = std::move(reading);
    auto later_reads = std::move(read_next);
    for (auto& w : reads) w(errc::not_ready);
    for (auto& w : later_reads) w(errc::not_ready);
    auto created = std::move(creating);
    for (auto& [topic_name, waiting] : created)
      for (auto& w : waiting) w(errc::not_ready);
    for (auto& [tp, waiting] : awaiting_successor)
      for (auto& [rp, auto_create] : waiting) rp.deliver(make_caf_error(errc::not_ready));
    for (auto& [topic_name, d] : deleting)
      for (auto& rp : d.asked) rp.deliver(make_caf_error(errc::not_ready));
    auto changes = std::move(changing);
    for (auto& [topic_name, queue] : changes)
      for (auto& c : queue)
        if (c.abandon) c.abandon(errc::not_ready);
    for (auto& [tp, partition] : retiring) caf::anon_send_exit(partition, caf::exit_reason::kill);
  }
  /// Auto-creations in the current minute (auto_create_topics_max_per_minute).
  std::chrono::steady_clock::time_point window_start{};
  std::uint32_t created_in_window = 0;
  std::uint64_t refused_in_window = 0;
  static inline const char* name = "portask.topic_registry";
};

using self_ptr = topic_registry_actor::stateful_pointer<registry_state>;

// How often a change or deletion of a topic is tried again after another node changed the
// topic under it, before the asker hears not_ready (retriable).
constexpr int change_attempts = 3;

void stop_partition(self_ptr self, const topic_partition& tp, errc why);

// Takes the topic list read from the store as the registry's view (in a cluster, other nodes
// create, grow and delete topics): stops the partitions of topics that went away, shrank or
// were created again under another id.
// `topic`'s write rules (st.rules), set from the topic's record as it is now (the last value
// of a key counts, as everywhere else).
std::shared_ptr<topic_write_rules> write_rules(registry_state& st, const std::string& topic) {
  auto& holder = st.rules[topic];
  if (!holder) holder = std::make_shared<topic_write_rules>();
  std::int64_t limit = -1;
  bool compacted = false;
  bool deletable = true;
  if (auto it = st.topics.find(topic); it != st.topics.end()) {
    limit = config_integer(it->second.configs, "max.message.bytes").value_or(-1);
    compacted = cleanup_policy_includes(it->second.configs, "compact");
    deletable = cleanup_policy_includes(it->second.configs, "delete");
  }
  holder->max_batch_bytes.store(limit, std::memory_order_relaxed);
  holder->keys_required.store(compacted, std::memory_order_relaxed);
  holder->records_deletable.store(deletable, std::memory_order_relaxed);
  return holder;
}

// After the topics changed: every holder follows its topic's record. One whose topic is gone
// is dropped once no partition holds it any more (a partition still running keeps following
// it, and a topic created again under the name gets it back).
void refresh_write_rules(registry_state& st) {
  for (auto it = st.rules.begin(); it != st.rules.end();) {
    if (st.topics.count(it->first) == 0 && it->second.use_count() == 1) {
      it = st.rules.erase(it);
    } else {
      write_rules(st, it->first);
      ++it;
    }
  }
}

// The name Kafka's metrics give a topic: '.' and '_' are the same there.
std::string metric_name(std::string name) {
  std::replace(name.begin(), name.end(), '.', '_');
  return name;
}

void index_name(registry_state& st, const std::string& name) {
  st.by_metric_name[metric_name(name)].insert(name);
}

void unindex_name(registry_state& st, const std::string& name) {
  auto it = st.by_metric_name.find(metric_name(name));
  if (it == st.by_metric_name.end()) return;
  it->second.erase(name);
  if (it->second.empty()) st.by_metric_name.erase(it);
}

// Whether another topic, known or being created, has a name that Kafka's metrics would
// confuse with `name`.
bool name_collides(const registry_state& st, const std::string& name) {
  auto it = st.by_metric_name.find(metric_name(name));
  return it != st.by_metric_name.end() &&
         std::any_of(it->second.begin(), it->second.end(), [&](const auto& other) { return other != name; });
}

void take_topics(self_ptr self, std::vector<storage::topic_info>& list) {
  auto& st = self->state;
  std::map<std::string, storage::topic_info> now;
  // A topic whose creation is out stays unknown until the store has answered this node (its
  // write may be what the list shows); one whose answer was lost is as the store has it
  // (creation_settled).
  for (auto& t : list)
    if (!st.creating.count(t.name) || st.unsure_creations.count(t.name))
      now[t.name] = std::move(t);
  if (now == st.topics && st.loaded) return;
  std::vector<topic_partition> gone;
  for (const auto& [tp, actor] : st.partitions) {
    auto topic = now.find(tp.topic);
    auto was = st.topics.find(tp.topic);
    if (topic == now.end() || was == st.topics.end() || tp.partition >= topic->second.partitions ||
        topic->second.id != was->second.id)
      gone.push_back(tp);
  }
  for (const auto& tp : gone) stop_partition(self, tp, errc::unknown_topic);
  if (!st.loaded) {
    logging::pipeline().info("topic registry: {} topics recovered from the {} store", now.size(),
                             st.ctx->store_kind);
    // max.message.bytes=0 refuses every batch, as Kafka's does; before, it meant no limit of
    // the topic's own: a topic that stored it then takes nothing now, which is said once here.
    for (const auto& [name, info] : now)
      if (config_integer(info.configs, "max.message.bytes") == 0)
        logging::pipeline().warn(
            "topic registry: topic {} has max.message.bytes=0, which refuses every batch (as in "
            "Kafka; before, 0 meant no limit); set it to the largest batch to accept, or delete "
            "it for the broker's frame limit (kafka-configs --alter --delete-config "
            "max.message.bytes)",
            name);
  } else {
    logging::pipeline().info("topic registry: topics changed in the store; {} topics now", now.size());
  }
  st.topics = std::move(now);
  st.by_metric_name.clear();
  for (const auto& [name, info] : st.topics) index_name(st, name);
  for (const auto& [name, waiting] : st.creating) index_name(st, name);
  refresh_write_rules(st);
  st.loaded = true;
  st.ctx->topic_changes.fetch_add(1, std::memory_order_relaxed);
}

void read_done(self_ptr self, errc outcome);

// Asks the topic store for the list. It answers after every write asked before, and before
// every write asked after, so the list agrees with what the registry has heard back.
void send_read(self_ptr self) {
  auto& st = self->state;
  st.read_out = true;
  self->request(st.topic_store, caf::infinite, list_atom::value)
      .then(
          [=](std::vector<storage::topic_info>& list) {
            take_topics(self, list);
            read_done(self, errc::ok);
          },
          [=](caf::error& err) {
            logging::pipeline().warn("topic registry: reading the topics failed: {}",
                                     self->system().render(err));
            read_done(self, errc::storage_unavailable);
          });
}

// A read that must succeed failed (the store is down, or a write's outcome is unknown):
// the topics are read again later (recover_atom), each time twice as late, up to 5 s.
void reread_later(self_ptr self) {
  auto& st = self->state;
  if (st.reread_armed) return;
  st.reread_armed = true;
  st.reread_delay = std::clamp<std::chrono::milliseconds>(st.reread_delay * 2, 100ms, 5s);
  self->delayed_send(self, st.reread_delay, recover_atom::value);
}

// The read out is answered: its waiters hear how it went, and the next read (if any) goes
// out. One that succeeded settles the writes of unknown outcome.
void read_done(self_ptr self, errc outcome) {
  auto& st = self->state;
  auto waiting = std::move(st.reading);
  st.reading = std::move(st.read_next);
  st.read_next.clear();
  st.read_out = false;
  if (!st.reading.empty()) send_read(self);
  std::vector<std::function<void()>> settled;
  if (outcome == errc::ok) {
    st.reread_delay = 0ms;
    settled.swap(st.settling);
  } else if (!st.settling.empty()) {
    reread_later(self);
  }
  for (auto& w : waiting) w(outcome);
  for (auto& s : settled) s();
}

// Reads the topics from the store again and tells `done` how it went (ok,
// storage_unavailable, or not_ready when the registry stops). The registry goes on answering
// meanwhile.
void read_topics(self_ptr self, std::function<void(errc)> done) {
  auto& st = self->state;
  if (st.read_out) {
    st.read_next.push_back(std::move(done));
    return;
  }
  st.reading.push_back(std::move(done));
  send_read(self);
}

// A topic write's outcome is unknown: `settled` runs once a read of the topics has
// succeeded, the registry's view then being the store's. Any read out now was sent after
// the write (the topic store answers in the order asked), so it sees what the write did.
// When the registry stops first, it is dropped (the registry answers what waits itself).
void when_settled(self_ptr self, std::function<void()> settled) {
  auto& st = self->state;
  st.settling.push_back(std::move(settled));
  if (!st.read_out) read_topics(self, [](errc) {});
}

// Runs `next` once the topics have been read (at once after the first read): ok, or why they
// cannot be (storage_unavailable; not_ready while a predecessor's write lands or when the
// registry stops). A read that failed is tried again by the next caller.
void with_topics(self_ptr self, std::function<void(errc)> next) {
  auto& st = self->state;
  if (st.loaded) return next(errc::ok);
  // Before the first read, no write of this registry's own is out: one in flight is a
  // predecessor's, which lands within the store's timeout (retriable meanwhile).
  if (st.ctx->topic_writes_in_flight.load() > 0) return next(errc::not_ready);
  if (st.read_out) {
    st.reading.push_back(std::move(next));  // the first read: any read will do
    return;
  }
  read_topics(self, std::move(next));
}

// A topic that exists and is not being deleted (the registry's own view), or none.
storage::topic_info* live_topic(registry_state& st, const std::string& name) {
  if (st.deleting.count(name) > 0) return nullptr;
  auto it = st.topics.find(name);
  return it == st.topics.end() ? nullptr : &it->second;
}

void create_known(self_ptr self, storage::topic_info info, std::function<void(errc)> done);

// The store says the topic of `id` is no longer under `name` (another node deleted it):
// forgotten at once, so that nothing is served from it even if reading the topics again
// fails. Its partitions stop at the next read (take_topics).
void forget_topic(self_ptr self, const std::string& name, const storage::topic_id& id) {
  auto& st = self->state;
  if (auto it = st.topics.find(name); it != st.topics.end() && it->second.id == id) {
    st.topics.erase(it);
    if (!st.creating.count(name)) unindex_name(st, name);
  }
}

// Creates a topic: checks it, has the topic store write it and tells `done` the outcome once
// the store has answered (at once when the topic is refused). Lookups of the name meanwhile
// wait for the outcome (creating).
void create_topic(self_ptr self, storage::topic_info info, std::function<void(errc)> done) {
  if (!protocol::is_valid_topic_name(info.name)) return done(errc::invalid_request);
  if (info.partitions < 1 || info.partitions > max_topic_partitions) return done(errc::invalid_request);
  // Stored as Kafka reads them (" +100" is 100), whichever protocol brought them.
  for (auto& [key, value] : info.configs) {
    if (topic_config_problem(key, value)) return done(errc::invalid_request);
    value = canonical_topic_config(key, value);
  }
  with_topics(self, [=](errc e) {
    if (e != errc::ok) return done(e);
    auto& st = self->state;
    if (!st.ctx->config.cluster.enabled() || st.topics.count(info.name) || st.creating.count(info.name))
      return create_known(self, info, done);
    // Another node of the cluster may have created it since this one last looked.
    read_topics(self, [=](errc read) {
      if (read != errc::ok) return done(read);
      create_known(self, info, done);
    });
  });
}

// A creation whose store call failed, once the topics were read again: created when the
// store holds the topic under its id, refused as existing when it holds another topic of the
// name (another node's), failed (storage_unavailable) when it holds none. Its waiters hear
// which, as if the store had answered so.
void creation_settled(self_ptr self, const storage::topic_info& info) {
  auto& st = self->state;
  st.unsure_creations.erase(info.name);
  auto waiting = st.creating.extract(info.name);
  auto outcome = errc::storage_unavailable;
  if (auto it = st.topics.find(info.name); it != st.topics.end())
    outcome = it->second.id == info.id ? errc::ok : errc::topic_already_exists;
  if (outcome == errc::ok) {
    logging::pipeline().info("created topic '{}' with {} partitions (learnt from the store)",
                             info.name, info.partitions);
    if (auto node = st.dir.cluster) self->send(node, topic_atom::value);
  } else if (outcome == errc::storage_unavailable) {
    unindex_name(st, info.name);
  }
  if (waiting.empty()) return;
  for (auto& w : waiting.mapped()) w(outcome);
}

// create_topic, with the topics as this node knows them now.
void create_known(self_ptr self, storage::topic_info info, std::function<void(errc)> done) {
  auto& st = self->state;
  // Its outcome is being settled by reading the topics back, which may take as long as the
  // store is down: the asker tries again later rather than wait (each retry of a producer
  // would add a waiter, without limit).
  if (st.unsure_creations.count(info.name)) return done(errc::storage_unavailable);
  if (auto c = st.creating.find(info.name); c != st.creating.end()) {
    // Another creation of the name is out: it exists once that one is stored, and if that
    // one fails, this one tries.
    c->second.push_back([=](errc outcome) {
      if (outcome == errc::ok || outcome == errc::topic_already_exists)
        done(errc::topic_already_exists);
      else if (outcome == errc::not_ready)  // the registry is stopping
        done(outcome);
      else
        create_topic(self, info, done);
    });
    return;
  }
  // Here, not in each protocol's handler, so that every way of creating a topic (TopicAdmin,
  // HTTP, Kafka's CreateTopics, and auto-creation by Metadata, Produce or a publish) refuses
  // `a.b` beside `a_b`, as Kafka refuses it; before whether the name is taken, in Kafka's order.
  if (name_collides(st, info.name)) return done(errc::topic_name_collision);
  if (st.topics.count(info.name) || st.deleting.count(info.name))
    return done(errc::topic_already_exists);  // being deleted counts as existing, as in Kafka
  if (info.id == storage::topic_id{}) info.id = storage::new_topic_id();
  st.creating[info.name].push_back(std::move(done));
  index_name(st, info.name);  // a creation out counts: two at once must not collide either
  // No timeout of its own: the store's bounds the write, and a creation given up while the
  // write could still land would let a second one overwrite it under another id.
  self->request(st.topic_store, caf::infinite, create_atom::value, info)
      .then(
          [=](bool) {
            auto& s = self->state;
            logging::pipeline().info("created topic '{}' with {} partitions", info.name,
                                     info.partitions);
            s.ctx->topic_changes.fetch_add(1, std::memory_order_relaxed);
            s.topics.insert_or_assign(info.name, info);
            refresh_write_rules(s);
            // In a cluster, the new partitions get owners at the next lease round: run it now.
            if (auto node = s.dir.cluster) self->send(node, topic_atom::value);
            auto waiting = s.creating.extract(info.name);
            for (auto& w : waiting.mapped()) w(errc::ok);
          },
          [=](caf::error& err) {
            if (to_errc(err) != errc::topic_already_exists) {
              // The write may have landed all the same: the name stays in creation (its
              // lookups and creations wait) until the store says whether it did.
              logging::pipeline().warn("creating topic '{}' failed: {}; reading the topics to "
                                       "learn whether it was stored",
                                       info.name, self->system().render(err));
              self->state.unsure_creations.insert(info.name);
              when_settled(self, [=] { creation_settled(self, info); });
              return;
            }
            auto waiting = std::make_shared<std::vector<std::function<void(errc)>>>();
            if (auto node = self->state.creating.extract(info.name); !node.empty())
              *waiting = std::move(node.mapped());
            if (!self->state.topics.count(info.name)) unindex_name(self->state, info.name);
            // The store has a topic of that name this registry did not know (created by
            // another node, or written late): learn it, and every waiter finds that one.
            logging::pipeline().info("topic '{}' was created meanwhile elsewhere", info.name);
            read_topics(self, [=](errc read) {
              const auto outcome = read == errc::ok ? errc::topic_already_exists : read;
              for (auto& w : *waiting) w(outcome);
            });
          });
}

// Takes a running partition actor out of the routes, to be stopped: from now on lookups of
// its partition wait until it has stopped, then get a successor (answer_lookup), which
// recovers from the store. Unlinked and monitored instead (its exit, whatever the reason,
// is only news to the down handler); a registry that stops takes it along all the same
// (~registry_state).
partition_actor set_aside(self_ptr self, std::map<topic_partition, partition_actor>::iterator it) {
  auto& st = self->state;
  auto p = it->second;
  self->unlink_from(p);
  self->monitor(p);
  st.retiring.emplace(it->first, p);
  st.fences.erase(it->first);
  st.partitions.erase(it);
  return p;
}

// Retires a running partition actor: it answers what waits with `why`, waits for what it
// has out at the store and stops (partition.cpp, retire).
void stop_partition(self_ptr self, const topic_partition& tp, errc why) {
  auto& st = self->state;
  auto it = st.partitions.find(tp);
  if (it == st.partitions.end()) return;
  self->send(set_aside(self, it), retire_atom::value, why);
}

// A partition actor is idle and would stop. Stopping by itself, it could be handed out by
// a lookup in between and bounce what is sent to it; so it is set aside first (lookups
// wait for its successor) and then told to stop (partition.cpp, passivate). One that is not
// the current actor of its partition any more (retired meanwhile) is left alone.
void let_idle_stop(self_ptr self, const topic_partition& tp) {
  auto& st = self->state;
  auto it = st.partitions.find(tp);
  if (it == st.partitions.end() ||
      it->second.address() != caf::actor_cast<caf::actor_addr>(self->current_sender()))
    return;
  self->send(set_aside(self, it), idle_atom::value);
}

// The partition's actor on this node, spawned if needed. In a cluster only while this node
// holds the partition's lease (not_leader otherwise), and started under that very lease: an
// actor started under an older one (lost, then taken again) is replaced.
partition_actor partition_for(self_ptr self, const topic_partition& tp, errc& error) {
  auto& st = self->state;
  const auto view = st.ctx->cluster();
  const storage::lease_holder* lease = nullptr;
  if (!view->owns(tp, &lease)) {
    error = errc::not_leader;
    return {};
  }
  auto fence = lease != nullptr ? storage::lease_value(*lease) : std::string{};
  auto it = st.partitions.find(tp);
  if (it != st.partitions.end() && st.fences[tp] != fence) {
    stop_partition(self, tp, errc::not_leader);
    it = st.partitions.end();
  }
  if (it == st.partitions.end() && st.retiring.count(tp) > 0) {
    error = errc::not_ready;  // its predecessor is retiring: the lookup waits for it
    return {};
  }
  if (it == st.partitions.end()) {
    it = st.partitions
             .emplace(tp, spawn_partition(self, st.ctx, st.dir, tp, fence,
                                          caf::actor_cast<topic_registry_actor>(self),
                                          write_rules(st, tp.topic)))
             .first;
    st.fences[tp] = std::move(fence);
  }
  return it->second;
}

// What a topic lookup is answered with: the topic (valid during the call), or why none.
using topic_found = std::function<void(const storage::topic_info*, errc)>;

void find_topic(self_ptr self, const std::string& name, bool auto_create, topic_found found);

// Answers a partition lookup through `rp`: the partition's actor (started if needed), or
// why not. While the partition's predecessor is retiring, the lookup waits for it to stop.
void answer_lookup(self_ptr self, const topic_partition& tp, bool auto_create,
                   caf::typed_response_promise<partition_actor> rp) {
  find_topic(self, tp.topic, auto_create,
             [=](const storage::topic_info* topic, errc e) mutable {
               if (!topic) {
                 rp.deliver(make_caf_error(e));
               } else if (tp.partition < 0 || tp.partition >= topic->partitions) {
                 rp.deliver(make_caf_error(errc::unknown_partition));
               } else if (auto part = partition_for(self, tp, e)) {
                 rp.deliver(part);
               } else if (e == errc::not_ready && self->state.retiring.count(tp) > 0) {
                 self->state.awaiting_successor[tp].emplace_back(std::move(rp), auto_create);
               } else {
                 rp.deliver(make_caf_error(e));
               }
             });
}

void find_known(self_ptr self, const std::string& name, bool auto_create, topic_found found,
                bool read);

// Finds a topic, creating it with the default partition count when allowed. A topic whose
// creation is out at the store is waited for.
void find_topic(self_ptr self, const std::string& name, bool auto_create, topic_found found) {
  with_topics(self, [=](errc e) {
    if (e != errc::ok) return found(nullptr, e);
    find_known(self, name, auto_create, found, false);
  });
}

// find_topic once the topics have been read; `read`: read again for this very lookup.
void find_known(self_ptr self, const std::string& name, bool auto_create, topic_found found,
                bool read) {
  auto& st = self->state;
  if (st.deleting.count(name) > 0)
    return found(nullptr, errc::unknown_topic);  // nor created again until the deletion is done
  // A creation being settled (create_known): retriable at once rather than a waiter more.
  if (st.unsure_creations.count(name)) return found(nullptr, errc::storage_unavailable);
  if (auto c = st.creating.find(name); c != st.creating.end()) {
    c->second.push_back([=](errc outcome) {
      if (outcome == errc::ok || outcome == errc::topic_already_exists)  // it is there now
        find_topic(self, name, auto_create, found);
      else
        found(nullptr, outcome);
    });
    return;
  }
  auto it = st.topics.find(name);
  if (it != st.topics.end()) return found(&it->second, errc::ok);
  // Another node of the cluster may have created it since the last look. (A failed read
  // goes on as a miss: an auto-creation finds out.)
  if (st.ctx->config.cluster.enabled() && !read) {
    read_topics(self, [=](errc e) {
      if (e == errc::not_ready) return found(nullptr, e);  // the registry stops
      find_known(self, name, auto_create, found, true);
    });
    return;
  }
  if (!auto_create || !st.ctx->config.auto_create_topics) return found(nullptr, errc::unknown_topic);
  // Clients choose the names: auto-creation is capped per minute, so no client can fill the
  // store with topics.
  const auto now = std::chrono::steady_clock::now();
  if (now - st.window_start >= 1min) {
    if (st.refused_in_window > 0)
      logging::pipeline().warn("topic registry: {} topic auto-creations refused in the last minute (cap {})",
                   st.refused_in_window, st.ctx->config.auto_create_topics_max_per_minute);
    st.window_start = now;
    st.created_in_window = 0;
    st.refused_in_window = 0;
  }
  if (st.created_in_window >= st.ctx->config.auto_create_topics_max_per_minute) {
    if (st.refused_in_window++ == 0)
      logging::pipeline().warn("topic registry: auto-creation cap of {} topics per minute reached; unknown "
                   "topics are refused until the minute is over",
                   st.ctx->config.auto_create_topics_max_per_minute);
    st.ctx->metrics.request_limited(request_limit::auto_create_topics);
    return found(nullptr, errc::unknown_topic);
  }
  // Counted when asked, so creations out at once count against the cap; given back when
  // the creation is refused or fails.
  ++st.created_in_window;
  // The internal topic, asked for before any group wrote it (Burrow starting first), is
  // made as the group coordinators make it (one partition, compacted), as Kafka does.
  create_topic(
      self,
      protocol::is_internal_topic(name)
          ? offsets_topic_info()
          : storage::topic_info{name, static_cast<std::int32_t>(std::max(1u, st.ctx->config.default_partitions)), {}},
      [=](errc e) {
        if (e != errc::ok && e != errc::topic_already_exists) {
          if (e != errc::not_ready && self->state.created_in_window > 0)
            --self->state.created_in_window;
          return found(nullptr, e);
        }
        // Created, or by someone else meanwhile (another node): look again.
        auto* topic = live_topic(self->state, name);
        found(topic, topic ? errc::ok : errc::unknown_topic);
      });
}

// A partition's bounds, without starting its actor: describing a topic is no use of its
// partitions (a console refreshing a page of topics would start and keep every one of them).
// A partition running here answers itself (it knows what it acknowledged and deleted ahead
// of the store); for any other, what is stored is what it acknowledged.
template <class Ok, class Fail>
void bounds_of(self_ptr self, const topic_partition& tp, Ok ok, Fail fail) {
  auto stored = [=] {
    auto reader = self->state.dir.any_reader();
    if (!reader) {
      auto err = make_caf_error(errc::not_ready);
      return fail(err);
    }
    self->request(reader, 10s, bounds_atom::value, tp).then(ok, fail);
  };
  const auto& st = self->state;
  auto running = st.partitions.find(tp);
  if (running == st.partitions.end() || !st.ctx->cluster()->owns(tp)) return stored();
  // One that stopped as the request reached it (it failed) has left its bounds in the store.
  self->request(running->second, 10s, bounds_atom::value).then(ok, [=](caf::error&) { stored(); });
}

// Starts the topic's front change. Its start runs from here, not from the queue: it may end
// the change at once (change_done), which pops the entry it came from; the next change then
// starts from this loop, not by recursion.
void start_front(self_ptr self, const std::string& name) {
  auto& st = self->state;
  if (st.starting_changes) return;  // the loop below, further up the stack, goes on
  st.starting_changes = true;
  for (;;) {
    auto it = st.changing.find(name);
    // An empty start: the front change is out at the store.
    if (it == st.changing.end() || it->second.empty() || !it->second.front().start) break;
    auto start = std::move(it->second.front().start);
    it->second.front().start = nullptr;
    start();
  }
  st.starting_changes = false;
}

// Runs `change` once no other change of the topic is out (at once when none is). The change
// calls change_done when its answer is in.
void when_unchanged(self_ptr self, const std::string& name, registry_state::topic_change change) {
  auto& queue = self->state.changing[name];
  queue.push_back(std::move(change));
  if (queue.size() == 1) start_front(self, name);
}

// The topic's change out at the store is answered: the next one, if any, starts.
void change_done(self_ptr self, const std::string& name) {
  auto& st = self->state;
  auto it = st.changing.find(name);
  if (it == st.changing.end()) return;
  it->second.pop_front();
  if (it->second.empty()) {
    st.changing.erase(it);
    return;
  }
  start_front(self, name);
}

// Consumer groups' committed offsets of a deleted topic go too (Kafka's onPartitionsDeleted):
// a topic created again under the name must not inherit them. The directory is told when the
// topic was deleted (`deleted_ms`, wall clock), so that offsets committed since, the new
// topic's, stay however late its cleanup runs. A directory that cannot be told now (it is
// restarting) is told at the next directory update.
void tell_groups_deleted(self_ptr self, const std::string& name, std::int64_t deleted_ms) {
  auto untold = [=] { self->state.untold_deletions.emplace_back(name, deleted_ms); };
  auto groups = self->state.dir.groups;
  if (!groups) return untold();
  self->request(groups, 10s, delete_atom::value, name, deleted_ms)
      .then([](bool) {},
            [=](caf::error& e) {
              // A directory update came meanwhile: its directory is told now.
              if (auto now = self->state.dir.groups; now && now.address() != groups.address())
                return tell_groups_deleted(self, name, deleted_ms);
              logging::pipeline().warn("consumer groups not told yet that topic '{}' was deleted: {}", name,
                                       self->system().render(e));
              untold();
            });
}

// Ends the topic's deletion: answers the requests that asked for it (true, or `outcome`).
void end_deletion(self_ptr self, const std::string& name, const caf::error& outcome = {}) {
  auto waiting = self->state.deleting.extract(name);
  if (waiting.empty()) return;
  for (auto& rp : waiting.mapped().asked) {
    if (outcome)
      rp.deliver(outcome);
    else
      rp.deliver(true);
  }
}

// The topic store refused a write of the topic `name` (of `id`) because another node got
// there first: it changed the topic (`gone` false: read the topics again and try `again`
// while attempts remain, else give_up(not_ready)), or deleted it (`gone`: forgotten at once,
// read again, then give_up(unknown_topic)). A read that fails gives up with its error. When
// the registry stops meanwhile neither is called: it answers what waits itself.
void reread_after_refusal(self_ptr self, const std::string& name, const storage::topic_id& id,
                          bool gone, int attempts_left, std::function<void()> again,
                          std::function<void(errc)> give_up) {
  if (gone) {
    logging::pipeline().info("topic '{}' was deleted meanwhile by another node", name);
    forget_topic(self, name, id);
  }
  read_topics(self, [=](errc e) {
    if (e == errc::not_ready) return;
    if (gone) return give_up(errc::unknown_topic);
    if (e == errc::ok && attempts_left > 1) return again();
    give_up(e == errc::ok ? errc::not_ready : e);
  });
}

// A deletion whose store call failed, once the topics were read again: done when the store
// no longer holds the topic of `id` (the groups are told only when the name is free: one
// holding a new topic was deleted and created again by another node, whose offsets
// committed since must stay), failed (storage_unavailable) when it still holds it, with its
// logs: the topic is served again.
void deletion_settled(self_ptr self, const std::string& name, const storage::topic_id& id) {
  auto& st = self->state;
  auto topic = st.topics.find(name);
  if (topic != st.topics.end() && topic->second.id == id) {
    logging::pipeline().warn("topic '{}' was not deleted; it stays", name);
    end_deletion(self, name, make_caf_error(errc::storage_unavailable));
  } else {
    logging::pipeline().info("deleted topic '{}' (learnt from the store)", name);
    if (topic == st.topics.end()) tell_groups_deleted(self, name, wall_clock_ms());
    end_deletion(self, name);
  }
  change_done(self, name);
}

// One attempt at a topic's deletion in the store, the front of its change queue: with the
// record as this node knows it (its partition count names the logs to remove). When another
// node changed the topic first, the topics are read again and the deletion tried anew.
void delete_at_store(self_ptr self, const std::string& name, storage::topic_id id,
                     int attempts_left) {
  auto& s = self->state;
  auto topic = s.topics.find(name);
  if (topic == s.topics.end() || topic->second.id != id) {
    end_deletion(self, name);  // a read meanwhile found it gone: done
    return change_done(self, name);
  }
  // Another node got there first: deleted the topic (and created a new one under the name,
  // which stays: the deletion is done), or grew it (deleted from the record read anew).
  auto refused = [=](bool gone) {
    reread_after_refusal(
        self, name, id, gone, attempts_left,
        [=] { delete_at_store(self, name, id, attempts_left - 1); },
        [=](errc why) {
          end_deletion(self, name, why == errc::unknown_topic ? caf::error{} : make_caf_error(why));
          change_done(self, name);
        });
  };
  self->request(s.topic_store, caf::infinite, delete_atom::value, topic->second)
      .then(
          [=](bool deleted) {
            if (!deleted) return refused(false);
            auto& s2 = self->state;
            logging::pipeline().info("deleted topic '{}'", name);
            s2.ctx->topic_changes.fetch_add(1, std::memory_order_relaxed);
            tell_groups_deleted(self, name, wall_clock_ms());
            forget_topic(self, name, id);
            end_deletion(self, name);
            change_done(self, name);
          },
          [=](caf::error& err) {
            if (to_errc(err) == errc::unknown_topic) return refused(true);
            // The topic and its logs may be gone all the same: the name stays being deleted
            // (no partition of it starts, none is created) until the store says.
            logging::pipeline().warn("deleting topic '{}' failed: {}; reading the topics to "
                                     "learn whether it was deleted",
                                     name, self->system().render(err));
            when_settled(self, [=] { deletion_settled(self, name, id); });
          });
}

// Runs `then` once the storage writers and readers of the topic's `partitions` have answered
// an empty append and a ping sent now. Each answers its requests in turn, so by then they
// have done whatever a partition of the topic left queued there: one that failed (the exit
// handler forgets it at once) or stopped at its last resort (store_call_last_resort) leaves
// its writes, deletions and snapshots behind, which would otherwise land after the deletion.
// (One that hangs is given up on at that last resort too.)
void after_store_queues(self_ptr self, const std::string& name, std::int32_t partitions,
                        std::function<void()> then) {
  const auto& dir = self->state.dir;
  const auto limit = store_call_last_resort(self->state.ctx->config);
  auto left = std::make_shared<std::size_t>(1);
  auto one_done = [left, then] {
    if (--*left == 0) then();
  };
  std::set<caf::actor_addr> asked;
  for (std::int32_t p = 0; p < partitions; ++p) {
    const topic_partition tp{name, p};
    if (auto w = dir.writer_for(tp); w && asked.insert(w.address()).second) {
      ++*left;
      self->request(w, limit, append_atom::value, append_set{tp, {}, {}})
          .then([=](append_outcome&) { one_done(); }, [=](caf::error&) { one_done(); });
    }
    if (auto r = dir.reader_for(tp); r && asked.insert(r.address()).second) {
      ++*left;
      self->request(r, limit, ping_atom::value)
          .then([=](bool) { one_done(); }, [=](caf::error&) { one_done(); });
    }
  }
  one_done();
}

// Deletes a topic in the store once none of its partitions is still retiring and their
// storage actors have done what the partitions asked (through the topic store, after any
// change of the topic still out), and answers the requests that asked for it. Until the store
// has answered, the name stays neither known nor free (deleting).
void finish_deletion(self_ptr self, const std::string& name) {
  auto& st = self->state;
  for (const auto& [tp, partition] : st.retiring)
    if (tp.topic == name) return;
  auto d = st.deleting.find(name);
  if (d == st.deleting.end() || d->second.at_store) return;
  d->second.at_store = true;
  auto it = st.topics.find(name);
  if (it == st.topics.end() || it->second.id != d->second.id) {
    // In a cluster, another node deleted it meanwhile (and may have created a new topic
    // under the name, which stays): done.
    logging::pipeline().info("topic '{}' was deleted meanwhile by another node", name);
    return end_deletion(self, name);
  }
  const auto id = d->second.id;
  after_store_queues(self, name, it->second.partitions, [=] {
    when_unchanged(self, name, {[=] { delete_at_store(self, name, id, change_attempts); }, {}});
  });
  // (a registry that stops answers the deletion's askers itself: deleting)
}

template <class Result>
struct topic_change_request {
  std::string name;
  caf::typed_response_promise<Result> rp;
  /// Makes the new record from the current one, or refuses (an error).
  std::function<expected<storage::topic_info>(const storage::topic_info&)> change;
  /// The answer to the asker, from the record stored.
  std::function<Result(const storage::topic_info&)> answer;
};

// One attempt at a topic's change, the front of its queue: computed from the record as this
// node knows it, stored only while the store still holds that record. When another node
// changed the topic first, the topics are read again and the change computed anew.
template <class Result>
void try_change(self_ptr self, topic_change_request<Result> r, int attempts_left) {
  auto* topic = live_topic(self->state, r.name);
  if (topic == nullptr) {
    r.rp.deliver(make_caf_error(errc::unknown_topic));
    return change_done(self, r.name);
  }
  auto changed = r.change(*topic);
  if (!changed) {
    r.rp.deliver(make_caf_error(static_cast<errc>(changed.error().value())));
    return change_done(self, r.name);
  }
  auto after = std::move(*changed);
  // Another node got there first: changed the topic (the change is computed again from the
  // record read anew) or deleted it.
  auto refused = [=, before_id = topic->id](bool gone) {
    reread_after_refusal(
        self, r.name, before_id, gone, attempts_left,
        [=] { try_change(self, r, attempts_left - 1); },
        [=](errc why) mutable {
          r.rp.deliver(make_caf_error(why));
          change_done(self, r.name);
        });
  };
  self->request(self->state.topic_store, caf::infinite, configure_atom::value, *topic, after)
      .then(
          [=](bool stored) mutable {
            if (!stored) return refused(false);
            // The record is this now, even when a deletion waits behind the change (it
            // deletes what the change stored).
            auto& s = self->state;
            if (auto now = s.topics.find(r.name); now != s.topics.end() && now->second.id == after.id)
              now->second = after;
            refresh_write_rules(s);
            s.ctx->topic_changes.fetch_add(1, std::memory_order_relaxed);
            r.rp.deliver(r.answer(after));
            change_done(self, r.name);
          },
          [=](caf::error& err) mutable {
            if (to_errc(err) == errc::unknown_topic) return refused(true);
            // The record may be `after` all the same: the topic's next change waits, and the
            // asker hears, once the store says which (write rules follow the record read).
            logging::pipeline().warn("changing topic '{}' failed: {}; reading the topics to "
                                     "learn whether it was stored",
                                     r.name, self->system().render(err));
            when_settled(self, [=]() mutable {
              auto& s = self->state;
              if (auto now = s.topics.find(r.name); now != s.topics.end() && now->second == after)
                r.rp.deliver(r.answer(after));
              else
                r.rp.deliver(make_caf_error(errc::storage_unavailable));
              change_done(self, r.name);
            });
          });
}

// Stores a changed record of a live topic (grown, or configured) through the topic store,
// after any change of it still out (try_change). `rp` gets the answer made from the record
// as stored.
template <class Result>
void change_topic(self_ptr self, const std::string& name, caf::typed_response_promise<Result> rp,
                  std::function<expected<storage::topic_info>(const storage::topic_info&)> change,
                  std::function<Result(const storage::topic_info&)> answer) {
  topic_change_request<Result> r{name, rp, std::move(change), std::move(answer)};
  with_topics(self, [=](errc e) mutable {
    if (e != errc::ok) {
      r.rp.deliver(make_caf_error(e));
      return;
    }
    if (live_topic(self->state, name) == nullptr) {
      r.rp.deliver(make_caf_error(errc::unknown_topic));
      return;
    }
    when_unchanged(self, name,
                   {[=] { try_change(self, r, change_attempts); },
                    [=](errc why) mutable { r.rp.deliver(make_caf_error(why)); }});
  });
}

// Counts a topic store's write while it is inside it (broker_context::topic_writes_in_flight).
class counted_topic_write {
 public:
  explicit counted_topic_write(std::atomic<int>& count) : count_(count) { count_.fetch_add(1); }
  ~counted_topic_write() { count_.fetch_sub(1); }
  counted_topic_write(const counted_topic_write&) = delete;
  counted_topic_write& operator=(const counted_topic_write&) = delete;

 private:
  std::atomic<int>& count_;
};

// Reads and writes topic records with a store connection of its own, one after the other.
topic_store_actor::behavior_type topic_store_impl(topic_store_actor::pointer self,
                                                  std::shared_ptr<broker_context> ctx) {
  auto made = ctx->store_factory();
  if (!made) {
    logging::pipeline().error("topic store: cannot create store: {}", made.error().message());
    self->quit(make_caf_error(errc::storage_unavailable));
    return topic_store_actor::behavior_type::make_empty_behavior();
  }
  std::shared_ptr<storage::log_store> store = std::move(*made);
  return {
      [store, ctx](create_atom, const storage::topic_info& info) -> caf::result<bool> {
        counted_topic_write counted{ctx->topic_writes_in_flight};
        if (auto e = store->create_topic(info)) {
          // Stored meanwhile by another node, or by a creation whose registry failed.
          if (e == errc::topic_already_exists) return make_caf_error(errc::topic_already_exists);
          return make_caf_error(errc::storage_unavailable);
        }
        return true;
      },
      [store, ctx](configure_atom, const storage::topic_info& before,
                   const storage::topic_info& after) -> caf::result<bool> {
        counted_topic_write counted{ctx->topic_writes_in_flight};
        auto outcome = store->update_topic(before, after);
        if (!outcome) return make_caf_error(errc::storage_unavailable);
        // Gone: another node deleted the topic meanwhile.
        if (*outcome == storage::topic_write::gone) return make_caf_error(errc::unknown_topic);
        return *outcome == storage::topic_write::done;
      },
      [store, ctx](delete_atom, const storage::topic_info& info) -> caf::result<bool> {
        counted_topic_write counted{ctx->topic_writes_in_flight};
        auto outcome = store->delete_topic(info);
        if (!outcome) return make_caf_error(errc::storage_unavailable);
        // Gone: the name holds another topic now; this one was deleted meanwhile by another node.
        if (*outcome == storage::topic_write::gone) return make_caf_error(errc::unknown_topic);
        return *outcome == storage::topic_write::done;
      },
      [store](list_atom) -> caf::result<std::vector<storage::topic_info>> {
        auto topics = store->list_topics();
        if (!topics) return make_caf_error(errc::storage_unavailable);
        return std::move(*topics);
      },
  };
}

topic_registry_actor::behavior_type registry_impl(self_ptr self,
                                                  std::shared_ptr<broker_context> ctx,
                                                  actor_directory dir, bool own_thread) {
  self->state.ctx = ctx;
  self->state.dir = std::move(dir);
  // Linked both ways: a registry that stops takes it along, and one that fails (or cannot
  // reach the store at all) is restarted.
  self->state.topic_store =
      own_thread ? self->spawn<caf::detached + caf::linked>(topic_store_impl, ctx)
                 : self->spawn<caf::linked>(topic_store_impl, ctx);
  if (ctx->topic_writes_in_flight.load() > 0)
    logging::pipeline().info("topic registry: a predecessor's topic write is still landing; the topics are read on first use after it");
  else
    with_topics(self, [](errc e) {
      if (e == errc::storage_unavailable)
        logging::pipeline().warn("topic registry: store unavailable at startup; will retry on first use");
    });
  // A retired partition stopped: the lookups waiting for its successor go on.
  self->set_down_handler([=](caf::down_msg& down) {
    auto& st = self->state;
    std::vector<topic_partition> freed;
    for (auto it = st.retiring.begin(); it != st.retiring.end();) {
      if (it->second.address() != down.source) {
        ++it;
        continue;
      }
      freed.push_back(it->first);
      it = st.retiring.erase(it);
    }
    for (const auto& tp : freed) {
      if (st.retiring.count(tp) > 0) continue;
      if (st.deleting.count(tp.topic) > 0) finish_deletion(self, tp.topic);
      auto waiting = st.awaiting_successor.extract(tp);
      if (waiting.empty()) continue;
      for (auto& [rp, auto_create] : waiting.mapped()) answer_lookup(self, tp, auto_create, rp);
    }
  });
  // A partition that fails is forgotten; the next lookup spawns a fresh one that recovers
  // from the store. (An idle one is set aside before it stops: let_idle_stop.)
  self->set_exit_handler([=](caf::exit_msg& msg) {
    // A partition that failed just before it was retired: the down handler has it.
    for (const auto& [tp, partition] : self->state.retiring)
      if (partition.address() == msg.source) return;
    auto& parts = self->state.partitions;
    for (auto it = parts.begin(); it != parts.end(); ++it) {
      if (it->second.address() == msg.source) {
        if (msg.reason)
          logging::pipeline().error("partition {}/{} exited ({}); it restarts on next use", it->first.topic,
                        it->first.partition, self->system().render(msg.reason));
        self->state.fences.erase(it->first);
        parts.erase(it);
        return;
      }
    }
    if (msg.reason) self->quit(std::move(msg.reason));
  });
  return {
      [=](partition_atom, const topic_partition& tp,
          bool auto_create) -> caf::result<partition_actor> {
        auto rp = self->make_response_promise<partition_actor>();
        answer_lookup(self, tp, auto_create, rp);
        return rp;
      },
      [=](topic_atom, const std::string& name, bool auto_create) -> caf::result<storage::topic_info> {
        auto rp = self->make_response_promise<storage::topic_info>();
        find_topic(self, name, auto_create,
                   [=](const storage::topic_info* topic, errc e) mutable {
                     if (!topic)
                       rp.deliver(make_caf_error(e));
                     else
                       rp.deliver(*topic);
                   });
        return rp;
      },
      [=](topic_atom, const storage::topic_id& id) -> caf::result<storage::topic_info> {
        auto rp = self->make_response_promise<storage::topic_info>();
        with_topics(self, [=](errc e) mutable {
          if (e != errc::ok) { rp.deliver(make_caf_error(e)); return; }
          for (const auto& [name, info] : self->state.topics)
            if (info.id == id && self->state.deleting.count(name) == 0) {
              rp.deliver(info);
              return;
            }
          rp.deliver(make_caf_error(errc::unknown_topic));
        });
        return rp;
      },
      [=](create_atom, storage::topic_info& info) -> caf::result<storage::topic_info> {
        auto rp = self->make_response_promise<storage::topic_info>();
        const auto name = info.name;
        info.configs = last_value_of_each_key(std::move(info.configs));
        create_topic(self, std::move(info), [=](errc e) mutable {
          if (e != errc::ok)
            rp.deliver(make_caf_error(e));
          else
            rp.deliver(self->state.topics.at(name));
        });
        return rp;
      },
      [=](grow_atom, const std::string& name, std::int32_t count) -> caf::result<bool> {
        if (protocol::is_internal_topic(name)) return make_caf_error(errc::invalid_request);
        auto rp = self->make_response_promise<bool>();
        change_topic<bool>(
            self, name, rp,
            [=](const storage::topic_info& topic) -> expected<storage::topic_info> {
              if (count <= topic.partitions || count > max_topic_partitions)
                return make_error_code(errc::invalid_partition_count);
              auto grown = topic;
              grown.partitions = count;
              return grown;
            },
            [=](const storage::topic_info& grown) {
              logging::pipeline().info("topic '{}' grown to {} partitions", name, grown.partitions);
              // In a cluster, the new partitions get owners at the next lease round: run it now.
              if (auto node = self->state.dir.cluster) self->send(node, topic_atom::value);
              return true;
            });
        return rp;
      },
      [=](delete_atom, const std::string& name) -> caf::result<bool> {
        if (protocol::is_internal_topic(name)) return make_caf_error(errc::invalid_request);
        auto rp = self->make_response_promise<bool>();
        with_topics(self, [=](errc e) mutable {
          if (e != errc::ok) { rp.deliver(make_caf_error(e)); return; }
          auto& st = self->state;
          const auto* topic = live_topic(st, name);
          if (topic == nullptr) { rp.deliver(make_caf_error(errc::unknown_topic)); return; }
          // Its partitions retire first; the store forgets the topic once they have stopped.
          const auto partitions = topic->partitions;
          st.deleting[name] = {topic->id, {rp}};
          for (std::int32_t p = 0; p < partitions; ++p)
            stop_partition(self, {name, p}, errc::unknown_topic);
          finish_deletion(self, name);
        });
        return rp;
      },
      [=](configure_atom, const std::string& name, storage::config_entries& read,
          storage::config_entries& configs) -> caf::result<storage::topic_info> {
        if (protocol::is_internal_topic(name)) return make_caf_error(errc::invalid_request);
        for (auto& [key, value] : configs) value = canonical_topic_config(key, value);
        auto rp = self->make_response_promise<storage::topic_info>();
        change_topic<storage::topic_info>(
            self, name, rp,
            [read = std::move(read),
             configs = std::move(configs)](const storage::topic_info& topic) -> expected<storage::topic_info> {
              // Another change came first: the asker computes its set again from this one.
              // (Stored unchanged all the same, which checks that the store still holds it.)
              if (topic.configs != read) return topic;
              // Only what changes is checked: a value the topic already holds (stored by an
              // earlier version that took more) does not block changing its other keys.
              for (const auto& entry : configs)
                if (std::find(topic.configs.begin(), topic.configs.end(), entry) == topic.configs.end() &&
                    topic_config_problem(entry.first, entry.second))
                  return make_error_code(errc::invalid_request);
              auto changed = topic;
              changed.configs = last_value_of_each_key(configs);
              return changed;
            },
            [=](const storage::topic_info& changed) {
              logging::pipeline().info("topic '{}': {} config overrides", name, changed.configs.size());
              return changed;
            });
        return rp;
      },
      [=](list_atom) -> caf::result<std::vector<storage::topic_info>> {
        auto rp = self->make_response_promise<std::vector<storage::topic_info>>();
        with_topics(self, [=](errc e) mutable {
          if (e != errc::ok) { rp.deliver(make_caf_error(e)); return; }
          std::vector<storage::topic_info> out;
          for (const auto& [name, info] : self->state.topics)
            if (self->state.deleting.count(name) == 0) out.push_back(info);
          rp.deliver(std::move(out));
        });
        return rp;
      },
      [=](describe_atom, const std::string& name) -> caf::result<topic_description> {
        auto result = self->make_response_promise<topic_description>();
        find_topic(self, name, false, [=](const storage::topic_info* topic, errc e) mutable {
          if (!topic) {
            result.deliver(make_caf_error(e));
            return;
          }
          // Ask every partition for its bounds and answer when all have replied.
          struct pending {
            topic_description desc;
            std::size_t outstanding;
            caf::typed_response_promise<topic_description> rp;
            bool failed = false;
          };
          auto p = std::make_shared<pending>();
          p->desc.info = *topic;
          p->desc.partitions.resize(static_cast<std::size_t>(topic->partitions));
          p->outstanding = p->desc.partitions.size();
          p->rp = result;
          auto ok = [=](std::int32_t i, const storage::partition_bounds& b) {
            p->desc.partitions[static_cast<std::size_t>(i)] = b;
            if (--p->outstanding == 0 && !p->failed) p->rp.deliver(p->desc);
          };
          auto failed = [=](caf::error& err) {
            if (!p->failed) p->rp.deliver(std::move(err));
            p->failed = true;
          };
          for (std::int32_t i = 0; i < topic->partitions; ++i)
            bounds_of(self, {name, i}, [=](storage::partition_bounds& b) { ok(i, b); }, failed);
        });
        return result;
      },
      [=](snapshot_atom) -> caf::result<bool> {
        // The broker stops: every partition actor here (those stopping too: one passivating
        // may still have taken writes) writes its producer snapshot; answered once all have.
        auto& st = self->state;
        std::vector<partition_actor> running;
        for (const auto& [tp, p] : st.partitions) running.push_back(p);
        for (const auto& [tp, p] : st.retiring) running.push_back(p);
        if (running.empty()) return true;
        struct pending {
          std::size_t outstanding;
          bool all_stored = true;
          caf::typed_response_promise<bool> rp;
        };
        auto p = std::make_shared<pending>(pending{running.size(), true, self->make_response_promise<bool>()});
        auto answered = [p](bool stored) {
          p->all_stored = p->all_stored && stored;
          if (--p->outstanding == 0) p->rp.deliver(p->all_stored);
        };
        for (const auto& each : running)
          self->request(each, shutdown_snapshot_wait(st.ctx->config), snapshot_atom::value)
              .then([=](bool stored) { answered(stored); }, [=](caf::error&) { answered(false); });
        return p->rp;
      },
      [=](retire_atom, const std::vector<topic_partition>& lost) {
        // Stopped unless started again meanwhile under the lease this node holds now (outside
        // a cluster there is no lease: stopped).
        const auto view = self->state.ctx->cluster();
        for (const auto& tp : lost) {
          const storage::lease_holder* lease = nullptr;
          auto fence = self->state.fences.find(tp);
          if (fence != self->state.fences.end() && view->owns(tp, &lease) && lease != nullptr &&
              storage::lease_value(*lease) == fence->second)
            continue;
          stop_partition(self, tp, errc::not_leader);
        }
      },
      [=](idle_atom, const topic_partition& tp) { let_idle_stop(self, tp); },
      [=](cancel_atom a, const topic_partition& tp, std::uint64_t poll_id) {
        // Never starts a partition: one that is not running holds no poll.
        auto& running = self->state.partitions;
        if (auto it = running.find(tp); it != running.end()) self->send(it->second, a, poll_id);
      },
      [=](recover_atom) {
        // From the cluster (another node changed the topics), or from itself (reread_later).
        self->state.reread_armed = false;
        // Before the first read, the read waits for a predecessor's write (with_topics).
        auto reread = self->state.loaded ? read_topics : with_topics;
        reread(self, [=](errc e) {
          // The store did not answer: the change is still to be read.
          if (e == errc::storage_unavailable) reread_later(self);
        });
      },
      [=](directory_atom a, actor_directory& next) {
        auto& st = self->state;
        st.dir = std::move(next);
        // Set-aside ones too: one that is finishing what it took needs the new writer.
        for (const auto& [tp, partition] : st.partitions) self->send(partition, a, st.dir);
        for (const auto& [tp, partition] : st.retiring) self->send(partition, a, st.dir);
        if (st.dir.groups) {
          auto untold = std::exchange(st.untold_deletions, {});
          for (const auto& [name, deleted_ms] : untold) tell_groups_deleted(self, name, deleted_ms);
        }
      },
  };
}

}  // namespace

topic_registry_actor spawn_topic_registry(caf::actor_system& sys,
                                          std::shared_ptr<broker_context> ctx,
                                          actor_directory dir, bool own_thread) {
  return sys.spawn(registry_impl, std::move(ctx), std::move(dir), own_thread);
}

}  // namespace portask
