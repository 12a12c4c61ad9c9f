#include "actors/connections/transport/response_queue.hpp"

#include <algorithm>
#include <vector>

namespace portask {

std::uint64_t response_queue::reserve(std::uint64_t release) {
  slots_.push_back({});
  slots_.back().release = release;
  return first_seq_ + slots_.size() - 1;
}

void response_queue::complete(std::uint64_t seq, protocol::gather_bytes bytes,
                              std::function<void()> on_flushed, bool write_now) {
  if (seq < first_seq_ || seq - first_seq_ >= slots_.size()) return;
  auto& s = slots_[seq - first_seq_];
  s.ready = true;
  s.bytes = std::move(bytes);
  held_ += s.bytes.size();
  s.on_flushed = std::move(on_flushed);
  if (write_now) flush();
}

std::uint64_t response_queue::promise_output(std::uint64_t wanted, bool& alone, bool& idle) {
  const auto cap = session_->limits().max_queued_output;
  const auto used = session_->queued_output() + held_ + promised_;
  idle = used == 0;
  // A promise set aside has nothing to send yet: the answer may take its first batch whole
  // beside it. What it may still bring stays counted (the room is what it leaves), so the
  // output stays within the cap and the two first batches of the answers made alone.
  alone = used == aside_;
  auto granted = used >= cap ? 0 : std::min(wanted, cap - used);
  // Made alone, it holds at least a byte until it is kept (its answer is then held or queued
  // until sent), even when it wanted none (a Kafka Fetch's maxBytes 0): so no answer made
  // meanwhile is alone or idle. At most one promise is set aside (an idle answer's), and one
  // answer at a time is made alone beside it: two first batches past the cap at most.
  if (alone) granted = std::max<std::uint64_t>(granted, 1);
  promised_ += granted;
  return granted;
}

void response_queue::keep_promise(std::uint64_t promised) noexcept {
  promised_ -= std::min(promised, promised_);
  aside_ = std::min(aside_, promised_);
}

void response_queue::set_aside(std::uint64_t promised, bool aside) noexcept {
  if (aside)
    aside_ = std::min(aside_ + promised, promised_);
  else
    aside_ -= std::min(promised, aside_);
}

void response_queue::flush() {
  // One session write (one hand-over to the socket's thread) for the answers ready together,
  // rather than one per answer: a burst of pipelined publishes gets its acknowledgements in
  // one system call.
  protocol::gather_bytes out;
  std::uint64_t release = 0;
  std::uint32_t answers = 0;
  // Run once every ready answer is handed over: one that completes another slot (and so
  // flushes again) must not send a later answer ahead of one still being gathered here.
  std::vector<std::function<void()>> flushed;
  auto hand_over = [&] {
    if (!out.empty()) session_->send(std::move(out), release, answers);
    out = {};
    release = 0;
    answers = 0;
  };
  while (!slots_.empty() && slots_.front().ready) {
    auto s = std::move(slots_.front());
    slots_.pop_front();
    ++first_seq_;
    held_ -= s.bytes.size();
    if (s.bytes.empty()) {
      session_->release(s.release);
    } else {
      if (!out.empty() && out.size() + s.bytes.size() > max_gathered) hand_over();
      if (out.empty())
        out = std::move(s.bytes);
      else
        out.append_gathered(s.bytes);
      release += s.release;
      // Counted as the session counts requests in flight: those of a size to release.
      if (s.release > 0) ++answers;
    }
    if (s.on_flushed) flushed.push_back(std::move(s.on_flushed));
  }
  hand_over();
  for (auto& f : flushed) f();
}

}  // namespace portask
