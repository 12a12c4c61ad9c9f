#pragma once
/// How long consumer groups wait for the store, and how long their askers wait for them.
/// Derived from the store's own command timeout (store_timeout_ms), so that each waiter
/// outlasts what it waits for and hears the answer rather than its own timeout.
///
/// A write's outcome is known only when the store answered: a commit or a deletion refused
/// before its store call started (it waited too long for the group's previous write) was not
/// applied; one whose store call failed or timed out may have been applied or not (an unknown
/// outcome, as Kafka's REQUEST_TIMED_OUT; clients retry, and a commit written twice stores the
/// same offset).

#include <chrono>

#include "actors/runtime/broker_config.hpp"

namespace portask {

/// A commit or a deletion of offsets that waited this long for the group's store (behind
/// another write of the group) is refused unapplied (errc::timeout).
inline constexpr std::chrono::milliseconds group_store_wait_limit{5000};

/// One store call of a group (a read, a commit, a deletion) through its storage reader: the
/// reader may be in the middle of another call, and each is bounded by store_timeout_ms;
/// a second more for the messages (11 s by default).
inline std::chrono::milliseconds group_store_call_timeout(const broker_config& c) {
  return 2 * std::chrono::milliseconds(c.store_timeout_ms) + std::chrono::seconds(1);
}

/// How long a connection waits for a coordinator's answer to a commit or a deletion of
/// offsets: the coordinator's worst case (the wait for the store, then a read and a write)
/// and 2 s more (29 s by default), so that the coordinator's own answer comes first.
inline std::chrono::milliseconds group_write_wait(const broker_config& c) {
  return group_store_wait_limit + 2 * group_store_call_timeout(c) + std::chrono::seconds(2);
}

}  // namespace portask
