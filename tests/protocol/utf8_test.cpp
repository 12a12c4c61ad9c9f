#include "protocol/utf8.hpp"

#include <gtest/gtest.h>

using namespace portask::protocol;

TEST(Utf8, CheckRefusesMalformedSequences) {
  EXPECT_TRUE(is_utf8(""));
  EXPECT_TRUE(is_utf8("plain"));
  EXPECT_TRUE(is_utf8("ünïcödé ✓ 😀"));
  EXPECT_FALSE(is_utf8("\xc3"));              // cut short
  EXPECT_FALSE(is_utf8("\xe2\x9c"));          // cut short, longer
  EXPECT_FALSE(is_utf8("\xc0\xaf"));          // overlong
  EXPECT_FALSE(is_utf8("\xed\xa0\x80"));      // a surrogate
  EXPECT_FALSE(is_utf8("\xf4\x90\x80\x80"));  // past U+10FFFF
  EXPECT_FALSE(is_utf8("\x80"));
  EXPECT_FALSE(is_utf8("ok\xff"));
}

TEST(Utf8, RepairReplacesEachBadByteAndKeepsTheRest) {
  EXPECT_EQ(valid_utf8("plain ✓"), "plain ✓");
  EXPECT_EQ(valid_utf8("\xff"), "\xef\xbf\xbd");
  EXPECT_EQ(valid_utf8("a\xc3z"), "a\xef\xbf\xbdz") << "a cut-short sequence: its lead byte";
  EXPECT_EQ(valid_utf8("\xc0\xaf!"), "\xef\xbf\xbd\xef\xbf\xbd!") << "overlong: both bytes";
  EXPECT_EQ(valid_utf8("é\x80ü"), "é\xef\xbf\xbdü");
  EXPECT_TRUE(is_utf8(valid_utf8("\xed\xa0\x80\xf4\x90\x80\x80\xfe")));
}

// Kafka reads strings with Java's UTF-8 decoder, so the replacement is Java's: a cut-short
// sequence is one U+FFFD, not one per byte (compared with OpenJDK 17 on every string of up to
// three bytes made of the boundary values of the byte ranges, and on longer random ones).
TEST(Utf8, RepairReplacesEachMalformedSequenceAsJavaDoes) {
  const std::string fffd = "\xef\xbf\xbd";
  EXPECT_EQ(valid_utf8("bad\xff\xfe" "utf8"), "bad" + fffd + fffd + "utf8");
  EXPECT_EQ(valid_utf8("cut\xe2\x82"), "cut" + fffd) << "a 3-byte sequence cut short at the end";
  EXPECT_EQ(valid_utf8("cut\xe2\x82-"), "cut" + fffd + "-") << "and in the middle";
  EXPECT_EQ(valid_utf8("\xf0\x9f\x98!"), fffd + "!") << "a 4-byte sequence cut short";
  EXPECT_EQ(valid_utf8("\xf0\x9f\x41"), fffd + "A");
  EXPECT_EQ(valid_utf8("\xed\xa0\x80."), fffd + ".") << "an encoded surrogate: one, as Java";
  EXPECT_EQ(valid_utf8("\xed\xa0."), fffd + ".");
  EXPECT_EQ(valid_utf8("\xe0\x80\x80"), fffd + fffd + fffd) << "overlong: E0 takes A0..BF";
  EXPECT_EQ(valid_utf8("\xf0\x8f\xbf\xbf"), fffd + fffd + fffd + fffd) << "overlong: F0 takes 90..BF";
  EXPECT_EQ(valid_utf8("\xf4\x90\x80\x80"), fffd + fffd + fffd + fffd) << "past U+10FFFF";
  EXPECT_EQ(valid_utf8("\xf5\x80"), fffd + fffd);
  EXPECT_EQ(valid_utf8("\xc2\xe2\x82\xac"), fffd + "\xe2\x82\xac") << "the next sequence is kept";
}
