// actor_directory's lookups (the struct is in interfaces.hpp, with the messages that carry it).
#include <atomic>

#include "actors/interfaces.hpp"
#include "storage/log_store.hpp"

namespace portask {

namespace {

std::size_t shard(const topic_partition& tp, std::size_t n) noexcept {
  return n == 0 ? 0 : storage::topic_partition_hash{}(tp) % n;
}

// Spreads reads that belong to no partition; which reader takes one does not matter, so one
// relaxed counter for the process is enough.
std::atomic<std::size_t> next_reader{0};

}  // namespace

storage_writer_actor actor_directory::writer_for(const topic_partition& tp) const {
  return writers.empty() ? storage_writer_actor{} : writers[shard(tp, writers.size())];
}

storage_reader_actor actor_directory::reader_for(const topic_partition& tp) const {
  return readers.empty() ? storage_reader_actor{} : readers[shard(tp, readers.size())];
}

protocol_bridge_actor actor_directory::bridge_for(const topic_partition& tp) const {
  return bridges.empty() ? protocol_bridge_actor{} : bridges[shard(tp, bridges.size())];
}

storage_reader_actor actor_directory::any_reader() const {
  if (readers.empty()) return {};
  return readers[next_reader.fetch_add(1, std::memory_order_relaxed) % readers.size()];
}

}  // namespace portask
