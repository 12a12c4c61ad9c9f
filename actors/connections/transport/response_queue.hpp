#pragma once
/// Answers leave a connection in the order their requests arrived, even when the work behind
/// them finishes out of order (clients pipeline). Each request reserves a slot when it is
/// read; completing a slot writes every ready answer at the head of the queue. Shared by
/// every protocol's connection actor; lives in the actor's state (one thread).
///
/// It also keeps the connection's output budget (the session's queued-output cap): answers
/// whose size the broker chooses (fetches) first promise themselves a share of what is not
/// yet queued, held here, or promised to another answer, and stay within it. So a client that
/// never reads, or pipelines many fetches, is bounded by the cap plus two stored batches
/// (Kafka's rule that a fetch returns at least one batch): one for the answer made while
/// nothing at all is pending, which alone may set its promise aside while it long-polls with
/// nothing to send (set_aside), and one for the answer made while nothing but that promise
/// is, which sets none aside and holds some room, so that none made meanwhile is alone.

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
  /// else is queued, held or promised, a promise set aside (set_aside) apart: the answer may
  /// then exceed the room by one batch, and holds at least a byte of it (even wanting none),
  /// so that the next answer is not made alone too. `idle` says nothing at all is, set aside
  /// or not: only such an answer may set its promise aside. One made alone beside a promise
  /// set aside may not, or each answer pipelined behind it would be made alone in turn.
  std::uint64_t promise_output(std::uint64_t wanted, bool& alone, bool& idle);
  /// The same, for an answer that never sets its promise aside.
  std::uint64_t promise_output(std::uint64_t wanted, bool& alone) {
    bool idle = false;
    return promise_output(wanted, alone, idle);
  }
  /// The promised bytes are being handed over (or not needed).
  void keep_promise(std::uint64_t promised) noexcept;
  /// A promise held by an answer that has nothing to send yet (a parked long poll), `aside`,
  /// or that has some again: while set aside it does not keep the next answer from being made
  /// alone, so a request pipelined behind a long poll still gets its first batch (Kafka
  /// answers a connection's requests one at a time, each with its data). Only for a promise
  /// made `idle` (promise_output): at most one is set aside at a time.
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
