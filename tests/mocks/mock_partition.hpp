#pragma once
/// A scripted partition_actor. Unscripted appends are stored at `next_offset` (which then
/// moves on); a group of appends is answered batch by batch from the same script;
/// unscripted fetches find nothing new; deletions must be scripted; a producer snapshot asked
/// for is written.

#include <memory>

#include "tests/mocks/mock_script.hpp"

namespace portask::testing {

struct partition_script {
  heard<actor_directory> directory;  ///< the directory updates it was sent
  scripted<publish_result, framed_batch> append;
  scripted<fetch_result, fetch_request> fetch;
  scripted<storage::partition_bounds> bounds;
  scripted<std::vector<producer_summary>> producers;
  scripted<bool> snapshot;  ///< the broker stopping: write the producer snapshot
  scripted<storage::partition_bounds, std::int64_t> delete_records;
  scripted<storage::partition_bounds, storage::log_compaction> compact;
  heard<> recover;
  heard<std::uint64_t> expire;
  heard<std::uint64_t> cancel;
  heard<> tick;
  heard<> idle;  ///< the registry's go-ahead to stop
  heard<errc> retire;

  std::int32_t partition = 0;
  std::int64_t next_offset = 0;

  partition_script() {
    append.otherwise = [this](const framed_batch& b) -> caf::expected<publish_result> {
      publish_result r{partition, next_offset, b.record_count, false, 0};
      next_offset += b.record_count;
      return r;
    };
    fetch.otherwise = [this](const fetch_request&) -> caf::expected<fetch_result> {
      return fetch_result{partition, next_offset, 0, {}};
    };
    bounds.otherwise = [this]() -> caf::expected<storage::partition_bounds> {
      return storage::partition_bounds{0, next_offset};
    };
    producers.otherwise = []() -> caf::expected<std::vector<producer_summary>> {
      return std::vector<producer_summary>{};
    };
    snapshot.otherwise = []() -> caf::expected<bool> { return true; };
  }
  // The defaults point at this script: it stays where make_shared put it.
  partition_script(const partition_script&) = delete;
  partition_script& operator=(const partition_script&) = delete;
};

inline partition_actor::behavior_type mock_partition(partition_actor::pointer,
                                                     std::shared_ptr<partition_script> s) {
  return {
      [s](append_atom, const framed_batch& b) { return s->append(b); },
      [s](append_atom, const std::vector<framed_batch>& group) {
        return answer_each(s->append, group);
      },
      [s](fetch_atom, const fetch_request& req) { return s->fetch(req); },
      [s](bounds_atom) { return s->bounds(); },
      [s](producer_atom) { return s->producers(); },
      [s](snapshot_atom) { return s->snapshot(); },
      [s](delete_atom, std::int64_t offset) { return s->delete_records(offset); },
      [s](compact_atom, const storage::log_compaction& c) { return s->compact(c); },
      [s](recover_atom) { s->recover(); },
      [s](expire_atom, std::uint64_t id) { s->expire(id); },
      [s](cancel_atom, std::uint64_t poll_id) { s->cancel(poll_id); },
      [s](tick_atom) { s->tick(); },
      [s](idle_atom) { s->idle(); },
      [s](retire_atom, errc why) { s->retire(why); },
      [s](directory_atom, const actor_directory& d) { s->directory(d); },
  };
}

inline partition_actor spawn_mock_partition(caf::actor_system& sys,
                                            std::shared_ptr<partition_script> s) {
  return sys.spawn(mock_partition, std::move(s));
}

}  // namespace portask::testing
