#pragma once
/// Producer ids for idempotent producers of every protocol (Kafka's InitProducerId, the
/// native InitProducer): taken from the broker's pool, which is refilled from the store a
/// block at a time, so an id is never handed out twice, across restarts and nodes.

#include <chrono>
#include <cstdint>
#include <memory>

#include "actors/runtime/broker_context.hpp"

namespace portask {

/// Calls `done(expected<std::int64_t>)` on `self` with a fresh producer id; a block is
/// reserved through `reader` when the pool is empty.
template <class Self, class F>
void with_new_producer_id(Self* self, std::shared_ptr<broker_context> ctx,
                          storage_reader_actor reader, F done) {
  if (auto id = ctx->producer_ids.take()) return done(expected<std::int64_t>{*id});
  if (!reader) return done(expected<std::int64_t>{errc::not_ready});
  constexpr auto block = broker_context::producer_id_pool::block;
  self->request(reader, std::chrono::seconds(10), producer_atom::value, block)
      .then(
          [=](std::int64_t first) mutable {
            ctx->producer_ids.add_block(first, block);
            if (auto id = ctx->producer_ids.take()) return done(expected<std::int64_t>{*id});
            done(expected<std::int64_t>{errc::not_ready});
          },
          [=](caf::error& e) mutable { done(expected<std::int64_t>{to_errc(e)}); });
}

}  // namespace portask
