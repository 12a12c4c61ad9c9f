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
      writes_wait_on_io(store_kind != "memory"),
      tails(config.partition_tail_budget_bytes, max_tail_bytes_per_partition),
      access(config.security) {}

std::optional<std::int64_t> broker_context::producer_id_pool::take() {
  std::lock_guard lock{mutex_};
  if (next_ >= end_) return std::nullopt;
  return next_++;
}

bool broker_context::producer_id_pool::reserved_here(std::int64_t id) {
  std::lock_guard lock(mutex_);
  return id >= next_ && id < end_;
}

void broker_context::producer_id_pool::add_block(std::int64_t first, std::int64_t count) {
  std::lock_guard lock{mutex_};
  if (next_ < end_) return;  // another request refilled first; this block goes unused
  next_ = first;
  end_ = first + count;
}

}  // namespace portask
