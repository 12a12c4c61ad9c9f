#pragma once
/// When restarting stops helping: more than `max_restarts` restarts of one kind of the
/// supervisor's children (the storage writers together, the readers, the registry, ...)
/// within `window` means something is broken that a restart does not mend (a child that fails
/// as soon as it starts, several of a kind failing together). The supervisor then gives up
/// and fails itself, and the broker stops with that reason instead of limping on with a
/// missing actor. Counted per kind, not for all children together as an OTP supervisor
/// counts, so that children failing for unrelated reasons do not add up; the protocol
/// bridges never make it give up (supervisor.cpp says why). With the backoff (100 ms
/// doubling to 5 s), one child failing at every start reaches 10 restarts in about 26 s; a
/// child failing now and then, with minutes between, never does.

#include <chrono>
#include <cstddef>
#include <deque>

namespace portask {

class restart_intensity {
 public:
  using clock = std::chrono::steady_clock;
  static constexpr std::size_t max_restarts = 10;
  static constexpr std::chrono::seconds window{60};

  /// Records a restart at `now`; false once the restarts within the window exceed the limit.
  bool allow(clock::time_point now) {
    restarts_.push_back(now);
    while (!restarts_.empty() && now - restarts_.front() > window) restarts_.pop_front();
    return restarts_.size() <= max_restarts;
  }

  std::size_t recent() const noexcept { return restarts_.size(); }

 private:
  std::deque<clock::time_point> restarts_;
};

}  // namespace portask
