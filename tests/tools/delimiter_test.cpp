#include "tools/cli/delimiter.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

using portask::cli::parse_delimiter;

namespace {

// The delimiter's bytes, or "error: <why>".
std::string parsed(std::string_view text) {
  std::string why;
  const auto d = parse_delimiter(text, why);
  return d ? *d : "error: " + why;
}

}  // namespace

// -K '\t' splits at a tab, as kcat -K '\t' does, not at a backslash and a 't'.
TEST(Delimiter, KcatsEscapesStandForTheirBytes) {
  EXPECT_EQ(parsed("\\t"), "\t");
  EXPECT_EQ(parsed("\\n"), "\n");
  EXPECT_EQ(parsed("\\r"), "\r");
  EXPECT_EQ(parsed("\\\\"), "\\");
  EXPECT_EQ(parsed("\\x54!\\x45\\x53T"), "T!EST");  // kcat's own example
  EXPECT_EQ(parsed("\\x1f"), "\x1f");
  EXPECT_EQ(parsed("\\x1F"), "\x1f");
  EXPECT_EQ(parsed("\\x00"), std::string(1, '\0'));
  EXPECT_EQ(parsed("\\x411"), "A1");  // two digits, then the rest as it is
  EXPECT_EQ(parsed("\\\\t"), "\\t");  // an escaped backslash, then a 't'
}

TEST(Delimiter, OtherCharactersStandForThemselves) {
  EXPECT_EQ(parsed(":"), ":");
  EXPECT_EQ(parsed("::"), "::");
  EXPECT_EQ(parsed("=>"), "=>");
  EXPECT_EQ(parsed("é"), "é");
}

// An empty delimiter was accepted and never split; a backslash that starts no escape was
// kept, splitting where nobody meant to.
TEST(Delimiter, EmptyAndUnknownEscapesAreRefusedWithTheReason) {
  EXPECT_NE(parsed("").find("empty"), std::string::npos);
  EXPECT_NE(parsed("\\").find("a backslash ends it"), std::string::npos);
  EXPECT_NE(parsed("a\\").find("a backslash ends it"), std::string::npos);
  EXPECT_NE(parsed("\\T").find("unknown escape \\T"), std::string::npos);
  EXPECT_NE(parsed("\\0").find("unknown escape \\0"), std::string::npos);
  for (const char* bad : {"\\x", "\\x4", "\\xg0", "\\x0g"})
    EXPECT_NE(parsed(bad).find("two hex digits"), std::string::npos) << bad;
}
