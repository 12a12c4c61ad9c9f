#include "tools/cli/numbers.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

using portask::cli::canonical_decimal;

namespace {

// The canonical text, or "error: <why>".
std::string parsed(std::string_view text, std::int64_t min, std::int64_t max) {
  std::string why;
  const auto v = canonical_decimal(text, min, max, why);
  return v ? *v : "error: " + why;
}

constexpr auto int64_max = std::numeric_limits<std::int64_t>::max();

}  // namespace

TEST(Numbers, LeadingZerosAreDecimalNotOctal) {
  EXPECT_EQ(parsed("010", 0, 100), "10");
  EXPECT_EQ(parsed("08", 0, 100), "8");
  EXPECT_EQ(parsed("0", 0, 100), "0");
  EXPECT_EQ(parsed("000", 0, 100), "0");
  EXPECT_EQ(parsed("-007", -10, 10), "-7");
  EXPECT_EQ(parsed("-0", -10, 10), "0");
}

TEST(Numbers, OnlyDigitsAndALeadingMinusAreNumbers) {
  for (const char* bad : {"0x10", "1e3", "+5", "", "-", " 5", "5 ", "1.0", "--1", "12a"})
    EXPECT_NE(parsed(bad, -100, 100).find("not a decimal integer"), std::string::npos) << bad;
}

TEST(Numbers, RangesAndSignsAreEnforced) {
  EXPECT_NE(parsed("-1", 0, 100).find("is negative"), std::string::npos);
  EXPECT_NE(parsed("-1", 1, 100000).find("1 to 100000"), std::string::npos);
  EXPECT_NE(parsed("0", 1, 100000).find("out of range"), std::string::npos);
  EXPECT_NE(parsed("100001", 1, 100000).find("out of range"), std::string::npos);
  EXPECT_EQ(parsed("100000", 1, 100000), "100000");
  EXPECT_EQ(parsed("9223372036854775807", 0, int64_max), "9223372036854775807");
  EXPECT_NE(parsed("9223372036854775808", 0, int64_max).find("out of range"), std::string::npos);
  EXPECT_NE(parsed("-5", 0, int64_max).find("0 or more"), std::string::npos);
}
