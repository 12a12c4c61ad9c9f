#pragma once
/// A scripted storage_reader_actor. Unscripted requests get what an empty, healthy store
/// answers (no batches, empty bounds, no groups, writes succeed: a group's metadata is
/// answered stored); producer-id blocks, producer epoch bumps and record deletions have no
/// default and must be scripted.

#include <memory>

#include "tests/mocks/mock_script.hpp"

namespace portask::testing {

struct storage_reader_script {
  scripted<std::vector<storage::stored_batch>, topic_partition, std::int64_t, std::uint32_t> read;
  scripted<storage::partition_bounds, topic_partition> bounds;
  scripted<partition_recovery, topic_partition> recover;
  scripted<bool, topic_partition, storage::producer_snapshot, std::string> snapshot;
  scripted<std::int64_t, std::int64_t> producer_ids;
  scripted<std::int16_t, std::int64_t, std::int16_t> producer_epochs;
  scripted<bool, std::string, std::vector<storage::group_offset>> commit;
  scripted<std::vector<storage::group_offset>, std::string> offsets;
  scripted<bool, std::string, std::vector<topic_partition>, std::string> delete_offsets;
  scripted<std::vector<std::string>> list_groups;
  scripted<bool, std::string, storage::group_metadata, std::string> commit_metadata;
  scripted<stored_group, std::string> stored;
  scripted<std::vector<storage::group_listing>> listings;
  scripted<storage::partition_bounds, topic_partition, std::int64_t, std::string> delete_records;
  scripted<storage::partition_bounds, topic_partition, storage::log_compaction> compact;
  scripted<bool> ping;
  /// Pings are recorded and never answered, as by a reader stuck in a store call.
  bool pings_hang = false;

  storage_reader_script() {
    read.otherwise = [](const topic_partition&, std::int64_t,
                        std::uint32_t) -> caf::expected<std::vector<storage::stored_batch>> {
      return std::vector<storage::stored_batch>{};
    };
    bounds.otherwise = [](const topic_partition&) -> caf::expected<storage::partition_bounds> {
      return storage::partition_bounds{};
    };
    recover.otherwise = [](const topic_partition&) -> caf::expected<partition_recovery> {
      return partition_recovery{};
    };
    snapshot.otherwise = [](const topic_partition&, const storage::producer_snapshot&,
                            const std::string&) -> caf::expected<bool> {
      return true;
    };
    commit.otherwise = [](const std::string&,
                          const std::vector<storage::group_offset>&) -> caf::expected<bool> {
      return true;
    };
    offsets.otherwise =
        [](const std::string&) -> caf::expected<std::vector<storage::group_offset>> {
      return std::vector<storage::group_offset>{};
    };
    delete_offsets.otherwise = [](const std::string&, const std::vector<topic_partition>&,
                                  const std::string&) -> caf::expected<bool> {
      return true;
    };
    list_groups.otherwise = []() -> caf::expected<std::vector<std::string>> {
      return std::vector<std::string>{};
    };
    commit_metadata.otherwise = [](const std::string&, const storage::group_metadata&,
                                   const std::string&) -> caf::expected<bool> { return true; };
    stored.otherwise = [](const std::string&) -> caf::expected<stored_group> { return stored_group{}; };
    listings.otherwise = []() -> caf::expected<std::vector<storage::group_listing>> {
      return std::vector<storage::group_listing>{};
    };
    ping.otherwise = []() -> caf::expected<bool> { return true; };
  }
};

inline storage_reader_actor::behavior_type mock_storage_reader(
    storage_reader_actor::pointer, std::shared_ptr<storage_reader_script> s) {
  return {
      [s](read_atom, const topic_partition& tp, std::int64_t offset, std::uint32_t max_bytes) {
        return s->read(tp, offset, max_bytes);
      },
      [s](bounds_atom, const topic_partition& tp) { return s->bounds(tp); },
      [s](recover_atom, const topic_partition& tp) { return s->recover(tp); },
      [s](snapshot_atom, const topic_partition& tp, const storage::producer_snapshot& snap,
          const std::string& fence) { return s->snapshot(tp, snap, fence); },
      [s](producer_atom, std::int64_t count) { return s->producer_ids(count); },
      [s](producer_atom, std::int64_t id, std::int16_t epoch) { return s->producer_epochs(id, epoch); },
      [s](commit_atom, const std::string& group, const std::vector<storage::group_offset>& offsets,
          const std::string&) { return s->commit(group, offsets); },
      [s](offset_atom, const std::string& group) { return s->offsets(group); },
      [s](delete_atom, const std::string& group, const std::vector<topic_partition>& tps,
          const std::string& fence) { return s->delete_offsets(group, tps, fence);
      },
      [s](list_atom) { return s->list_groups(); },
      [s](commit_atom, const std::string& group, const storage::group_metadata& m, const std::string& fence) {
        return s->commit_metadata(group, m, fence);
      },
      [s](describe_atom, const std::string& group) { return s->stored(group); },
      [s](describe_atom) { return s->listings(); },
      [s](delete_atom, const topic_partition& tp, std::int64_t offset, const std::string& fence) {
        return s->delete_records(tp, offset, fence);
      },
      [s](compact_atom, const topic_partition& tp, const storage::log_compaction& c) {
        return s->compact(tp, c);
      },
      [s](ping_atom) -> caf::result<bool> {
        if (!s->pings_hang) return s->ping();
        s->ping.received.emplace_back();
        return caf::delegated<bool>{};  // no answer, ever
      },
  };
}

inline storage_reader_actor spawn_mock_storage_reader(caf::actor_system& sys,
                                                      std::shared_ptr<storage_reader_script> s) {
  return sys.spawn(mock_storage_reader, std::move(s));
}

}  // namespace portask::testing
