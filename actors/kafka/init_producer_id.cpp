// InitProducerId (key 22): hands an idempotent producer its id. A producer that already has
// one (v3+, KIP-360: it asks after a fatal sequence error) keeps its id with the epoch
// bumped, which resets its sequences on every partition. Transactions need a transaction
// coordinator, which Portask does not have: a transactional id is refused.
#include <spdlog/spdlog.h>

#include <limits>

#include "actors/kafka/handlers.hpp"

namespace portask::kafka {

using namespace std::chrono_literals;

void handle_init_producer_id(self_ptr self, const request& r, protocol::byte_view body) {
  msg::InitProducerIdRequest req;
  if (!decode_body(body, r, req)) return self->quit();
  msg::InitProducerIdResponse res;
  const bool flexible = msg::InitProducerIdRequest_is_flexible(r.api_version);
  if (req.transactionalId && !req.transactionalId->empty()) {
    spdlog::info("kafka: InitProducerId for transactional id '{}' refused (no transactions)",
                 *req.transactionalId);
    res.errorCode = static_cast<std::int16_t>(error_code::transactional_id_authorization_failed);
    return respond(self, r, res, flexible, true);
  }
  if (req.producerId >= 0 && req.producerEpoch >= 0 &&
      req.producerEpoch < std::numeric_limits<std::int16_t>::max() - 1) {
    res.producerId = req.producerId;
    res.producerEpoch = static_cast<std::int16_t>(req.producerEpoch + 1);
    return respond(self, r, res, flexible);
  }
  auto& ids = self->state.ctx->producer_ids;
  res.producerEpoch = 0;
  if (auto id = ids.take()) {
    res.producerId = *id;
    return respond(self, r, res, flexible);
  }
  // The pool is empty: reserve the next block in the store.
  auto reader = self->state.ctx->any_reader();
  if (!reader) {
    res.errorCode = to_kafka_group(errc::not_ready);
    return respond(self, r, res, flexible);
  }
  self->request(reader, 10s, producer_atom::value, broker_context::producer_id_pool::block)
      .then(
          [=](std::int64_t first) mutable {
            auto& pool = self->state.ctx->producer_ids;
            pool.add_block(first, broker_context::producer_id_pool::block);
            if (auto id = pool.take())
              res.producerId = *id;
            else
              res.errorCode = to_kafka_group(errc::not_ready);
            respond(self, r, res, flexible);
          },
          [=](caf::error& e) mutable {
            spdlog::warn("kafka: InitProducerId: no producer id block: {}",
                         self->system().render(e));
            res.producerId = -1;
            res.producerEpoch = -1;
            res.errorCode = to_kafka_group(to_errc(e));
            respond(self, r, res, flexible);
          });
}

}  // namespace portask::kafka
