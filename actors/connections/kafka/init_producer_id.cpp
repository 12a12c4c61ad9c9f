// InitProducerId (key 22): hands an idempotent producer a new id at epoch 0, whatever id and
// epoch it names (v3+, KIP-360: it asks after a fatal sequence error), as Kafka does without
// a transactional id: taking the id it names would let any client fence another's producer
// by naming its id, or claim an id the broker has yet to hand out. Transactions need a
// transaction coordinator, which Portask does not have: a transactional id is refused. ACLs
// (Kafka 3.x, KIP-679): IDEMPOTENT_WRITE on the cluster, or WRITE on some topic. Checked in
// Kafka's order (KafkaApis.handleInitProducerIdRequest): authorization, then the id and
// epoch named (both or neither), then the transactional id (TransactionCoordinator: an empty
// one is invalid). Every refusal carries no producer: id -1, epoch -1, as Kafka's.

#include "actors/connections/kafka/handlers.hpp"
#include "actors/pipeline/producer_ids.hpp"
#include "logging/loggers.hpp"

namespace portask::kafka {

void handle_init_producer_id(self_ptr self, const request& r, protocol::byte_view body) {
  msg::InitProducerIdRequest req;
  if (!PORTASK_KAFKA_DECODE(InitProducerId, body, req)) return;
  msg::InitProducerIdResponse res;
  const bool flexible = msg::InitProducerIdRequest_is_flexible(r.api_version);
  auto refuse = [&](error_code code) {
    res.errorCode = static_cast<std::int16_t>(code);
    res.producerId = -1;
    res.producerEpoch = -1;
    respond(self, r, res, flexible, true);
  };
  namespace sec = protocol::security;
  if (req.transactionalId) {
    // Kafka asks WRITE on the transactional id first; an empty one is refused below.
    if (!req.transactionalId->empty()) {
      logging::kafka().info("kafka: InitProducerId for transactional id '{}' refused (no transactions)",
                            *req.transactionalId);
      return refuse(error_code::transactional_id_authorization_failed);
    }
    if (!allowed(self, sec::acl_operation::write, sec::resource_type::transactional_id, ""))
      return refuse(error_code::transactional_id_authorization_failed);
  } else if (!allowed_on_cluster(self, sec::acl_operation::idempotent_write, denial_log::quiet) &&
             !allowed_on_some(self, sec::acl_operation::write, sec::resource_type::topic)) {
    // As Kafka, the cluster check is not logged when denied (WRITE on a topic may do), the
    // check by resource type is.
    return refuse(error_code::cluster_authorization_failed);
  }
  // v3+ names the producer it was (KIP-360): an id with no epoch, or an epoch with no id, is
  // a malformed request (v0-2 name neither: both -1).
  if ((req.producerId == -1) != (req.producerEpoch == -1)) return refuse(error_code::invalid_request);
  // An empty transactional id is no transactional producer's, nor an idempotent one's (which
  // sends none): Kafka's coordinator refuses it, as its producer client does.
  if (req.transactionalId) return refuse(error_code::invalid_request);
  with_new_producer_id(self, self->state.ctx, self->state.dir.any_reader(), [=](expected<std::int64_t> id) mutable {
    if (id) {
      res.producerId = *id;
      res.producerEpoch = 0;
    } else {
      logging::kafka().warn("kafka: InitProducerId: no producer id: {}", id.error().message());
      res.producerId = -1;
      res.producerEpoch = -1;
      res.errorCode = to_kafka_group(static_cast<errc>(id.error().value()));
    }
    respond(self, r, res, flexible);
  });
}

}  // namespace portask::kafka
