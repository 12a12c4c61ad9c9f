#pragma once
/// Where the answer to one publish goes: the promise of a request that carried just this
/// batch, or its slot in the answer to a group of batches (a connection's burst), which is
/// delivered once every slot is filled. The partition and the bridge treat both alike, so a
/// group takes exactly the path its batches would take one by one.

#include <caf/all.hpp>

#include <memory>
#include <utility>
#include <variant>
#include <vector>

#include "actors/interfaces.hpp"

namespace portask {

/// The replies of one group, in the order its batches came; answered when the last is in.
class group_answer {
 public:
  group_answer(caf::typed_response_promise<std::vector<publish_reply>> promise, std::size_t size)
      : promise_(std::move(promise)), replies_(size), outstanding_(size) {
    if (size == 0) promise_.deliver(std::vector<publish_reply>{});
  }
  group_answer(const group_answer&) = delete;
  group_answer& operator=(const group_answer&) = delete;
  /// A group dropped with slots unfilled (its actor stopped) fails them as `gone` would.
  ~group_answer() {
    if (outstanding_ > 0) promise_.deliver(make_caf_error(errc::not_ready));
  }

  void fill(std::size_t index, publish_reply reply) {
    replies_[index] = std::move(reply);
    if (--outstanding_ == 0) promise_.deliver(std::move(replies_));
  }

 private:
  caf::typed_response_promise<std::vector<publish_reply>> promise_;
  std::vector<publish_reply> replies_;
  std::size_t outstanding_;
};

class publish_answer {
 public:
  using single = caf::typed_response_promise<publish_result>;
  struct slot {
    std::shared_ptr<group_answer> group;
    std::size_t index = 0;
  };

  publish_answer(single rp) : to_(std::move(rp)) {}  // NOLINT: a promise is an answer
  publish_answer(std::shared_ptr<group_answer> group, std::size_t index)
      : to_(slot{std::move(group), index}) {}

  void deliver(const publish_result& r) {
    if (auto* rp = std::get_if<single>(&to_))
      rp->deliver(r);
    else
      fill({errc::ok, r});
  }
  void deliver(errc e) {
    if (auto* rp = std::get_if<single>(&to_))
      rp->deliver(make_caf_error(e));
    else
      fill({e, {}});
  }

 private:
  void fill(publish_reply reply) {
    auto& s = std::get<slot>(to_);
    if (s.group) std::exchange(s.group, nullptr)->fill(s.index, std::move(reply));
  }
  std::variant<single, slot> to_;
};

}  // namespace portask
