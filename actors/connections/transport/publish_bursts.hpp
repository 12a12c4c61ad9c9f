#pragma once
/// A connection's publishes gathered per bridge and sent as one message each (the bridge's
/// group publish), for every protocol: the native connection gathers a socket read's
/// publishes, a Kafka Produce request its partitions. `Slot` is what a publish's answer
/// needs (its request, its place in a response).

#include <algorithm>
#include <memory>
#include <utility>
#include <vector>

#include "actors/interfaces.hpp"

namespace portask {

template <class Slot>
class publish_bursts {
 public:
  bool empty() const noexcept { return bursts_.empty(); }

  void add(protocol_bridge_actor bridge, publish_batch pb, Slot slot) {
    auto b = std::find_if(bursts_.begin(), bursts_.end(),
                          [&](const burst& x) { return x.bridge == bridge; });
    if (b == bursts_.end()) b = bursts_.insert(bursts_.end(), burst{std::move(bridge), {}, {}});
    b->batches.push_back(std::move(pb));
    b->slots.push_back(std::move(slot));
  }

  /// Sends what was gathered, one message per bridge (a lone publish as itself; no timeout:
  /// the bridge always answers, or CAF reports it down). `answer(slot, error, result)` is
  /// called once per publish, in each bridge's order; `result` is valid when error is ok.
  /// `answered()` is called once a bridge's reply has been answered, publish by publish.
  template <class Self, class Answer, class Answered = void (*)()>
  void send(Self self, Answer answer, Answered answered = [] {}) {
    auto bursts = std::move(bursts_);
    bursts_.clear();
    for (auto& b : bursts) {
      if (b.batches.size() == 1) {
        auto slot = std::make_shared<Slot>(std::move(b.slots.front()));
        self->request(b.bridge, caf::infinite, publish_atom::value, std::move(b.batches.front()))
            .then(
                [=](publish_result& r) {
                  answer(*slot, errc::ok, r);
                  answered();
                },
                [=](caf::error& e) {
                  answer(*slot, to_errc(e), publish_result{});
                  answered();
                });
        continue;
      }
      auto slots = std::make_shared<std::vector<Slot>>(std::move(b.slots));
      self->request(b.bridge, caf::infinite, publish_atom::value, std::move(b.batches))
          .then(
              [=](std::vector<publish_reply>& replies) {
                for (std::size_t i = 0; i < slots->size(); ++i) {
                  if (i < replies.size())
                    answer((*slots)[i], replies[i].error, replies[i].result);
                  else  // a bridge never does this
                    answer((*slots)[i], errc::not_ready, publish_result{});
                }
                answered();
              },
              [=](caf::error& e) {
                for (const auto& slot : *slots) answer(slot, to_errc(e), publish_result{});
                answered();
              });
    }
  }

 private:
  struct burst {
    protocol_bridge_actor bridge;
    std::vector<publish_batch> batches;
    std::vector<Slot> slots;
  };
  std::vector<burst> bursts_;
};

}  // namespace portask
