// FindCoordinator (key 10): this broker coordinates every group (in a cluster, the node the
// group hashes to among the live nodes). v4 looks up many keys at
// once. Transactions have no coordinator here (key type 1 is refused).
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
  constexpr auto group_refused = static_cast<std::int16_t>(error_code::group_authorization_failed);
  constexpr auto transaction_refused =
      static_cast<std::int16_t>(error_code::transactional_id_authorization_failed);
  auto code_for = [&](const std::string& key) -> std::int16_t {
    // Checked first, as Kafka does: a refused key learns nothing else about itself.
    if (req.keyType == 0 &&
        !allowed(self, sec::acl_operation::describe, sec::resource_type::group, key))
      return group_refused;
    if (req.keyType == 1 &&
        !allowed(self, sec::acl_operation::describe, sec::resource_type::transactional_id, key))
      return transaction_refused;
    if (req.keyType != 0) return static_cast<std::int16_t>(error_code::invalid_request);
    // An empty group id is found too, as in Kafka: OffsetCommit and OffsetFetch take it.
    if (!coordinator_of(key)) return static_cast<std::int16_t>(error_code::coordinator_not_available);
    return 0;
  };
  // A non-retriable error at once: a transactional producer fails fast instead of retrying.
  const std::optional<std::string> why =
      req.keyType == 1 ? std::optional<std::string>("Portask has no transaction coordinator: "
                                                    "transactions are not supported")
                       : std::nullopt;
  auto message_for = [&](std::int16_t code) -> std::optional<std::string> {
    if (code == group_refused) return "DESCRIBE on the group is required";
    if (code == transaction_refused) return "DESCRIBE on the transactional id is required";
    return code != 0 ? why : std::nullopt;
  };
  if (r.api_version >= 4) {
    for (const auto& key : req.coordinatorKeys) {
      msg::FindCoordinatorResponse::Coordinator c;
      c.key = key;
      c.errorCode = code_for(key);
      c.errorMessage = message_for(c.errorCode);
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
    res.errorCode = code_for(req.key);
    res.errorMessage = message_for(res.errorCode);
    const auto a = res.errorCode == 0 ? coordinator_of(req.key) : std::nullopt;
    res.nodeId = a ? a->id : -1;
    res.host = a ? a->host : "";
    res.port = a ? a->port : -1;
  }
  respond(self, r, res, msg::FindCoordinatorRequest_is_flexible(r.api_version));
}

}  // namespace portask::kafka
