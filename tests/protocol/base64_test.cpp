#include "protocol/base64.hpp"

#include <gtest/gtest.h>

using namespace portask::protocol;

TEST(Base64, Rfc4648Vectors) {
  const std::pair<const char*, const char*> vectors[] = {
      {"", ""},         {"f", "Zg=="},        {"fo", "Zm8="},        {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"}};
  for (auto [plain, encoded] : vectors) {
    EXPECT_EQ(base64_encode(plain), encoded);
    EXPECT_EQ(base64_decode(encoded), std::string(plain));
  }
}

TEST(Base64, AllByteValuesRoundTrip) {
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  EXPECT_EQ(base64_decode(base64_encode(all)), all);
}

TEST(Base64, RejectsMalformedInput) {
  EXPECT_FALSE(base64_decode("Zg="));      // length not a multiple of 4
  EXPECT_FALSE(base64_decode("Z$=="));     // character outside the alphabet
  EXPECT_FALSE(base64_decode("=Zg="));     // padding first
  EXPECT_FALSE(base64_decode("Zg==Zm8=")); // padding before the last group
  EXPECT_FALSE(base64_decode("Z=g="));     // data after padding
}
