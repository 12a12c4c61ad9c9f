#include "actors/runtime/broker_context.hpp"

#include <mutex>

namespace portask {

namespace {
// Contexts are numbered so that a thread's cached snapshot is never taken for another
// context's (a new context can reuse a freed one's address).
std::atomic<std::uint64_t> next_context_id{1};

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
      writes_wait_on_io(store_kind != "memory"),
      tails(config.partition_tail_budget_bytes, max_tail_bytes_per_partition),
      access(config.security),
      id_(next_context_id.fetch_add(1, std::memory_order_relaxed)),
      directory_(std::make_shared<const actor_directory>()) {}

std::size_t broker_context::shard(const topic_partition& tp, std::size_t n) noexcept {
  return n == 0 ? 0 : storage::topic_partition_hash{}(tp) % n;
}

std::shared_ptr<const actor_directory> broker_context::directory() const {
  struct seen {
    std::uint64_t context = 0;
    std::uint64_t version = 0;
    std::weak_ptr<const actor_directory> snapshot;
  };
  thread_local seen last;
  if (last.context == id_ && last.version == directory_version_.load(std::memory_order_acquire))
    if (auto d = last.snapshot.lock()) return d;
  std::lock_guard lock{directory_mutex_};
  last = {id_, directory_version_.load(std::memory_order_relaxed), directory_};
  return directory_;
}

template <class F>
void broker_context::change_directory(F&& change) {
  std::lock_guard lock{directory_mutex_};
  auto next = std::make_shared<actor_directory>(*directory_);
  change(*next);
  directory_ = std::move(next);
  directory_version_.fetch_add(1, std::memory_order_release);
}

storage_writer_actor broker_context::writer_for(const topic_partition& tp) const {
  const auto d = directory();
  return d->writers.empty() ? storage_writer_actor{} : d->writers[shard(tp, d->writers.size())];
}

storage_reader_actor broker_context::reader_for(const topic_partition& tp) const {
  const auto d = directory();
  return d->readers.empty() ? storage_reader_actor{} : d->readers[shard(tp, d->readers.size())];
}

storage_reader_actor broker_context::any_reader() const {
  const auto d = directory();
  if (d->readers.empty()) return {};
  return d->readers[round_robin_.fetch_add(1, std::memory_order_relaxed) % d->readers.size()];
}

protocol_bridge_actor broker_context::bridge_for(const topic_partition& tp) const {
  const auto d = directory();
  return d->bridges.empty() ? protocol_bridge_actor{} : d->bridges[shard(tp, d->bridges.size())];
}

topic_registry_actor broker_context::registry() const { return directory()->registry; }
group_directory_actor broker_context::groups() const { return directory()->groups; }
hooks_actor broker_context::hooks() const { return directory()->hooks; }
security_actor broker_context::security() const { return directory()->security; }
cluster_actor broker_context::cluster_node() const { return directory()->cluster; }

void broker_context::set_writers(std::vector<storage_writer_actor> w) {
  change_directory([&](actor_directory& d) { d.writers = std::move(w); });
}
void broker_context::set_writer(std::size_t i, storage_writer_actor w) {
  change_directory([&](actor_directory& d) { d.writers.at(i) = std::move(w); });
}
void broker_context::set_readers(std::vector<storage_reader_actor> r) {
  change_directory([&](actor_directory& d) { d.readers = std::move(r); });
}
void broker_context::set_reader(std::size_t i, storage_reader_actor r) {
  change_directory([&](actor_directory& d) { d.readers.at(i) = std::move(r); });
}
void broker_context::set_bridges(std::vector<protocol_bridge_actor> b) {
  change_directory([&](actor_directory& d) { d.bridges = std::move(b); });
}
void broker_context::set_bridge(std::size_t i, protocol_bridge_actor b) {
  change_directory([&](actor_directory& d) { d.bridges.at(i) = std::move(b); });
}
void broker_context::set_registry(topic_registry_actor r) {
  change_directory([&](actor_directory& d) { d.registry = std::move(r); });
}
void broker_context::set_groups(group_directory_actor g) {
  change_directory([&](actor_directory& d) { d.groups = std::move(g); });
}
void broker_context::set_hooks(hooks_actor h) {
  change_directory([&](actor_directory& d) { d.hooks = std::move(h); });
}
void broker_context::set_cluster_node(cluster_actor c) {
  change_directory([&](actor_directory& d) { d.cluster = std::move(c); });
}
void broker_context::set_security(security_actor s) {
  change_directory([&](actor_directory& d) { d.security = std::move(s); });
}
std::size_t broker_context::writer_count() const { return directory()->writers.size(); }
std::size_t broker_context::reader_count() const { return directory()->readers.size(); }
std::size_t broker_context::bridge_count() const { return directory()->bridges.size(); }

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
