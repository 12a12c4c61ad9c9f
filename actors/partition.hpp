#pragma once
/// The partition actor: a thin shell around partition_log. Runs on the CAF scheduler and
/// never blocks: store reads go to a storage_reader, writes to a storage_writer.

#include <memory>

#include "actors/broker_context.hpp"

namespace portask {

partition_actor spawn_partition(caf::local_actor* parent, std::shared_ptr<broker_context> ctx,
                                topic_partition tp);

/// Sends `msg...` to the partition `tp` (found through `registry`, never auto-created) and
/// calls `ok` with its answer or `fail` with the error. A partition that stopped (idle)
/// before the request reached it was never asked: the request goes to a fresh one (up to
/// `attempts` times).
template <class Self, class Ok, class Fail, class... Ts>
void ask_partition(Self* self, topic_registry_actor registry, topic_partition tp,
                   std::chrono::milliseconds timeout, Ok ok, Fail fail, int attempts,
                   Ts... msg) {
  using namespace std::chrono_literals;
  self->request(registry, 10s, partition_atom::value, tp, false)
      .then(
          [=](partition_actor& p) {
            self->request(p, timeout, msg...)
                .then(ok, [=](caf::error& e) {
                  if (receiver_gone(e) && attempts > 1)
                    ask_partition(self, registry, tp, timeout, ok, fail, attempts - 1, msg...);
                  else
                    fail(e);
                });
          },
          [=](caf::error& e) { fail(e); });
}

}  // namespace portask
