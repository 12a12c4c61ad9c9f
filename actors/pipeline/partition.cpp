#include "actors/pipeline/partition.hpp"

#include <algorithm>
#include <array>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>

#include "actors/pipeline/partition_log.hpp"
#include "actors/pipeline/producer_table.hpp"
#include "actors/pipeline/publish_answer.hpp"
#include "actors/pipeline/wall_clock.hpp"
#include "logging/loggers.hpp"

namespace portask {
namespace {

using namespace std::chrono_literals;

struct parked_fetch {
  fetch_request request;
  caf::typed_response_promise<fetch_result> promise;
  std::chrono::steady_clock::time_point since;  ///< when it was parked (fetch wait metric)
  /// When its wait runs out.
  std::chrono::steady_clock::time_point deadline() const {
    return since + std::chrono::milliseconds(request.max_wait_ms);
  }
};

/// Long-poll fetches waiting for data, indexed by the offset they wait at (an append serves
/// exactly those below the new high watermark, without looking at the others), by the
/// poll id their connection gave them (to cancel one when its request was answered by
/// another partition or its connection closed) and by deadline (to answer those whose wait
/// ran out).
class parked_fetches {
 public:
  parked_fetches() = default;
  parked_fetches(const parked_fetches&) = delete;
  parked_fetches& operator=(const parked_fetches&) = delete;
  /// Counts into the fetches_waiting gauge (also what a stopping partition drops).
  void count_in(metrics_registry* m) noexcept { metrics_ = m; }
  /// A partition that fails with fetches parked answers them (retriable) rather than leave
  /// their requests, and the connections that wait for them, hanging.
  ~parked_fetches() {
    if (metrics_ != nullptr) metrics_->fetches_waiting(-static_cast<int>(waiting_.size()));
    for (auto& [id, p] : waiting_) p.promise.deliver(make_caf_error(errc::not_ready));
  }

  /// Parks a fetch; returns its deadline.
  std::chrono::steady_clock::time_point park(fetch_request req,
                                             caf::typed_response_promise<fetch_result> rp,
                                             std::chrono::steady_clock::time_point now) {
    if (metrics_ != nullptr) metrics_->fetches_waiting(+1);
    const auto id = next_id_++;
    by_offset_.emplace(req.offset, id);
    if (req.poll_id != 0) by_poll_.emplace(req.poll_id, id);
    const auto& p =
        waiting_.emplace(id, parked_fetch{std::move(req), std::move(rp), now}).first->second;
    by_deadline_.emplace(p.deadline(), id);
    return p.deadline();
  }
  /// Removes and returns the fetch parked as `id` (none if answered already).
  std::optional<parked_fetch> take(std::uint64_t id) {
    auto it = waiting_.find(id);
    if (it == waiting_.end()) return std::nullopt;
    auto out = std::move(it->second);
    waiting_.erase(it);
    if (metrics_ != nullptr) metrics_->fetches_waiting(-1);
    erase_index(by_offset_, out.request.offset, id);
    if (out.request.poll_id != 0) erase_index(by_poll_, out.request.poll_id, id);
    erase_index(by_deadline_, out.deadline(), id);
    return out;
  }
  std::optional<parked_fetch> take_poll(std::uint64_t poll_id) {
    auto it = by_poll_.find(poll_id);
    if (it == by_poll_.end()) return std::nullopt;
    return take(it->second);
  }
  /// The ids of the fetches waiting below `offset`, lowest offset first.
  std::vector<std::uint64_t> waiting_below(std::int64_t offset) const {
    std::vector<std::uint64_t> ids;
    for (auto it = by_offset_.begin(); it != by_offset_.end() && it->first < offset; ++it)
      ids.push_back(it->second);
    return ids;
  }
  /// The ids of the fetches whose wait has run out at `now`.
  std::vector<std::uint64_t> due(std::chrono::steady_clock::time_point now) const {
    std::vector<std::uint64_t> ids;
    for (auto it = by_deadline_.begin(); it != by_deadline_.end() && it->first <= now; ++it)
      ids.push_back(it->second);
    return ids;
  }
  /// The earliest deadline of a fetch still waiting.
  std::optional<std::chrono::steady_clock::time_point> next_deadline() const {
    if (by_deadline_.empty()) return std::nullopt;
    return by_deadline_.begin()->first;
  }
  bool empty() const noexcept { return waiting_.empty(); }
  /// Answers every parked fetch with `e` now.
  void fail_all(errc e) {
    for (auto id : due(std::chrono::steady_clock::time_point::max()))
      if (auto p = take(id)) p->promise.deliver(make_caf_error(e));
  }

 private:
  template <class Index, class Key>
  static void erase_index(Index& index, const Key& key, std::uint64_t id) {
    auto [first, last] = index.equal_range(key);
    for (auto it = first; it != last; ++it)
      if (it->second == id) {
        index.erase(it);
        return;
      }
  }
  metrics_registry* metrics_ = nullptr;
  std::uint64_t next_id_ = 1;
  std::unordered_map<std::uint64_t, parked_fetch> waiting_;
  std::multimap<std::int64_t, std::uint64_t> by_offset_;
  std::unordered_multimap<std::uint64_t, std::uint64_t> by_poll_;
  std::multimap<std::chrono::steady_clock::time_point, std::uint64_t> by_deadline_;
};

/// Stored batches between two producer snapshots: bounds the log a rebuild reads.
constexpr std::uint64_t snapshot_every_batches = 500;

struct partition_state {
  std::shared_ptr<broker_context> ctx;
  /// What the topic's configs ask of appends, kept current by the registry (spawn_partition).
  std::shared_ptr<const topic_write_rules> rules;
  actor_directory dir;  ///< its writer and readers
  std::string fence;  ///< the lease this node holds on the partition (in a cluster)
  std::unique_ptr<partition_log> log;
  producer_table producers;
  std::uint64_t stored_since_snapshot = 0;
  bool snapshot_in_flight = false;
  /// The offset the store's producer snapshot covers: as the recovery read it, then as each
  /// snapshot the store took moved it. The log below it may go (DeleteRecords, retention)
  /// without taking a producer's state along: a rebuild reads the snapshot, then the log
  /// from there.
  std::int64_t snapshot_covers = 0;
  /// What waits for the producer snapshot out at the store (a deletion, a stopping broker's
  /// request): run with its outcome (errc::ok: stored), or with the reason the partition
  /// retires or stops first.
  std::vector<std::function<void(errc)>> snapshot_waiters;
  /// A passivating partition has sent its last producer snapshot: it stops once that is
  /// answered, whatever the answer.
  bool last_snapshot_sent = false;
  std::unordered_map<std::uint64_t, publish_answer> pending;
  parked_fetches parked;
  /// The deadline the partition's one expiry timer is set for, if one is pending.
  std::optional<std::chrono::steady_clock::time_point> expiry_at;
  bool recovering = false;
  /// The last recovery attempt failed: the store is down. Requests fail at once (retriable)
  /// instead of waiting for the next attempt.
  bool store_down = false;
  /// Requests that arrived while the partition was recovering; run with errc::ok once it is
  /// ready, with the error to answer when recovery failed or the partition retires.
  std::vector<std::function<void(errc)>> on_ready;
  /// Set once the registry retired the partition: everything is refused with this error,
  /// and the partition stops as soon as nothing it asked of the store is unanswered (or at
  /// `retire_by`, if the store does not answer: retire).
  std::optional<errc> retiring;
  std::chrono::steady_clock::time_point retire_by;
  /// Where the deletions out at the store move the log start to. The start moves when the
  /// store has deleted; a store read answered meanwhile may have been made after the
  /// deletion, so one below them is served only if its answer does not skip the offset it
  /// asked for (handle_fetch). A deletion whose outcome is unknown stays here until the
  /// store's start has been read back (read_start_back).
  std::multiset<std::int64_t> deleting_to;
  /// Requests waiting on a store read or delete, by ticket: the reply answers them, or, if
  /// the partition stops first, the state's destructor does (not_ready).
  std::unordered_map<std::uint64_t, std::function<void(errc)>> awaiting_store;
  std::uint64_t next_store_ticket = 1;
  std::chrono::milliseconds recovery_backoff{0};
  /// Recovery attempts failed in a row: only the first is a warning (each partition retries
  /// every 50 ms to 2 s while the store is down), and the recovery after them an info line.
  std::uint32_t recovery_failures = 0;
  /// Poll ids cancelled lately, for a fetch whose cancel overtook it (it was still waiting
  /// for recovery when the cancel came): it is answered at once instead of parking. Bounded.
  std::array<std::uint64_t, 64> cancelled{};
  std::size_t next_cancelled = 0;
  /// Last request or write: an idle partition stops (partition_idle_ms).
  std::chrono::steady_clock::time_point last_used;
  /// Last write or read: a partition's tail cools after tail_budget::cool_after without one.
  std::chrono::steady_clock::time_point last_data_use;
  /// A tick (check_idle) is on its way: one chain of them serves both deadlines.
  bool tick_armed = false;
  /// The registry that spawned it and routes requests to it (none in tests of the partition
  /// alone): an idle partition asks it before stopping (check_idle).
  topic_registry_actor owner;
  /// The owner took it out of its routes to stop it, but it had taken requests since it
  /// asked: it finishes those, bounces new ones (for its successor), and then stops.
  bool passivating = false;
  /// A partition that stops with requests in hand (a failure, its topic deleted) answers
  /// them, retriably: a destroyed promise sends nothing in CAF 0.17, and the bridge waits
  /// without a timeout. Writes may have been stored (timeout: the producer resends, an
  /// idempotent one is deduplicated); queued ones were not (not_ready).
  ~partition_state() {
    for (auto& [ticket, answer] : pending) answer.deliver(errc::timeout);
    for (auto& [ticket, answer] : awaiting_store) answer(errc::not_ready);
    run_waiters(errc::not_ready);
    run_snapshot_waiters(errc::not_ready);
  }
  /// Runs the requests waiting for recovery with `e` (ok: the partition is ready); they may
  /// queue new waiters, which wait for the next outcome.
  void run_waiters(errc e) {
    auto waiters = std::move(on_ready);
    on_ready.clear();
    for (auto& w : waiters) w(e);
  }
  /// The same for what waits on the producer snapshot.
  void run_snapshot_waiters(errc e) {
    auto waiters = std::move(snapshot_waiters);
    snapshot_waiters.clear();
    for (auto& w : waiters) w(e);
  }
  static inline const char* name = "portask.partition";
};

using self_ptr = partition_actor::stateful_pointer<partition_state>;

void lost_lease(self_ptr self, const char* refused);
void maybe_stop(self_ptr self);

// Writes the idempotence window's changes to the store now and then (never two at once), so
// that a rebuild reads only the log written since.
void maybe_snapshot(self_ptr self, bool now = false) {
  auto& st = self->state;
  if (st.snapshot_in_flight || !st.log->ready()) return;
  if (!now && st.stored_since_snapshot < snapshot_every_batches) return;
  auto reader = st.dir.reader_for(st.log->tp());
  if (!reader) return;
  st.producers.expire(wall_clock_ms(), st.ctx->config.producer_id_expiration_ms);
  auto snapshot = st.producers.take_snapshot(st.log->high_watermark());
  st.stored_since_snapshot = 0;
  st.snapshot_in_flight = true;
  // Under this node's lease: one that lost it would move the stored window back under the
  // new owner's. Waited for until the reader answers (it answers every call, an error when
  // the store's command times out): only its answer says the snapshot is no longer on its
  // way to the store, where it would land in a topic deleted and created again.
  self->request(reader, store_call_last_resort(st.ctx->config), snapshot_atom::value, st.log->tp(),
                snapshot, st.fence)
      .then(
          [=](bool) {
            auto& s = self->state;
            s.snapshot_in_flight = false;
            s.snapshot_covers = std::max(s.snapshot_covers, snapshot.covers);
            s.run_snapshot_waiters(errc::ok);
            maybe_stop(self);
          },
          [=](caf::error& err) {
            self->state.snapshot_in_flight = false;
            self->state.producers.snapshot_failed(snapshot);
            self->state.run_snapshot_waiters(to_errc(err));
            if (to_errc(err) == errc::not_leader)
              lost_lease(self, "a producer snapshot");
            else
              logging::pipeline().debug("partition {}/{}: producer snapshot not written: {}",
                                        self->state.log->tp().topic,
                                        self->state.log->tp().partition, self->system().render(err));
            // Also after a refusal: a partition retiring already (lost_lease then does
            // nothing) may have waited only for this answer.
            maybe_stop(self);
          });
}

// Runs `then` once a producer snapshot taken now, or the one out at the store already, is
// answered: errc::ok when the store has it. With no reader, or before the window is rebuilt,
// none can go out: not_ready at once.
void when_snapshot_stored(self_ptr self, std::function<void(errc)> then) {
  auto& st = self->state;
  if (!st.snapshot_in_flight) maybe_snapshot(self, true);
  if (!st.snapshot_in_flight) return then(errc::not_ready);
  st.snapshot_waiters.push_back(std::move(then));
}

// Whether the store's producer snapshot holds every producer's state of the log below
// `offset`: it covers the offset, or no producer changed since the last one the store took.
bool producers_stored_below(const partition_state& st, std::int64_t offset) {
  return st.snapshot_covers >= offset || (!st.snapshot_in_flight && !st.producers.unsaved());
}

// Runs `then` once every producer change the partition holds now is in the store: at once
// when none is waiting (or the window is being rebuilt: from the store), else after a
// snapshot. One already out holds only what changed before it was taken: another follows it.
void store_producers(self_ptr self, std::function<void(errc)> then) {
  auto& st = self->state;
  if (!st.log->ready() || (!st.snapshot_in_flight && !st.producers.unsaved())) return then(errc::ok);
  const bool taken_now = !st.snapshot_in_flight;
  when_snapshot_stored(self, [=](errc e) {
    if (e != errc::ok || taken_now) return then(e);
    store_producers(self, then);
  });
}

// The producer table learns each batch's outcome.
void record_outcomes(self_ptr self, const std::vector<partition_log::completion>& done) {
  for (const auto& c : done) {
    // A failed batch leaves the window alone: the rebuild after the failure says whether
    // it is stored after all.
    if (c.error == errc::ok) {
      self->state.producers.stored(c.ticket, c.result);
      ++self->state.stored_since_snapshot;
    } else {
      self->state.producers.refused(c.ticket);
    }
  }
}

// Answers the batches' publishers; record_outcomes must have run for `done`.
void answer(self_ptr self, const std::vector<partition_log::completion>& done) {
  auto& pending = self->state.pending;
  for (const auto& c : done) {
    auto it = pending.find(c.ticket);
    if (it == pending.end()) continue;
    if (c.error == errc::ok)
      it->second.deliver(c.result);
    else
      it->second.deliver(c.error);
    pending.erase(it);
  }
}

void deliver(self_ptr self, const std::vector<partition_log::completion>& done) {
  record_outcomes(self, done);
  answer(self, done);
}

void handle_fetch(self_ptr self, fetch_request req, caf::typed_response_promise<fetch_result> rp);
void arm_expiry(self_ptr self, std::chrono::steady_clock::time_point deadline);

// Answers the parked fetches that the high watermark has passed: only those, found through
// the offset index.
void serve_parked(self_ptr self) {
  auto& st = self->state;
  for (auto id : st.parked.waiting_below(st.log->high_watermark())) {
    auto p = st.parked.take(id);
    fetch_result out;
    const auto status = st.log->read(p->request.offset, p->request.max_bytes, out,
                                      p->request.source == protocol_kind::kafka);
    if (status == partition_log::read_status::out_of_range) {
      // Records deleted meanwhile: the fetch hears it, as a new one would.
      p->promise.deliver(make_caf_error(errc::offset_out_of_range));
      continue;
    }
    if (status == partition_log::read_status::wait) {
      // Nothing to read at or after it yet: it waits in offsets the store lost, which reads
      // step over to the acknowledged end, and nothing was written after them (a recovery
      // found the loss again). It waits on, until its own deadline, as a new fetch there would.
      const auto deadline = st.parked.park(std::move(p->request), std::move(p->promise), p->since);
      arm_expiry(self, deadline);
      continue;
    }
    if (status == partition_log::read_status::needs_store) {
      // Older than the tail (it grew past the tail's share or cooled meanwhile): read like a
      // new fetch.
      p->request.max_wait_ms = 0;
      handle_fetch(self, std::move(p->request), std::move(p->promise));
      continue;
    }
    st.ctx->metrics.fetch_wait(self->clock().now() - p->since);
    p->promise.deliver(std::move(out));
  }
}

// Answers a parked fetch now with what it has (nothing new), as its wait ran out.
void answer_empty(self_ptr self, parked_fetch& p) {
  auto& st = self->state;
  fetch_result out;
  out.partition = st.log->tp().partition;
  out.high_watermark = st.log->high_watermark();
  out.log_start = st.log->log_start();
  st.ctx->metrics.fetch_wait(self->clock().now() - p.since);
  p.promise.deliver(std::move(out));
}

// A timer's message carries the deadline it was set for, as steady-clock ticks.
std::uint64_t timer_tag(std::chrono::steady_clock::time_point t) {
  return static_cast<std::uint64_t>(t.time_since_epoch().count());
}

// One timer per partition, for the earliest deadline of its parked fetches. Most parked
// fetches are answered by an append long before their wait runs out; a timer for each one
// cost a wake-up of CAF's clock thread, and a message to this actor, per fetch.
void arm_expiry(self_ptr self, std::chrono::steady_clock::time_point deadline) {
  auto& st = self->state;
  if (st.expiry_at && *st.expiry_at <= deadline) return;
  st.expiry_at = deadline;
  self->delayed_send(self, deadline - self->clock().now(), expire_atom::value,
                     timer_tag(deadline));
}

// A timer fired: answers the fetches whose wait ran out, and sets the timer for the next.
void expire_parked(self_ptr self, std::uint64_t set_for) {
  auto& st = self->state;
  if (st.expiry_at && timer_tag(*st.expiry_at) == set_for) st.expiry_at.reset();
  for (auto id : st.parked.due(self->clock().now()))
    if (auto p = st.parked.take(id)) answer_empty(self, *p);
  if (auto next = st.parked.next_deadline()) arm_expiry(self, *next);
}

void recover(self_ptr self);
void retire(self_ptr self, errc why);

bool busy(const partition_state& st);
void arm_tick(self_ptr self, std::chrono::steady_clock::duration after);
void used_for_data(self_ptr self, bool append);

// A partition stopping by design (idle): nothing was lost, nothing is logged above debug.
void stop_idle(self_ptr self) {
  auto& st = self->state;
  st.ctx->metrics.partition_passivated();
  logging::pipeline().debug("partition {}/{}: idle, stopping", st.log->tp().topic, st.log->tp().partition);
  self->quit();
}

// A passivating partition with nothing left in hand stops, its producers' latest changes
// (the writes it took after it asked to stop) written to the store first, as Kafka writes
// its producer snapshots when it stops cleanly: its successor then rebuilds them from the
// snapshot, with their last write times (which their expiry counts from), not from the
// log. Tried once: a failed snapshot does not hold the partition back (the log has it all).
void stop_passivated(self_ptr self) {
  auto& st = self->state;
  if (!st.last_snapshot_sent && st.log->ready() && st.producers.unsaved()) {
    st.last_snapshot_sent = true;
    maybe_snapshot(self, true);
    if (st.snapshot_in_flight) return;  // maybe_stop, once it is answered
  }
  stop_idle(self);
}

// Whether anything the partition asked of the store (a write, a read, a deletion, a
// compaction, a producer snapshot) is still unanswered.
bool store_calls_out(const partition_state& st) {
  return st.log->write_in_flight() || !st.awaiting_store.empty() || st.snapshot_in_flight;
}

// A retiring partition stops once nothing it asked of the store is still out: its write's
// producers and its readers' fetches hear what the store did, and nothing it sent can land
// after it stopped (in a topic deleted and created again, the registry deletes only then). A
// passivating one stops once it has answered everything it took.
void maybe_stop(self_ptr self) {
  auto& st = self->state;
  if (st.retiring && !store_calls_out(st))
    self->quit();
  else if (st.passivating && !busy(st))
    stop_passivated(self);
}

// What a passivating partition answers a request that reached it after its owner stopped
// routing to it: exactly what its stopped actor would answer (a bounce), so the sender
// (the bridge) asks the registry again, which holds the lookup for the successor. The
// request was never processed, so sending it again is safe.
caf::error bounced() { return caf::make_error(caf::sec::request_receiver_down); }

// Registers a request that waits on the store (answered by `answer` if the partition stops
// first); returns its ticket, which the store's reply passes to `store_answered`.
std::uint64_t await_store(self_ptr self, std::function<void(errc)> answer) {
  auto& st = self->state;
  const auto ticket = st.next_store_ticket++;
  st.awaiting_store.emplace(ticket, std::move(answer));
  return ticket;
}
void store_answered(self_ptr self, std::uint64_t ticket) {
  self->state.awaiting_store.erase(ticket);
  maybe_stop(self);
}

// The largest frame a partition merges queued publishes into (partition_log::take_write_set):
// Kafka producers' default batch.size, so that no consumer sized for what Kafka producers
// send meets a larger batch, and big enough that a burst of small publishes costs the
// store a few entries, not one each.
constexpr std::size_t merged_frame_bytes = 16 * 1024;

// `writer`: the partition's storage writer when the caller has looked it up already.
void try_write(self_ptr self, storage_writer_actor writer = {}) {
  auto& st = self->state;
  // Not for the memory store: the bridge framed each part into slab memory, and a merged
  // copy would leave those copies pinned in their slabs (twice the memory for the log).
  std::size_t merge = st.ctx->frames_stay_in_process ? 0 : merged_frame_bytes;
  merge = std::min<std::size_t>(merge, st.ctx->config.max_frame_bytes);
  if (st.rules)
    if (const auto limit = st.rules->max_batch_bytes.load(std::memory_order_relaxed); limit >= 0)
      merge = std::min(merge, static_cast<std::size_t>(limit));
  auto set = st.log->take_write_set(merge);
  if (!set) return;
  set->fence = st.fence;
  if (!writer) writer = st.dir.writer_for(st.log->tp());
  if (!writer) {
    deliver(self, st.log->write_failed(errc::not_ready));
    deliver(self, st.log->fail_queued(errc::not_ready));
    recover(self);
    return;
  }
  self->request(writer, caf::infinite, append_atom::value, std::move(*set))
      .then(
          [=](append_outcome& outcome) {
            const bool fenced = std::find(outcome.results.begin(), outcome.results.end(),
                                          errc::not_leader) != outcome.results.end();
            const auto done = self->state.log->write_completed(outcome);
            record_outcomes(self, done);
            // The next set goes to the writer before the answers go out: its store call
            // then overlaps with this actor answering and the publishers sending more.
            // Not without a writer: try_write would then fail the queue and start a recovery
            // before this set's publishers and long polls hear that it is stored.
            if (!self->state.retiring && !fenced && self->state.log->ready())
              if (auto next = self->state.dir.writer_for(self->state.log->tp()))
                try_write(self, std::move(next));
            answer(self, done);
            if (self->state.retiring) return maybe_stop(self);
            if (fenced) return lost_lease(self, "a write");
            if (!self->state.log->ready()) {
              // Batches queued behind a failed one were checked against a window that may
              // not hold: they fail too (retriable) rather than be stored after a gap.
              deliver(self, self->state.log->fail_queued(errc::not_ready));
              recover(self);
              return;
            }
            serve_parked(self);
            maybe_snapshot(self);
            try_write(self);
            maybe_stop(self);
          },
          [=](caf::error& err) {
            // The writer died mid-request: nothing is known about the set, so re-read the
            // bounds from the store before assigning more offsets.
            logging::pipeline().warn("partition {}/{}: writer failed: {}", self->state.log->tp().topic,
                         self->state.log->tp().partition, self->system().render(err));
            // Whether the set was stored is unknown: its producers hear exactly that.
            deliver(self, self->state.log->write_failed(errc::timeout));
            if (self->state.retiring) return maybe_stop(self);
            deliver(self, self->state.log->fail_queued(errc::not_ready));
            recover(self);
          });
}

// The partition stops: the registry retired it (its lease went to another node or was
// replaced by a newer one, or its topic was deleted), or the store refused a write under
// its lease. It takes nothing new and answers everything waiting with `why`. What is
// already out to the store (a write, a read, a delete) is waited for, so that its requests
// hear what the store did (a write stored, or refused by the store's fence) rather than
// "unknown whether stored"; then the partition stops.
void retire(self_ptr self, errc why) {
  auto& st = self->state;
  if (st.retiring) return;
  st.retiring = why;
  logging::pipeline().debug("partition {}/{}: retires ({})", st.log->tp().topic, st.log->tp().partition,
                            to_string(why));
  deliver(self, st.log->fail_queued(why));
  st.run_waiters(why);
  st.run_snapshot_waiters(why);  // a deletion waiting for its snapshot deletes nothing now
  st.parked.fail_all(why);
  // Its topic deleted, it waits for every answer: a write, deletion or snapshot it stopped
  // without could land in a topic created again under the name (single-node writes carry no
  // lease to refuse them). Only a storage actor that hangs makes it stop without them.
  // Retired because its lease moved, whatever it sent is refused under that lease: it waits
  // only retire_grace, so that the lookups of its successor are answered in time.
  // In a cluster every write, deletion and snapshot carries the lease, which the store
  // refuses once the topic is deleted: there the grace is enough.
  const auto wait = why == errc::unknown_topic && st.fence.empty()
                        ? store_call_last_resort(st.ctx->config)
                        : retire_grace(st.ctx->config);
  st.retire_by = self->clock().now() + wait;
  arm_tick(self, wait);
  maybe_stop(self);
}

// The store refused something (`refused`: a write, a deletion, a producer snapshot) under
// this node's lease: another node holds the partition's lease now, and this one may never
// change its log again. Everything waiting goes back to its producers and consumers (who ask
// for metadata and find the new owner), and the partition stops. The cluster actor runs a
// lease round now: until one does, this node's view still names it the partition's leader
// (its Metadata answers would send the clients back to it, to be refused again), for up to a
// renewal interval.
void lost_lease(self_ptr self, const char* refused) {
  if (self->state.retiring) return;  // its registry retired it first: nothing new to say
  logging::cluster().warn("partition {}/{}: the store refused {} under this node's lease; another "
                          "node owns the partition now",
                          self->state.log->tp().topic, self->state.log->tp().partition, refused);
  if (auto node = self->state.dir.cluster) self->send(node, topic_atom::value);
  retire(self, errc::not_leader);
}

void recover(self_ptr self) {
  auto& st = self->state;
  if (st.recovering || st.retiring) return;
  st.recovering = true;
  st.log->lost_track();
  auto reader = st.dir.reader_for(st.log->tp());
  auto retry = [=] {
    auto& s = self->state;
    s.recovering = false;
    s.store_down = true;
    s.recovery_backoff = std::min<std::chrono::milliseconds>(
        2000ms, std::max<std::chrono::milliseconds>(50ms, s.recovery_backoff * 2));
    // Writes queued meanwhile get a retriable error rather than waiting without bound.
    deliver(self, s.log->fail_queued(errc::storage_unavailable));
    s.run_waiters(errc::not_ready);
    self->delayed_send(self, s.recovery_backoff, recover_atom::value);
  };
  if (!reader) {
    retry();
    return;
  }
  // Bounds and the idempotence window both come from the store: after a failed write only a
  // read says what was stored.
  self->request(reader, 10s, recover_atom::value, st.log->tp())
      .then(
          [=](partition_recovery& r) {
            auto& s = self->state;
            s.recovering = false;
            s.store_down = false;
            s.recovery_backoff = 0ms;
            if (s.recovery_failures > 0)
              logging::pipeline().info("partition {}/{}: recovered after {} failed attempt(s)",
                                       s.log->tp().topic, s.log->tp().partition, s.recovery_failures);
            s.recovery_failures = 0;
            if (const auto lost = s.log->recovered(r.bounds); lost > 0)
              logging::pipeline().error(
                  "partition {}/{}: the store ends at offset {}, below the {} acknowledged offsets "
                  "up to {}: it lost records (restarted from an older snapshot, evicted keys, or "
                  "failed over to a replica behind); new records go on from {}",
                  s.log->tp().topic, s.log->tp().partition, r.bounds.next_offset, lost,
                  s.log->high_watermark(), s.log->high_watermark());
            s.producers.rebuild(r.producers, s.log->tp().partition, wall_clock_ms());
            s.snapshot_covers = r.producers.covers;
            logging::pipeline().debug("partition {}/{}: offsets {}-{}, {} producer batches read back "
                          "(snapshot covers {})",
                          s.log->tp().topic, s.log->tp().partition, r.bounds.log_start,
                          r.bounds.next_offset, r.producers.batches.size(), r.producers.covers);
            s.producers.expire(wall_clock_ms(), s.ctx->config.producer_id_expiration_ms);
            s.stored_since_snapshot = 0;
            if (r.bounds.next_offset > r.producers.covers) maybe_snapshot(self, true);
            s.run_waiters(errc::ok);
            try_write(self);
            serve_parked(self);
          },
          [=](caf::error& err) {
            auto& s = self->state;
            if (s.recovery_failures++ == 0)
              logging::pipeline().warn("partition {}/{}: recovery failed: {} (retried every 50 ms to "
                                       "2 s; further failures at debug until it recovers)",
                                       s.log->tp().topic, s.log->tp().partition, self->system().render(err));
            else
              logging::pipeline().debug("partition {}/{}: recovery failed again ({} in a row): {}",
                                        s.log->tp().topic, s.log->tp().partition, s.recovery_failures,
                                        self->system().render(err));
            retry();
          });
}

void handle_fetch(self_ptr self, fetch_request req, caf::typed_response_promise<fetch_result> rp) {
  auto& st = self->state;
  // Kafka has no symbolic fetch offsets (a client resolves them with ListOffsets first): a
  // negative one is out of range. It is checked here rather than in the connection so that
  // a partition that does not exist is still answered UNKNOWN_TOPIC_OR_PARTITION.
  if (req.source == protocol_kind::kafka && req.offset < 0) {
    rp.deliver(make_caf_error(errc::offset_out_of_range));
    return;
  }
  // Symbolic offsets resolve once, here: -1 the high watermark, -2 the log start.
  if (req.offset == -1) req.offset = st.log->high_watermark();
  if (req.offset == -2) req.offset = st.log->log_start();
  fetch_result out;
  switch (st.log->read(req.offset, req.max_bytes, out, req.source == protocol_kind::kafka)) {
    case partition_log::read_status::served:
      rp.deliver(std::move(out));
      return;
    case partition_log::read_status::out_of_range:
      rp.deliver(make_caf_error(errc::offset_out_of_range));
      return;
    case partition_log::read_status::wait: {
      // A passivating partition parks nothing: it would stay until the wait ran out, and
      // lookups of the partition wait for it to stop.
      if (req.max_wait_ms == 0 || st.passivating) {
        rp.deliver(std::move(out));
        return;
      }
      if (req.poll_id != 0 &&
          std::find(st.cancelled.begin(), st.cancelled.end(), req.poll_id) != st.cancelled.end()) {
        rp.deliver(std::move(out));  // cancelled before it got here: nothing to wait for
        return;
      }
      arm_expiry(self, st.parked.park(std::move(req), rp, self->clock().now()));
      return;
    }
    case partition_log::read_status::needs_store:
      break;
  }
  // Older than the tail: read from the store, never past the high watermark (batches stored
  // but not yet acknowledged are not visible).
  auto reader = st.dir.reader_for(st.log->tp());
  if (!reader) {
    rp.deliver(make_caf_error(errc::not_ready));
    return;
  }
  const auto ticket = await_store(self, [rp](errc e) mutable { rp.deliver(make_caf_error(e)); });
  self->request(reader, 10s, read_atom::value, st.log->tp(), req.offset, req.max_bytes)
      .then(
          [=](std::vector<storage::stored_batch>& batches) mutable {
            fetch_result r;
            r.partition = self->state.log->tp().partition;
            r.high_watermark = self->state.log->high_watermark();
            r.log_start = self->state.log->log_start();
            for (auto& b : batches)
              if (b.base_offset < r.high_watermark) r.batches.push_back(std::move(b));
            // DeleteRecords or retention moved the log start past the offset while the store
            // read: the fetch hears what a new one would. One that is moving it (its answer
            // not in yet) may have deleted the offset before the store read: then the answer
            // starts at the first batch the store still holds, and serving that would skip
            // the records in between unseen. An answer that starts at the offset is served,
            // as the log start (what ListOffsets says) has not moved yet: a consumer reset to
            // it would otherwise be refused again until the deletion is done.
            const auto& deleting = self->state.deleting_to;
            const bool skips = r.batches.empty() || r.batches.front().base_offset > req.offset;
            if (req.offset < r.log_start ||
                (!deleting.empty() && req.offset < *deleting.rbegin() && skips)) {
              rp.deliver(make_caf_error(errc::offset_out_of_range));
              store_answered(self, ticket);
              return;
            }
            rp.deliver(std::move(r));
            store_answered(self, ticket);
          },
          [=](caf::error& err) mutable {
            rp.deliver(std::move(err));
            store_answered(self, ticket);
          });
}

// A refused idempotent batch is rare and always worth a line: it names what the client sent.
void refuse(self_ptr self, publish_answer& answer, const producer_sequence& p, errc e,
            const char* why) {
  logging::pipeline().info("partition {}/{}: producer {} epoch {} sequences {}-{}: {}; window {}",
               self->state.log->tp().topic, self->state.log->tp().partition, p.id, p.epoch,
               p.first_seq, p.last_seq, why, self->state.producers.describe(p.id));
  answer.deliver(e);
}

void handle_append(self_ptr self, framed_batch b, publish_answer answer) {
  auto& st = self->state;
  const auto producer = b.producer;
  switch (auto c = st.producers.check(producer); c.what) {
    case producer_table::verdict::append: break;
    case producer_table::verdict::duplicate:
      c.stored.duplicate = true;
      // The log start now, as Kafka answers a duplicate: the one saved with the first copy
      // is from before any deletion since (0 when the window was rebuilt from the store).
      c.stored.log_start = st.log->log_start();
      answer.deliver(c.stored);
      return;
    case producer_table::verdict::in_flight:
      // The first copy is being written and may be stored: "outcome unknown", retry.
      answer.deliver(errc::timeout);
      return;
    case producer_table::verdict::out_of_order:
      return refuse(self, answer, producer, errc::out_of_order_sequence,
                    "out of order (a gap, or already past)");
    case producer_table::verdict::stale_epoch:
      return refuse(self, answer, producer, errc::invalid_producer_epoch, "older epoch");
    case producer_table::verdict::unknown_producer:
      return refuse(self, answer, producer, errc::unknown_producer_id, "unknown producer");
    case producer_table::verdict::retry_later:
      answer.deliver(errc::not_ready);
      return;
  }
  used_for_data(self, true);  // taken: its tail keeps the batch once it is stored
  const auto ticket = st.log->enqueue(std::move(b));
  if (producer.present()) st.producers.appended(producer, ticket, wall_clock_ms());
  st.pending.emplace(ticket, std::move(answer));
  try_write(self);
}

// An append as it arrives: refused when the queue is full or the store is down, checked
// against the idempotence window now, or once the window is rebuilt.
void accept_append(self_ptr self, framed_batch b, publish_answer answer) {
  auto& st = self->state;
  if (st.retiring) {
    st.producers.refused(b.producer);
    return answer.deliver(*st.retiring);
  }
  // max.message.bytes, on the batch as its Kafka producer sent it, or as it is stored (a
  // native batch; a Kafka batch whose bytes are not kept: zstd, Produce v0-2).
  if (st.rules) {
    const auto limit = st.rules->max_batch_bytes.load(std::memory_order_relaxed);
    const auto size = b.kafka_view ? b.kafka_view.size() : b.frame.size();
    // Refused for good (its producer does not send it again): not producers.refused(), which
    // would have the batches behind it wait for a resend that never comes (retry_later, for
    // ever); they are a gap, OUT_OF_ORDER_SEQUENCE_NUMBER, as on Kafka.
    if (limit >= 0 && size > static_cast<std::uint64_t>(limit))
      return answer.deliver(errc::frame_too_large);
    if (b.keyless && st.rules->keys_required.load(std::memory_order_relaxed)) {
      logging::pipeline().debug("partition {}/{}: a batch with a record without a key refused: "
                               "the topic is compacted",
                               st.log->tp().topic, st.log->tp().partition);
      return answer.deliver(errc::invalid_record);  // for good too
    }
  }
  if (st.log->queued() + st.on_ready.size() >= st.ctx->partition_queue_limit) {
    st.producers.refused(b.producer);
    return answer.deliver(errc::backpressure);
  }
  if (!st.log->ready() && st.store_down) {
    st.producers.refused(b.producer);
    return answer.deliver(errc::storage_unavailable);
  }
  if (st.log->ready()) return handle_append(self, std::move(b), std::move(answer));
  // The window is being rebuilt: check the batch against it once it is.
  st.on_ready.emplace_back([=, b = std::move(b)](errc e) mutable {
    if (e == errc::ok) {
      handle_append(self, std::move(b), std::move(answer));
    } else {
      self->state.producers.refused(b.producer);
      answer.deliver(e);
    }
  });
}

// Runs `f` with the partition ready, or answers not_ready through `rp` when recovery fails.
template <class T, class F>
caf::result<T> when_ready(self_ptr self, F f) {
  auto rp = self->make_response_promise<T>();
  if (self->state.log->ready()) {
    f(rp);
  } else {
    self->state.on_ready.emplace_back([=](errc e) mutable {
      if (e == errc::ok)
        f(rp);
      else
        rp.deliver(make_caf_error(e));
    });
  }
  return rp;
}

// The store's start is `start` after a deletion (with its running totals in `stored`): the
// start here follows it, never backwards nor past the high watermark.
void follow_store_start(self_ptr self, std::int64_t start, const storage::partition_bounds& stored) {
  auto& s = self->state;
  if (const auto removed = s.log->advance_start(start); removed > 0) {
    s.ctx->metrics.records_deleted(static_cast<std::uint64_t>(removed));
    logging::pipeline().debug("partition {}/{}: log start now {}", s.log->tp().topic,
                              s.log->tp().partition, s.log->log_start());
  }
  s.log->deleted(stored);
}

// A deletion failed after it may have run (the store's command timed out): the store may
// have moved its start while this one stayed, and a store read in between would be answered
// from past the offset asked for. The store's bounds are read back and the start follows
// them; until then the deletion stays pending (`pending`, in deleting_to), so that such an
// answer is refused (handle_fetch). If the read fails too, the next recovery takes the
// store's start (partition_log::recovered).
void read_start_back(self_ptr self, std::multiset<std::int64_t>::iterator pending) {
  auto& st = self->state;
  auto reader = st.dir.reader_for(st.log->tp());
  if (!reader || st.retiring) {
    st.deleting_to.erase(pending);
    return;
  }
  self->request(reader, 10s, bounds_atom::value, st.log->tp())
      .then(
          [=](storage::partition_bounds& stored) {
            self->state.deleting_to.erase(pending);
            follow_store_start(self, stored.log_start, stored);
          },
          [=](caf::error& err) {
            self->state.deleting_to.erase(pending);
            logging::pipeline().warn("partition {}/{}: reading the store's start after a failed "
                                     "deletion failed too: {}",
                                     self->state.log->tp().topic, self->state.log->tp().partition,
                                     self->system().render(err));
          });
}

// DeleteRecords and retention: the store removes the batches below `offset` and records the
// new start; the log start moves here once it has. Until then reads below it are still
// served (unless the store has deleted what they ask for already), and a deletion the store
// fails leaves the start where the store's is (read back: it may have run all the same).
// Deletions out at once each move it only forward, to where the store's answer says it is.
// The producers' state below `offset` is in the store's producer snapshot first: a rebuild
// reads the snapshot and the log after it, so batches deleted before a snapshot held them
// would take their producers' state along, and their next batch would be an unknown
// producer's. Kafka keeps producer state past the log start until it expires (KIP-360).
// Snapshot first, then the deletion: a crash in between loses nothing. A store that refuses
// the snapshot (a server out of memory refuses every write that frees nothing, while a
// deletion frees first) gets the deletion all the same, `producers_kept` false: memory must
// come free, and a producer whose state goes with its batches bumps its epoch (KIP-360), as
// before snapshots were written first.
void handle_delete(self_ptr self, std::int64_t offset,
                   caf::typed_response_promise<storage::partition_bounds> rp,
                   bool producers_kept = true) {
  auto& st = self->state;
  auto& log = *st.log;
  if (offset == -1) offset = log.high_watermark();
  if (offset < 0 || offset > log.high_watermark()) {
    rp.deliver(make_caf_error(errc::offset_out_of_range));
    return;
  }
  auto reader = st.dir.reader_for(log.tp());
  if (!reader) {
    rp.deliver(make_caf_error(errc::not_ready));
    return;
  }
  // Sent even when the start here is past `offset` already (then to that start): the store
  // answers with its own start, which this one then follows. Under this node's lease, so
  // that one that lost the partition never trims its new owner's log. Waited for
  // until the reader answers, as a producer snapshot (maybe_snapshot): only the answer says
  // the deletion is no longer on its way to the store.
  const auto to = std::max(offset, log.log_start());
  if (producers_kept && !producers_stored_below(st, to)) {
    // Asked again once the snapshot is in, with `to` (not -1: the high watermark may have
    // moved past what the snapshot covers); a snapshot taken now covers it.
    auto again = [=](errc e) mutable {
      if (e == errc::ok) {
        handle_delete(self, to, rp);
      } else if (e == errc::not_leader || e == errc::not_ready) {
        rp.deliver(make_caf_error(e));
      } else {
        logging::pipeline().warn("partition {}/{}: the store refused the producer snapshot ({}); "
                                 "deleting below {} all the same: producers whose batches go "
                                 "are unknown after a restart",
                                 self->state.log->tp().topic, self->state.log->tp().partition,
                                 to_string(e), to);
        handle_delete(self, to, rp, false);
      }
    };
    when_snapshot_stored(self, [=](errc e) mutable {
      if (e != errc::ok || self->state.log->ready())
        again(e);
      else  // recovering meanwhile: once it has
        self->state.on_ready.emplace_back(again);
    });
    return;
  }
  const auto pending = st.deleting_to.insert(to);
  const auto ticket = await_store(self, [rp](errc e) mutable { rp.deliver(make_caf_error(e)); });
  self->request(reader, store_call_last_resort(st.ctx->config), delete_atom::value, log.tp(), to,
                st.fence)
      .then(
          [=](storage::partition_bounds& stored) mutable {
            self->state.deleting_to.erase(pending);
            // At `to` or past it (a deletion the store had made further).
            follow_store_start(self, std::max(to, stored.log_start), stored);
            rp.deliver(self->state.log->bounds());
            store_answered(self, ticket);
          },
          [=](caf::error& err) mutable {
            // Refused under the lease: nothing was deleted, and the partition retires. The
            // request hears not_leader (Kafka: NOT_LEADER_OR_FOLLOWER) and its client finds
            // the new owner.
            if (to_errc(err) == errc::not_leader) {
              self->state.deleting_to.erase(pending);
              lost_lease(self, "a deletion");
            } else {
              logging::pipeline().warn("partition {}/{}: deleting below {} in the store failed: "
                                       "{}; reading its start back",
                                       self->state.log->tp().topic, self->state.log->tp().partition,
                                       to, self->system().render(err));
              read_start_back(self, pending);
            }
            rp.deliver(std::move(err));
            store_answered(self, ticket);
          });
}

// A compaction retention planned (pipeline/compaction.hpp): the tail forgets the range (reads
// of it go to the store, which holds the old batches until the new ones replace them), then
// the store carries it out under this node's lease. Offsets and the high watermark stay.
void handle_compact(self_ptr self, storage::log_compaction c,
                    caf::typed_response_promise<storage::partition_bounds> rp) {
  auto& st = self->state;
  auto& log = *st.log;
  if (c.end <= c.first_base || c.end > log.high_watermark()) {
    rp.deliver(make_caf_error(errc::invalid_request));
    return;
  }
  auto reader = st.dir.reader_for(log.tp());
  if (!reader) {
    rp.deliver(make_caf_error(errc::not_ready));
    return;
  }
  log.forget_tail_below(c.end);
  c.fence = st.fence;
  const auto ticket = await_store(self, [rp](errc e) mutable { rp.deliver(make_caf_error(e)); });
  // Waited for until the reader answers, as a deletion (handle_delete): once the store has
  // carried it out or failed.
  self->request(reader, store_call_last_resort(st.ctx->config), compact_atom::value, log.tp(),
                std::move(c))
      .then(
          [=](storage::partition_bounds& stored) mutable {
            self->state.log->deleted(stored);  // the bytes before the first batch grew
            rp.deliver(self->state.log->bounds());
            store_answered(self, ticket);
          },
          [=](caf::error& err) mutable {
            // Refused under the lease: another node owns the partition, and this one goes
            // (its tail already forgot the range), as after a refused write or deletion.
            if (to_errc(err) == errc::not_leader) lost_lease(self, "a compaction");
            rp.deliver(std::move(err));
            store_answered(self, ticket);
          });
}

// Why a deletion or a compaction cannot be taken now: the partition is stopping (bounced, to
// be sent to its successor), retiring, or has no store to recover from.
std::optional<caf::error> log_change_refused(self_ptr self) {
  const auto& st = self->state;
  if (st.passivating) return bounced();
  if (st.retiring) return make_caf_error(*st.retiring);
  if (!st.log->ready() && st.store_down) return make_caf_error(errc::storage_unavailable);
  return std::nullopt;
}

bool busy(const partition_state& st) {
  return !st.pending.empty() || !st.parked.empty() || !st.on_ready.empty() || st.recovering ||
         st.log->write_in_flight() || st.log->queued() > 0 || st.snapshot_in_flight ||
         !st.awaiting_store.empty();
}

// The partition's one timer: check_idle runs when it fires. (Passivating and retiring add a
// second, short-lived one; both end with the partition.)
void arm_tick(self_ptr self, std::chrono::steady_clock::duration after) {
  self->state.tick_armed = true;
  self->delayed_send(self, std::max<std::chrono::steady_clock::duration>(after, 10ms),
                     tick_atom::value);
}

// A passivating partition stops once nothing it took is left. Until then it looks again
// every 100 ms: most of what it waits for (a write) ends in maybe_stop, but not all (a
// recovery).
void stop_when_done(self_ptr self) {
  if (!busy(self->state)) return stop_passivated(self);
  arm_tick(self, 100ms);
}

// A warm tail nobody wrote or read for tail_budget::cool_after gives its memory to the
// partitions in use; until then each tick trims it to its share, which shrinks as others
// warm up (reads alone keep it warm, and add nothing that would trim it). Returns how long
// until the tail is due to be looked at again (trimmed, or cooled), if it is still warm:
// every trim_every only while all tails together are over the budget (a tick every 5 s for
// each of 10,000 warm partitions would cost 2,000 messages a second for memory nobody needs
// back).
// A poll parked on it, or a write still out, does not keep it warm: a write that lands on a
// cool tail is not kept (partition_log::add_to_tail), and the next append warms it again.
std::optional<std::chrono::steady_clock::duration> cool_tail(self_ptr self) {
  auto& st = self->state;
  if (!st.log->warm()) return std::nullopt;
  const auto since = self->clock().now() - st.last_data_use;
  if (since < tail_budget::cool_after) {
    st.log->trim_tail();
    const std::chrono::steady_clock::duration cools_in = tail_budget::cool_after - since;
    if (st.log->tail_bytes() == 0 || !st.ctx->tails.over()) return cools_in;
    return std::min<std::chrono::steady_clock::duration>(cools_in, tail_budget::trim_every);
  }
  logging::pipeline().debug("partition {}/{}: cools, tail of {} bytes given back",
                            st.log->tp().topic, st.log->tp().partition, st.log->tail_bytes());
  st.log->cool_down();
  return std::nullopt;
}

// An append taken warms the partition's tail (it takes a share of the budget again); an
// append or a read keeps a warm tail warm. Reads alone do not warm one: what a tail holds
// comes from appends, and a consumer polling thousands of quiet partitions should not
// reserve their shares. Warming arms the timer that trims and cools it, if none is running.
// The time is the request's (last_used, set as it arrived): no second clock read per
// request; an append taken only after a recovery counts from the latest request.
void used_for_data(self_ptr self, bool append) {
  auto& st = self->state;
  if (!st.log->warm()) {
    if (!append) return;
    st.log->warm_up();
    if (!st.tick_armed) arm_tick(self, tail_budget::trim_every);
  }
  st.last_data_use = st.last_used;
}

// The idle check: a partition nobody used for partition_idle_ms stops, once its registry has
// stopped routing to it (passivate); the next request starts a fresh one, which reads its
// bounds back from the store.
void check_idle(self_ptr self) {
  auto& st = self->state;
  st.tick_armed = false;
  const auto cools_in = cool_tail(self);  // whatever else the partition is doing
  if (st.retiring) {
    // Stops once the store answered; this tick only ends a wait that ran out.
    if (self->clock().now() < st.retire_by) return;
    if (*st.retiring == errc::unknown_topic)
      logging::pipeline().error(
          "partition {}/{}: its topic is deleted, and its storage actors have not answered what "
          "it asked of the store for {} s: it stops without the answer, and a write or deletion "
          "still on its way may land in a topic created again under the name",
          st.log->tp().topic, st.log->tp().partition,
          std::chrono::duration_cast<std::chrono::seconds>(store_call_last_resort(st.ctx->config)).count());
    else
      logging::pipeline().warn("partition {}/{}: stops without the store's answer to what it "
                               "asked while retiring",
                               st.log->tp().topic, st.log->tp().partition);
    self->quit();
    return;
  }
  if (st.passivating) return stop_when_done(self);
  if (st.ctx->config.partition_idle_ms == 0) {  // never stops: the timer only cools the tail
    if (cools_in) arm_tick(self, *cools_in);
    return;  // a cool tail needs no timer until an append warms it
  }
  const auto idle = std::chrono::milliseconds(st.ctx->config.partition_idle_ms);
  const auto since = self->clock().now() - st.last_used;
  // Checked again at least every eighth of the idle time (and never in a tight loop).
  const auto step = std::max<std::chrono::milliseconds>(idle / 8, 10ms);
  if (busy(st) || since < idle) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(idle - since);
    // At least every cool_after as well, so that a tail an append warms between two ticks
    // is still seen in time to cool when it is due.
    const std::chrono::steady_clock::duration cools =
        cools_in ? *cools_in : std::chrono::steady_clock::duration{tail_budget::cool_after};
    arm_tick(self, std::min<std::chrono::steady_clock::duration>(std::max(left, step), cools));
    return;
  }
  // The idempotence window's latest changes go to the store first, so that the respawned
  // partition rebuilds it from the snapshot rather than from the log.
  if (st.stored_since_snapshot > 0 && st.log->ready()) {
    maybe_snapshot(self, true);
    arm_tick(self, std::min<std::chrono::steady_clock::duration>(step, tail_budget::cool_after));
    return;
  }
  if (!st.owner) return stop_idle(self);  // nobody routes requests to it
  // Its owner routes requests here, and may be handing this actor out right now: it is
  // asked to take the partition out of its routes first (lookups then wait for the
  // successor), and answers with idle (passivate below). Asked again after another idle
  // period if no answer came (it was being retired meanwhile).
  self->send(st.owner, idle_atom::value, st.log->tp());
  arm_tick(self, std::max(idle, step));
}

// The owner no longer routes requests here. With nothing in hand the partition stops at
// once, and whatever reaches it later bounces (its sender asks the registry, which holds the
// lookup until this actor is gone, then starts the successor). With requests taken since it
// asked, it finishes them (writes, reads), answers its long polls with what it has, bounces
// anything new, and stops once nothing is left.
void passivate(self_ptr self) {
  auto& st = self->state;
  if (st.retiring || st.passivating) return;
  st.passivating = true;
  for (auto id : st.parked.due(std::chrono::steady_clock::time_point::max()))
    if (auto p = st.parked.take(id)) answer_empty(self, *p);
  stop_when_done(self);
}

partition_actor::behavior_type partition_impl(self_ptr self, std::shared_ptr<broker_context> ctx,
                                              actor_directory dir, topic_partition tp,
                                              std::string fence, topic_registry_actor owner,
                                              std::shared_ptr<const topic_write_rules> rules) {
  self->state.ctx = ctx;
  self->state.rules = std::move(rules);
  self->state.owner = std::move(owner);
  self->state.dir = std::move(dir);
  self->state.fence = std::move(fence);
  self->state.parked.count_in(&ctx->metrics);
  // Times come from the actor clock (steady_clock in a running broker; the test scheduler's
  // in deterministic tests).
  self->state.last_used = self->state.last_data_use = self->clock().now();
  self->state.log = std::make_unique<partition_log>(tp, ctx->tails);
  recover(self);
  // Its tail starts cool (the first append warms it), so only the idle check needs a timer.
  if (ctx->config.partition_idle_ms > 0)
    arm_tick(self, std::min<std::chrono::steady_clock::duration>(
                       tail_budget::cool_after,
                       std::chrono::milliseconds(ctx->config.partition_idle_ms)));
  auto touch = [=] { self->state.last_used = self->clock().now(); };
  return {
      [=](append_atom, framed_batch& b) -> caf::result<publish_result> {
        if (self->state.passivating) return bounced();
        touch();
        auto rp = self->make_response_promise<publish_result>();
        accept_append(self, std::move(b), rp);
        return rp;
      },
      [=](append_atom,
          std::vector<framed_batch>& group) -> caf::result<std::vector<publish_reply>> {
        if (self->state.passivating) return bounced();
        touch();
        auto rp = self->make_response_promise<std::vector<publish_reply>>();
        auto answers = std::make_shared<group_answer>(rp, group.size());
        for (std::size_t i = 0; i < group.size(); ++i)
          accept_append(self, std::move(group[i]), {answers, i});
        return rp;
      },
      [=](fetch_atom, fetch_request& req) -> caf::result<fetch_result> {
        if (self->state.passivating) return bounced();
        touch();
        used_for_data(self, false);
        if (auto why = self->state.retiring) return make_caf_error(*why);
        if (!self->state.log->ready() && self->state.store_down)
          return make_caf_error(errc::storage_unavailable);
        auto rp = self->make_response_promise<fetch_result>();
        if (self->state.log->ready()) {
          handle_fetch(self, std::move(req), rp);
        } else {
          self->state.on_ready.emplace_back([=](errc e) mutable {
            if (e == errc::ok)
              handle_fetch(self, std::move(req), rp);
            else
              rp.deliver(make_caf_error(e));
          });
        }
        return rp;
      },
      [=](bounds_atom) -> caf::result<storage::partition_bounds> {
        // Not a use: a console describing the topics over and over must not keep every
        // partition from idling.
        if (self->state.passivating) return bounced();
        if (auto why = self->state.retiring) return make_caf_error(*why);
        if (self->state.log->ready()) return self->state.log->bounds();
        auto rp = self->make_response_promise<storage::partition_bounds>();
        self->state.on_ready.emplace_back([=](errc e) mutable {
          if (e == errc::ok)
            rp.deliver(self->state.log->bounds());
          else
            rp.deliver(make_caf_error(e));
        });
        return rp;
      },
      [=](producer_atom) -> caf::result<std::vector<producer_summary>> {
        if (self->state.passivating) return bounced();
        if (auto why = self->state.retiring) return make_caf_error(*why);
        // While recovering, the window is being rebuilt: answer from the rebuilt one.
        if (self->state.log->ready()) return self->state.producers.summaries();
        if (self->state.store_down) return make_caf_error(errc::storage_unavailable);
        auto rp = self->make_response_promise<std::vector<producer_summary>>();
        self->state.on_ready.emplace_back([=](errc e) mutable {
          if (e == errc::ok)
            rp.deliver(self->state.producers.summaries());
          else
            rp.deliver(make_caf_error(e));
        });
        return rp;
      },
      [=](snapshot_atom) -> caf::result<bool> {
        // The broker stops (its registry asks every partition): the producers' latest
        // changes go to the store now, as Kafka writes its producer snapshots on a clean
        // shutdown, so that the next start rebuilds them from the snapshot, with their last
        // write times. Retention asks too, for the batches a compaction kept whole until a
        // snapshot covers them. A retiring partition has nothing of this node's to write.
        if (self->state.retiring) return true;
        if (!self->state.log->ready() && self->state.store_down) return false;
        auto rp = self->make_response_promise<bool>();
        // A partition still recovering is asked once it has recovered: the snapshot its
        // recovery starts is then waited for, and "stored" is never said of a window not yet
        // rebuilt.
        auto store = [=]() mutable { store_producers(self, [=](errc e) mutable { rp.deliver(e == errc::ok); }); };
        if (self->state.log->ready())
          store();
        else
          self->state.on_ready.emplace_back([=](errc e) mutable {
            if (e == errc::ok)
              store();
            else
              rp.deliver(false);
          });
        return rp;
      },
      [=](delete_atom, std::int64_t offset) -> caf::result<storage::partition_bounds> {
        if (auto refused = log_change_refused(self)) return std::move(*refused);
        // Retention deletes only from topics whose policy includes delete; this refuses the
        // rest (DeleteRecords on a compact-only topic, or a policy changed since).
        if (self->state.rules && !self->state.rules->records_deletable.load(std::memory_order_relaxed))
          return make_caf_error(errc::policy_violation);
        touch();
        return when_ready<storage::partition_bounds>(
            self, [=](caf::typed_response_promise<storage::partition_bounds>& rp) {
              handle_delete(self, offset, rp);
            });
      },
      [=](compact_atom, storage::log_compaction& c) -> caf::result<storage::partition_bounds> {
        // Not a use: a compaction neither warms the tail nor keeps the partition from idling.
        if (auto refused = log_change_refused(self)) return std::move(*refused);
        return when_ready<storage::partition_bounds>(
            self, [=](caf::typed_response_promise<storage::partition_bounds>& rp) {
              handle_compact(self, c, rp);
            });
      },
      [=](tick_atom) { check_idle(self); },
      [=](idle_atom) { passivate(self); },
      [=](recover_atom) { recover(self); },
      [=](expire_atom, std::uint64_t set_for) { expire_parked(self, set_for); },
      [=](cancel_atom, std::uint64_t poll_id) {
        // Its request was answered (another partition had data) or its connection closed.
        auto& st = self->state;
        if (auto p = st.parked.take_poll(poll_id)) return answer_empty(self, *p);
        st.cancelled[st.next_cancelled++ % st.cancelled.size()] = poll_id;
      },
      [=](retire_atom, errc why) { retire(self, why); },
      [=](directory_atom, actor_directory& next) { self->state.dir = std::move(next); },
  };
}

}  // namespace

partition_actor spawn_partition(caf::local_actor* parent, std::shared_ptr<broker_context> ctx,
                                actor_directory dir, topic_partition tp, std::string fence,
                                topic_registry_actor owner,
                                std::shared_ptr<const topic_write_rules> rules) {
  // Linked to its parent (the registry): a registry restart takes its partitions with it, so
  // the restarted registry's partitions are the only ones (a retiring one is unlinked and
  // stopped by the registry's state instead).
  return parent->spawn<caf::linked>(partition_impl, std::move(ctx), std::move(dir), std::move(tp),
                                    std::move(fence), std::move(owner), std::move(rules));
}

std::chrono::milliseconds retire_grace(const broker_config& config) {
  return std::max<std::chrono::milliseconds>(
      8s, std::chrono::milliseconds(config.store_timeout_ms) + 1s);
}

std::chrono::milliseconds store_call_last_resort(const broker_config& config) {
  return std::max<std::chrono::milliseconds>(5min, 30 * std::chrono::milliseconds(config.store_timeout_ms));
}

std::chrono::milliseconds shutdown_snapshot_wait(const broker_config& config) {
  return std::max<std::chrono::milliseconds>(10s, 2 * std::chrono::milliseconds(config.store_timeout_ms));
}

std::chrono::milliseconds registry_wait(const broker_config& config) {
  return retire_grace(config) + std::chrono::milliseconds(config.store_timeout_ms) + 2s;
}

}  // namespace portask
