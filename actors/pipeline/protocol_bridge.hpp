#pragma once
/// The ProtocolBridge: the single entrance for every protocol's publishes and fetches.
/// It frames each batch into its stored Portask frame (codec + compression + CRC32), counts
/// it in the metrics, notifies OnMessage hooks, and forwards to the owning partition. One
/// bridge per shard (partition hash), so no single thread carries all traffic; a bridge
/// keeps only a cache of partition handles.

#include "actors/runtime/broker_context.hpp"

namespace portask {

/// `dir`: the registry to look partitions up in (replaced by directory updates).
protocol_bridge_actor spawn_protocol_bridge(caf::actor_system& sys,
                                            std::shared_ptr<broker_context> ctx,
                                            actor_directory dir);

/// The framing step on its own (tested without actors): normalises the batch (topic,
/// partition, broker timestamp for 0, no offsets) and encodes it as a stored frame.
expected<framed_batch> frame_batch(const broker_context& ctx, publish_batch& pb,
                                   std::int64_t now_ms);

}  // namespace portask
