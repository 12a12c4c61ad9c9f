#include "tools/cli/failed_commit.hpp"

#include <gtest/gtest.h>

#include <string>

using portask::errc;
using portask::cli::failed_commit_line;

// A commit the group refuses because its coordinator moved (the new one does not know the
// member) or a rebalance began a new generation: a following member takes the next
// assignment and loses nothing, and the line says so rather than read as a failure.
TEST(FailedCommit, ARefusalOfAMemberTheGroupNoLongerKnowsSaysWhatHappensNext) {
  EXPECT_EQ(failed_commit_line("billing", "orders/3", errc::unknown_member, "unknown group member", true),
            "portask-cli: group billing: commit of orders/3 refused (unknown group member: the group's "
            "coordinator moved or the group rebalanced); taking the group's next assignment (joining again "
            "if need be), and whichever member gets orders/3 reads it again from its last committed offset");
  const auto stale = failed_commit_line("billing", "orders/3", errc::illegal_generation, "illegal group generation", true);
  EXPECT_NE(stale.find("refused (illegal group generation: the group's coordinator moved or the group rebalanced)"),
            std::string::npos)
      << stale;
  EXPECT_NE(stale.find("taking the group's next assignment"), std::string::npos) << stale;
}

// Without --follow the member keeps its assignment to the end: no next assignment is
// promised (the command fails at its end unless a later commit made the partition good).
TEST(FailedCommit, WithoutFollowARefusalPromisesNoNextAssignment) {
  EXPECT_EQ(failed_commit_line("billing", "orders/3", errc::unknown_member, "unknown group member", false),
            "portask-cli: group billing: commit of orders/3 refused (unknown group member: the group's "
            "coordinator moved or the group rebalanced)");
}

// Any other failure is one, said as the broker said it.
TEST(FailedCommit, OtherFailuresAreSaidAsTheBrokerSaidThem) {
  EXPECT_EQ(failed_commit_line("billing", "orders/3", errc::timeout, "request timed out", true),
            "portask-cli: group billing: commit of orders/3 failed: request timed out");
}
