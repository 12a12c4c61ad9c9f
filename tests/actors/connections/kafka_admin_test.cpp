// Kafka administration and idempotent production, byte by byte: DescribeCluster,
// DescribeConfigs, CreatePartitions, ListOffsets by timestamp, InitProducerId and the
// sequence rules of idempotent producers; the admin APIs' error messages.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "actors/pipeline/topic_configs.hpp"
#include "logging/loggers.hpp"
#include "tests/actors/broker_fixture.hpp"
#include "raw_kafka.hpp"

using namespace portask;
using namespace portask::test;

namespace {

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// `b`'s records as a batch of an idempotent producer, with the attribute bits `marks` too
// (transactional, control).
std::string producer_batch(const protocol::message_batch& b, std::int64_t producer,
                           std::int16_t epoch, std::int32_t seq, std::int16_t marks = 0) {
  auto rb = kafka::from_messages(b, 0);
  rb.producer_id = producer;
  rb.producer_epoch = epoch;
  rb.base_sequence = seq;
  rb.attributes = static_cast<std::int16_t>(rb.attributes | marks);
  protocol::buffer out;
  EXPECT_FALSE(kafka::encode_record_batch(rb, out));
  return std::string(protocol::as_chars(out));
}

// `n` records (keyed, unless told) stamped ts0, ts0 + 10, ... from an idempotent producer.
// Stamped now unless told: records stamped long ago are the broker's retention's to delete
// (broker_fixture.hpp, make_batch) at its next check, every 30 s, which a slow run reaches.
std::string idempotent_batch(std::int64_t producer, std::int16_t epoch, std::int32_t seq, int n,
                             std::int64_t ts0 = now_ms(), bool keyed = true) {
  protocol::message_batch b;
  for (int i = 0; i < n; ++i) {
    protocol::message m;
    if (keyed) m.key = "k";
    m.value = "s" + std::to_string(seq + i);
    m.timestamp_ms = ts0 + 10 * i;
    b.messages.push_back(m);
  }
  return producer_batch(b, producer, epoch, seq);
}

// A new producer id (InitProducerId v4, idempotent).
std::int64_t new_producer(raw_kafka& c) {
  auto init = call<msg::InitProducerIdResponse>(c, 22, 4, msg::InitProducerIdRequest{std::nullopt, 60000, -1, -1}, true);
  EXPECT_EQ(init.errorCode, 0);
  EXPECT_EQ(init.producerEpoch, 0);
  return init.producerId;
}

// Every record of `topic`/0 below `offset` deleted (DeleteRecords v2): the new log start.
std::int64_t delete_below(raw_kafka& c, const std::string& topic, std::int64_t offset) {
  msg::DeleteRecordsRequest del;
  del.topics.push_back({topic, {{0, offset}}});
  del.timeoutMs = 30000;
  const auto done = call<msg::DeleteRecordsResponse>(c, 21, 2, del, true).topics.at(0).partitions.at(0);
  EXPECT_EQ(done.errorCode, 0);
  return done.lowWatermark;
}

msg::ProduceResponse::TopicProduceResponse::PartitionProduceResponse produce(raw_kafka& c, const std::string& topic,
                                                       std::string records) {
  auto res = call<msg::ProduceResponse>(c, 0, 9, produce_request(topic, 0, std::move(records)), true);
  EXPECT_EQ(res.responses.size(), 1u);
  if (res.responses.empty() || res.responses[0].partitionResponses.empty()) return {};
  return res.responses[0].partitionResponses[0];
}

}  // namespace

TEST(KafkaAdmin, DescribeClusterNamesThisBrokerAsController) {
  broker_fixture f;
  raw_kafka c{f.server->kafka_port()};
  auto res = call<msg::DescribeClusterResponse>(c, 60, 1, msg::DescribeClusterRequest{}, true);
  EXPECT_EQ(res.errorCode, 0);
  EXPECT_EQ(res.clusterId, "portask");
  ASSERT_EQ(res.brokers.size(), 1u);
  EXPECT_EQ(res.brokers[0].host, "127.0.0.1");
  EXPECT_EQ(res.brokers[0].port, f.server->kafka_port());
  EXPECT_EQ(res.controllerId, res.brokers[0].brokerId);
  msg::DescribeClusterRequest controllers;
  controllers.endpointType = 2;
  EXPECT_EQ(call<msg::DescribeClusterResponse>(c, 60, 1, controllers, true).errorCode, 114)
      << "MISMATCHED_ENDPOINT_TYPE: a broker is asked for controllers";
  controllers.endpointType = 7;
  EXPECT_EQ(call<msg::DescribeClusterResponse>(c, 60, 1, controllers, true).errorCode, 115)
      << "UNSUPPORTED_ENDPOINT_TYPE";
}

// Wherever the broker writes its Kafka address with the port, an IPv6 host is in brackets, as
// Kafka writes it, so the port stays apart: advertised.listeners, and a single node's
// /api/cluster.
TEST(KafkaAdmin, AnIpv6AdvertisedHostIsBracketedBeforeItsPort) {
  broker_config overrides;
  overrides.kafka_advertised_host = "::1";
  broker_fixture f{false, overrides};
  const auto port = std::to_string(f.server->kafka_port());
  raw_kafka c{f.server->kafka_port()};
  msg::DescribeConfigsRequest req;
  req.resources.push_back({4, "0", std::vector<std::string>{"advertised.listeners"}});
  const auto res = call<msg::DescribeConfigsResponse>(c, 32, 4, req, true);
  ASSERT_EQ(res.results.size(), 1u);
  ASSERT_EQ(res.results[0].configs.size(), 1u);
  EXPECT_EQ(res.results[0].configs[0].value, "PLAINTEXT://[::1]:" + port);
  const auto [status, body] = http_exchange(
      f.server->http_port(), "GET /api/cluster HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(status, 200) << body;
  EXPECT_NE(body.find("\"PLAINTEXT\":\"[::1]:" + port + "\""), std::string::npos) << body;
}

TEST(KafkaAdmin, DescribeConfigsOfATopicAndOfTheBroker) {
  broker_fixture f;
  raw_kafka c{f.server->kafka_port()};
  msg::CreateTopicsRequest create;
  // Read as Kafka reads it, and stored and described as Kafka writes it back.
  create.topics.push_back({"cfg", 2, 1, {}, {{"retention.ms", std::string(" +60000 ")}}});
  ASSERT_EQ(call<msg::CreateTopicsResponse>(c, 19, 4, create, false).topics.at(0).errorCode, 0);

  msg::DescribeConfigsRequest req;
  req.resources.push_back({2, "cfg", std::nullopt});
  req.resources.push_back({2, "cfg", std::vector<std::string>{"max.message.bytes"}});
  req.resources.push_back({2, "missing", std::nullopt});
  req.resources.push_back({4, "0", std::vector<std::string>{"auto.create.topics.enable"}});
  req.resources.push_back({2, "a b", std::nullopt});
  for (std::int16_t v : {1, 4}) {
    auto res = call<msg::DescribeConfigsResponse>(c, 32, v, req, v >= 4);
    ASSERT_EQ(res.results.size(), 5u);
    EXPECT_EQ(res.results[4].errorCode, 17) << "INVALID_TOPIC_EXCEPTION: no topic can have the name";
    const auto& all = res.results[0];
    EXPECT_EQ(all.errorCode, 0);
    std::map<std::string, std::string> values;
    for (const auto& e : all.configs) values[e.name] = e.value.value_or("<null>");
    EXPECT_EQ(values["retention.ms"], "60000") << "the topic's own setting wins";
    EXPECT_EQ(values["retention.bytes"], "-1") << "the broker's log_retention_bytes";
    for (const auto& e : all.configs) {
      if (e.name == "retention.ms") {
        EXPECT_EQ(e.configSource, 1) << "DYNAMIC_TOPIC_CONFIG";
      }
      if (e.name == "retention.bytes") {
        EXPECT_EQ(e.configSource, 5) << "DEFAULT_CONFIG";
      }
      if (e.name == "retention.ms" && v >= 3) {
        EXPECT_EQ(e.configType, 5) << "LONG";
      }
      EXPECT_FALSE(e.readOnly) << e.name << ": topic configs can be altered";
    }
    EXPECT_EQ(values["cleanup.policy"], "delete");
    EXPECT_EQ(values["max.message.bytes"], std::to_string(16u << 20));
    // Every key a topic accepts is reported once, with Kafka's default where nothing decides
    // otherwise, so a client asking for any key it may set gets an answer.
    EXPECT_EQ(all.configs.size(), topic_config_specs().size());
    for (const auto& spec : topic_config_specs())
      EXPECT_EQ(values.count(std::string(spec.name)), 1u) << spec.name;
    EXPECT_EQ(values["delete.retention.ms"], "86400000");
    EXPECT_EQ(values["min.cleanable.dirty.ratio"], "0.5");
    for (const auto& e : all.configs) {
      if (e.name == "min.cleanable.dirty.ratio" && v >= 3) {
        EXPECT_EQ(e.configType, 6) << "DOUBLE";
      }
      if (e.name == "delete.retention.ms") {
        EXPECT_EQ(e.configSource, 5) << "DEFAULT_CONFIG";
      }
    }
    ASSERT_EQ(res.results[1].configs.size(), 1u) << "only the keys asked for";
    EXPECT_EQ(res.results[1].configs[0].name, "max.message.bytes");
    EXPECT_EQ(res.results[2].errorCode, 3) << "UNKNOWN_TOPIC_OR_PARTITION";
    ASSERT_EQ(res.results[3].configs.size(), 1u);
    EXPECT_EQ(res.results[3].configs[0].value, "true");
    for (const auto& r : res.results)
      for (const auto& e : r.configs) {
        if (v >= 3) {
          EXPECT_FALSE(e.documentation) << e.name << ": not asked for";
        }
      }
  }
  // The default broker (""): Kafka answers the cluster-wide dynamic defaults only, never a
  // broker's static configs; Portask has none, and lists nothing, without an error.
  msg::DescribeConfigsRequest defaults;
  defaults.resources.push_back({4, "", std::nullopt});
  for (std::int16_t v : {0, 4}) {
    const auto described = call<msg::DescribeConfigsResponse>(c, 32, v, defaults, v >= 4).results.at(0);
    EXPECT_EQ(described.errorCode, 0) << "v" << v;
    EXPECT_TRUE(described.configs.empty()) << "v" << v << ": " << described.configs.size() << " configs";
  }

  // Asked for (v3+), every config reported, topic's and broker's, comes with what it means
  // and what Portask does with it.
  req.includeDocumentation = true;
  req.resources = {{2, "cfg", std::nullopt}, {4, "0", std::nullopt}};
  auto documented = call<msg::DescribeConfigsResponse>(c, 32, 4, req, true);
  ASSERT_EQ(documented.results.size(), 2u);
  std::map<std::string, std::string> docs;
  for (const auto& r : documented.results) {
    EXPECT_FALSE(r.configs.empty());
    for (const auto& e : r.configs) {
      EXPECT_TRUE(e.documentation && !e.documentation->empty()) << e.name;
      docs[e.name] = e.documentation.value_or("");
    }
  }
  EXPECT_NE(docs["segment.ms"].find("not acted on"), std::string::npos) << docs["segment.ms"];
  EXPECT_NE(docs["cleanup.policy"].find("newest record of each key"), std::string::npos);
  EXPECT_EQ(docs["min.compaction.lag.ms"].find("not acted on"), std::string::npos);
  EXPECT_NE(docs["num.partitions"].find("default_partitions"), std::string::npos);

  // Synonyms (v1+), as Kafka lists them for a topic: the override, then the broker config
  // whose per-topic form it is (the broker's setting where it decides, then its default).
  req.includeDocumentation = false;
  req.includeSynonyms = true;
  req.resources = {{2, "cfg", std::nullopt}};
  auto chained = call<msg::DescribeConfigsResponse>(c, 32, 1, req, false);
  ASSERT_EQ(chained.results.size(), 1u);
  std::map<std::string, std::vector<std::tuple<std::string, std::string, int>>> synonyms;
  for (const auto& e : chained.results[0].configs) {
    for (const auto& s : e.synonyms)
      synonyms[e.name].emplace_back(s.name, s.value.value_or("<null>"), s.source);
    // Every topic key has a broker form here but those Kafka has none for (as in Kafka, they
    // are listed without synonyms); the first synonym is where the value came from.
    if (e.name == "remote.storage.enable" || e.name == "leader.replication.throttled.replicas" ||
        e.name == "follower.replication.throttled.replicas") {
      EXPECT_TRUE(e.synonyms.empty()) << e.name;
      continue;
    }
    ASSERT_FALSE(e.synonyms.empty()) << e.name;
    EXPECT_EQ(e.synonyms.front().source, e.configSource) << e.name;
    EXPECT_EQ(e.synonyms.front().value, e.value) << e.name;
  }
  using chain = std::vector<std::tuple<std::string, std::string, int>>;
  EXPECT_EQ(synonyms["retention.ms"],
            (chain{{"retention.ms", "60000", 1}, {"log.retention.ms", "604800000", 5}}));
  EXPECT_EQ(synonyms["cleanup.policy"], (chain{{"log.cleanup.policy", "delete", 5}}));
  EXPECT_EQ(synonyms["max.message.bytes"],
            (chain{{"message.max.bytes", std::to_string(16u << 20), 4}}));
  EXPECT_EQ(synonyms["delete.retention.ms"], (chain{{"log.cleaner.delete.retention.ms", "86400000", 5}}));

  // A key given twice at creation keeps its last value, as in Kafka (only that one is
  // checked), and is listed once; retention and DescribeConfigs read the same one.
  msg::CreateTopicsRequest twice;
  twice.topics.push_back({"twice", 1, 1, {},
                          {{"retention.ms", std::string("soon")}, {"retention.ms", std::string("60000")}}});
  // From v5 the answer carries the created topic's configs as DescribeConfigs lists them.
  const auto made = call<msg::CreateTopicsResponse>(c, 19, 7, twice, true).topics.at(0);
  ASSERT_EQ(made.errorCode, 0);
  ASSERT_TRUE(made.configs);
  EXPECT_EQ(made.configs->size(), topic_config_specs().size());
  std::map<std::string, std::pair<std::string, int>> created;
  for (const auto& e : *made.configs) created[e.name] = {e.value.value_or("<null>"), e.configSource};
  EXPECT_EQ(created["retention.ms"], (std::pair<std::string, int>{"60000", 1})) << "the last value, DYNAMIC_TOPIC_CONFIG";
  EXPECT_EQ(created["retention.bytes"], (std::pair<std::string, int>{"-1", 5})) << "the broker's default";
  EXPECT_EQ(created["cleanup.policy"], (std::pair<std::string, int>{"delete", 5}));
  EXPECT_TRUE(std::is_sorted(made.configs->begin(), made.configs->end(),
                             [](const auto& a, const auto& b) { return a.name < b.name; }))
      << "by name, as Kafka answers";
  // validateOnly answers them too; a creation refused (the name is taken) answers none.
  auto probe = twice;
  probe.validateOnly = true;
  probe.topics[0].name = "probe";
  const auto validated = call<msg::CreateTopicsResponse>(c, 19, 7, probe, true).topics.at(0);
  EXPECT_EQ(validated.errorCode, 0);
  EXPECT_EQ(validated.configs.value_or(std::vector<msg::CreateTopicsResponse::CreatableTopicResult::CreatableTopicConfigs>{}).size(),
            topic_config_specs().size());
  const auto again = call<msg::CreateTopicsResponse>(c, 19, 7, twice, true).topics.at(0);
  EXPECT_EQ(again.errorCode, 36);
  EXPECT_TRUE(!again.configs || again.configs->empty());
  req.includeDocumentation = false;
  req.resources = {{2, "twice", std::vector<std::string>{"retention.ms"}}};
  const auto once = call<msg::DescribeConfigsResponse>(c, 32, 4, req, true).results.at(0).configs;
  ASSERT_EQ(once.size(), 1u);
  EXPECT_EQ(once[0].value, "60000");
  EXPECT_EQ(once[0].configSource, 1) << "DYNAMIC_TOPIC_CONFIG";
}

// The topic configs Kafka 3.x added or kept for tiered storage, replication throttling and
// the old message format: created with, reported by DescribeConfigs (Kafka's defaults where
// not set), and refused where Portask could not do what they ask (remote storage).
TEST(KafkaAdmin, KafkaThreeTopicConfigsAreTakenReportedAndRemoteStorageIsRefused) {
  broker_fixture f;
  raw_kafka c{f.server->kafka_port()};
  msg::CreateTopicsRequest create;
  create.topics.push_back({"tiers", 1, 1, {},
                           {{"local.retention.ms", std::string("60000")},
                            {"leader.replication.throttled.replicas", std::string("0:0")},
                            {"follower.replication.throttled.replicas", std::string("*")},
                            {"message.format.version", std::string("2.8")},
                            {"remote.storage.enable", std::string("false")}}});
  const auto made = call<msg::CreateTopicsResponse>(c, 19, 7, create, true).topics.at(0);
  ASSERT_EQ(made.errorCode, 0) << made.errorMessage.value_or("");

  msg::DescribeConfigsRequest req;
  req.resources.push_back({2, "tiers", std::nullopt});
  const auto described = call<msg::DescribeConfigsResponse>(c, 32, 4, req, true).results.at(0);
  ASSERT_EQ(described.errorCode, 0);
  std::map<std::string, std::pair<std::string, int>> values;
  for (const auto& e : described.configs) values[e.name] = {e.value.value_or("<null>"), e.configSource};
  using value = std::pair<std::string, int>;
  EXPECT_EQ(values["local.retention.ms"], (value{"60000", 1})) << "DYNAMIC_TOPIC_CONFIG";
  EXPECT_EQ(values["local.retention.bytes"], (value{"-2", 5})) << "Kafka's default, DEFAULT_CONFIG";
  EXPECT_EQ(values["leader.replication.throttled.replicas"], (value{"0:0", 1}));
  EXPECT_EQ(values["follower.replication.throttled.replicas"], (value{"*", 1}));
  EXPECT_EQ(values["message.format.version"], (value{"2.8", 1}));
  EXPECT_EQ(values["remote.storage.enable"], (value{"false", 1}));

  // Tiered storage asked for: INVALID_CONFIG naming why, and no topic.
  msg::CreateTopicsRequest tiered;
  tiered.topics.push_back({"tiered", 1, 1, {}, {{"remote.storage.enable", std::string("true")}}});
  const auto refused = call<msg::CreateTopicsResponse>(c, 19, 7, tiered, true).topics.at(0);
  EXPECT_EQ(refused.errorCode, 40) << "INVALID_CONFIG";
  EXPECT_NE(refused.errorMessage.value_or("").find("no tiered storage"), std::string::npos)
      << refused.errorMessage.value_or("");
  req.resources = {{2, "tiered", std::nullopt}};
  EXPECT_EQ(call<msg::DescribeConfigsResponse>(c, 32, 4, req, true).results.at(0).errorCode, 3)
      << "UNKNOWN_TOPIC_OR_PARTITION: not created";
  // Values outside Kafka's rules for the others are refused too.
  for (const auto& [key, bad] : std::vector<std::pair<std::string, std::string>>{
           {"leader.replication.throttled.replicas", "*,0:1"},
           {"local.retention.bytes", "-3"},
           {"message.format.version", "3.0-IV9"}}) {
    msg::CreateTopicsRequest wrong;
    wrong.topics.push_back({"wrong", 1, 1, {}, {{key, bad}}});
    const auto answer = call<msg::CreateTopicsResponse>(c, 19, 7, wrong, true).topics.at(0);
    EXPECT_EQ(answer.errorCode, 40) << key << "=" << bad;
  }
}

// KIP-412: the broker's loggers as the BROKER_LOGGER resource (8), the ones /api/loggers
// shows: listed with their levels by Kafka's names, SET and DELETEd by
// IncrementalAlterConfigs, every bad change refused before any applies.
TEST(KafkaAdmin, BrokerLoggersAreDescribedAndTheirLevelsChangedByIncrementalAlterConfigs) {
  broker_fixture f;
  raw_kafka c{f.server->kafka_port()};
  auto& kafka_logger = *logging::named("portask.kafka");
  const auto before = kafka_logger.level();
  const auto http_before = logging::named("portask.http")->level();
  auto describe = [&](const std::string& broker) {
    msg::DescribeConfigsRequest req;
    req.resources.push_back({8, broker, std::nullopt});
    return call<msg::DescribeConfigsResponse>(c, 32, 4, req, true).results.at(0);
  };
  auto levels = [&] {
    std::map<std::string, std::string> out;
    for (const auto& e : describe("0").configs) out[e.name] = e.value.value_or("<null>");
    return out;
  };
  auto alter = [&](std::vector<msg::IncrementalAlterConfigsRequest::AlterConfigsResource::AlterableConfig> changes,
                   bool validate_only = false, const std::string& broker = "0") {
    msg::IncrementalAlterConfigsRequest req;
    req.validateOnly = validate_only;
    req.resources.push_back({8, broker, std::move(changes)});
    return call<msg::IncrementalAlterConfigsResponse>(c, 44, 1, req, true).responses.at(0);
  };
  const auto listed = levels();
  EXPECT_EQ(listed.size(), logging::modules.size());
  for (auto m : logging::modules) EXPECT_EQ(listed.count(std::string(m)), 1u) << m;
  for (const auto& e : describe("0").configs) {
    EXPECT_EQ(e.configSource, 6) << "DYNAMIC_BROKER_LOGGER_CONFIG";
    EXPECT_FALSE(e.readOnly);
  }
  EXPECT_EQ(describe("").errorCode, 42);
  EXPECT_EQ(describe("7").errorCode, 42) << "another broker's loggers";

  auto r = alter({{"portask.kafka", 0, std::string("TRACE")}, {"portask.http", 0, std::string("ERROR")}});
  EXPECT_EQ(r.errorCode, 0) << r.errorMessage.value_or("");
  EXPECT_EQ(levels()["portask.kafka"], "TRACE");
  EXPECT_EQ(levels()["portask.http"], "ERROR");
  EXPECT_EQ(kafka_logger.level(), spdlog::level::trace) << "the logger itself, not a copy";
  // Refused, and nothing applied: the good change in the same resource stays undone.
  for (const auto& [changes, code] :
       std::vector<std::pair<std::vector<msg::IncrementalAlterConfigsRequest::AlterConfigsResource::AlterableConfig>, int>>{
           {{{"portask.http", 0, std::string("DEBUG")}, {"portask.nope", 0, std::string("DEBUG")}}, 40},
           {{{"portask.http", 0, std::string("DEBUG")}, {"portask.kafka", 0, std::string("LOUD")}}, 40},
           {{{"portask.http", 0, std::string("DEBUG")}, {"portask.kafka", 0, std::nullopt}}, 42},
           {{{"portask.http", 0, std::string("DEBUG")}, {"portask.kafka", 2, std::string("DEBUG")}}, 42},
           {{{"portask.http", 0, std::string("DEBUG")}, {"portask.http", 0, std::string("INFO")}}, 42}}) {
    auto refused = alter(changes);
    EXPECT_EQ(refused.errorCode, code) << refused.errorMessage.value_or("");
    EXPECT_TRUE(refused.errorMessage.has_value());
  }
  EXPECT_EQ(levels()["portask.http"], "ERROR");
  EXPECT_EQ(alter({{"portask.http", 0, std::string("DEBUG")}}, true).errorCode, 0);
  EXPECT_EQ(levels()["portask.http"], "ERROR") << "validateOnly changes nothing";
  EXPECT_EQ(alter({{"portask.http", 0, std::string("DEBUG")}}, false, "7").errorCode, 42);
  // AlterConfigs does not take loggers, as in Kafka.
  msg::AlterConfigsRequest whole;
  whole.resources.push_back({8, "0", {{"portask.http", std::string("DEBUG")}}});
  EXPECT_EQ(call<msg::AlterConfigsResponse>(c, 33, 2, whole, true).responses.at(0).errorCode, 42);
  // DELETE: back to the broker's level.
  r = alter({{"portask.kafka", 1, std::nullopt}, {"portask.http", 1, std::nullopt}});
  EXPECT_EQ(r.errorCode, 0) << r.errorMessage.value_or("");
  EXPECT_EQ(kafka_logger.level(), spdlog::default_logger()->level());
  EXPECT_EQ(logging::named("portask.http")->level(), spdlog::default_logger()->level());
  kafka_logger.set_level(before);
  logging::named("portask.http")->set_level(http_before);
}

TEST(KafkaAdmin, CreatePartitionsGrowsATopicAndRefusesShrinking) {
  broker_fixture f;
  raw_kafka c{f.server->kafka_port()};
  auto native = f.connect();
  must(native.create_topic("grow", 2));
  msg::CreatePartitionsRequest req;
  req.timeoutMs = 30000;
  req.topics.push_back({"grow", 5, std::nullopt});
  req.topics.push_back({"missing", 3, std::nullopt});
  auto res = call<msg::CreatePartitionsResponse>(c, 37, 3, req, true);
  ASSERT_EQ(res.results.size(), 2u);
  EXPECT_EQ(res.results[0].errorCode, 0);
  EXPECT_EQ(res.results[1].errorCode, 3);
  EXPECT_EQ(must(native.describe_topic("grow")).partitions, 5);
  // Partition 4 now takes records.
  auto p = call<msg::ProduceResponse>(c, 0, 7, produce_request("grow", 4, record_batch_bytes("v", 2, kafka::compression_type::none)), false);
  EXPECT_EQ(p.responses.at(0).partitionResponses.at(0).errorCode, 0);
  req.topics = {{"grow", 3, std::nullopt}};
  res = call<msg::CreatePartitionsResponse>(c, 37, 1, req, false);
  EXPECT_EQ(res.results.at(0).errorCode, 37) << "INVALID_PARTITIONS";
  req.topics = {{"grow", 10001, std::nullopt}};
  res = call<msg::CreatePartitionsResponse>(c, 37, 1, req, false);
  EXPECT_EQ(res.results.at(0).errorCode, 37) << "INVALID_PARTITIONS: above the limit";
  EXPECT_NE(res.results.at(0).errorMessage.value_or("").find("at most 10000"), std::string::npos);
  req.topics = {{"grow", 9, std::nullopt}};
  req.validateOnly = true;
  res = call<msg::CreatePartitionsResponse>(c, 37, 1, req, false);
  EXPECT_EQ(res.results.at(0).errorCode, 0);
  EXPECT_EQ(must(native.describe_topic("grow")).partitions, 5) << "validateOnly changes nothing";
  // A topic named twice: both refused, the topic does not grow (Kafka's rule); the broker's
  // own topic is refused, validateOnly or not.
  req.validateOnly = false;
  req.topics = {{"grow", 6, std::nullopt}, {"grow", 8, std::nullopt}};
  res = call<msg::CreatePartitionsResponse>(c, 37, 1, req, false);
  ASSERT_EQ(res.results.size(), 2u);
  for (const auto& result : res.results) {
    EXPECT_EQ(result.errorCode, 42) << "INVALID_REQUEST";
    EXPECT_EQ(result.errorMessage.value_or(""), "Duplicate topic in request.");
  }
  EXPECT_EQ(must(native.describe_topic("grow")).partitions, 5);
  // Before the first commit creates it, it does not exist, as Metadata says then.
  for (bool validate_only : {true, false}) {
    req.validateOnly = validate_only;
    req.topics = {{"__consumer_offsets", 60, std::nullopt}};
    res = call<msg::CreatePartitionsResponse>(c, 37, 1, req, false);
    EXPECT_EQ(res.results.at(0).errorCode, 3) << "UNKNOWN_TOPIC_OR_PARTITION, validateOnly " << validate_only;
    EXPECT_EQ(res.results.at(0).errorMessage.value_or(""), "The topic '__consumer_offsets' does not exist.");
  }
  msg::MetadataRequest make_internal;  // v1 may auto-create it, as a group's first commit does
  make_internal.topics =
      std::vector<msg::MetadataRequest::MetadataRequestTopic>{{{}, std::string("__consumer_offsets")}};
  ASSERT_EQ(call<msg::MetadataResponse>(c, 3, 1, make_internal, false).topics.at(0).errorCode, 0);
  for (bool validate_only : {true, false}) {
    req.validateOnly = validate_only;
    req.topics = {{"__consumer_offsets", 60, std::nullopt}};
    res = call<msg::CreatePartitionsResponse>(c, 37, 1, req, false);
    EXPECT_EQ(res.results.at(0).errorCode, 42) << "validateOnly " << validate_only;
    EXPECT_NE(res.results.at(0).errorMessage.value_or("").find("internal"), std::string::npos);
  }

  // Explicit assignments, checked as Kafka checks them: one per new partition, each on this
  // broker (0) once.
  using assignment = msg::CreatePartitionsRequest::CreatePartitionsTopic::CreatePartitionsAssignment;
  auto grow_with = [&](std::vector<assignment> a, bool validate) {
    msg::CreatePartitionsRequest r;
    r.timeoutMs = 30000;
    r.validateOnly = validate;
    r.topics.push_back({"grow", 7, std::move(a)});
    return call<msg::CreatePartitionsResponse>(c, 37, 3, r, true).results.at(0);
  };
  auto refused = grow_with({{{0}}}, true);
  EXPECT_EQ(refused.errorCode, 39) << "INVALID_REPLICA_ASSIGNMENT: one assignment for two partitions";
  EXPECT_EQ(refused.errorMessage.value_or(""),
            "Attempted to add 2 additional partition(s), but only 1 assignment(s) were specified.");
  // An empty list is not a null one: no assignment for the two new partitions, as in Kafka.
  for (bool validate : {true, false}) {
    auto none = grow_with({}, validate);
    EXPECT_EQ(none.errorCode, 39) << "validateOnly " << validate;
    EXPECT_EQ(none.errorMessage.value_or(""),
              "Attempted to add 2 additional partition(s), but only 0 assignment(s) were specified.");
  }
  // Kafka's sentences, the ones CreateTopics gives for the same assignment.
  const auto unknown_broker = grow_with({{{0}}, {{7}}}, false);
  EXPECT_EQ(unknown_broker.errorCode, 39) << "an unknown broker";
  EXPECT_EQ(unknown_broker.errorMessage.value_or(""),
            "The manual partition assignment includes broker 7, but no such broker is registered.");
  const auto twice = grow_with({{{0}}, {{0, 0}}}, false);
  EXPECT_EQ(twice.errorCode, 39) << "two replicas";
  EXPECT_EQ(twice.errorMessage.value_or(""),
            "The manual partition assignment includes the broker 0 more than once.");
  EXPECT_EQ(grow_with({{{0}}, {{}}}, false).errorMessage.value_or(""),
            "The manual partition assignment includes an empty replica list.");
  EXPECT_EQ(must(native.describe_topic("grow")).partitions, 5) << "nothing refused was applied";
  EXPECT_EQ(grow_with({{{0}}, {{0}}}, true).errorCode, 0);
  EXPECT_EQ(must(native.describe_topic("grow")).partitions, 5);
  EXPECT_EQ(grow_with({{{0}}, {{0}}}, false).errorCode, 0);
  EXPECT_EQ(must(native.describe_topic("grow")).partitions, 7);
}

// What kafka-python and confluent-kafka show people as the exception's text: a sentence
// naming the topic, never an internal error's name ("portask:unknown_topic").
TEST(KafkaAdmin, AdminErrorMessagesAreSentencesNamingTheTopic) {
  broker_fixture f;
  raw_kafka c{f.server->kafka_port()};
  auto native = f.connect();
  must(native.create_topic("five", 5));
  // `topic`: the name the text must hold; empty where Kafka's own sentence has none.
  auto readable = [](const std::optional<std::string>& message, const std::string& topic) {
    const auto text = message.value_or("");
    EXPECT_NE(text.find(topic), std::string::npos) << text;
    EXPECT_EQ(text.find("portask:"), std::string::npos) << text;
    EXPECT_EQ(text.find("caf:"), std::string::npos) << text;
    return text;
  };
  auto grow = [&](const std::string& topic, std::int32_t count, bool validate_only) {
    msg::CreatePartitionsRequest req;
    req.timeoutMs = 30000;
    req.validateOnly = validate_only;
    req.topics.push_back({topic, count, std::nullopt});
    return call<msg::CreatePartitionsResponse>(c, 37, 3, req, true).results.at(0);
  };
  // A count not larger: the same answer whether the growth is only validated or not, with
  // the topic's count in it; Kafka's sentence for an equal count does not name the topic.
  for (std::int32_t count : {2, 5}) {
    std::map<bool, std::string> said;
    for (bool validate_only : {true, false}) {
      const auto refused = grow("five", count, validate_only);
      EXPECT_EQ(refused.errorCode, 37) << "INVALID_PARTITIONS, validateOnly " << validate_only;
      said[validate_only] = readable(refused.errorMessage, count < 5 ? "five" : "");
      EXPECT_NE(said[validate_only].find("has 5 partition(s)"), std::string::npos) << said[validate_only];
    }
    EXPECT_EQ(said[true], said[false]) << "count " << count;
  }
  EXPECT_EQ(must(native.describe_topic("five")).partitions, 5);
  for (bool validate_only : {true, false}) {
    const auto unknown = grow("nope", 3, validate_only);
    EXPECT_EQ(unknown.errorCode, 3) << "UNKNOWN_TOPIC_OR_PARTITION, validateOnly " << validate_only;
    EXPECT_EQ(readable(unknown.errorMessage, "nope"), "The topic 'nope' does not exist.");
  }

  msg::DescribeConfigsRequest describe;
  describe.resources.push_back({2, "nope", std::nullopt});
  const auto described = call<msg::DescribeConfigsResponse>(c, 32, 4, describe, true).results.at(0);
  EXPECT_EQ(described.errorCode, 3) << "UNKNOWN_TOPIC_OR_PARTITION";
  EXPECT_EQ(readable(described.errorMessage, "nope"), "The topic 'nope' does not exist.");

  msg::AlterConfigsRequest alter;
  alter.resources.push_back({2, "nope", {{"retention.ms", std::string("60000")}}});
  const auto altered = call<msg::AlterConfigsResponse>(c, 33, 2, alter, true).responses.at(0);
  EXPECT_EQ(altered.errorCode, 3) << "UNKNOWN_TOPIC_OR_PARTITION";
  EXPECT_EQ(readable(altered.errorMessage, "nope"), "The topic 'nope' does not exist.");
}

TEST(KafkaAdmin, ListOffsetsByTimestamp) {
  broker_config cfg;
  cfg.log_retention_ms = -1;  // records stamped in 1970, kept however long the test runs
  broker_fixture f{false, cfg};
  raw_kafka c{f.server->kafka_port()};
  // Three batches of 4 records: timestamps 1000..1030, 2000..2030, 3000..3030.
  for (int b = 0; b < 3; ++b)
    ASSERT_EQ(produce(c, "times", idempotent_batch(-1, -1, -1, 4, 1000 * (b + 1))).errorCode, 0);
  auto lookup = [&](std::int64_t ts, std::int16_t version = 7) {
    msg::ListOffsetsRequest req;
    req.replicaId = -1;
    req.topics.push_back({"times", {{0, -1, ts, 1}}});
    auto res = call<msg::ListOffsetsResponse>(c, 2, version, req, version >= 6);
    return res.topics.at(0).partitions.at(0);
  };
  EXPECT_EQ(lookup(0).offset, 0);
  EXPECT_EQ(lookup(1000).offset, 0);
  EXPECT_EQ(lookup(1001).offset, 1);
  EXPECT_EQ(lookup(2015).offset, 6);
  EXPECT_EQ(lookup(2015).timestamp, 2020);
  EXPECT_EQ(lookup(3030).offset, 11);
  EXPECT_EQ(lookup(3031).offset, -1) << "after every record: -1";
  EXPECT_EQ(lookup(-3).offset, 11) << "v7: the record with the largest timestamp";
  EXPECT_EQ(lookup(-3).timestamp, 3030);
  EXPECT_EQ(lookup(-1, 1).offset, 12);
  EXPECT_EQ(lookup(-2, 1).offset, 0);
  EXPECT_EQ(lookup(-3, 6).errorCode, 42) << "-3 needs v7";
  // Kafka's tiered sentinels, as its broker answers them for a topic without remote storage
  // and whatever the version: -4 the log start, -5 nothing tiered. Any other negative is a
  // timestamp, which every record is stamped at or after.
  for (std::int16_t version : {1, 7}) {
    EXPECT_EQ(lookup(-4, version).errorCode, 0) << "v" << version;
    EXPECT_EQ(lookup(-4, version).offset, 0) << "v" << version;
    EXPECT_EQ(lookup(-5, version).errorCode, 0) << "v" << version;
    EXPECT_EQ(lookup(-5, version).offset, -1) << "v" << version;
  }
  EXPECT_EQ(lookup(-5).leaderEpoch, -1);
  EXPECT_EQ(lookup(-10).errorCode, 0);
  EXPECT_EQ(lookup(-10).offset, 0);
  EXPECT_EQ(lookup(-10).timestamp, 1000);

  // Records deleted up to the middle of the second batch: an answer is never below the log
  // start, although a read returns that batch whole.
  msg::DeleteRecordsRequest del;
  del.topics.push_back({"times", {{0, 6}}});
  del.timeoutMs = 30000;
  auto deleted = call<msg::DeleteRecordsResponse>(c, 21, 2, del, true);
  ASSERT_EQ(deleted.topics.at(0).partitions.at(0).errorCode, 0);
  ASSERT_EQ(deleted.topics.at(0).partitions.at(0).lowWatermark, 6);
  EXPECT_EQ(lookup(0).offset, 6);
  EXPECT_EQ(lookup(2000).offset, 6) << "offset 4 is stamped 2000 but deleted";
  EXPECT_EQ(lookup(2025).offset, 7);
  EXPECT_EQ(lookup(-2, 1).offset, 6);
  EXPECT_EQ(lookup(-4).offset, 6);
  EXPECT_EQ(lookup(-10).offset, 6);
  EXPECT_EQ(lookup(-10).timestamp, 2020);
}

TEST(KafkaAdmin, DeleteRecordsOfACompactOnlyTopicIsAPolicyViolation) {
  broker_fixture f;
  auto native = f.connect();
  must(native.create_topic("compacted", 1, {{"cleanup.policy", "compact"}}));
  raw_kafka c{f.server->kafka_port()};
  auto delete_below = [&](std::int64_t offset) {
    msg::DeleteRecordsRequest del;
    del.topics.push_back({"compacted", {{0, offset}}});
    del.timeoutMs = 30000;
    return call<msg::DeleteRecordsResponse>(c, 21, 2, del, true).topics.at(0).partitions.at(0);
  };
  auto refused = delete_below(-1);
  EXPECT_EQ(refused.errorCode, 44) << "POLICY_VIOLATION, as Kafka answers for cleanup.policy=compact";
  EXPECT_EQ(refused.lowWatermark, -1);
  must(native.alter_topic_config("compacted", {{"cleanup.policy", "delete,compact"}}));
  auto done = delete_below(-1);
  EXPECT_EQ(done.errorCode, 0);
  EXPECT_EQ(done.lowWatermark, 0);
  // A timeout of zero or less asks only that the deletion be made: it is answered with its
  // outcome, as by the other admin requests, not REQUEST_TIMED_OUT.
  for (std::int32_t timeout : {0, -1}) {
    msg::DeleteRecordsRequest del;
    del.topics.push_back({"compacted", {{0, -1}}});
    del.timeoutMs = timeout;
    auto now = call<msg::DeleteRecordsResponse>(c, 21, 2, del, true).topics.at(0).partitions.at(0);
    EXPECT_EQ(now.errorCode, 0) << "timeoutMs " << timeout;
    EXPECT_EQ(now.lowWatermark, 0);
  }
}

TEST(KafkaAdmin, IdempotentProducerDuplicatesAndGaps) {
  broker_fixture f;
  raw_kafka c{f.server->kafka_port()};
  auto init = call<msg::InitProducerIdResponse>(c, 22, 4, msg::InitProducerIdRequest{std::nullopt, 60000, -1, -1}, true);
  ASSERT_EQ(init.errorCode, 0);
  ASSERT_GE(init.producerId, 0);
  EXPECT_EQ(init.producerEpoch, 0);
  const auto pid = init.producerId;

  auto first = produce(c, "idem", idempotent_batch(pid, 0, 0, 3));
  ASSERT_EQ(first.errorCode, 0);
  EXPECT_EQ(first.baseOffset, 0);
  auto second = produce(c, "idem", idempotent_batch(pid, 0, 3, 2));
  ASSERT_EQ(second.errorCode, 0);
  EXPECT_EQ(second.baseOffset, 3);
  // The first batch again (a retry after a lost response): same offsets, no second copy.
  auto again = produce(c, "idem", idempotent_batch(pid, 0, 0, 3));
  EXPECT_EQ(again.errorCode, 0);
  EXPECT_EQ(again.baseOffset, 0);
  // A gap: sequence 7 when 5 is next.
  EXPECT_EQ(produce(c, "idem", idempotent_batch(pid, 0, 7, 1)).errorCode, 45)
      << "OUT_OF_ORDER_SEQUENCE_NUMBER";
  // InitProducerId naming its id and epoch (KIP-360) gets a new id at epoch 0, as from Kafka
  // without a transactional id: no client may take over an id by naming it.
  auto renewed = call<msg::InitProducerIdResponse>(c, 22, 4, msg::InitProducerIdRequest{std::nullopt, 60000, pid, 0}, true);
  EXPECT_EQ(renewed.errorCode, 0);
  EXPECT_NE(renewed.producerId, pid);
  EXPECT_EQ(renewed.producerEpoch, 0);
  EXPECT_EQ(produce(c, "idem", idempotent_batch(renewed.producerId, 0, 0, 1)).baseOffset, 5);
  // A stale epoch of a producer the partition knows is fenced.
  EXPECT_EQ(produce(c, "idem", idempotent_batch(renewed.producerId, 1, 0, 1)).baseOffset, 6);
  EXPECT_EQ(produce(c, "idem", idempotent_batch(renewed.producerId, 0, 1, 1)).errorCode, 47)
      << "INVALID_PRODUCER_EPOCH";

  auto native = f.connect();
  auto stored = must(native.fetch("idem", 0, 0));
  ASSERT_EQ(stored.messages.size(), 7u) << "the duplicate was not stored twice";
  EXPECT_EQ(stored.messages[0].value, "s0");
  EXPECT_EQ(stored.messages[3].value, "s3");
  EXPECT_EQ(f.metrics().messages_in_total(protocol_kind::kafka), 7u)
      << "a duplicate is not counted twice";
  // Transactions are refused plainly.
  auto tx = call<msg::InitProducerIdResponse>(c, 22, 4, msg::InitProducerIdRequest{std::string("tx"), 60000, -1, -1}, true);
  EXPECT_EQ(tx.errorCode, 53);
}

// An idempotent producer's two batches for one partition in one request, which Kafka refuses
// (one batch per partition), are INVALID_RECORD and neither is stored: stored together as one
// frame, the second could not be recognised as a duplicate when sent again alone (the
// producer would hear OUT_OF_ORDER_SEQUENCE_NUMBER, fatal for librdkafka). Each sent alone is
// stored, and sent again is a duplicate.
TEST(KafkaAdmin, AnIdempotentProducersTwoBatchesInOneRequestAreRefusedAndTakenOneByOne) {
  broker_fixture f;
  raw_kafka c{f.server->kafka_port()};
  auto init = call<msg::InitProducerIdResponse>(c, 22, 4, msg::InitProducerIdRequest{std::nullopt, 60000, -1, -1}, true);
  ASSERT_EQ(init.errorCode, 0);
  const auto pid = init.producerId;
  const auto first = idempotent_batch(pid, 0, 0, 2);
  const auto second = idempotent_batch(pid, 0, 2, 2);
  const auto both = produce(c, "idem-pair", first + second);
  EXPECT_EQ(both.errorCode, 87) << "INVALID_RECORD";
  EXPECT_EQ(both.baseOffset, -1);
  const auto alone = produce(c, "idem-pair", first);
  EXPECT_EQ(alone.errorCode, 0);
  EXPECT_EQ(alone.baseOffset, 0) << "nothing of the pair was stored";
  const auto next = produce(c, "idem-pair", second);
  EXPECT_EQ(next.errorCode, 0);
  EXPECT_EQ(next.baseOffset, 2);
  const auto again = produce(c, "idem-pair", second);
  EXPECT_EQ(again.errorCode, 0) << "a duplicate, recognised";
  EXPECT_EQ(again.baseOffset, 2);
  EXPECT_EQ(produce(c, "idem-pair", idempotent_batch(pid, 0, 4, 1)).baseOffset, 4);
  auto native = f.connect();
  EXPECT_EQ(must(native.fetch("idem-pair", 0, 0)).messages.size(), 5u);
}

// DeleteRecords removing every batch of an idempotent producer leaves its state (Kafka keeps
// producer state past the log start until it expires, KIP-360): a resend of its last batch is
// still a duplicate, answered with the log start as it is now, as Kafka answers it, and its
// next batch is taken, after a restart too, while DescribeProducers still lists it. (The
// restart here is a clean stop, which writes the snapshot in any case; that the deletion
// writes it first is Idempotence.AProducerWhoseBatchesWereAllDeletedGoesOnAfterARestart.)
TEST(KafkaAdmin, AProducerWhoseBatchesDeleteRecordsRemovedGoesOnAfterARestart) {
  broker_fixture f{true};
  std::int64_t pid = -1;
  {
    raw_kafka c{f.server->kafka_port()};
    pid = new_producer(c);
    for (std::int32_t seq = 0; seq < 10; ++seq)
      ASSERT_EQ(produce(c, "deleted-under", idempotent_batch(pid, 0, seq, 1)).errorCode, 0);
    EXPECT_EQ(delete_below(c, "deleted-under", -1), 10);
    const auto again = produce(c, "deleted-under", idempotent_batch(pid, 0, 9, 1));
    EXPECT_EQ(again.errorCode, 0);
    EXPECT_EQ(again.baseOffset, 9);
    EXPECT_EQ(again.logStartOffset, 10) << "the log start now, not the one of its first write";
    EXPECT_EQ(produce(c, "deleted-under", idempotent_batch(pid, 0, 10, 1)).baseOffset, 10);
    EXPECT_EQ(delete_below(c, "deleted-under", -1), 11);
  }
  f.server->stop();
  f.server = std::make_unique<portask::broker>(*f.system, f.config);
  ASSERT_FALSE(f.server->start());
  raw_kafka c{f.server->kafka_port()};
  const auto next = produce(c, "deleted-under", idempotent_batch(pid, 0, 11, 1));
  EXPECT_EQ(next.errorCode, 0) << "not UNKNOWN_PRODUCER_ID (59)";
  EXPECT_EQ(next.baseOffset, 11);
  msg::DescribeProducersRequest producers;
  producers.topics.push_back({"deleted-under", {0}});
  const auto described = call<msg::DescribeProducersResponse>(c, 61, 0, producers, true);
  const auto& active = described.topics.at(0).partitions.at(0).activeProducers;
  ASSERT_EQ(active.size(), 1u);
  EXPECT_EQ(active[0].producerId, pid);
  EXPECT_EQ(active[0].lastSequence, 11);
}

// A batch refused for good (MESSAGE_TOO_LARGE; INVALID_RECORD for a record without a key on a
// compacted topic) is not one its producer sends again: its next batch is a gap,
// OUT_OF_ORDER_SEQUENCE_NUMBER, as on Kafka, not LEADER_NOT_AVAILABLE for ever (what the
// batches behind a retriable refusal hear until it is resent).
TEST(KafkaAdmin, AfterABatchRefusedForGoodTheProducersNextBatchIsOutOfOrder) {
  broker_fixture f;
  auto native = f.connect();
  must(native.create_topic("small", 1, {{"max.message.bytes", "300"}}));
  must(native.create_topic("keyed", 1, {{"cleanup.policy", "compact"}}));
  raw_kafka c{f.server->kafka_port()};
  const auto pid = new_producer(c);
  EXPECT_EQ(produce(c, "small", idempotent_batch(pid, 0, 0, 1)).errorCode, 0);
  EXPECT_EQ(produce(c, "small", idempotent_batch(pid, 0, 1, 40)).errorCode, 10) << "MESSAGE_TOO_LARGE";
  EXPECT_EQ(produce(c, "small", idempotent_batch(pid, 0, 2, 1)).errorCode, 45)
      << "OUT_OF_ORDER_SEQUENCE_NUMBER, not LEADER_NOT_AVAILABLE (5)";
  EXPECT_EQ(produce(c, "keyed", idempotent_batch(pid, 0, 0, 1)).errorCode, 0);
  EXPECT_EQ(produce(c, "keyed", idempotent_batch(pid, 0, 1, 1, now_ms(), false)).errorCode, 87)
      << "INVALID_RECORD: no key";
  EXPECT_EQ(produce(c, "keyed", idempotent_batch(pid, 0, 2, 1)).errorCode, 45);
}

// A transactional or a control batch is INVALID_RECORD, and Produce v8+ says why: for a control
// batch, which only a broker writes, in Kafka's words; for a transactional one, that Portask
// has no transactions. Nothing of either is stored.
TEST(KafkaAdmin, TransactionalAndControlBatchesAreRefusedSayingWhy) {
  broker_fixture f;
  raw_kafka c{f.server->kafka_port()};
  const auto pid = new_producer(c);
  protocol::message_batch one;
  one.messages.emplace_back().value = "v";
  const auto txn = produce(c, "no-txn", producer_batch(one, pid, 0, 0, kafka::batch_attributes::transactional));
  EXPECT_EQ(txn.errorCode, 87) << "INVALID_RECORD";
  ASSERT_TRUE(txn.errorMessage);
  EXPECT_NE(txn.errorMessage->find("transactional batches are not supported"), std::string::npos)
      << *txn.errorMessage;
  // A control batch (a transaction marker) is transactional too: named for what it is.
  const auto marker = static_cast<std::int16_t>(kafka::batch_attributes::transactional |
                                                kafka::batch_attributes::control);
  const auto control = produce(c, "no-txn", producer_batch(one, pid, 0, 0, marker));
  EXPECT_EQ(control.errorCode, 87) << "INVALID_RECORD";
  EXPECT_EQ(control.errorMessage.value_or(""),
            "Clients are not allowed to write control records in topic partition no-txn-0");
  EXPECT_EQ(produce(c, "no-txn", idempotent_batch(pid, 0, 0, 1)).baseOffset, 0) << "nothing stored before";
}

// A partition named twice in one Produce is appended once, as named last, and answered once,
// as Kafka keys a request's partitions by topic and partition; the topic named twice has one
// entry in the answer.
TEST(KafkaAdmin, APartitionNamedTwiceInOneProduceIsStoredAndAnsweredOnceAsNamedLast) {
  broker_fixture f;
  auto native = f.connect();
  must(native.create_topic("twice", 2));
  raw_kafka c{f.server->kafka_port()};
  msg::ProduceRequest req;
  req.acks = -1;
  req.timeoutMs = 30000;
  const auto none = kafka::compression_type::none;
  req.topicData.push_back({"twice",
                           {{0, protocol::gather_bytes(record_batch_bytes("first", 1, none))},
                            {1, protocol::gather_bytes(record_batch_bytes("one", 1, none))}}});
  req.topicData.push_back({"twice", {{0, protocol::gather_bytes(record_batch_bytes("last", 2, none))}}});
  const auto res = call<msg::ProduceResponse>(c, 0, 9, req, true);
  ASSERT_EQ(res.responses.size(), 1u) << "one entry for the topic";
  const auto& answered = res.responses[0].partitionResponses;
  ASSERT_EQ(answered.size(), 2u) << "one for each partition";
  for (const auto& p : answered) {
    EXPECT_EQ(p.errorCode, 0) << "partition " << p.index;
    EXPECT_EQ(p.baseOffset, 0) << "partition " << p.index;
  }
  EXPECT_NE(answered[0].index, answered[1].index);
  const auto stored = must(native.fetch("twice", 0, 0)).messages;
  ASSERT_EQ(stored.size(), 2u) << "the last copy alone";
  EXPECT_EQ(stored[0].value, "last0");
  EXPECT_EQ(stored[1].value, "last1");
  EXPECT_EQ(must(native.fetch("twice", 1, 0)).messages.size(), 1u);
}

// InitProducerId is checked as Kafka checks it (KafkaApis, then its transaction coordinator),
// after the authorization: an id named without an epoch or an epoch without an id (v3+), and
// an empty transactional id, are INVALID_REQUEST. Every refusal names no producer: id -1 and
// epoch -1 (NO_PRODUCER_EPOCH), a refused transactional id's too.
TEST(KafkaAdmin, InitProducerIdRefusesWhatKafkaRefusesAndNamesNoProducerThen) {
  broker_fixture f;
  raw_kafka c{f.server->kafka_port()};
  const auto pid = new_producer(c);
  struct asked {
    std::optional<std::string> transactional_id;
    std::int64_t id;
    std::int16_t epoch;
    std::int16_t error;
  };
  for (const auto& a : std::vector<asked>{{std::nullopt, pid, -1, 42},
                                         {std::nullopt, -1, 0, 42},
                                         {std::string(), -1, -1, 42},
                                         {std::string("tx"), -1, -1, 53}}) {
    const auto r = call<msg::InitProducerIdResponse>(
        c, 22, 4, msg::InitProducerIdRequest{a.transactional_id, 60000, a.id, a.epoch}, true);
    const auto what = "transactional id '" + a.transactional_id.value_or("(null)") + "', id " +
                      std::to_string(a.id) + ", epoch " + std::to_string(a.epoch);
    EXPECT_EQ(r.errorCode, a.error) << what;
    EXPECT_EQ(r.producerId, -1) << what;
    EXPECT_EQ(r.producerEpoch, -1) << what;
  }
  // v0-2 name no id and epoch: an empty transactional id is refused there too.
  const auto v1 = call<msg::InitProducerIdResponse>(
      c, 22, 1, msg::InitProducerIdRequest{std::string(), 60000, -1, -1}, false);
  EXPECT_EQ(v1.errorCode, 42);
  // Naming its id and epoch (KIP-360) still gets a new id.
  const auto renewed = call<msg::InitProducerIdResponse>(
      c, 22, 4, msg::InitProducerIdRequest{std::nullopt, 60000, pid, 0}, true);
  EXPECT_EQ(renewed.errorCode, 0);
  EXPECT_NE(renewed.producerId, pid);
}

// Kafka clients always choose the partition: -1 (the native protocol's "broker chooses") or
// any negative index is an unknown partition, and nothing is stored or created.
TEST(KafkaAdmin, ProduceToANegativePartitionIsUnknownTopicOrPartition) {
  broker_fixture f;
  raw_kafka c{f.server->kafka_port()};
  for (std::int32_t index : {-1, -2}) {
    auto res = call<msg::ProduceResponse>(
        c, 0, 9, produce_request("negative", index, idempotent_batch(-1, -1, -1, 2)), true);
    ASSERT_EQ(res.responses.size(), 1u);
    ASSERT_EQ(res.responses[0].partitionResponses.size(), 1u);
    EXPECT_EQ(res.responses[0].partitionResponses[0].index, index);
    EXPECT_EQ(res.responses[0].partitionResponses[0].errorCode, 3) << "UNKNOWN_TOPIC_OR_PARTITION";
  }
  auto native = f.connect();
  for (const auto& t : must(native.list_topics())) EXPECT_NE(t.topic, "negative");
}
