#include "actors/pipeline/retention.hpp"

#include <malloc.h>
#include <sys/prctl.h>

#include <algorithm>
#include <atomic>
#include <deque>
#include <map>
#include <set>

#include "actors/pipeline/compaction.hpp"
#include "actors/pipeline/partition.hpp"
#include "actors/pipeline/storage_actors.hpp"
#include "actors/pipeline/topic_configs.hpp"
#include "actors/pipeline/wall_clock.hpp"
#include "logging/loggers.hpp"
#include "protocol/topic_name.hpp"

namespace portask {
namespace {

using namespace std::chrono_literals;

/// Partitions asked to delete at once: a pass over thousands of partitions must not start
/// thousands of partition actors together.
constexpr std::size_t deletions_in_flight = 16;
/// Partitions asked for a producer snapshot at once (ask_snapshot), for the same reason: the
/// registry starts a partition that had stopped to answer.
constexpr std::size_t snapshot_asks_in_flight = 4;

/// Partitions planned or compacted at once, each plan on a worker of its own. Kafka's
/// cleaner runs one thread by default (log.cleaner.threads); two here, so that one large
/// partition, whose plan reads its log for minutes on Redis, does not hold every other
/// compacted partition back, while what plans hold in memory (up to 64 MiB of a dirty part's
/// keys and 32 MiB written anew each: compaction_range) and the reads they add to the store
/// stay those of two.
constexpr std::size_t compactions_in_flight = 2;

struct deletion {
  topic_partition tp;
  std::int64_t from;  ///< log start when planned
  std::int64_t to;    ///< new log start
};

/// A compacted partition's compaction_progress.
struct compaction_state : compaction_progress {
  storage::topic_id topic;  ///< a topic deleted and made again starts with none of this
  /// Its log could not be read for a plan, and this was logged: once until a plan is made.
  bool unreadable_logged = false;
  /// What the store's producer snapshot was last found to cover (it only grows), for the
  /// batches the last plan held back for want of one (held_until): read once after that plan
  /// (a partition that went idle since wrote one), then only once the partition, asked
  /// (`snapshot_asked` while it is), has stored its producers; not at every pass, as the
  /// read takes every producer's window (on Redis the whole producers hash and log headers).
  std::int64_t covers_seen = 0;
  bool covers_read = false;
  bool snapshot_asked = false;
};

/// A partition a pass found due for compaction.
struct compaction_due {
  topic_partition tp;
  storage::topic_id topic;  ///< the topic as it was when found due
  compaction_policy policy;
  storage::partition_bounds bounds;  ///< as the pass found them: due again when taken up?
};

/// What a plan starts from: the partition, and where the last one left it.
struct plan_request {
  compaction_due due;
  compaction_range range;  ///< the clean part and the tombstones; the rest read by the worker
  std::int64_t now_ms = 0;
};

/// What a worker's plan came to (an error instead: the log could not be read).
struct plan_outcome {
  enum class kind {
    planned,
    emptied,     ///< nothing stored any more (retention, DeleteRecords since the pass)
    failed,      ///< plan_compaction's error in `failed`
    topic_gone,  ///< the topic was deleted (and maybe made again) meanwhile
  };
  kind what = kind::planned;
  std::error_code failed;
  compaction_plan plan;
  std::uint64_t stored_before = 0;
};

struct retention_state {
  std::shared_ptr<broker_context> ctx;
  actor_directory dir;  ///< the registry and the bridges
  std::unique_ptr<storage::log_store> store;
  /// On a thread of its own, as are the workers that make its plans (else, in tests, all on
  /// the scheduler).
  bool own_thread = true;
  std::deque<deletion> planned;
  std::size_t running = 0;
  bool store_warned = false;
  std::uint64_t passivated_seen = 0;
  std::map<topic_partition, compaction_state> clean;
  /// The appended totals last reported per topic (by id: a topic made again starts over).
  /// They are counters, summed over the partitions each pass could read: a pass that could
  /// not read one would make them go down, which a scraper takes for a reset. Reported as
  /// the larger of the two; the stored-bytes gauge is what the pass measured.
  struct reported_totals {
    storage::topic_id topic;
    std::uint64_t appended_bytes = 0;
    std::int64_t appended_messages = 0;
  };
  std::map<std::string, reported_totals, std::less<>> reported;
  /// Partitions due for compaction, in the order found, waiting for one of the
  /// compactions_in_flight.
  std::deque<compaction_due> compactions;
  /// Partitions waiting to be asked for a producer snapshot (ask_snapshot), and how many are
  /// being asked.
  std::deque<compaction_due> snapshot_asks;
  std::size_t snapshot_asks_out = 0;
  /// Partitions being planned (on a worker) or compacted (by their partition): one at a
  /// time each.
  std::set<topic_partition> compacting;
  /// What the current pass deleted, logged once when its last deletion is done.
  std::size_t pass_partitions = 0;
  std::int64_t pass_records = 0;
  /// Set once this actor stops: its workers' plans give up at their next read, rather than
  /// read whole logs for nobody beside the plans of a successor.
  std::shared_ptr<std::atomic<bool>> stopped = std::make_shared<std::atomic<bool>>(false);
  ~retention_state() { stopped->store(true); }
  static inline const char* name = "portask.retention";
};

using self_ptr = retention_actor::stateful_pointer<retention_state>;

void compact_next(self_ptr self);

// Has the partitions delete what the pass planned, some at a time; once every deletion is
// done, the compactions the pass found due (planned on logs the deletions already changed).
void start_deletions(self_ptr self) {
  auto& st = self->state;
  compact_next(self);
  if (st.running == 0 && st.planned.empty() && st.pass_partitions > 0) {
    logging::retention().info("retention: {} records deleted from {} partitions", st.pass_records,
                 st.pass_partitions);
    st.pass_partitions = 0;
    st.pass_records = 0;
  }
  while (st.running < deletions_in_flight && !st.planned.empty()) {
    auto d = st.planned.front();
    st.planned.pop_front();
    auto registry = st.dir.registry;
    if (!registry) {
      st.planned.clear();
      return;
    }
    ++st.running;
    auto finished = [=](const char* what, const caf::error* err) {
      --self->state.running;
      if (err)
        logging::retention().warn("retention: {}/{}: {}: {}", d.tp.topic, d.tp.partition, what,
                     self->system().render(*err));
      start_deletions(self);
    };
    ask_partition(
        self, self->state.dir, d.tp, 60s,
        [=](storage::partition_bounds& b) {
          logging::retention().debug("retention: {}/{}: log start {} -> {} ({} bytes stored)", d.tp.topic,
                        d.tp.partition, d.from, b.log_start, b.stored_bytes());
          ++self->state.pass_partitions;
          self->state.pass_records += std::max<std::int64_t>(0, b.log_start - d.from);
          finished("", nullptr);
        },
        [=](caf::error& e) { finished("deleting failed", &e); }, delete_atom::value, d.to);
  }
}

// Reads what the producer snapshot the store holds for `tp` covers now (unread: as before).
void read_covers(retention_state& st, const topic_partition& tp, compaction_state& c) {
  if (auto producers = st.store->read_producer_history(tp))
    c.covers_seen = std::max(c.covers_seen, producers->covers);
}

// The compaction progress of the partition found `due`, while its topic is still the one
// found due: marks belong to one topic of the name, and one deleted and made again starts
// from none (a pass forgets the marks of topics gone).
compaction_state* progress_of(retention_state& st, const compaction_due& due) {
  auto it = st.clean.find(due.tp);
  return it != st.clean.end() && it->second.topic == due.topic ? &it->second : nullptr;
}

// Has the partition of `due` store its producers (everything unsaved: the request a stopping
// broker makes), then reads what the store's snapshot covers, and plans the partition at once
// if it covers the batches held back. Its actor comes from the registry (which starts it if it
// had stopped): the bridges route no such request. Not stored (the store refused it, or the
// partition could not be asked): asked again at the next pass that finds the partition quiet.
void ask_next_snapshots(self_ptr self);

void ask_snapshot(self_ptr self, const compaction_due& due) {
  auto* asking = progress_of(self->state, due);
  if (asking == nullptr || !self->state.dir.registry) return;
  asking->snapshot_asked = true;
  self->state.snapshot_asks.push_back(due);
  ask_next_snapshots(self);
}

// Asks the partition of `due` (queued by ask_snapshot), one of snapshot_asks_in_flight.
void send_snapshot_ask(self_ptr self, const compaction_due& due) {
  auto& st = self->state;
  auto registry = st.dir.registry;
  ++st.snapshot_asks_out;
  auto answered = [self, due](bool stored) {
    --self->state.snapshot_asks_out;
    ask_next_snapshots(self);
    auto* c = progress_of(self->state, due);
    if (c == nullptr) return;  // a pass since found the topic gone, or made again
    c->snapshot_asked = false;
    if (!stored) {
      c->covers_read = false;  // read again before asking again: it may have stored one since
      return;
    }
    read_covers(self->state, due.tp, *c);
    if (c->covers_seen < c->held_until) {
      c->covers_read = false;
      return;
    }
    self->state.compactions.push_back(due);
    compact_next(self);
  };
  auto failed = [self, due, answered](caf::error& e) {
    logging::retention().debug("compaction: {}/{}: producer snapshot not stored: {}",
                               due.tp.topic, due.tp.partition, self->system().render(e));
    answered(false);
  };
  self->request(registry, registry_wait(st.ctx->config), partition_atom::value, due.tp, false)
      .then(
          [self, answered, failed](partition_actor& p) {
            self->request(p, 60s, snapshot_atom::value).then(answered, failed);
          },
          failed);
}

void ask_next_snapshots(self_ptr self) {
  auto& st = self->state;
  while (st.snapshot_asks_out < snapshot_asks_in_flight && !st.snapshot_asks.empty()) {
    auto due = st.snapshot_asks.front();
    st.snapshot_asks.pop_front();
    // Gone since it was queued (a pass found the topic deleted or made again): not asked.
    if (auto* c = progress_of(st, due); c == nullptr || !c->snapshot_asked) continue;
    send_snapshot_ask(self, due);
  }
}

// Whether the batches the last plan of the quiet partition `due` held back for want of a
// producer snapshot (held_until) are covered by one now: as last read, else as read once
// after that plan (a partition idle since wrote one as it stopped), else not yet, and the
// partition is asked to store one (ask_snapshot), which plans it once stored. A partition
// that never stops writes none of its own accord: one kept busy by consumers' reads (each
// request keeps it from idling), or any with partition_idle_ms 0.
bool held_covered(self_ptr self, compaction_state& c, const compaction_due& due) {
  if (c.covers_seen >= c.held_until) return true;
  if (c.snapshot_asked) return false;
  if (!c.covers_read) {
    c.covers_read = true;
    read_covers(self->state, due.tp, c);
    if (c.covers_seen >= c.held_until) return true;
  }
  ask_snapshot(self, due);
  return false;
}

// Plans a compaction of the partition from the store, on a one-shot worker (blocking reads
// of the log's dirty part, then of the log from its start to there: minutes for a large
// partition on Redis). Only a plan made from the topic's own log is handed back: the topic
// is looked up once the log has been read, and one deleted meanwhile, even one made again
// under its name, whose new log a stale plan could fit by chance (the store compares the
// plan's ends and kept batches only), is `topic_gone`. A topic whose id is still there
// after the reads was there during them, with its own log: ids are never used again. Once
// `stopped` (the retention actor is gone), the plan gives up at its next read.
expected<plan_outcome> make_plan(storage::log_store& store, const protocol::codec_manager& codecs,
                                 plan_request req, const std::atomic<bool>& stopped) {
  const auto& tp = req.due.tp;
  plan_outcome out;
  auto b = store.bounds(tp);
  if (!b) return b.error();
  out.stored_before = b->stored_bytes();
  out.what = plan_outcome::kind::emptied;
  if (b->log_start >= b->next_offset) return out;
  // The newest batch is never compacted (the log never empties): its base is the limit.
  auto last = store.read(tp, b->next_offset - 1, 1);
  if (!last) return last.error();
  if (last->empty()) return out;  // emptied since the bounds were read
  auto producers = store.read_producer_history(tp);
  if (!producers) return producers.error();
  req.range.log_start = b->log_start;
  req.range.limit = last->back().base_offset;
  req.range.producers_covered = producers->covers;
  auto plan = plan_compaction(
      codecs, tp, req.range, req.due.policy, req.now_ms,
      [&](std::int64_t offset) -> expected<std::vector<storage::stored_batch>> {
        if (stopped.load()) return std::error_code{errc::not_ready};
        return store.read(tp, offset, 1u << 20);
      });
  if (stopped.load()) return std::error_code{errc::not_ready};
  auto topics = store.list_topics();
  if (!topics) return topics.error();
  const bool still_there =
      std::any_of(topics->begin(), topics->end(), [&](const storage::topic_info& t) {
        return t.name == tp.topic && t.id == req.due.topic && tp.partition < t.partitions;
      });
  if (!still_there) {
    out.what = plan_outcome::kind::topic_gone;
  } else if (!plan) {
    out.what = plan_outcome::kind::failed;
    out.failed = plan.error();
  } else {
    out.what = plan_outcome::kind::planned;
    out.plan = std::move(*plan);
  }
  return out;
}

// The partition's compaction is over (done, found needless, failed or dropped): the next
// one may start.
void compaction_over(self_ptr self, const topic_partition& tp) {
  self->state.compacting.erase(tp);
  compact_next(self);
}

// The clean part moves once a plan is carried out (or found nothing to remove); its
// tombstones count from then. max.compaction.lag.ms counts from the plan (`planned_ms`).
void mark_clean(compaction_state& c, const compaction_plan& plan, const compaction_policy& policy,
                std::int64_t planned_ms) {
  c.cleaned_at_ms = planned_ms;
  if (!plan.clean_moved) {
    // Stopped at its write budget, a plan leaves the batches held back for a snapshot to the
    // next to go on with; one that found nothing old enough to compact found none of them
    // either (the log start passed them): it would be due for them at every quiet pass.
    if (plan.records_removed == 0) c.held_until = 0;
    return;
  }
  c.clean_offset = plan.clean_offset;
  c.clean_bytes = plan.clean_bytes;
  c.held_until = plan.held_until;
  // The plan read a snapshot short of what it held back: the next quiet pass reads it again
  // (what was read before is below that, unless the store lost a snapshot since).
  c.covers_seen = 0;
  c.covers_read = false;
  c.tombstones.cleaned(plan.clean_offset, wall_clock_ms(), policy.delete_retention_ms);
  c.tombstones_waiting = plan.tombstones_kept > 0;
}

// A worker's plan for `due`, started at `now`, is back: has the partition carry it out.
// A plan that failed, or one the partition could not carry out, waits compaction_retry_ms
// (compaction_progress::due); max.compaction.lag.ms still counts from the last compaction
// done (or found needless).
void planned(self_ptr self, const compaction_due& due, std::int64_t now,
             expected<plan_outcome> outcome) {
  auto& st = self->state;
  const auto& tp = due.tp;
  auto* c = progress_of(st, due);
  // A pass since found the topic gone, or made again: the plan is not its log's.
  if (c == nullptr) return compaction_over(self, tp);
  if (!outcome) {
    // Said once until a plan is made: the partition is tried again at every retry.
    if (!c->unreadable_logged)
      logging::retention().warn("compaction: {}/{}: not planned: its log could not be read "
                                "({}); trying again every {} s",
                                tp.topic, tp.partition, outcome.error().message(),
                                compaction_retry_ms / 1000);
    c->unreadable_logged = true;
    c->retry_later(now);
    return compaction_over(self, tp);
  }
  using kind = plan_outcome::kind;
  switch (outcome->what) {
    case kind::emptied:
      return compaction_over(self, tp);
    case kind::topic_gone:
      logging::retention().debug("compaction: {}/{}: the topic was deleted while it was planned",
                                 tp.topic, tp.partition);
      return compaction_over(self, tp);
    case kind::failed:
      c->unreadable_logged = false;
      c->retry_later(now);
      if (outcome->failed != errc::offset_conflict)
        logging::retention().warn("compaction: {}/{}: not planned: {}", tp.topic, tp.partition,
                                  outcome->failed.message());
      return compaction_over(self, tp);
    case kind::planned:
      break;
  }
  c->unreadable_logged = false;
  auto plan = std::move(outcome->plan);
  if (!plan.compaction) {
    mark_clean(*c, plan, due.policy, now);
    return compaction_over(self, tp);
  }
  auto compaction = std::move(*plan.compaction);
  plan.compaction.reset();  // what is left says how the clean part moves once it is done
  const auto stored_before = outcome->stored_before;
  ask_partition(
      self, st.dir, tp, 60s,
      [=](storage::partition_bounds& after) {
        // The bytes stored now include what was appended since the plan was made.
        logging::retention().info("compaction: {}/{}: {} records removed, {} of the {} bytes "
                                  "compacted left ({} bytes stored when planned, {} now)",
                                  tp.topic, tp.partition, plan.records_removed,
                                  plan.range_bytes_left, plan.range_bytes, stored_before,
                                  after.stored_bytes());
        self->state.ctx->metrics.records_compacted(static_cast<std::uint64_t>(plan.records_removed));
        if (auto* done = progress_of(self->state, due)) mark_clean(*done, plan, due.policy, now);
        compaction_over(self, tp);
      },
      [=](caf::error& e) {
        // Planned from a log that changed meanwhile (DeleteRecords), or a compaction of the
        // partition still runs: planned again once compaction_retry_ms has passed.
        logging::retention().debug("compaction: {}/{}: not done: {}", tp.topic, tp.partition,
                                   self->system().render(e));
        if (auto* failed = progress_of(self->state, due)) failed->retry_later(now);
        compaction_over(self, tp);
      },
      compact_atom::value, std::move(compaction));
}

// Starts the next due partitions' plans, up to compactions_in_flight, once the pass's
// deletions are done (a plan is made on the log they left). This actor only hands the plan
// out and takes it back: its passes, deletions and the groups' expiry go on meanwhile.
void compact_next(self_ptr self) {
  auto& st = self->state;
  if (st.running > 0 || !st.planned.empty()) return;
  while (st.compacting.size() < compactions_in_flight && !st.compactions.empty()) {
    auto due = st.compactions.front();
    st.compactions.pop_front();
    auto* c = progress_of(st, due);
    if (c == nullptr || st.compacting.contains(due.tp)) continue;
    // Found due by a pass that may be long past: still due now, and not waiting for a retry?
    const auto now = wall_clock_ms();
    using due_for = compaction_progress::due_for;
    const auto why = c->due(due.policy, due.bounds, now);
    if (why == due_for::nothing) continue;
    st.compacting.insert(due.tp);
    plan_request req{due, {}, now};
    req.range.clean_offset = c->clean_offset;
    req.range.tombstones_below = c->tombstones.removable_below(now, due.policy.delete_retention_ms);
    req.range.tombstones_due = why == due_for::tombstones;  // (also) waiting tombstones may go now
    const bool own_thread = st.own_thread;
    run_one_shot(
        self, st.ctx->store_factory,
        [ctx = st.ctx, req, own_thread, stopped = st.stopped](storage::log_store& store) {
          // Its CPU time counts as retention's in /proc (the soak benchmark).
          if (own_thread) ::prctl(PR_SET_NAME, "portask-retain");
          return make_plan(store, ctx->codecs, req, *stopped);
        },
        [self, due, now](expected<plan_outcome> outcome) {
          planned(self, due, now, std::move(outcome));
        },
        own_thread);
  }
}

// Groups some of whose committed offsets may be past retention: `aged` where one was
// committed longer ago than offsets_retention_ms, `due` where one is past its own expiry
// time. Their coordinators decide (the group may have members); in a cluster, only the
// groups this node coordinates.
struct expiry_candidates {
  std::vector<std::string> aged;
  std::vector<std::string> due;
};

void note_expiry(const retention_state& st, const std::string& group,
                 const std::vector<storage::group_offset>& offsets, std::int64_t now_ms,
                 expiry_candidates& out) {
  const auto retention = st.ctx->config.offsets_retention_ms;
  if (retention < 0) return;  // kept for ever
  const auto view = st.ctx->cluster();
  if (view->clustered && view->coordinator(group) != view->self) return;
  bool aged = false;
  for (const auto& o : offsets) {
    if (o.offset.expire_time_ms >= 0 && now_ms >= o.offset.expire_time_ms) {
      out.due.push_back(group);
      return;
    }
    aged = aged || (o.offset.expire_time_ms < 0 && now_ms - o.offset.commit_time_ms >= retention);
  }
  if (aged) out.aged.push_back(group);
}

// Each group's committed offsets against the partitions' log ends (read on this pass), cut
// to the cardinality guard as the partitions are; and which groups' offsets may expire.
void measure_lag(retention_state& st, const std::map<topic_partition, std::int64_t>& log_ends,
                 std::int64_t now_ms, metrics_registry::data_usage& usage, expiry_candidates& expiry) {
  auto groups = st.store->list_groups();
  if (!groups) return;
  std::sort(groups->begin(), groups->end());
  const auto& config = st.ctx->config;
  for (const auto& group : *groups) {
    auto offsets = st.store->fetch_offsets(group);
    if (!offsets || offsets->empty()) continue;
    note_expiry(st, group, *offsets, now_ms, expiry);
    std::int64_t sum = 0;
    for (const auto& o : *offsets) {
      auto end = log_ends.find(o.tp);
      if (end == log_ends.end() || o.offset.offset < 0) continue;  // a deleted topic's offset
      const auto lag = std::max<std::int64_t>(0, end->second - o.offset.offset);
      sum += lag;
      if (usage.lags.size() < config.metrics_max_partitions)
        usage.lags.push_back({group, o.tp.topic, o.tp.partition, o.offset.offset, lag});
      else
        ++usage.omitted_partitions;
    }
    if (usage.group_lag_sums.size() < config.metrics_max_topics)
      usage.group_lag_sums[group] = sum;
    else
      ++usage.omitted_topics;
  }
}

// One pass: plan from the store (blocking calls, on this detached actor's own thread and
// connection), then have the partitions delete.
void run_pass(self_ptr self) {
  auto& st = self->state;
  if (st.running > 0 || !st.planned.empty()) return;  // the last pass is still deleting
  auto topics = st.store->list_topics();
  if (!topics) {
    if (!st.store_warned)
      logging::retention().warn("retention: store unavailable ({}); retrying next pass",
                   topics.error().message());
    st.store_warned = true;
    return;
  }
  st.store_warned = false;
  metrics_registry::data_usage usage;
  const auto now = wall_clock_ms();
  const auto& config = st.ctx->config;
  std::map<topic_partition, std::int64_t> log_ends;  // for the groups' lag below
  // Compactions due; taken up once the last pass's have all started (they run on their own,
  // without holding retention back).
  std::deque<compaction_due> due;
  // This pass's appended totals; topics gone drop out with the last pass's map.
  decltype(st.reported) reported;
  // Forget the compaction state of topics gone (or shrunk: never, but cheap to say).
  std::erase_if(st.clean, [&](const auto& entry) {
    return std::none_of(topics->begin(), topics->end(), [&](const storage::topic_info& t) {
      return t.name == entry.first.topic && entry.first.partition < t.partitions;
    });
  });
  // By name, internal topics last: the cardinality guard keeps users' topics first.
  std::sort(topics->begin(), topics->end(), [](const auto& a, const auto& b) {
    const bool ai = protocol::is_internal_topic(a.name), bi = protocol::is_internal_topic(b.name);
    return ai != bi ? bi : a.name < b.name;
  });
  for (const auto& topic : *topics) {
    const auto limits = retention_of(topic.configs, config, now);
    const auto compaction = compaction_of(topic.configs);
    metrics_registry::topic_usage measured;
    for (std::int32_t p = 0; p < topic.partitions; ++p) {
      const topic_partition tp{topic.name, p};
      auto b = st.store->bounds(tp);
      if (!b) continue;
      measured.stored_bytes += b->stored_bytes();
      measured.appended_bytes += b->end_bytes;
      measured.appended_messages += b->next_offset;
      log_ends[tp] = b->next_offset;
      // The cardinality guard: series for the first partitions only (by topic name).
      if (usage.partitions.size() < config.metrics_max_partitions)
        usage.partitions.push_back({topic.name, p, b->log_start, b->next_offset,
                                    b->stored_bytes(), b->end_bytes});
      else
        ++usage.omitted_partitions;
      if (b->log_start >= b->next_offset) continue;
      // In a cluster, each node applies retention to the partitions it owns.
      if (!st.ctx->cluster()->owns(tp)) continue;
      if (compaction) {
        auto& c = st.clean[tp];
        if (c.topic != topic.id) {
          c = {};
          c.topic = topic.id;
        }
        // One being planned or compacted is not found due again: its progress is out of date
        // until that is over. The first pass after finds it due or not.
        using due_for = compaction_progress::due_for;
        auto why = st.compacting.contains(tp) ? due_for::nothing : c.due(*compaction, *b, now);
        const compaction_due found{tp, topic.id, *compaction, *b};
        // Batches held back for want of a producer snapshot: due once one covers them.
        if (why == due_for::held && !held_covered(self, c, found)) why = due_for::nothing;
        c.end_bytes_seen = b->end_bytes;
        if (why != due_for::nothing) due.push_back(found);
      }
      if (!limits.any()) continue;
      // Deleting from a log being planned would have the store refuse the plan (the log
      // changed), and the partition wait compaction_retry_ms: its deletion waits for the
      // first pass after its compaction, which is done before its next plan starts (that
      // pass is the first that may find it due again, and plans wait for its deletions).
      if (st.compacting.contains(tp)) continue;
      auto point = st.store->retention_point(tp, limits);
      if (point && *point > b->log_start) st.planned.push_back({tp, b->log_start, *point});
    }
    auto& totals = reported[topic.name];
    if (auto last = st.reported.find(topic.name); last != st.reported.end() && last->second.topic == topic.id)
      totals = last->second;
    else
      totals.topic = topic.id;
    totals.appended_bytes = std::max(totals.appended_bytes, measured.appended_bytes);
    totals.appended_messages = std::max(totals.appended_messages, measured.appended_messages);
    measured.appended_bytes = totals.appended_bytes;
    measured.appended_messages = totals.appended_messages;
    if (usage.topics.size() < config.metrics_max_topics)
      usage.topics.emplace(topic.name, measured);
    else
      ++usage.omitted_topics;
  }
  st.reported = std::move(reported);
  expiry_candidates expiry;
  measure_lag(st, log_ends, now, usage, expiry);
  if (auto groups = st.dir.groups; groups && (!expiry.aged.empty() || !expiry.due.empty()))
    self->send(groups, expire_atom::value, now, std::move(expiry.aged), std::move(expiry.due));
  if (auto u = st.store->usage()) {
    usage.store_used = u->used;
    usage.store_capacity = u->capacity;
  }
  usage.tail_bytes = st.ctx->tails.bytes();
  usage.tail_budget = st.ctx->tails.total();
  usage.live_partitions = st.ctx->tails.partitions();
  usage.warm_partitions = st.ctx->tails.warm_partitions();
  st.ctx->metrics.data_pass(std::move(usage));
  // Partitions that stopped since the last pass freed their memory into the allocator's free
  // lists, where glibc keeps it; hand the free pages back to the system (off the hot path,
  // and only after passivations: trimming walks the heap). A broker on jemalloc has next to
  // nothing in glibc's heap; jemalloc's background thread returns its pages on time.
  if (const auto stopped = st.ctx->metrics.passivated_total(); stopped != st.passivated_seen) {
    st.passivated_seen = stopped;
    ::malloc_trim(0);
  }
  if (st.compactions.empty()) st.compactions = std::move(due);
  start_deletions(self);  // then the compactions (a log changed by a deletion first)
}

retention_actor::behavior_type retention_impl(self_ptr self, std::shared_ptr<broker_context> ctx,
                                              actor_directory dir, bool own_thread) {
  self->state.ctx = ctx;
  self->state.dir = std::move(dir);
  self->state.own_thread = own_thread;
  auto store = ctx->store_factory();
  if (!store) {
    self->quit(make_caf_error(errc::storage_unavailable));
    return retention_actor::behavior_type::make_empty_behavior();
  }
  self->state.store = std::move(*store);
  self->send(self, tick_atom::value);
  return {
      [=](tick_atom) {
        // Named so that /proc (and the soak benchmark) can tell retention's CPU time apart.
        if (self->state.own_thread) ::prctl(PR_SET_NAME, "portask-retain");
        run_pass(self);
        self->delayed_send(
            self, std::chrono::milliseconds(self->state.ctx->config.log_retention_check_interval_ms),
            tick_atom::value);
      },
      [=](directory_atom, actor_directory& next) { self->state.dir = std::move(next); },
  };
}

}  // namespace

storage::retention_limits retention_of(const storage::config_entries& topic_configs,
                                       const broker_config& config, std::int64_t now_ms) {
  storage::retention_limits out;
  if (!cleanup_policy_includes(topic_configs, "delete")) return out;
  const auto ms = config_integer(topic_configs, "retention.ms").value_or(config.log_retention_ms);
  const auto bytes =
      config_integer(topic_configs, "retention.bytes").value_or(config.log_retention_bytes);
  if (ms >= 0) out.older_than_ms = ms > now_ms ? 0 : now_ms - ms;
  if (bytes >= 0) out.keep_bytes = bytes;
  return out;
}

retention_actor spawn_retention(caf::actor_system& sys, std::shared_ptr<broker_context> ctx,
                                actor_directory dir, bool own_thread) {
  if (!own_thread) return sys.spawn(retention_impl, std::move(ctx), std::move(dir), false);
  return sys.spawn<caf::detached>(retention_impl, std::move(ctx), std::move(dir), true);
}

}  // namespace portask
