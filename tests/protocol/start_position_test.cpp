#include "protocol/start_position.hpp"

#include <gtest/gtest.h>

using namespace portask::protocol;
using kind = start_position::kind;

TEST(StartPosition, ParsesEveryDocumentedForm) {
  EXPECT_EQ(parse_start_position("earliest")->what, kind::earliest);
  EXPECT_EQ(parse_start_position("beginning")->what, kind::earliest);
  EXPECT_EQ(parse_start_position("latest")->what, kind::latest);
  EXPECT_EQ(parse_start_position("end")->what, kind::latest);
  EXPECT_EQ(parse_start_position("committed")->what, kind::committed);
  auto abs = parse_start_position("1234");
  ASSERT_TRUE(abs);
  EXPECT_EQ(abs->what, kind::absolute);
  EXPECT_EQ(abs->value, 1234);
  auto back = parse_start_position("-10");
  ASSERT_TRUE(back);
  EXPECT_EQ(back->what, kind::from_end);
  EXPECT_EQ(back->value, 10);
  auto at = parse_start_position("@1700000000000");
  ASSERT_TRUE(at);
  EXPECT_EQ(at->what, kind::timestamp);
  EXPECT_EQ(at->value, 1700000000000);
}

TEST(StartPosition, RefusesAnythingElse) {
  for (const char* bad : {"", "first", "12abc", "-0", "-", "@", "@-5", "@x", "1.5", " 12",
                          "99999999999999999999", "--3", "Earliest"})
    EXPECT_FALSE(parse_start_position(bad)) << bad;
}

TEST(StartPosition, ResolvesWithinTheLog) {
  EXPECT_EQ(resolve_offset(*parse_start_position("earliest"), 5, 50), 5);
  EXPECT_EQ(resolve_offset(*parse_start_position("latest"), 5, 50), 50);
  EXPECT_EQ(resolve_offset(*parse_start_position("17"), 5, 50), 17);
  EXPECT_EQ(resolve_offset(*parse_start_position("-10"), 5, 50), 40);
  EXPECT_EQ(resolve_offset(*parse_start_position("-100"), 5, 50), 5);  // not before the start
}

// An offset outside the log is said with the log's bounds, which offset_out_of_range does not
// give; either end of the log is a start, and the other kinds never fall outside it.
TEST(StartPosition, AnOffsetOutsideTheLogIsSaidWithTheLogsBounds) {
  EXPECT_EQ(outside_log(*parse_start_position("5"), "wl1/0", 40, 100),
            "5 is outside partition wl1/0: its log start is 40 and its high watermark 100 (an offset "
            "from 40 to 100 can be a start)");
  EXPECT_EQ(outside_log(*parse_start_position("101"), "wl1/0", 40, 100)->substr(0, 36),
            "101 is outside partition wl1/0: its ");
  for (const char* inside : {"40", "100", "earliest", "latest", "-1000", "@0"})
    EXPECT_FALSE(outside_log(*parse_start_position(inside), "wl1/0", 40, 100)) << inside;
}
