#pragma once
/// The partition actor: a thin shell around partition_log. Runs on the CAF scheduler and
/// never blocks: store reads go to a storage_reader, writes to a storage_writer.

#include <memory>

#include "actors/broker_context.hpp"

namespace portask {

partition_actor spawn_partition(caf::local_actor* parent, std::shared_ptr<broker_context> ctx,
                                topic_partition tp);

}  // namespace portask
