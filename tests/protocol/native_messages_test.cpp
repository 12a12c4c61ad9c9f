// Native request and push payloads added for consumer groups: round trips, optional
// trailing fields, and refusal of malformed or invalid payloads.
#include "protocol/native_messages.hpp"

#include <gtest/gtest.h>

#include "protocol/frame.hpp"

using namespace portask;
using namespace portask::protocol;
using namespace portask::protocol::native;

namespace {
byte_view payload_of(const buffer& frame) { return byte_view{frame}.subspan(frame_header_size); }
}  // namespace

TEST(NativeMessages, GroupJoinRoundTripsAndRefusesNonsense) {
  buffer f;
  encode(f, group_join_request{7, "workers", 1, 5000, {"orders", "payments"}});
  EXPECT_EQ(static_cast<message_type>(f[5]), message_type::group_join);
  auto g = decode_group_join(payload_of(f));
  ASSERT_TRUE(g);
  EXPECT_EQ(g->request_id, 7u);
  EXPECT_EQ(g->group, "workers");
  EXPECT_EQ(g->strategy, 1);
  EXPECT_EQ(g->session_timeout_ms, 5000u);
  EXPECT_EQ(g->topics, (std::vector<std::string>{"orders", "payments"}));
  for (const auto& bad : {group_join_request{1, "", 0, 5000, {"t"}},
                          group_join_request{1, "g", 9, 5000, {"t"}},
                          group_join_request{1, "g", 0, 5000, {}}}) {
    buffer b;
    encode(b, bad);
    EXPECT_EQ(decode_group_join(payload_of(b)).error(), errc::invalid_request);
  }
  buffer truncated;
  encode(truncated, group_join_request{1, "g", 0, 5000, {"orders"}});
  truncated.pop_back();
  EXPECT_FALSE(decode_group_join(payload_of(truncated)));
}

TEST(NativeMessages, GroupAssignmentAndLeaveRoundTrip) {
  group_assignment a{3, "workers", "member-1", 4, {{"orders", 0}, {"orders", 5}}};
  buffer f;
  encode(f, a);
  EXPECT_EQ(static_cast<message_type>(f[5]), message_type::group_assignment);
  EXPECT_EQ(decode_group_assignment(payload_of(f)).value(), a);
  f.push_back(0);
  EXPECT_FALSE(decode_group_assignment(byte_view{f}.subspan(frame_header_size)))
      << "trailing garbage";
  buffer l;
  encode(l, group_leave_request{9, 3});
  auto leave = decode_group_leave(payload_of(l));
  ASSERT_TRUE(leave);
  EXPECT_EQ(leave->membership_id, 3u);
}

TEST(NativeMessages, AckCarriesAnOptionalMemberIdentity) {
  buffer plain;
  encode(plain, ack_request{1, "g", "t", 0, 10, "m", {}, -1});
  auto a = decode_ack(payload_of(plain));
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->member_id.empty());
  EXPECT_EQ(a->generation, -1);
  buffer member;
  encode(member, ack_request{1, "g", "t", 0, 10, "m", "member-1", 3});
  EXPECT_GT(member.size(), plain.size());
  a = decode_ack(payload_of(member));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->member_id, "member-1");
  EXPECT_EQ(a->generation, 3);
  member.pop_back();  // a member id without the whole generation
  EXPECT_FALSE(decode_ack(payload_of(member)));
}
