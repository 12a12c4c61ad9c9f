#pragma once
/// The Kafka wire protocol's connection actor: one per Kafka client connection. Parses
/// request headers (v1/v2), dispatches through one API table (actors/connections/kafka/api_table.cpp,
/// one file per API), answers in request order, and sends all produce and fetch traffic
/// through the ProtocolBridge, exactly as the native connection does.

#include <memory>

#include "actors/runtime/broker_context.hpp"
#include "actors/connections/transport/tcp_session.hpp"

namespace portask {

/// `endpoint`: the Kafka listener the client came in on (what Metadata advertises to it,
/// whether it must authenticate). `supervisor`: where it gets its actor directory.
kafka_connection_actor spawn_kafka_connection(caf::actor_system& sys, std::shared_ptr<broker_context> ctx,
                                              supervisor_actor supervisor,
                                              std::shared_ptr<tcp_session> session,
                                              std::shared_ptr<const kafka_endpoint> endpoint);

}  // namespace portask
