// The topic-config table and its validation (plain unit tests): what CreateTopics,
// AlterConfigs and the native create accept or refuse, and the defaults DescribeConfigs
// reports for a topic without overrides.
#include <gtest/gtest.h>

#include "actors/pipeline/topic_configs.hpp"

using namespace portask;

TEST(TopicConfigs, EveryKafkaDefaultIsAValueTheTableAccepts) {
  for (const auto& spec : topic_config_specs()) {
    // Empty only for a list Kafka leaves empty (the throttled-replica lists).
    EXPECT_FALSE(spec.kafka_default.empty() && spec.kind != config_kind::list) << spec.name;
    EXPECT_EQ(topic_config_problem(spec.name, spec.kafka_default), std::nullopt) << spec.name;
  }
}

TEST(TopicConfigs, EachKeyIsListedOnceAndFoundByName) {
  for (const auto& spec : topic_config_specs()) {
    const auto* found = find_topic_config(spec.name);
    ASSERT_NE(found, nullptr) << spec.name;
    EXPECT_EQ(found, &spec) << spec.name << " is listed twice";
  }
  EXPECT_EQ(find_topic_config("no.such.config"), nullptr);
}

TEST(TopicConfigs, BadValuesAreRefusedNamingTheKeyAndTheReason) {
  auto problem = [](std::string_view name, std::string_view value) {
    return topic_config_problem(name, value).value_or("");
  };
  EXPECT_NE(problem("nosuch.key", "1").find("unknown config 'nosuch.key'"), std::string::npos);
  EXPECT_NE(problem("retention.ms", "abc").find("not a number"), std::string::npos);
  EXPECT_NE(problem("retention.ms", "-2").find("at least -1"), std::string::npos);
  EXPECT_NE(problem("segment.bytes", "2147483648").find("out of range"), std::string::npos);
  EXPECT_NE(problem("preallocate", "yes").find("true or false"), std::string::npos);
  EXPECT_NE(problem("min.cleanable.dirty.ratio", "1.5").find("0 to 1"), std::string::npos);
  EXPECT_NE(problem("cleanup.policy", "delete,,compact").find("one or more of"), std::string::npos);
  EXPECT_NE(problem("message.timestamp.type", "Now").find("one of"), std::string::npos);
  // Values Portask could not honour are refused with what it does instead.
  EXPECT_NE(problem("compression.type", "zstd").find("only 'producer'"), std::string::npos);
  EXPECT_NE(problem("min.insync.replicas", "2").find("one copy"), std::string::npos);
  EXPECT_NE(problem("message.downconversion.enable", "false").find("only 'true'"), std::string::npos);
  EXPECT_EQ(topic_config_problem("message.downconversion.enable", "true"), std::nullopt);
  EXPECT_NE(problem("flush.messages", "1").find("appendfsync"), std::string::npos);
  EXPECT_NE(problem("flush.ms", "1000").find("appendfsync"), std::string::npos);
  EXPECT_EQ(topic_config_problem("flush.messages", "9223372036854775807"), std::nullopt);
  // Each valid, not together (Kafka's LogConfig refuses it likewise).
  EXPECT_NE(topic_configs_problem({{"min.compaction.lag.ms", "5000"}, {"max.compaction.lag.ms", "1000"}})
                .value_or("")
                .find("max.compaction.lag.ms (1000) is below min.compaction.lag.ms (5000)"),
            std::string::npos);
  EXPECT_EQ(topic_configs_problem({{"min.compaction.lag.ms", "1000"}, {"max.compaction.lag.ms", "1000"}}),
            std::nullopt);
  EXPECT_EQ(topic_configs_conflict({{"min.compaction.lag.ms", "1000"}}), std::nullopt);
  EXPECT_EQ(topic_config_problem("cleanup.policy", "compact, delete"), std::nullopt);
  EXPECT_EQ(topic_config_problem("retention.ms", "-1"), std::nullopt);
  EXPECT_EQ(topic_config_problem("min.cleanable.dirty.ratio", "0.25"), std::nullopt);
}

// Kafka's LogConfig gives retention.bytes no lower bound (retention.ms has -1): any negative
// value is no size limit.
TEST(TopicConfigs, AnyNegativeRetentionBytesIsAccepted) {
  for (const auto* value : {"-1", "-2", "-5", "-9223372036854775808"})
    EXPECT_EQ(topic_config_problem("retention.bytes", value), std::nullopt) << value;
  EXPECT_NE(topic_config_problem("retention.bytes", "-9223372036854775809").value_or("").find("out of range"),
            std::string::npos);
}

// As Kafka's ConfigDef.parseType reads a value: trimmed, a boolean in any case, a number with a
// leading '+'; the values Portask honours alone are compared in that reading too, and the
// numbers its partitions use are read the same way.
TEST(TopicConfigs, ValuesAreReadAsKafkaParsesThem) {
  for (const auto* v : {"TRUE", "True", " false ", "FaLsE\t"})
    EXPECT_EQ(topic_config_problem("preallocate", v), std::nullopt) << v;
  EXPECT_NE(topic_config_problem("preallocate", "yes"), std::nullopt);
  for (const auto* v : {" 100", "100 ", "+100", "\t+100\n"})
    EXPECT_EQ(topic_config_problem("retention.ms", v), std::nullopt) << v;
  for (const auto* v : {"+-100", "++1", "+", "1 0", "0x10"})
    EXPECT_NE(topic_config_problem("retention.ms", v), std::nullopt) << v;
  EXPECT_EQ(topic_config_problem("min.cleanable.dirty.ratio", " +0.5 "), std::nullopt);
  EXPECT_EQ(topic_config_problem("message.downconversion.enable", "True"), std::nullopt);
  EXPECT_NE(topic_config_problem("remote.storage.enable", "TRUE"), std::nullopt) << "still true";
  EXPECT_EQ(topic_config_problem("min.insync.replicas", "+1"), std::nullopt);
  EXPECT_EQ(topic_config_problem("flush.ms", " 9223372036854775807"), std::nullopt);
  EXPECT_EQ(topic_config_problem("cleanup.policy", "\tcompact ,delete\n"), std::nullopt);
  EXPECT_NE(topic_config_problem("retention.ms", " x").value_or("").find("' x'"), std::string::npos)
      << "the refusal quotes the value as given";
  const std::vector<std::pair<std::string, std::string>> configs = {
      {"retention.ms", " +1500 "}, {"min.cleanable.dirty.ratio", "+0.25"}, {"cleanup.policy", " compact\t"}};
  EXPECT_EQ(config_integer(configs, "retention.ms"), 1500);
  EXPECT_EQ(config_ratio(configs, "min.cleanable.dirty.ratio"), 0.25);
  EXPECT_TRUE(cleanup_policy_includes(configs, "compact"));
  // Java's parseDouble reads no NaN nor infinity (a NaN ratio would never be reached).
  for (const auto* v : {"nan", "NaN", "-nan", "inf", "+inf"})
    EXPECT_NE(topic_config_problem("min.cleanable.dirty.ratio", v), std::nullopt) << v;
  EXPECT_FALSE(config_ratio({{"min.cleanable.dirty.ratio", "nan"}}, "min.cleanable.dirty.ratio"));
  // Stored as Kafka writes a value back.
  EXPECT_EQ(canonical_topic_config("preallocate", " TRUE "), "true");
  EXPECT_EQ(canonical_topic_config("retention.ms", "\t+0100 "), "100");
  EXPECT_EQ(canonical_topic_config("cleanup.policy", " compact , delete "), "compact,delete");
  EXPECT_EQ(canonical_topic_config("min.cleanable.dirty.ratio", " +0.25"), "0.25");
  EXPECT_EQ(canonical_topic_config("compression.type", " producer\n"), "producer");
  EXPECT_EQ(canonical_topic_config("retention.ms", " abc"), "abc") << "left for the check to refuse";
  EXPECT_EQ(canonical_topic_config("no.such.key", " x "), " x ");
  EXPECT_EQ(canonical_topic_config("cleanup.policy", ",compact"), ",compact") << "the empty item stays";
  EXPECT_NE(topic_config_problem("cleanup.policy", " ,compact"), std::nullopt);
  // An empty policy is accepted, as Kafka 3.x accepts it, and then neither deletes nor compacts.
  EXPECT_EQ(topic_config_problem("cleanup.policy", ""), std::nullopt);
  EXPECT_EQ(topic_config_problem("cleanup.policy", " \t"), std::nullopt);
  EXPECT_EQ(canonical_topic_config("cleanup.policy", " \t"), "");
  EXPECT_FALSE(cleanup_policy_includes({{"cleanup.policy", ""}}, "delete"));
  EXPECT_FALSE(cleanup_policy_includes({{"cleanup.policy", " "}}, "compact"));
}

TEST(TopicConfigs, NumbersAndTheCompactPolicyAreReadFromTheLastValueGiven) {
  const std::vector<std::pair<std::string, std::string>> configs = {
      {"retention.ms", "1000"},           {"retention.ms", "2000"},
      {"retention.bytes", "12x"},         {"min.cleanable.dirty.ratio", "0.25"},
      {"cleanup.policy", "compact"},      {"cleanup.policy", "delete, compact"},
      {"max.message.bytes", ""}};
  EXPECT_EQ(config_integer(configs, "retention.ms"), 2000);
  EXPECT_FALSE(config_integer(configs, "retention.bytes")) << "not a number";
  EXPECT_FALSE(config_integer(configs, "max.message.bytes")) << "empty";
  EXPECT_FALSE(config_integer(configs, "segment.ms")) << "absent";
  EXPECT_EQ(config_ratio(configs, "min.cleanable.dirty.ratio"), 0.25);
  EXPECT_TRUE(cleanup_policy_includes(configs, "compact"));
  EXPECT_FALSE(cleanup_policy_includes({{"cleanup.policy", "compact"}, {"cleanup.policy", "delete"}}, "compact"));
  EXPECT_FALSE(cleanup_policy_includes({}, "compact"));
}

// Keys of Kafka 3.x's tiered storage, replication throttling and old message format: checked
// by Kafka's own rules for each, and tiered storage refused (Portask has none).
TEST(TopicConfigs, KafkaThreeKeysFollowKafkasRulesAndTieredStorageIsRefused) {
  auto accepted = [](std::string_view name, std::string_view value) {
    return topic_config_problem(name, value) == std::nullopt;
  };
  auto problem = [](std::string_view name, std::string_view value) {
    return topic_config_problem(name, value).value_or("");
  };
  for (const auto* key : {"leader.replication.throttled.replicas", "follower.replication.throttled.replicas"}) {
    EXPECT_TRUE(accepted(key, "")) << "no replica: Kafka's default";
    EXPECT_TRUE(accepted(key, "*"));
    EXPECT_TRUE(accepted(key, " * "));
    EXPECT_TRUE(accepted(key, "0:1,1:2"));
    EXPECT_TRUE(accepted(key, "0:1 , 1:2"));
    EXPECT_NE(problem(key, "*,0:1").find("[partitionId]:[brokerId]"), std::string::npos);
    EXPECT_FALSE(accepted(key, "0:x"));
    EXPECT_FALSE(accepted(key, "0"));
    EXPECT_FALSE(accepted(key, ":1"));
    EXPECT_FALSE(accepted(key, "all"));
  }
  for (const auto* key : {"local.retention.ms", "local.retention.bytes"}) {
    EXPECT_TRUE(accepted(key, "-2")) << "retention.ms / retention.bytes";
    EXPECT_TRUE(accepted(key, "-1"));
    EXPECT_TRUE(accepted(key, "86400000"));
    EXPECT_NE(problem(key, "-3").find("at least -2"), std::string::npos);
  }
  EXPECT_TRUE(accepted("remote.storage.enable", "false"));
  EXPECT_NE(problem("remote.storage.enable", "true").find("no tiered storage"), std::string::npos);
  EXPECT_NE(problem("remote.storage.enable", "yes").find("true or false"), std::string::npos);
  for (const auto* version : {"3.0-IV1", "3.0", "2.8", "2.8.1", "2.8-IV1", "0.10.2", "0.10.0-IV1",
                              "0.10.0.1", "0.8.2", "3.7-IV4", "3.9", " 3.0", "3.0\t", "2.8.1.",
                              "0.10.0.1."})
    EXPECT_TRUE(accepted("message.format.version", version)) << version;
  for (const auto* version : {"3.0-IV2", "2.5-IV1", "0.9.0-IV0", "0.10", "4.0", "3", "", "latest",
                              "3.0.", "3.0..", "0.10.2.", " "})
    EXPECT_NE(problem("message.format.version", version).find("Kafka version"), std::string::npos)
        << version;
}
