// FindCoordinator (key 10): this broker coordinates every group (in a cluster, the node the
// group hashes to among the live nodes). v4 looks up many keys at
// once. Transactions have no coordinator here: key type 1 is refused with
// TRANSACTIONAL_ID_AUTHORIZATION_FAILED, the one answer every client treats as final
// (librdkafka retries INVALID_REQUEST here until init_transactions times out).
// ACLs: DESCRIBE on the group (key type 0) or on the transactional id (key type 1).
#include "actors/connections/kafka/handlers.hpp"

namespace portask::kafka {

namespace sec = protocol::security;

void handle_find_coordinator(self_ptr self, const request& r, protocol::byte_view body) {
  msg::FindCoordinatorRequest req;
  if (!PORTASK_KAFKA_DECODE(FindCoordinator, body, req)) return;
  // The group's coordinator: this node, or in a cluster the node the group hashes to.
  const auto view = self->state.ctx->cluster();
  auto coordinator_of = [&](const std::string& group) { return address_of(self, *view, view->coordinator(group)); };
  msg::FindCoordinatorResponse res;
  struct answer {
    std::int16_t code = 0;
    std::optional<std::string> message;
  };
  auto answer_for = [&](const std::string& key) -> answer {
    auto refused = [](error_code code, std::string why) {
      return answer{static_cast<std::int16_t>(code), std::move(why)};
    };
    // Checked first, as Kafka does: a refused key learns nothing else about itself.
    if (req.keyType == 0 &&
        !allowed(self, sec::acl_operation::describe, sec::resource_type::group, key))
      return refused(error_code::group_authorization_failed, "DESCRIBE on the group is required");
    if (req.keyType == 1 &&
        !allowed(self, sec::acl_operation::describe, sec::resource_type::transactional_id, key))
      return refused(error_code::transactional_id_authorization_failed,
                     "DESCRIBE on the transactional id is required");
    // A transactional producer fails at once, told why, instead of retrying.
    if (req.keyType == 1)
      return refused(error_code::transactional_id_authorization_failed,
                     "Portask has no transaction coordinator: transactions are not supported; "
                     "unset transactional.id (an idempotent producer needs none)");
    if (req.keyType != 0)
      return refused(error_code::invalid_request,
                     "unknown coordinator key type " + std::to_string(req.keyType));
    // An empty group id is found too, as in Kafka: OffsetCommit and OffsetFetch take it.
    if (!coordinator_of(key)) return {static_cast<std::int16_t>(error_code::coordinator_not_available), {}};
    return {};
  };
  if (r.api_version >= 4) {
    for (const auto& key : req.coordinatorKeys) {
      msg::FindCoordinatorResponse::Coordinator c;
      c.key = key;
      auto answered = answer_for(key);
      c.errorCode = answered.code;
      c.errorMessage = std::move(answered.message);
      if (c.errorCode == 0) {
        auto a = *coordinator_of(key);
        c.nodeId = a.id;
        c.host = std::move(a.host);
        c.port = a.port;
      } else {
        c.nodeId = -1;
        c.port = -1;
      }
      res.coordinators.push_back(std::move(c));
    }
  } else {
    auto answered = answer_for(req.key);
    res.errorCode = answered.code;
    res.errorMessage = std::move(answered.message);
    const auto a = res.errorCode == 0 ? coordinator_of(req.key) : std::nullopt;
    res.nodeId = a ? a->id : -1;
    res.host = a ? a->host : "";
    res.port = a ? a->port : -1;
  }
  respond(self, r, res, msg::FindCoordinatorRequest_is_flexible(r.api_version));
}

}  // namespace portask::kafka
