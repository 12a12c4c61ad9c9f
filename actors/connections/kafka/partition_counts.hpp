#pragma once
/// The registry's partition counts of the topics a group request names (OffsetCommit,
/// OffsetDelete), asked for all at once: a partition that does not exist is answered
/// UNKNOWN_TOPIC_OR_PARTITION and never reaches the coordinator, as Kafka answers those its
/// metadata does not hold.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "actors/connections/kafka/handlers.hpp"

namespace portask::kafka {

/// Whether a topic lookup that failed for this reason may pass (the registry restarting or
/// busy, the store down or slow): the partitions it would have checked are answered with a
/// retriable error rather than as unknown.
inline bool lookup_may_pass(errc why) {
  return why == errc::not_ready || why == errc::timeout || why == errc::storage_unavailable ||
         why == errc::backpressure;
}

/// Looks up every topic of `topics` in the registry; `found(topic, count)` for a topic that
/// exists, `failed(topic, why)` for one that does not or could not be looked up, and `done()`
/// once, after the last answer (at once when `topics` is empty).
template <class Topics, class Found, class Failed, class Done>
void look_up_partition_counts(self_ptr self, const Topics& topics, Found found, Failed failed,
                              Done done) {
  using namespace std::chrono_literals;
  auto pending = std::make_shared<std::size_t>(topics.size() + 1);
  auto answered = [=] {
    if (--*pending == 0) done();
  };
  for (const std::string& topic : topics)
    self->request(self->state.dir.registry, 10s, topic_atom::value, topic, false)
        .then(
            [=](storage::topic_info& info) {
              found(topic, info.partitions);
              answered();
            },
            [=](caf::error& e) {
              failed(topic, to_errc(e));
              answered();
            });
  answered();
}

}  // namespace portask::kafka
