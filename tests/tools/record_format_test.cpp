#include "tools/cli/record_format.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

using namespace portask;
using namespace portask::cli;

namespace {

protocol::message sample() {
  protocol::message m;
  m.partition = 2;
  m.offset = 41;
  m.timestamp_ms = 1700000000123;
  m.key = "user\t1";
  m.value = "line one\nline two\\ \x01";
  m.headers = {{"trace", std::string("abc")}, {"empty", std::nullopt}};
  return m;
}

}  // namespace

TEST(RecordFormat, TextIsOneEscapedLinePerRecord) {
  const auto line = record_format::parse("text")->render("orders", sample());
  EXPECT_EQ(line,
            "2\t41\t1700000000123\tuser\\t1\ttrace=abc,empty=\tline one\\nline two\\\\ \\x01\n");
}

TEST(RecordFormat, JsonLinesKeepEveryFieldAndNullsAndBinary) {
  auto m = sample();
  m.key = std::nullopt;
  const auto line = record_format::parse("json")->render("orders", m);
  ASSERT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  const auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["topic"], "orders");
  EXPECT_EQ(j["partition"], 2);
  EXPECT_EQ(j["offset"], 41);
  EXPECT_EQ(j["timestamp"], 1700000000123);
  EXPECT_TRUE(j["key"].is_null());
  EXPECT_EQ(j["value"], *m.value);
  EXPECT_EQ(j["headers"][0]["key"], "trace");
  EXPECT_TRUE(j["headers"][1]["value"].is_null());

  m.value = std::string("\xff\xfe\x00", 3);  // not UTF-8: base64, marked
  const auto bin = nlohmann::json::parse(record_format::parse("json")->render("orders", m));
  EXPECT_EQ(bin["value"], "//4A");
  EXPECT_EQ(bin["value_encoding"], "base64");
}

TEST(RecordFormat, TemplatesUseKcatTokens) {
  auto f = record_format::parse("%t/%p@%o %k=%s (%K,%S) [%h] %T%%\\n");
  ASSERT_TRUE(f);
  auto m = sample();
  m.value = "v";
  EXPECT_EQ(f->render("orders", m),
            "orders/2@41 user\\t1=v (6,1) [trace=abc,empty=] 1700000000123%\n");
  EXPECT_FALSE(record_format::parse("xml"));
  EXPECT_FALSE(record_format::parse("%q"));
  EXPECT_FALSE(record_format::parse("trailing %"));
}


// A template reads the escapes -K reads (escapes.hpp), in the text between its tokens: \x1f
// was printed as "x1f", an unknown escape lost its backslash, and a byte spelt \x25 stays a
// percent sign, not a token.
TEST(RecordFormat, TemplatesTakeTheEscapesOfTheKeyDelimiter) {
  auto m = sample();
  m.key = "k";
  m.value = "v";
  const auto render = [&m](const char* spec) {
    const auto f = record_format::parse(spec);
    return f ? f->render("orders", m) : std::string("refused");
  };
  EXPECT_EQ(render("%k\\x1f%s\\n"), "k\x1f" "v\n");
  EXPECT_EQ(render("%k\\t%s\\r\\n"), "k\tv\r\n");
  EXPECT_EQ(render("\\\\%s\\\\"), "\\v\\");
  EXPECT_EQ(render("%s\\x25s"), "v%s");
  EXPECT_EQ(render("%s\\x00"), std::string("v\0", 2));
  for (const auto& [spec, says] : {std::pair{"%s\\q", "unknown escape \\q"}, std::pair{"%s\\x1", "two hex digits"},
                                   std::pair{"%s\\", "a backslash ends it"}, std::pair{"\\%s", "a backslash ends it"},
                                   std::pair{"%q", "unknown token %q"}, std::pair{"%s %", "a % ends it"}}) {
    std::string why;
    EXPECT_FALSE(record_format::parse(spec, &why)) << spec;
    EXPECT_NE(why.find(says), std::string::npos) << spec << ": " << why;
  }
}
