#include "tools/cli/failed_commit.hpp"

namespace portask::cli {

std::string failed_commit_line(const std::string& group, const std::string& partition, errc code,
                               const std::string& reason, bool following) {
  const auto head = "portask-cli: group " + group + ": commit of " + partition;
  if (code != errc::unknown_member && code != errc::illegal_generation) return head + " failed: " + reason;
  auto line = head + " refused (" + reason + ": the group's coordinator moved or the group rebalanced)";
  if (following)
    line += "; taking the group's next assignment (joining again if need be), and whichever member gets " +
            partition + " reads it again from its last committed offset";
  return line;
}

}  // namespace portask::cli
