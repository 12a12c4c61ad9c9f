#pragma once
/// Answers an actor owes across asynchronous steps, which cannot be dropped unanswered.
///
/// CAF 0.17 has no broken promise: a response_promise destroyed undelivered sends nothing
/// (its destructor is the compiler's), so a requester that asked with caf::infinite waits
/// forever when the actor holding its promise in a `.then` handler fails or stops. These
/// wrappers answer such a request errc::not_ready (retriable, what the bridge answers for a
/// request it holds when it ends) once the last holder of the promise lets go of it
/// undelivered. An actor that ends destroys its state (on_exit) and then, in cleanup, its
/// pending response handlers, before its mailbox closes and its monitors hear of it; the
/// promise holds a strong reference to the actor, so delivering from those destructors
/// sends an ordinary response from a still valid sender, as an explicit deliver would.
/// Delivering through a wrapper spends it: a normal path answers once, the drop nothing.

#include <caf/all.hpp>

#include <memory>
#include <optional>
#include <utility>

#include "actors/interfaces.hpp"
#include "actors/pipeline/publish_answer.hpp"

namespace portask {

/// A response promise shared by every copy (handlers capture it by value, retries pass it
/// on): whichever copy delivers answers the request; when the last copy goes and none did,
/// the request is answered not_ready.
template <class T>
class owed_promise {
 public:
  explicit owed_promise(caf::typed_response_promise<T> rp)
      : state_(std::make_shared<state>(std::move(rp))) {}

  /// A value of type T, or a caf::error.
  template <class U>
  void deliver(U&& x) const {
    state_->rp.deliver(std::forward<U>(x));
  }

 private:
  struct state {
    explicit state(caf::typed_response_promise<T> p) : rp(std::move(p)) {}
    state(const state&) = delete;
    state& operator=(const state&) = delete;
    ~state() {
      if (rp.pending()) rp.deliver(make_caf_error(errc::not_ready));
    }
    caf::typed_response_promise<T> rp;
  };
  std::shared_ptr<state> state_;
};

/// One publish's answer (publish_answer.hpp: its own promise or its slot in a group),
/// held by exactly one owner (moved, never copied): given at most once; dropped ungiven,
/// it answers not_ready (a slot fills with not_ready, so a group is still answered whole,
/// with what its other publishes got).
class owed_publish_answer {
 public:
  explicit owed_publish_answer(publish_answer a) : answer_(std::move(a)) {}
  owed_publish_answer(owed_publish_answer&& other) noexcept
      : answer_(std::exchange(other.answer_, std::nullopt)) {}
  owed_publish_answer& operator=(owed_publish_answer&& other) noexcept {
    if (this != &other) {
      settle_dropped();
      answer_ = std::exchange(other.answer_, std::nullopt);
    }
    return *this;
  }
  owed_publish_answer(const owed_publish_answer&) = delete;
  owed_publish_answer& operator=(const owed_publish_answer&) = delete;
  ~owed_publish_answer() { settle_dropped(); }

  void deliver(const publish_result& r) {
    if (auto a = take()) a->deliver(r);
  }
  void deliver(errc e) {
    if (auto a = take()) a->deliver(e);
  }

 private:
  std::optional<publish_answer> take() { return std::exchange(answer_, std::nullopt); }
  void settle_dropped() {
    if (auto a = take()) a->deliver(errc::not_ready);
  }
  std::optional<publish_answer> answer_;
};

}  // namespace portask
