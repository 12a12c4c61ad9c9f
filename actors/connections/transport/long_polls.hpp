#pragma once
/// The long polls a connection has parked in partitions (fetch_request::poll_id). A poll is
/// cancelled when the request it served no longer needs it (another partition answered it,
/// a subscription ended) and all of them when the connection ends, so partitions do not keep
/// answering clients that are gone, or hold a closing connection open until max_wait.
/// Used by one connection actor only (and by its cleanup, on the same actor). The cancels go
/// through the bridges of the connection's directory (`dir`, a member of the same state
/// that outlives this one).

#include <cstdint>
#include <memory>
#include <unordered_map>

#include "actors/runtime/broker_context.hpp"

namespace portask {

class long_polls {
 public:
  long_polls(std::shared_ptr<broker_context> ctx, const actor_directory& dir)
      : ctx_(std::move(ctx)), dir_(&dir) {}
  long_polls(const long_polls&) = delete;
  long_polls& operator=(const long_polls&) = delete;
  ~long_polls() { cancel_all(); }

  /// A new poll id for a fetch of `tp`.
  std::uint64_t open(const topic_partition& tp) {
    const auto id = ctx_->next_poll_id.fetch_add(1, std::memory_order_relaxed);
    open_.emplace(id, tp);
    return id;
  }
  /// The partition answered the poll: nothing to cancel any more.
  void answered(std::uint64_t id) { open_.erase(id); }
  /// The poll's answer is not wanted: the partition answers it now, empty.
  void cancel(std::uint64_t id) {
    auto it = open_.find(id);
    if (it == open_.end()) return;
    if (auto bridge = dir_->bridge_for(it->second))
      caf::anon_send(bridge, cancel_atom::value, it->second, id);
    open_.erase(it);
  }
  void cancel_all() {
    while (!open_.empty()) cancel(open_.begin()->first);
  }
  std::size_t size() const noexcept { return open_.size(); }

 private:
  std::shared_ptr<broker_context> ctx_;
  const actor_directory* dir_;
  std::unordered_map<std::uint64_t, topic_partition> open_;
};

}  // namespace portask
