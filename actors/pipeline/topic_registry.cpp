#include "actors/pipeline/topic_registry.hpp"

#include <deque>
#include <functional>
#include <map>
#include <optional>

#include "actors/pipeline/partition.hpp"
#include "actors/pipeline/topic_configs.hpp"
#include "logging/loggers.hpp"
#include "protocol/topic_name.hpp"

namespace portask {
namespace {

using namespace std::chrono_literals;

struct registry_state {
  std::shared_ptr<broker_context> ctx;
  actor_directory dir;  ///< handed to the partitions it spawns, and every update after
  std::unique_ptr<storage::log_store> store;
  topic_store_actor topic_store;  ///< writes creations (linked: it stops with the registry)
  bool loaded = false;
  std::map<std::string, storage::topic_info> topics;
  /// Topics whose creation is out at the store, with what waits for the outcome (errc::ok:
  /// created): the creator, and lookups of the name, which then look again. Meanwhile the
  /// name is neither known nor free.
  std::map<std::string, std::vector<std::function<void(errc)>>> creating;
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
  /// A registry that stops answers the lookups and deletions still waiting (retriable): a
  /// destroyed promise sends nothing in CAF 0.17.
  /// The retiring partitions stop with it, as the running ones do through their links.
  ~registry_state() {
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

constexpr std::int32_t max_partitions = 10000;

// Loads the topic registry from the store once; retried on later requests if the store
// was down at startup.
errc ensure_loaded(self_ptr self) {
  auto& st = self->state;
  if (st.loaded) return errc::ok;
  // Before the first read, no write of this registry's own is out: one in flight is a
  // predecessor's, which lands within the store's timeout (retriable meanwhile).
  if (st.ctx->topic_writes_in_flight.load() > 0) return errc::not_ready;
  auto list = st.store->list_topics();
  if (!list) return errc::storage_unavailable;
  for (auto& t : *list) st.topics[t.name] = std::move(t);
  st.loaded = true;
  logging::pipeline().info("topic registry: {} topics recovered from the {} store", st.topics.size(),
               st.ctx->store_kind);
  return errc::ok;
}

std::optional<bool> reload_topics(self_ptr self);
void stop_partition(self_ptr self, const topic_partition& tp, errc why);

// A topic that exists and is not being deleted (the registry's own view), or none.
storage::topic_info* live_topic(registry_state& st, const std::string& name) {
  if (st.deleting.count(name) > 0) return nullptr;
  auto it = st.topics.find(name);
  return it == st.topics.end() ? nullptr : &it->second;
}

// Creates a topic: checks it, has the topic store write it and tells `done` the outcome once
// the store has answered (at once when the topic is refused). Lookups of the name meanwhile
// wait for the outcome (creating).
void create_topic(self_ptr self, storage::topic_info info, std::function<void(errc)> done) {
  auto& st = self->state;
  if (!protocol::is_valid_topic_name(info.name)) return done(errc::invalid_request);
  if (info.partitions < 1 || info.partitions > max_partitions) return done(errc::invalid_request);
  for (const auto& [key, value] : info.configs)
    if (topic_config_problem(key, value)) return done(errc::invalid_request);
  if (auto e = ensure_loaded(self); e != errc::ok) return done(e);
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
  // Another node of the cluster may have created it since this one last looked.
  if (st.ctx->config.cluster.enabled() && !st.topics.count(info.name) && !reload_topics(self))
    return done(errc::storage_unavailable);
  if (st.topics.count(info.name) || st.deleting.count(info.name))
    return done(errc::topic_already_exists);  // being deleted counts as existing, as in Kafka
  if (info.id == storage::topic_id{}) info.id = storage::new_topic_id();
  st.creating[info.name].push_back(std::move(done));
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
            // In a cluster, the new partitions get owners at the next lease round: run it now.
            if (auto node = s.dir.cluster) self->send(node, topic_atom::value);
            auto waiting = s.creating.extract(info.name);
            for (auto& w : waiting.mapped()) w(errc::ok);
          },
          [=](caf::error& err) {
            auto waiting = self->state.creating.extract(info.name);
            auto outcome = errc::storage_unavailable;
            if (to_errc(err) == errc::topic_already_exists) {
              // The store has a topic of that name this registry did not know (created by
              // another node, or written late): learn it, and every waiter finds that one.
              logging::pipeline().info("topic '{}' was created meanwhile elsewhere", info.name);
              if (reload_topics(self)) outcome = errc::topic_already_exists;
            } else {
              logging::pipeline().warn("creating topic '{}' failed: {}", info.name,
                                       self->system().render(err));
            }
            for (auto& w : waiting.mapped()) w(outcome);
          });
}

// Reads the topics again (in a cluster, other nodes create, grow and delete them): stops the
// partitions of topics that went away. Whether anything changed; none when the store could
// not be read.
std::optional<bool> reload_topics(self_ptr self) {
  auto& st = self->state;
  auto list = st.store->list_topics();
  if (!list) return std::nullopt;
  std::map<std::string, storage::topic_info> now;
  // A topic whose creation is out stays unknown until the store has answered this node (its
  // write may be what the list shows).
  for (auto& t : *list)
    if (!st.creating.count(t.name)) now[t.name] = std::move(t);
  if (now == st.topics && st.loaded) return false;
  std::vector<topic_partition> gone;
  for (const auto& [tp, actor] : st.partitions) {
    auto topic = now.find(tp.topic);
    auto was = st.topics.find(tp.topic);
    if (topic == now.end() || was == st.topics.end() || tp.partition >= topic->second.partitions ||
        topic->second.id != was->second.id)
      gone.push_back(tp);
  }
  for (const auto& tp : gone) stop_partition(self, tp, errc::unknown_topic);
  st.topics = std::move(now);
  st.loaded = true;
  st.ctx->topic_changes.fetch_add(1, std::memory_order_relaxed);
  return true;
}

// Retires a running partition actor: it answers what waits with `why`, waits for what it
// has out at the store and stops (partition.cpp, retire). Its successor starts once it has
// stopped (answer_lookup) and recovers from the store. Unlinked and monitored instead (its
// exit, whatever the reason, is only news to the down handler); a registry that stops
// takes it along all the same (~registry_state).
void stop_partition(self_ptr self, const topic_partition& tp, errc why) {
  auto& st = self->state;
  auto it = st.partitions.find(tp);
  if (it == st.partitions.end()) return;
  self->unlink_from(it->second);
  self->monitor(it->second);
  st.retiring.emplace(tp, it->second);
  self->send(it->second, retire_atom::value, why);
  st.partitions.erase(it);
  st.fences.erase(tp);
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
    it = st.partitions.emplace(tp, spawn_partition(self, st.ctx, st.dir, tp, fence)).first;
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

// Finds a topic, creating it with the default partition count when allowed. A topic whose
// creation is out at the store is waited for.
void find_topic(self_ptr self, const std::string& name, bool auto_create, topic_found found) {
  auto& st = self->state;
  if (auto e = ensure_loaded(self); e != errc::ok) return found(nullptr, e);
  if (st.deleting.count(name) > 0)
    return found(nullptr, errc::unknown_topic);  // nor created again until the deletion is done
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
  // Another node of the cluster may have created it since the last look.
  if (st.ctx->config.cluster.enabled() && reload_topics(self).value_or(false)) {
    it = st.topics.find(name);
    if (it != st.topics.end()) return found(&it->second, errc::ok);
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
  create_topic(
      self, {name, static_cast<std::int32_t>(std::max(1u, st.ctx->config.default_partitions)), {}},
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

// A partition's bounds. This node's partitions answer through the bridge, the single
// entrance to partitions (it spawns one that is not running and asks again one that stopped
// as the request reached it); another node's, from the store.
template <class Ok, class Fail>
void bounds_of(self_ptr self, const topic_partition& tp, Ok ok, Fail fail) {
  const auto& st = self->state;
  if (!st.ctx->cluster()->owns(tp)) {
    // Another node's partition: what is stored is what it acknowledged.
    auto reader = st.dir.any_reader();
    if (!reader) {
      auto err = make_caf_error(errc::not_ready);
      return fail(err);
    }
    self->request(reader, 10s, bounds_atom::value, tp).then(ok, fail);
    return;
  }
  auto bridge = st.dir.bridge_for(tp);
  if (!bridge) {
    auto err = make_caf_error(errc::not_ready);
    return fail(err);
  }
  self->request(bridge, 10s, bounds_atom::value, tp).then(ok, fail);
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

// Deletes a topic in the store once none of its partitions is still retiring (through the
// topic store, after any change of the topic still out), and answers the requests that asked
// for it. Until the store has answered, the name stays neither known nor free (deleting).
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
  when_unchanged(self, name, {[=] {
    auto& s = self->state;
    auto topic = s.topics.find(name);
    if (topic == s.topics.end() || topic->second.id != id) {
      end_deletion(self, name);  // a cluster reload meanwhile found it gone: done
      return change_done(self, name);
    }
    self->request(s.topic_store, caf::infinite, delete_atom::value, topic->second)
        .then(
            [=](bool) {
              auto& s2 = self->state;
              logging::pipeline().info("deleted topic '{}'", name);
              s2.ctx->topic_changes.fetch_add(1, std::memory_order_relaxed);
              if (auto gone = s2.topics.find(name); gone != s2.topics.end() && gone->second.id == id)
                s2.topics.erase(gone);
              end_deletion(self, name);
              change_done(self, name);
            },
            [=](caf::error& err) {
              // Still there: its partitions start again on the next request.
              logging::pipeline().warn("deleting topic '{}' failed: {}", name,
                                       self->system().render(err));
              end_deletion(self, name, make_caf_error(errc::storage_unavailable));
              change_done(self, name);
            });
  }, {}});  // a registry that stops answers the deletion's askers itself (deleting)
}

// Stores a changed record of a live topic (grown, or configured) through the topic store,
// after any change of it still out: `change` makes the new record from the current one, or
// refuses (an error). `rp` gets the record as stored.
template <class Result>
void change_topic(self_ptr self, const std::string& name, caf::typed_response_promise<Result> rp,
                  std::function<expected<storage::topic_info>(const storage::topic_info&)> change,
                  std::function<Result(const storage::topic_info&)> answer) {
  when_unchanged(self, name, {[=]() mutable {
    auto* topic = live_topic(self->state, name);
    if (topic == nullptr) {
      rp.deliver(make_caf_error(errc::unknown_topic));
      return change_done(self, name);
    }
    auto changed = change(*topic);
    if (!changed) {
      rp.deliver(make_caf_error(static_cast<errc>(changed.error().value())));
      return change_done(self, name);
    }
    self->request(self->state.topic_store, caf::infinite, configure_atom::value, *changed)
        .then(
            [=](bool) mutable {
              auto& s = self->state;
              // The record is this now, even when a deletion waits behind the change (it
              // deletes what the change stored), unless another node deleted it meanwhile.
              if (auto now = s.topics.find(name); now != s.topics.end() && now->second.id == changed->id)
                now->second = *changed;
              s.ctx->topic_changes.fetch_add(1, std::memory_order_relaxed);
              rp.deliver(answer(*changed));
              change_done(self, name);
            },
            [=](caf::error&) mutable {
              rp.deliver(make_caf_error(errc::storage_unavailable));
              change_done(self, name);
            });
  }, [=](errc e) mutable { rp.deliver(make_caf_error(e)); }});
}

// Counts a topic store's write while it is inside it (broker_context::topic_writes_in_flight).
class topic_write {
 public:
  explicit topic_write(std::atomic<int>& count) : count_(count) { count_.fetch_add(1); }
  ~topic_write() { count_.fetch_sub(1); }
  topic_write(const topic_write&) = delete;
  topic_write& operator=(const topic_write&) = delete;

 private:
  std::atomic<int>& count_;
};

// Writes topic records with a store connection of its own, one after the other.
topic_store_actor::behavior_type topic_store_impl(topic_store_actor::pointer self,
                                                  std::shared_ptr<broker_context> ctx) {
  auto made = ctx->store_factory();
  if (!made) {
    logging::pipeline().error("topic store: cannot create store: {}", made.error().message());
    self->quit(make_caf_error(errc::storage_unavailable));
    return topic_store_actor::behavior_type::make_empty_behavior();
  }
  std::shared_ptr<storage::log_store> store = std::move(*made);
  auto stored = [](std::error_code e) -> caf::result<bool> {
    if (e) return make_caf_error(errc::storage_unavailable);
    return true;
  };
  return {
      [store, ctx](create_atom, const storage::topic_info& info) -> caf::result<bool> {
        topic_write counted{ctx->topic_writes_in_flight};
        if (auto e = store->create_topic(info)) {
          // Stored meanwhile by another node, or by a creation whose registry failed.
          if (e == errc::topic_already_exists) return make_caf_error(errc::topic_already_exists);
          return make_caf_error(errc::storage_unavailable);
        }
        return true;
      },
      [store, stored, ctx](configure_atom, const storage::topic_info& info) {
        topic_write counted{ctx->topic_writes_in_flight};
        return stored(store->put_topic(info));
      },
      [store, stored, ctx](delete_atom, const storage::topic_info& info) {
        topic_write counted{ctx->topic_writes_in_flight};
        return stored(store->delete_topic(info));
      },
  };
}

topic_registry_actor::behavior_type registry_impl(self_ptr self,
                                                  std::shared_ptr<broker_context> ctx,
                                                  actor_directory dir, bool own_thread) {
  self->state.ctx = ctx;
  self->state.dir = std::move(dir);
  auto store = ctx->store_factory();
  if (!store) {
    self->quit(make_caf_error(errc::storage_unavailable));
    return topic_registry_actor::behavior_type::make_empty_behavior();
  }
  self->state.store = std::move(*store);
  // Linked both ways: a registry that stops takes it along, and one that fails is restarted.
  self->state.topic_store =
      own_thread ? self->spawn<caf::detached + caf::linked>(topic_store_impl, ctx)
                 : self->spawn<caf::linked>(topic_store_impl, ctx);
  if (auto e = ensure_loaded(self); e == errc::not_ready)
    logging::pipeline().info("topic registry: a predecessor's topic write is still landing; the topics are read on first use after it");
  else if (e != errc::ok)
    logging::pipeline().warn("topic registry: store unavailable at startup; will retry on first use");
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
  // A partition that stops (idle, or a failure) is forgotten; the next lookup spawns a fresh
  // one that recovers from the store.
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
        if (auto e = ensure_loaded(self); e != errc::ok) return make_caf_error(e);
        for (const auto& [name, info] : self->state.topics)
          if (info.id == id && self->state.deleting.count(name) == 0) return info;
        return make_caf_error(errc::unknown_topic);
      },
      [=](create_atom, storage::topic_info& info) -> caf::result<storage::topic_info> {
        auto rp = self->make_response_promise<storage::topic_info>();
        const auto name = info.name;
        create_topic(self, std::move(info), [=](errc e) mutable {
          if (e != errc::ok)
            rp.deliver(make_caf_error(e));
          else
            rp.deliver(self->state.topics.at(name));
        });
        return rp;
      },
      [=](grow_atom, const std::string& name, std::int32_t count) -> caf::result<bool> {
        auto& st = self->state;
        if (protocol::is_internal_topic(name)) return make_caf_error(errc::invalid_request);
        if (auto e = ensure_loaded(self); e != errc::ok) return make_caf_error(e);
        if (live_topic(st, name) == nullptr) return make_caf_error(errc::unknown_topic);
        auto rp = self->make_response_promise<bool>();
        change_topic<bool>(
            self, name, rp,
            [=](const storage::topic_info& topic) -> expected<storage::topic_info> {
              if (count <= topic.partitions || count > max_partitions)
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
        auto& st = self->state;
        if (protocol::is_internal_topic(name)) return make_caf_error(errc::invalid_request);
        if (auto e = ensure_loaded(self); e != errc::ok) return make_caf_error(e);
        const auto* topic = live_topic(st, name);
        if (topic == nullptr) return make_caf_error(errc::unknown_topic);
        // Its partitions retire first; the store forgets the topic once they have stopped.
        auto rp = self->make_response_promise<bool>();
        st.deleting[name] = {topic->id, {rp}};
        for (std::int32_t p = 0; p < topic->partitions; ++p)
          stop_partition(self, {name, p}, errc::unknown_topic);
        finish_deletion(self, name);
        return rp;
      },
      [=](configure_atom, const std::string& name,
          storage::config_entries& configs) -> caf::result<storage::topic_info> {
        auto& st = self->state;
        if (protocol::is_internal_topic(name)) return make_caf_error(errc::invalid_request);
        if (auto e = ensure_loaded(self); e != errc::ok) return make_caf_error(e);
        if (live_topic(st, name) == nullptr) return make_caf_error(errc::unknown_topic);
        for (const auto& [key, value] : configs)
          if (topic_config_problem(key, value)) return make_caf_error(errc::invalid_request);
        auto rp = self->make_response_promise<storage::topic_info>();
        change_topic<storage::topic_info>(
            self, name, rp,
            [configs = std::move(configs)](const storage::topic_info& topic) -> expected<storage::topic_info> {
              auto changed = topic;
              changed.configs = configs;
              return changed;
            },
            [=](const storage::topic_info& changed) {
              logging::pipeline().info("topic '{}': {} config overrides", name, changed.configs.size());
              return changed;
            });
        return rp;
      },
      [=](list_atom) -> caf::result<std::vector<storage::topic_info>> {
        if (auto e = ensure_loaded(self); e != errc::ok) return make_caf_error(e);
        std::vector<storage::topic_info> out;
        for (const auto& [name, info] : self->state.topics)
          if (self->state.deleting.count(name) == 0) out.push_back(info);
        return out;
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
      [=](cancel_atom a, const topic_partition& tp, std::uint64_t poll_id) {
        // Never starts a partition: one that is not running holds no poll.
        auto& running = self->state.partitions;
        if (auto it = running.find(tp); it != running.end()) self->send(it->second, a, poll_id);
      },
      [=](recover_atom) {
        const auto changed = reload_topics(self);
        if (!changed) {
          // The store did not answer: the change is still to be read.
          self->delayed_send(self, 1s, recover_atom::value);
          return;
        }
        if (*changed)
          logging::pipeline().info("topic registry: topics changed in the store; {} topics now",
                                   self->state.topics.size());
      },
      [=](directory_atom a, actor_directory& next) {
        auto& st = self->state;
        st.dir = std::move(next);
        for (const auto& [tp, partition] : st.partitions) self->send(partition, a, st.dir);
      },
  };
}

}  // namespace

topic_registry_actor spawn_topic_registry(caf::actor_system& sys,
                                          std::shared_ptr<broker_context> ctx,
                                          actor_directory dir, bool own_thread) {
  if (!own_thread) return sys.spawn(registry_impl, std::move(ctx), std::move(dir), false);
  return sys.spawn<caf::detached>(registry_impl, std::move(ctx), std::move(dir), true);
}

}  // namespace portask
