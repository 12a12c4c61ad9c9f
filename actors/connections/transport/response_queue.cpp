#include "actors/connections/transport/response_queue.hpp"

namespace portask {

std::uint64_t response_queue::reserve(std::uint64_t release) {
  slots_.push_back({});
  slots_.back().release = release;
  return first_seq_ + slots_.size() - 1;
}

void response_queue::complete(std::uint64_t seq, protocol::gather_bytes bytes,
                              std::function<void()> on_flushed) {
  if (seq < first_seq_ || seq - first_seq_ >= slots_.size()) return;
  auto& s = slots_[seq - first_seq_];
  s.ready = true;
  s.bytes = std::move(bytes);
  held_ += s.bytes.size();
  s.on_flushed = std::move(on_flushed);
  flush();
}

std::uint64_t response_queue::promise_output(std::uint64_t wanted, bool& alone) {
  const auto cap = session_->limits().max_queued_output;
  const auto used = session_->queued_output() + held_ + promised_;
  alone = used == 0;
  const auto granted = used >= cap ? 0 : std::min(wanted, cap - used);
  promised_ += granted;
  return granted;
}

void response_queue::keep_promise(std::uint64_t promised) noexcept {
  promised_ -= std::min(promised, promised_);
}

void response_queue::flush() {
  while (!slots_.empty() && slots_.front().ready) {
    auto s = std::move(slots_.front());
    slots_.pop_front();
    ++first_seq_;
    held_ -= s.bytes.size();
    if (s.bytes.empty())
      session_->release(s.release);
    else
      session_->send(std::move(s.bytes), s.release);
    if (s.on_flushed) s.on_flushed();
  }
}

}  // namespace portask
