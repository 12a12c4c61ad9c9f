#include "actors/network/response_queue.hpp"

namespace portask {

std::uint64_t response_queue::reserve(std::uint64_t release) {
  slots_.push_back({});
  slots_.back().release = release;
  return first_seq_ + slots_.size() - 1;
}

void response_queue::complete(std::uint64_t seq, protocol::buffer bytes,
                              std::function<void()> on_flushed) {
  if (seq < first_seq_ || seq - first_seq_ >= slots_.size()) return;
  auto& s = slots_[seq - first_seq_];
  s.ready = true;
  s.bytes = std::move(bytes);
  s.on_flushed = std::move(on_flushed);
  flush();
}

void response_queue::flush() {
  while (!slots_.empty() && slots_.front().ready) {
    auto s = std::move(slots_.front());
    slots_.pop_front();
    ++first_seq_;
    if (s.bytes.empty())
      session_->release(s.release);
    else
      session_->send(std::move(s.bytes), s.release);
    if (s.on_flushed) s.on_flushed();
  }
}

}  // namespace portask
