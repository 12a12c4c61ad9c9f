#pragma once
/// Answers leave a connection in the order their requests arrived, even when the work behind
/// them finishes out of order (clients pipeline). Each request reserves a slot when it is
/// read; completing a slot writes every ready answer at the head of the queue. Shared by
/// every protocol's connection actor; lives in the actor's state (one thread).
///
/// It also keeps the connection's output budget (the session's queued-output cap): answers
/// whose size the broker chooses (fetches) first promise themselves a share of what is not
/// yet queued, held here, or promised to another answer, and stay within it. So a client that
/// never reads, or pipelines many fetches, is bounded by the cap (plus, for the one answer
/// made while nothing else is pending but long polls that hold nothing yet, one stored batch:
/// Kafka's rule that a fetch returns at least one batch).

#include <deque>
#include <functional>
#include <memory>

#include "actors/connections/transport/tcp_session.hpp"

namespace portask {

class response_queue {
 public:
  explicit response_queue(std::shared_ptr<tcp_session> session) : session_(std::move(session)) {}

  /// Reserves the next slot. `release` is the request's size: in-flight bytes that the
  /// session frees once the answer is written (backpressure).
  std::uint64_t reserve(std::uint64_t release);
  /// Fills a slot; an empty `bytes` writes nothing (a request that gets no answer).
  /// `on_flushed` runs once the answer has been handed to the session. The ready answers
  /// at the head of the queue are written at once, or, with `write_now` false, at the next
  /// flush(): the answers to a burst of pipelined requests then leave in one write.
  void complete(std::uint64_t seq, protocol::gather_bytes bytes,
                std::function<void()> on_flushed = {}, bool write_now = true);
  /// Hands every ready answer at the head of the queue to the session, as one write (up to
  /// `max_gathered` bytes each).
  void flush();
  bool empty() const noexcept { return slots_.empty(); }
  /// Requests read and not yet answered (or answered behind one that is not).
  std::size_t pending() const noexcept { return slots_.size(); }

  /// Up to `wanted` bytes of output room, held until keep_promise(). `alone` says nothing
  /// else is queued, held or promised, promises set aside (set_aside) apart: the answer may
  /// then exceed the room by one batch.
  std::uint64_t promise_output(std::uint64_t wanted, bool& alone);
  /// The promised bytes are being handed over (or not needed).
  void keep_promise(std::uint64_t promised) noexcept;
  /// A promise held by an answer that has nothing to send yet (a parked long poll), `aside`,
  /// or that has some again: while set aside it does not keep the next answer from being made
  /// alone, so a request pipelined behind a long poll still gets its first batch (Kafka
  /// answers a connection's requests one at a time, each with its data).
  void set_aside(std::uint64_t promised, bool aside) noexcept;
  tcp_session& session() noexcept { return *session_; }

 private:
  struct slot {
    bool ready = false;
    protocol::gather_bytes bytes;
    std::uint64_t release = 0;
    std::function<void()> on_flushed;
  };
  static constexpr std::uint64_t max_gathered = 64 * 1024;

  std::shared_ptr<tcp_session> session_;
  std::deque<slot> slots_;
  std::uint64_t first_seq_ = 0;
  std::uint64_t held_ = 0;      ///< bytes of answers ready behind an unfinished one
  std::uint64_t promised_ = 0;  ///< output room promised to answers being made
  std::uint64_t aside_ = 0;     ///< the part of promised_ set aside (set_aside)
};

}  // namespace portask
