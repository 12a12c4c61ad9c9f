#pragma once
/// The broker-wide budget of request bytes read and not yet answered (Kafka's
/// `queued.max.request.bytes`). Each connection's requests in flight are bounded on their own
/// (session_limits); this bounds all of them together, so that a listener's connection cap
/// times the per-connection cap is not what the broker may have to hold.
///
/// It is a threshold, not a reservation: a connection takes another request while the bytes
/// in use are below the limit, however large that request. A connection holding none of it
/// may take one request past the limit too, while the bytes in use are below the limit plus
/// a headroom of an eighth of it (see has_room()). So the bytes in use stay below
/// limit + limit / 8 + one request, whatever the number of connections (no other session
/// takes between a session's check and its take: all run on the broker's one Asio thread).
///
/// A connection turned away stops reading and waits in line; bytes given back below the
/// limit wake the first in line, which takes the requests it has already read (as far as the
/// room goes), reads again, and passes the room still left to the next (pass_on()):
/// connections are woken in the order they waited, and only while there is room, rather
/// than every waiting connection at every answer. One woken that finds the room taken by a
/// connection that was not waiting goes back to the front, not the back.
///
/// The broker makes one and its native and Kafka listeners hand it to every session;
/// thread-safe. A connection holds its part through a `share`, which gives back what it
/// still holds when the connection goes, so no way of ending a connection can leak budget.

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>

#include "actors/metrics/metrics.hpp"

namespace portask {

class request_budget {
 public:
  /// What waits for room. Woken at most once per wait(), on the thread that gave bytes back;
  /// it resumes on its own thread and then calls pass_on().
  class waiter {
   public:
    virtual ~waiter() = default;
    virtual void budget_available() = 0;
  };
  class share;

  /// `limit`: bytes; 0: unbounded (counted, never exhausted). `metrics`, when given, is
  /// told the bytes in use, the limit and each wait.
  explicit request_budget(std::uint64_t limit, metrics_registry* metrics = nullptr)
      : limit_(limit), metrics_(metrics) {
    if (metrics_) metrics_->request_budget_limit(limit_);
  }
  request_budget(const request_budget&) = delete;
  request_budget& operator=(const request_budget&) = delete;

  std::uint64_t limit() const noexcept { return limit_; }
  /// How far past the limit a connection holding none of the budget may still take a request.
  std::uint64_t headroom() const noexcept { return limit_ / 8; }
  std::uint64_t in_use() const noexcept { return in_use_.load(std::memory_order_relaxed); }
  bool exhausted() const noexcept { return limit_ != 0 && in_use() >= limit_; }

  /// Whether a connection may take another request: below the limit, or, for one holding
  /// none of the budget, below the limit plus the headroom.
  ///
  /// Why the exception: a request holds its bytes until it is answered, and some are answered
  /// only once other connections' requests are served (a long poll waits for a produce, a
  /// JoinGroup for the group's other members). Were the budget spent by such requests, the
  /// ones that would answer them could not be read, and the broker would stall until they
  /// timed out. A connection holding nothing waits on nothing of its own, so letting it take
  /// one request keeps that from happening under a moderate overload.
  ///
  /// Why it is bounded: otherwise every connection could pass the limit by a whole request
  /// (thousands of connections times max_frame_bytes). Past the headroom every connection
  /// waits, and progress is still certain: every byte in use belongs to a request already
  /// handed to its connection, which is answered (long polls and joins within their own
  /// timeouts at the latest) or dropped with its connection; either gives its bytes back,
  /// and bytes given back below the limit wake the line.
  bool has_room(bool holds_none) const noexcept {
    if (limit_ == 0) return true;
    const auto used = in_use();
    return used < limit_ || (holds_none && used < limit_ + headroom());
  }
  /// Waiters in line (some may have gone since).
  std::size_t waiting() const {
    std::lock_guard lock{mutex_};
    return waiters_.size();
  }

  /// Puts `w` in line to be woken when it has room again (has_room(holds_none)), unless it
  /// has now (checked under the lock that giving back takes, so no wake-up is lost): whether
  /// it was queued. At the back; at the front when `woken`, for a waiter just woken that found
  /// the room taken before it could use it, so it keeps the place it had (and is not counted
  /// as a new wait).
  bool wait(std::weak_ptr<waiter> w, bool woken = false, bool holds_none = false) {
    {
      std::lock_guard lock{mutex_};
      if (has_room(holds_none)) return false;
      if (woken)
        waiters_.push_front({std::move(w), holds_none});
      else
        waiters_.push_back({std::move(w), holds_none});
    }
    if (metrics_ && !woken) metrics_->request_budget_wait();
    return true;
  }

  /// Takes `w` out of the line (a connection that closed while waiting), with any waiter that
  /// has gone: an entry keeps its session's memory allocated while the budget stays spent.
  void leave(const std::weak_ptr<waiter>& w) {
    std::lock_guard lock{mutex_};
    std::erase_if(waiters_, [&](const entry& e) {
      return e.w.expired() || (!e.w.owner_before(w) && !w.owner_before(e.w));
    });
  }

  /// Wakes the first waiter still there if there is room. A woken waiter calls it once it
  /// has taken what it could, so the room left goes on down the line.
  void pass_on() {
    std::shared_ptr<waiter> next;
    {
      std::lock_guard lock{mutex_};
      next = next_locked();
    }
    if (next) next->budget_available();
  }

 private:
  void take(std::uint64_t bytes) {
    std::lock_guard lock{mutex_};
    set_locked(in_use() + bytes);
  }

  void give_back(std::uint64_t bytes) {
    std::shared_ptr<waiter> next;
    {
      std::lock_guard lock{mutex_};
      set_locked(in_use() - std::min(bytes, in_use()));
      next = next_locked();
    }
    if (next) next->budget_available();
  }

  void set_locked(std::uint64_t bytes) {
    in_use_.store(bytes, std::memory_order_relaxed);
    if (metrics_) metrics_->request_budget_used(bytes);
  }

  // The first waiter still alive, out of the line, when there is room for it: a waiter
  // holding nothing as soon as it could take a request, as a connection arriving could, so
  // arrivals do not overtake it for as long as the load stays past the limit.
  std::shared_ptr<waiter> next_locked() {
    while (!waiters_.empty() && has_room(waiters_.front().holds_none)) {
      auto w = waiters_.front().w.lock();
      waiters_.pop_front();
      if (w) return w;
    }
    return nullptr;
  }

  const std::uint64_t limit_;
  metrics_registry* const metrics_;
  std::atomic<std::uint64_t> in_use_{0};  ///< written under mutex_, read anywhere
  mutable std::mutex mutex_;
  struct entry {
    std::weak_ptr<waiter> w;
    bool holds_none;  ///< when it joined: its room is then the headroom's
  };
  std::deque<entry> waiters_;
};

/// One connection's part of the budget: the bytes of its requests in flight, the count its
/// own cap (max_inflight_bytes) is checked against too, so the two cannot disagree. Used on
/// the connection's strand only. What it still holds goes back when it is destroyed; without
/// a budget it only counts.
class request_budget::share {
 public:
  explicit share(std::shared_ptr<request_budget> budget = nullptr) noexcept
      : budget_(std::move(budget)) {}
  share(const share&) = delete;
  share& operator=(const share&) = delete;
  ~share() { give_back_all(); }

  std::uint64_t bytes() const noexcept { return bytes_; }
  /// Whether the connection may take another request (request_budget::has_room()).
  bool may_take() const noexcept { return !budget_ || budget_->has_room(holds_nothing()); }
  bool holds_nothing() const noexcept { return bytes_ == 0; }
  void take(std::uint64_t bytes) {
    bytes_ += bytes;
    if (budget_) budget_->take(bytes);
  }
  /// At most what this holds: a release counted twice takes nothing from other connections.
  void give_back(std::uint64_t bytes) {
    bytes = std::min(bytes, bytes_);
    if (bytes == 0) return;
    bytes_ -= bytes;
    if (budget_) budget_->give_back(bytes);
  }
  void give_back_all() { give_back(bytes_); }
  request_budget* budget() const noexcept { return budget_.get(); }

 private:
  std::shared_ptr<request_budget> budget_;
  std::uint64_t bytes_ = 0;
};

}  // namespace portask
