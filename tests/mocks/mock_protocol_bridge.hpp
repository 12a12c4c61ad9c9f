#pragma once
/// A scripted protocol_bridge_actor (e.g. where a group coordinator mirrors to the offsets
/// topic). Unscripted publishes are stored at `next_offset` (which then moves on), a burst's
/// one by one from the same script; unscripted fetches find nothing, bounds end at
/// `next_offset`, producers are none; deletions must be scripted.

#include <memory>

#include "tests/mocks/mock_script.hpp"

namespace portask::testing {

struct protocol_bridge_script {
  heard<actor_directory> directory;  ///< the directory updates it was sent
  scripted<publish_result, publish_batch> publish;
  scripted<fetch_result, fetch_request> fetch;
  heard<topic_partition, std::uint64_t> cancel;
  scripted<storage::partition_bounds, topic_partition> bounds;
  scripted<storage::partition_bounds, topic_partition, std::int64_t> delete_records;
  scripted<storage::partition_bounds, topic_partition, storage::log_compaction> compact;
  scripted<std::vector<producer_summary>, topic_partition> producers;

  std::int64_t next_offset = 0;

  protocol_bridge_script() {
    publish.otherwise = [this](const publish_batch& pb) -> caf::expected<publish_result> {
      const auto count = static_cast<std::uint32_t>(pb.batch.messages.size());
      publish_result r{pb.tp.partition, next_offset, count, false, 0};
      next_offset += count;
      return r;
    };
    fetch.otherwise = [this](const fetch_request& req) -> caf::expected<fetch_result> {
      return fetch_result{req.tp.partition, next_offset, 0, {}};
    };
    bounds.otherwise = [this](const topic_partition&) -> caf::expected<storage::partition_bounds> {
      return storage::partition_bounds{0, next_offset};
    };
    producers.otherwise =
        [](const topic_partition&) -> caf::expected<std::vector<producer_summary>> {
      return std::vector<producer_summary>{};
    };
  }
  // The defaults point at this script: it stays where make_shared put it.
  protocol_bridge_script(const protocol_bridge_script&) = delete;
  protocol_bridge_script& operator=(const protocol_bridge_script&) = delete;
};

inline protocol_bridge_actor::behavior_type mock_protocol_bridge(
    protocol_bridge_actor::pointer, std::shared_ptr<protocol_bridge_script> s) {
  return {
      [s](publish_atom, const publish_batch& pb) { return s->publish(pb); },
      [s](publish_atom, const std::vector<publish_batch>& burst) {
        return answer_each(s->publish, burst);
      },
      [s](fetch_atom, const fetch_request& req) { return s->fetch(req); },
      [s](cancel_atom, const topic_partition& tp, std::uint64_t poll_id) {
        s->cancel(tp, poll_id);
      },
      [s](bounds_atom, const topic_partition& tp) { return s->bounds(tp); },
      [s](delete_atom, const topic_partition& tp, std::int64_t offset) {
        return s->delete_records(tp, offset);
      },
      [s](compact_atom, const topic_partition& tp, const storage::log_compaction& c) {
        return s->compact(tp, c);
      },
      [s](producer_atom, const topic_partition& tp) { return s->producers(tp); },
      [s](directory_atom, const actor_directory& d) { s->directory(d); },
  };
}

inline protocol_bridge_actor spawn_mock_protocol_bridge(caf::actor_system& sys,
                                                        std::shared_ptr<protocol_bridge_script> s) {
  return sys.spawn(mock_protocol_bridge, std::move(s));
}

}  // namespace portask::testing
