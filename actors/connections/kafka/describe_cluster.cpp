// DescribeCluster (key 60): every live node (on a single node, this broker) at its advertised
// address; the controller is the lowest id. Metadata names the same brokers and cluster id.
// ACLs: none needed (as Kafka); DESCRIBE on the cluster to learn its authorized operations.
#include <array>

#include "actors/connections/kafka/authorized_operations.hpp"

namespace portask::kafka {

namespace sec = protocol::security;


void handle_describe_cluster(self_ptr self, const request& r, protocol::byte_view body) {
  msg::DescribeClusterRequest req;
  if (!PORTASK_KAFKA_DECODE(DescribeCluster, body, req)) return;
  msg::DescribeClusterResponse res;
  res.endpointType = req.endpointType;
  // 1: brokers; 2: KRaft controllers (a client given bootstrap.controllers), which a broker's
  // endpoint is not: MISMATCHED_ENDPOINT_TYPE, as Kafka's brokers answer. Any other value is
  // no endpoint type at all.
  if (req.endpointType == 2) {
    res.errorCode = static_cast<std::int16_t>(error_code::mismatched_endpoint_type);
    res.errorMessage = "this is a broker endpoint, not a controller's (Portask has no KRaft controllers)";
  } else if (req.endpointType != 1) {
    res.errorCode = static_cast<std::int16_t>(error_code::unsupported_endpoint_type);
    res.errorMessage = "unknown endpoint type " + std::to_string(req.endpointType);
  } else {
    res.clusterId = std::string(cluster_id);
    // Every live node, as the listener the client came in on reaches it.
    const auto view = self->state.ctx->cluster();
    auto brokers = brokers_of(self, *view);
    res.controllerId = brokers.front().id;  // the lowest listed id (this node is always listed)
    for (auto& b : brokers) res.brokers.push_back({b.id, std::move(b.host), b.port, std::nullopt});
    // Kafka refuses no one the cluster's description; only these need DESCRIBE.
    if (req.includeClusterAuthorizedOperations)
      res.clusterAuthorizedOperations = cluster_authorized_operations(self);
  }
  respond(self, r, res, true);
}

}  // namespace portask::kafka
