#pragma once
/// Scripting for the mock actors (tests/mocks/mock_*.hpp). Each mock is a typed actor that
/// implements one interface of actors/interfaces.hpp, so a handler it misses does not
/// compile, and answers from a script it shares with the test: per request kind, what it
/// received and what it answers next. The mocks are event-based: on CAF's deterministic test
/// scheduler they run on the test's own thread, so scripts need no locks.
///
///   auto script = std::make_shared<storage_writer_script>();
///   auto writer = spawn_mock_storage_writer(sys, script);
///   script->append.fail(errc::storage_unavailable);  // the next append fails, later ones store
///   ... script->append.arg(0).batches ...             // what the first append carried

#include <cstddef>
#include <deque>
#include <functional>
#include <tuple>
#include <utility>
#include <vector>

#include "actors/interfaces.hpp"

namespace portask::testing {

/// One request kind (replies_to): the requests in arrival order and the next answers. A
/// request the test scripted no answer for gets `otherwise` (the mock's default), or without
/// one errc::internal, so that an unexpected request shows in the reply the test checks.
template <class R, class... Args>
struct scripted {
  std::vector<std::tuple<Args...>> received;
  std::deque<caf::expected<R>> answers;
  std::function<caf::expected<R>(const Args&...)> otherwise;

  /// The next unanswered request gets `r`.
  void reply(R r) { answers.emplace_back(std::move(r)); }
  /// The next unanswered request gets an error.
  void fail(errc e) { answers.emplace_back(make_caf_error(e)); }
  void fail(caf::error e) { answers.emplace_back(std::move(e)); }

  std::size_t count() const noexcept { return received.size(); }
  /// The first argument of the n-th request (most kinds have one).
  const auto& arg(std::size_t n) const { return std::get<0>(received.at(n)); }

  /// Records the request and takes its answer.
  caf::expected<R> answer(const Args&... xs) {
    received.emplace_back(xs...);
    caf::expected<R> next = make_caf_error(errc::internal);
    if (!answers.empty()) {
      next = std::move(answers.front());
      answers.pop_front();
    } else if (otherwise) {
      next = otherwise(xs...);
    }
    return next;
  }

  caf::result<R> operator()(const Args&... xs) {
    auto next = answer(xs...);
    // Two branches, not one conversion: result<bool> would take an expected<bool> as a bool.
    if (!next) return std::move(next.error());
    return std::move(*next);
  }
};

/// A group of publishes (a burst) answered element by element from a publish script, as if
/// each had come alone: the script records each batch and answers each in turn.
template <class Batch>
std::vector<publish_reply> answer_each(scripted<publish_result, Batch>& script,
                                       const std::vector<Batch>& group) {
  std::vector<publish_reply> replies;
  for (const auto& b : group) {
    auto r = script.answer(b);
    replies.push_back(r ? publish_reply{errc::ok, *r} : publish_reply{to_errc(r.error()), {}});
  }
  return replies;
}

/// One message kind that gets no answer (reacts_to): what arrived, in order.
template <class... Args>
struct heard {
  std::vector<std::tuple<Args...>> received;

  std::size_t count() const noexcept { return received.size(); }
  const auto& arg(std::size_t n) const { return std::get<0>(received.at(n)); }

  void operator()(const Args&... xs) { received.emplace_back(xs...); }
};

}  // namespace portask::testing
