#include "protocol/group_assignment.hpp"

#include <gtest/gtest.h>

#include <set>

using namespace portask;
using namespace portask::protocol;

namespace {
std::map<std::string, std::int32_t> counts(std::initializer_list<std::pair<const std::string, std::int32_t>> l) {
  return l;
}
}  // namespace

TEST(GroupAssignment, RangeGivesConsecutivePartitionsAndTheRemainderToTheFirstMembers) {
  auto plan = assign_partitions(assignment_strategy::range,
                                {{"c", {"t"}}, {"a", {"t"}}, {"b", {"t"}}}, counts({{"t", 7}}));
  EXPECT_EQ(plan["a"], (std::vector<partition_ref>{{"t", 0}, {"t", 1}, {"t", 2}}));
  EXPECT_EQ(plan["b"], (std::vector<partition_ref>{{"t", 3}, {"t", 4}}));
  EXPECT_EQ(plan["c"], (std::vector<partition_ref>{{"t", 5}, {"t", 6}}));
}

TEST(GroupAssignment, RoundRobinDealsPartitionsAcrossTopicsToSubscribersOnly) {
  auto plan = assign_partitions(assignment_strategy::round_robin,
                                {{"a", {"t", "u"}}, {"b", {"t"}}}, counts({{"t", 3}, {"u", 2}}));
  EXPECT_EQ(plan["a"], (std::vector<partition_ref>{{"t", 0}, {"t", 2}, {"u", 0}, {"u", 1}}));
  EXPECT_EQ(plan["b"], (std::vector<partition_ref>{{"t", 1}}));
}

TEST(GroupAssignment, EveryPartitionGoesToExactlyOneMember) {
  for (auto s : {assignment_strategy::range, assignment_strategy::round_robin}) {
    std::vector<group_subscriber> members;
    for (int i = 0; i < 10; ++i) members.push_back({"m" + std::to_string(i), {"x", "y"}});
    auto plan = assign_partitions(s, members, counts({{"x", 30}, {"y", 4}, {"missing-from-counts", 0}}));
    std::set<partition_ref> all;
    std::size_t total = 0, most = 0, least = 1000;
    for (const auto& [id, parts] : plan) {
      total += parts.size();
      all.insert(parts.begin(), parts.end());
      most = std::max(most, parts.size());
      least = std::min(least, parts.size());
    }
    EXPECT_EQ(total, 34u);
    EXPECT_EQ(all.size(), 34u);
    EXPECT_LE(most - least, s == assignment_strategy::round_robin ? 1u : 2u);
  }
  EXPECT_TRUE(assign_partitions(assignment_strategy::round_robin, {}, counts({{"t", 3}})).empty());
  auto nobody = assign_partitions(assignment_strategy::range, {{"a", {"other"}}}, counts({{"t", 3}}));
  EXPECT_TRUE(nobody["a"].empty());
}

TEST(GroupAssignment, SubscriptionAndAssignmentBytesRoundTripAndGarbageIsRefused) {
  const std::vector<std::string> topics{"orders", "", "payments"};
  EXPECT_EQ(decode_subscription(as_bytes(encode_subscription(topics))).value(), topics);
  const std::vector<partition_ref> parts{{"orders", 0}, {"payments", 11}};
  EXPECT_EQ(decode_assignment(as_bytes(encode_assignment(parts))).value(), parts);
  const std::string garbage = "\xff\xff\xff\xff" "abc";
  EXPECT_FALSE(decode_subscription(as_bytes(garbage)));
  EXPECT_FALSE(decode_assignment(as_bytes(garbage)));
  auto truncated = encode_assignment(parts);
  truncated.pop_back();
  EXPECT_FALSE(decode_assignment(as_bytes(truncated)));
  EXPECT_FALSE(decode_subscription(as_bytes(encode_subscription(topics) + "x")));
}

TEST(GroupAssignment, ProtocolNamesAreKafkas) {
  assignment_strategy s{};
  EXPECT_TRUE(parse_protocol_name("roundrobin", s));
  EXPECT_EQ(s, assignment_strategy::round_robin);
  EXPECT_STREQ(to_protocol_name(assignment_strategy::range), "range");
  EXPECT_FALSE(parse_protocol_name("sticky", s));
}

TEST(GroupAssignment, MemberPartitionsReadsBothProtocolsAssignments) {
  const std::vector<partition_ref> mine{{"orders", 1}, {"audit", 0}};
  const auto native = encode_assignment(mine);
  EXPECT_EQ(member_partitions("portask", as_bytes(native)), mine);
  // Kafka's ConsumerProtocolAssignment v0: topics with partitions, then null user data.
  const std::string kafka("\x00\x00" "\x00\x00\x00\x01" "\x00\x06orders" "\x00\x00\x00\x01"
                          "\x00\x00\x00\x02" "\xff\xff\xff\xff", 26);
  EXPECT_EQ(member_partitions("consumer", as_bytes(kafka)), (std::vector<partition_ref>{{"orders", 2}}));
  EXPECT_TRUE(member_partitions("connect", as_bytes(kafka)).empty());
  EXPECT_TRUE(member_partitions("portask", as_bytes(std::string("\x01", 1))).empty());
}
