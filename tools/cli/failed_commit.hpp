#pragma once
/// What `portask-cli consume --group` says on stderr when the group refuses a commit. A
/// refusal because the group no longer knows the member or its generation (its coordinator
/// moved to another node, or a rebalance began a new generation) is the group moving on, not
/// a failure by itself: a following member (--follow) takes the group's next assignment
/// (joining again when its membership ended), and whichever member is assigned the
/// partition then reads it again from its last committed offset, so nothing is lost (what
/// was printed since that commit is printed again). Without --follow the member keeps its
/// assignment to the end, and the command fails there if no later commit made it good.

#include <string>

#include "protocol/error.hpp"

namespace portask::cli {

/// The line (without its newline) for a commit of `partition` ("topic/3") in `group` that
/// failed with `code` and the broker's `reason`; `following`: the member consumes with
/// --follow.
std::string failed_commit_line(const std::string& group, const std::string& partition, errc code,
                               const std::string& reason, bool following);

}  // namespace portask::cli
