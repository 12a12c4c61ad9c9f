// DescribeCluster (key 60): the one broker, at the advertised address, is also the
// controller. Metadata names the same broker id and cluster id.
#include "actors/connections/kafka/handlers.hpp"

namespace portask::kafka {

void handle_describe_cluster(self_ptr self, const request& r, protocol::byte_view body) {
  msg::DescribeClusterRequest req;
  if (!PORTASK_KAFKA_DECODE(DescribeCluster, body, req)) return;
  const auto& ctx = *self->state.ctx;
  msg::DescribeClusterResponse res;
  res.endpointType = req.endpointType;
  if (req.endpointType != 1) {  // 1: brokers; 2 (controllers) is for KRaft controller clients
    res.errorCode = static_cast<std::int16_t>(error_code::unsupported_endpoint_type);
    res.errorMessage = "Portask serves broker endpoints only";
  } else {
    res.clusterId = std::string(cluster_id);
    res.controllerId = broker_id;
    res.brokers.push_back({broker_id, ctx.config.kafka_advertised_host, ctx.kafka_port.load(),
                           std::nullopt});
  }
  respond(self, r, res, true);
}

}  // namespace portask::kafka
