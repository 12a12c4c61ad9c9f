#include "actors/runtime/broker_context.hpp"

#include <mutex>

namespace portask {

namespace {
protocol::encoding parse_encoding(const broker_config& c) {
  return {protocol::parse_codec(c.storage_codec).value_or(protocol::codec_id::binary),
          protocol::parse_compression(c.storage_compression).value_or(protocol::compression_id::none)};
}
}  // namespace

broker_context::broker_context(broker_config c, storage::store_factory factory, std::string kind)
    : config(std::move(c)),
      codecs(config.max_frame_bytes),
      storage_encoding(parse_encoding(config)),
      store_factory(std::move(factory)),
      store_kind(std::move(kind)),
      frames_stay_in_process(store_kind == "memory"),
      tails(config.partition_tail_budget_bytes, max_tail_bytes_per_partition) {}

std::size_t broker_context::shard(const topic_partition& tp, std::size_t n) noexcept {
  return n == 0 ? 0 : storage::topic_partition_hash{}(tp) % n;
}

storage_writer_actor broker_context::writer_for(const topic_partition& tp) const {
  std::shared_lock lock{mutex_};
  return writers_.empty() ? storage_writer_actor{} : writers_[shard(tp, writers_.size())];
}

storage_reader_actor broker_context::reader_for(const topic_partition& tp) const {
  std::shared_lock lock{mutex_};
  return readers_.empty() ? storage_reader_actor{} : readers_[shard(tp, readers_.size())];
}

storage_reader_actor broker_context::any_reader() const {
  std::shared_lock lock{mutex_};
  if (readers_.empty()) return {};
  return readers_[round_robin_.fetch_add(1, std::memory_order_relaxed) % readers_.size()];
}

protocol_bridge_actor broker_context::bridge_for(const topic_partition& tp) const {
  std::shared_lock lock{mutex_};
  return bridges_.empty() ? protocol_bridge_actor{} : bridges_[shard(tp, bridges_.size())];
}

topic_registry_actor broker_context::registry() const {
  std::shared_lock lock{mutex_};
  return registry_;
}

group_directory_actor broker_context::groups() const {
  std::shared_lock lock{mutex_};
  return groups_;
}

hooks_actor broker_context::hooks() const {
  std::shared_lock lock{mutex_};
  return hooks_;
}

void broker_context::set_writers(std::vector<storage_writer_actor> w) {
  std::unique_lock lock{mutex_};
  writers_ = std::move(w);
}
void broker_context::set_writer(std::size_t i, storage_writer_actor w) {
  std::unique_lock lock{mutex_};
  writers_.at(i) = std::move(w);
}
void broker_context::set_readers(std::vector<storage_reader_actor> r) {
  std::unique_lock lock{mutex_};
  readers_ = std::move(r);
}
void broker_context::set_reader(std::size_t i, storage_reader_actor r) {
  std::unique_lock lock{mutex_};
  readers_.at(i) = std::move(r);
}
void broker_context::set_bridges(std::vector<protocol_bridge_actor> b) {
  std::unique_lock lock{mutex_};
  bridges_ = std::move(b);
}
void broker_context::set_bridge(std::size_t i, protocol_bridge_actor b) {
  std::unique_lock lock{mutex_};
  bridges_.at(i) = std::move(b);
}
void broker_context::set_registry(topic_registry_actor r) {
  std::unique_lock lock{mutex_};
  registry_ = std::move(r);
}
void broker_context::set_groups(group_directory_actor g) {
  std::unique_lock lock{mutex_};
  groups_ = std::move(g);
}
void broker_context::set_hooks(hooks_actor h) {
  std::unique_lock lock{mutex_};
  hooks_ = std::move(h);
}
std::size_t broker_context::writer_count() const {
  std::shared_lock lock{mutex_};
  return writers_.size();
}
std::size_t broker_context::reader_count() const {
  std::shared_lock lock{mutex_};
  return readers_.size();
}
std::size_t broker_context::bridge_count() const {
  std::shared_lock lock{mutex_};
  return bridges_.size();
}

std::optional<std::int64_t> broker_context::producer_id_pool::take() {
  std::lock_guard lock{mutex_};
  if (next_ >= end_) return std::nullopt;
  return next_++;
}

void broker_context::producer_id_pool::add_block(std::int64_t first, std::int64_t count) {
  std::lock_guard lock{mutex_};
  if (next_ < end_) return;  // another request refilled first; this block goes unused
  next_ = first;
  end_ = first + count;
}

}  // namespace portask
