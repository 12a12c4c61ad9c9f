#include "actors/pipeline/storage_actors.hpp"

#include <sys/prctl.h>

#include <unordered_set>

#include "actors/pipeline/write_batcher.hpp"
#include "logging/loggers.hpp"

namespace portask {
namespace {

struct writer_state {
  std::shared_ptr<metrics_registry> metrics;  // outlives the batcher, which records into it
  std::unique_ptr<write_batcher> batcher;
  std::vector<caf::typed_response_promise<append_outcome>> promises;  // aligned with the queue
  bool flush_scheduled = false;
  /// A writer that stops before its flush ran answers the appends it holds (never sent to
  /// the store): a destroyed promise sends nothing in CAF 0.17, and partitions wait for
  /// their writes without a timeout.
  ~writer_state() {
    for (auto& p : promises) p.deliver(make_caf_error(errc::not_ready));
  }
  static inline const char* name = "portask.storage_writer";
};

storage_writer_actor::behavior_type
writer_impl(storage_writer_actor::stateful_pointer<writer_state> self,
            storage::store_factory factory, std::shared_ptr<metrics_registry> metrics) {
  // Each writer makes its own store instance: one connection per writer.
  auto store = factory();
  if (!store) {
    logging::storage().error("storage writer: cannot create store: {}", store.error().message());
    self->quit(make_caf_error(errc::storage_unavailable));
    return storage_writer_actor::behavior_type::make_empty_behavior();
  }
  self->state.metrics = metrics;
  self->state.batcher = std::make_unique<write_batcher>(std::move(*store), metrics.get());
  return {
      [=](append_atom, append_set& set) -> caf::result<append_outcome> {
        auto& st = self->state;
        st.batcher->enqueue(std::move(set));
        st.promises.push_back(self->make_response_promise<append_outcome>());
        // The flush message queues behind every append already in the mailbox, so one flush
        // writes all of them: group commit without timers.
        if (!st.flush_scheduled) {
          st.flush_scheduled = true;
          self->send(self, flush_atom::value);
        }
        return st.promises.back();
      },
      [=](flush_atom) {
        auto& st = self->state;
        st.flush_scheduled = false;
        auto outcomes = st.batcher->flush(write_batcher::clock::now());
        auto promises = std::move(st.promises);
        st.promises.clear();
        for (std::size_t i = 0; i < outcomes.size(); ++i) promises[i].deliver(std::move(outcomes[i]));
      },
  };
}

struct reader_state {
  std::unique_ptr<storage::log_store> store;
  /// Partitions whose compaction runs now, each on a one-shot worker of its own.
  std::unordered_set<topic_partition, storage::topic_partition_hash> compacting;
  static inline const char* name = "portask.storage_reader";
};

// Converts a store result to a CAF result, logging failures once here.
template <class T>
caf::result<T> lift(expected<T>&& r) {
  if (r) return std::move(*r);
  return make_caf_error(static_cast<errc>(r.error().value()));
}

// `job` is shared, not copied: it may hold a compaction's batches (up to 32 MiB), and the
// spawn's arguments and the behavior's handler would each copy a function.
detail::one_shot_actor::behavior_type one_shot_impl(detail::one_shot_actor::pointer self,
                                                    caf::actor_addr owner,
                                                    std::shared_ptr<std::function<void()>> job) {
  // It stops with the actor it answers to, whose successor may start the same job again.
  // One already running is not interrupted: a compaction a store carries out in steps gives
  // way to a newer one of the partition at its next step (redis_store.cpp, compact_script).
  self->monitor(owner);
  self->set_down_handler([self](caf::down_msg&) { self->quit(); });
  return {
      [job](compact_atom) {
        // Moved out, so that what it holds is freed as soon as it has run.
        auto run = std::move(*job);
        run();
        return true;
      },
  };
}

storage_reader_actor::behavior_type
reader_impl(storage_reader_actor::stateful_pointer<reader_state> self,
            storage::store_factory factory) {
  auto store = factory();
  if (!store) {
    logging::storage().error("storage reader: cannot create store: {}", store.error().message());
    self->quit(make_caf_error(errc::storage_unavailable));
    return storage_reader_actor::behavior_type::make_empty_behavior();
  }
  self->state.store = std::move(*store);
  return {
      [=](read_atom, const topic_partition& tp, std::int64_t offset,
          std::uint32_t max_bytes) -> caf::result<std::vector<storage::stored_batch>> {
        return lift(self->state.store->read(tp, offset, max_bytes));
      },
      [=](bounds_atom, const topic_partition& tp) -> caf::result<storage::partition_bounds> {
        return lift(self->state.store->bounds(tp));
      },
      [=](recover_atom, const topic_partition& tp) -> caf::result<partition_recovery> {
        auto& st = *self->state.store;
        auto bounds = st.bounds(tp);
        if (!bounds) return make_caf_error(static_cast<errc>(bounds.error().value()));
        auto producers = st.read_producer_history(tp);
        if (!producers) return make_caf_error(static_cast<errc>(producers.error().value()));
        return partition_recovery{*bounds, std::move(*producers)};
      },
      [=](snapshot_atom, const topic_partition& tp, const storage::producer_snapshot& snapshot,
          const std::string& fence) -> caf::result<bool> {
        if (auto ec = self->state.store->put_producer_snapshot(tp, snapshot, fence))
          return make_caf_error(static_cast<errc>(ec.value()));
        return true;
      },
      [=](producer_atom, std::int64_t count) -> caf::result<std::int64_t> {
        return lift(self->state.store->allocate_producer_ids(count));
      },
      [=](producer_atom, std::int64_t id, std::int16_t epoch) -> caf::result<std::int16_t> {
        return lift(self->state.store->bump_producer_epoch(id, epoch));
      },
      [=](commit_atom, const std::string& group, const std::vector<storage::group_offset>& offsets,
          const std::string& fence) -> caf::result<bool> {
        if (auto ec = self->state.store->commit_offsets(group, offsets, fence))
          return make_caf_error(static_cast<errc>(ec.value()));
        return true;
      },
      [=](offset_atom,
          const std::string& group) -> caf::result<std::vector<storage::group_offset>> {
        return lift(self->state.store->fetch_offsets(group));
      },
      [=](delete_atom, const std::string& group, const std::vector<topic_partition>& partitions,
          const std::string& fence) -> caf::result<bool> {
        if (auto ec = self->state.store->delete_offsets(group, partitions, fence))
          return make_caf_error(static_cast<errc>(ec.value()));
        return true;
      },
      [=](list_atom) -> caf::result<std::vector<std::string>> {
        return lift(self->state.store->list_groups());
      },
      [=](commit_atom, const std::string& group, const storage::group_metadata& metadata,
          const std::string& fence) -> caf::result<bool> {
        return lift(self->state.store->commit_group_metadata(group, metadata, fence));
      },
      [=](describe_atom, const std::string& group) -> caf::result<stored_group> {
        auto& st = *self->state.store;
        auto metadata = st.fetch_group_metadata(group);
        if (!metadata) return make_caf_error(static_cast<errc>(metadata.error().value()));
        auto offsets = st.fetch_offsets(group);
        if (!offsets) return make_caf_error(static_cast<errc>(offsets.error().value()));
        return stored_group{std::move(*metadata), std::move(*offsets)};
      },
      [=](describe_atom) -> caf::result<std::vector<storage::group_listing>> {
        return lift(self->state.store->list_group_metadata());
      },
      [=](delete_atom, const topic_partition& tp, std::int64_t offset,
          const std::string& fence) -> caf::result<storage::partition_bounds> {
        // Named so that /proc (and the soak benchmark) can count deletion's CPU time.
        ::prctl(PR_SET_NAME, "portask-delete");
        return lift(self->state.store->delete_records(tp, offset, fence));
      },
      [=](compact_atom, const topic_partition& tp,
          storage::log_compaction& c) -> caf::result<storage::partition_bounds> {
        // A compaction is many round trips (seconds for a large partition on Redis, whose
        // steps let other clients in between): carried out by a one-shot worker with a
        // connection of its own, it leaves this reader serving the other partitions' reads
        // meanwhile. One per partition at a time: a second one (the partition gave up
        // waiting for the first) would only make the first give way.
        if (!self->state.compacting.insert(tp).second) return make_caf_error(errc::not_ready);
        auto rp = self->make_response_promise<storage::partition_bounds>();
        run_one_shot(
            self, factory,
            [tp, c = std::move(c)](storage::log_store& worker_store) {
              return worker_store.compact(tp, c);
            },
            [=](expected<storage::partition_bounds> after) mutable {
              self->state.compacting.erase(tp);
              if (after)
                rp.deliver(std::move(*after));
              else
                rp.deliver(make_caf_error(static_cast<errc>(after.error().value())));
            });
        return rp;
      },
      [=](ping_atom) -> caf::result<bool> {
        // With the store's reason, for the supervisor's line saying the store is unreachable.
        if (auto ec = self->state.store->ping())
          return make_caf_error(static_cast<errc>(ec.value()), self->state.store->failure_detail());
        return true;
      },
  };
}

}  // namespace

storage_writer_actor spawn_storage_writer(caf::actor_system& sys, const storage::store_factory& f,
                                          std::shared_ptr<metrics_registry> metrics,
                                          bool own_thread) {
  if (!own_thread) return sys.spawn(writer_impl, f, metrics);
  return sys.spawn<caf::detached>(writer_impl, f, metrics);
}

storage_reader_actor spawn_storage_reader(caf::actor_system& sys, const storage::store_factory& f) {
  return sys.spawn<caf::detached>(reader_impl, f);
}

detail::one_shot_actor detail::spawn_one_shot(caf::local_actor* owner, std::function<void()> job,
                                              bool own_thread) {
  auto shared = std::make_shared<std::function<void()>>(std::move(job));
  if (own_thread)
    return owner->spawn<caf::detached>(one_shot_impl, owner->address(), std::move(shared));
  return owner->spawn(one_shot_impl, owner->address(), std::move(shared));
}

}  // namespace portask
