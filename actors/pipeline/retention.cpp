#include "actors/pipeline/retention.hpp"

#include <malloc.h>
#include <sys/prctl.h>

#include <algorithm>
#include <deque>
#include <map>

#include "actors/pipeline/compaction.hpp"
#include "actors/pipeline/partition.hpp"
#include "actors/pipeline/topic_configs.hpp"
#include "actors/pipeline/wall_clock.hpp"
#include "logging/loggers.hpp"
#include "protocol/topic_name.hpp"

namespace portask {
namespace {

using namespace std::chrono_literals;

/// How long one call plans compactions that turn out to have nothing to do, back to back.
constexpr auto planning_slice = 500ms;

/// Partitions asked to delete at once: a pass over thousands of partitions must not start
/// thousands of partition actors together.
constexpr std::size_t deletions_in_flight = 16;

struct deletion {
  topic_partition tp;
  std::int64_t from;  ///< log start when planned
  std::int64_t to;    ///< new log start
};

struct retention_state {
  std::shared_ptr<broker_context> ctx;
  actor_directory dir;  ///< the registry and the bridges
  std::unique_ptr<storage::log_store> store;
  std::deque<deletion> planned;
  std::size_t running = 0;
  bool store_warned = false;
  std::uint64_t passivated_seen = 0;
  /// Compacted partitions' compaction_progress.
  struct cleaned : compaction_progress {
    storage::topic_id topic;  ///< a topic deleted and made again starts with none of this
    /// Its log could not be read for a plan, and this was logged: once until a plan is made.
    bool unreadable_logged = false;
  };
  std::map<topic_partition, cleaned> clean;
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
  /// Partitions due for compaction this pass, planned and carried out one at a time (a plan
  /// holds what it writes anew).
  struct compaction_due_now {
    topic_partition tp;
    storage::topic_id topic;  ///< the topic as it was when found due
    compaction_policy policy;
    bool tombstones_due = false;  ///< due (also) because waiting tombstones may go now
  };
  std::deque<compaction_due_now> compactions;
  bool compacting = false;
  /// What the current pass deleted, logged once when its last deletion is done.
  std::size_t pass_partitions = 0;
  std::int64_t pass_records = 0;
  static inline const char* name = "portask.retention";
};

using self_ptr = retention_actor::stateful_pointer<retention_state>;

void compact_next(self_ptr self);

// Has the partitions delete what the pass planned, some at a time; once every deletion is
// done, the compactions the pass found due (planned on logs the deletions already changed).
void start_deletions(self_ptr self) {
  auto& st = self->state;
  if (st.running == 0 && st.planned.empty()) compact_next(self);
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

// Plans the next due partition's compaction from the store (blocking reads on this actor's
// own thread and connection) and has the partition carry it out; the next one when it has.
// Partitions found clean are planned one after another for at most planning_slice; the rest
// wait for the next pass, so that a queue of them does not hold this actor's timer (metrics,
// deletions) for long.
void compact_next(self_ptr self) {
  auto& st = self->state;
  const auto started = std::chrono::steady_clock::now();
  while (!st.compacting && !st.compactions.empty()) {
    if (std::chrono::steady_clock::now() - started > planning_slice) return;
    const auto [tp, topic, policy, tombstones_due] = st.compactions.front();
    st.compactions.pop_front();
    // Marks belong to one topic of the name: one deleted and made again starts from none.
    auto clean_of = [tp, topic](retention_state& s) -> retention_state::cleaned* {
      auto it = s.clean.find(tp);
      return it != s.clean.end() && it->second.topic == topic ? &it->second : nullptr;
    };
    if (!clean_of(st)) continue;
    const auto now = wall_clock_ms();
    // A plan that failed, or one the partition could not carry out, waits compaction_retry_ms
    // (compaction_progress::due); max.compaction.lag.ms still counts from the last
    // compaction done (or found needless).
    auto retry_soon = [clean_of, now](retention_state& s) {
      if (auto* c = clean_of(s)) c->retry_later(now);
    };
    // Said once until a plan is made: the partition is tried again at every retry.
    auto unreadable = [&](const std::string& why) {
      auto* c = clean_of(st);
      if (!c->unreadable_logged)
        logging::retention().warn("compaction: {}/{}: not planned: its log could not be read "
                                  "({}); trying again every {} s",
                                  tp.topic, tp.partition, why, compaction_retry_ms / 1000);
      c->unreadable_logged = true;
      retry_soon(st);
    };
    auto b = st.store->bounds(tp);
    if (!b) {
      unreadable(b.error().message());
      continue;
    }
    if (b->log_start >= b->next_offset) continue;  // emptied since the pass
    // The newest batch is never compacted (the log never empties): its base is the limit.
    auto last = st.store->read(tp, b->next_offset - 1, 1);
    if (!last) {
      unreadable(last.error().message());
      continue;
    }
    if (last->empty()) continue;  // emptied since the bounds were read (retention, DeleteRecords)
    auto producers = st.store->read_producer_history(tp);
    if (!producers) {
      unreadable(producers.error().message());
      continue;
    }
    clean_of(st)->unreadable_logged = false;
    compaction_range range;
    range.log_start = b->log_start;
    range.limit = last->back().base_offset;
    range.producers_covered = producers->covers;
    range.clean_offset = clean_of(st)->clean_offset;
    range.tombstones_below = clean_of(st)->tombstones.removable_below(now, policy.delete_retention_ms);
    range.tombstones_due = tombstones_due;
    auto plan = plan_compaction(
        st.ctx->codecs, tp, range, policy, now,
        [&](std::int64_t offset) { return st.store->read(tp, offset, 1u << 20); });
    if (!plan) {
      retry_soon(st);
      if (plan.error() != errc::offset_conflict)
        logging::retention().warn("compaction: {}/{}: not planned: {}", tp.topic, tp.partition,
                                  plan.error().message());
      continue;
    }
    // The clean part moves once the plan is carried out; its tombstones count from then.
    auto mark = [clean_of, moved = plan->clean_moved, offset = plan->clean_offset,
                 bytes = plan->clean_bytes, waiting = plan->tombstones_kept > 0,
                 retention_ms = policy.delete_retention_ms](retention_state& s) {
      auto* c = clean_of(s);
      if (!moved || c == nullptr) return;
      c->clean_offset = offset;
      c->clean_bytes = bytes;
      c->tombstones.cleaned(offset, wall_clock_ms(), retention_ms);
      c->tombstones_waiting = waiting;
    };
    if (!plan->compaction) {
      clean_of(st)->cleaned_at_ms = now;
      mark(st);
      continue;
    }
    st.compacting = true;
    const auto removed = plan->records_removed;
    const auto stored_before = b->stored_bytes();
    ask_partition(
        self, st.dir, tp, 60s,
        [=](storage::partition_bounds& after) {
          logging::retention().info("compaction: {}/{}: {} records removed, {} of {} bytes left",
                                    tp.topic, tp.partition, removed, after.stored_bytes(),
                                    stored_before);
          self->state.ctx->metrics.records_compacted(static_cast<std::uint64_t>(removed));
          if (auto* c = clean_of(self->state)) c->cleaned_at_ms = now;
          mark(self->state);
          self->state.compacting = false;
          compact_next(self);
        },
        [=](caf::error& e) {
          // Planned from a log that changed meanwhile (DeleteRecords), or a compaction of the
          // partition still runs: planned again once compaction_retry_ms has passed.
          logging::retention().debug("compaction: {}/{}: not done: {}", tp.topic, tp.partition,
                                     self->system().render(e));
          retry_soon(self->state);
          self->state.compacting = false;
          compact_next(self);
        },
        compact_atom::value, std::move(*plan->compaction));
    return;
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
  // Compactions due; taken up only when the last pass's are done (they run on their own,
  // without holding retention back).
  std::deque<retention_state::compaction_due_now> due;
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
        using due_for = compaction_progress::due_for;
        if (const auto why = c.due(*compaction, *b, now); why != due_for::nothing)
          due.push_back({tp, topic.id, *compaction, why == due_for::tombstones});
      }
      if (!limits.any()) continue;
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
  if (!st.compacting && st.compactions.empty()) st.compactions = std::move(due);
  start_deletions(self);  // then the compactions (a log changed by a deletion first)
}

retention_actor::behavior_type retention_impl(self_ptr self, std::shared_ptr<broker_context> ctx,
                                              actor_directory dir) {
  self->state.ctx = ctx;
  self->state.dir = std::move(dir);
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
        ::prctl(PR_SET_NAME, "portask-retain");
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
                                actor_directory dir) {
  return sys.spawn<caf::detached>(retention_impl, std::move(ctx), std::move(dir));
}

}  // namespace portask
