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
