// Kafka requests naming tens of thousands of topics that do not exist: each is answered entry
// by entry, in order, as one naming a few would be, and a client asking about an existing
// topic meanwhile on another connection is answered as usual (such a request once flooded
// the one topic registry with a lookup per name, and every other client's lookups timed out
// behind them).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "actors/pipeline/registry_lookups.hpp"
#include "raw_kafka.hpp"
#include "tests/actors/broker_fixture.hpp"

namespace portask::test {
namespace {

// More than the broker looks up one by one.
constexpr std::size_t lookups_named_alone = registry_lookups_one_by_one;

using requested_topic = msg::MetadataRequest::MetadataRequestTopic;

msg::MetadataRequest metadata_for(std::vector<requested_topic> topics, bool auto_create) {
  msg::MetadataRequest req;
  req.topics = std::move(topics);
  req.allowAutoTopicCreation = auto_create;
  return req;
}

requested_topic named(const std::string& name) {
  requested_topic t;
  t.name = name;
  return t;
}

requested_topic with_id(const storage::topic_id& id) {
  requested_topic t;
  t.topicId = id;
  t.name = std::nullopt;
  return t;
}

std::vector<requested_topic> unknown_topics(int n) {
  std::vector<requested_topic> out;
  out.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) out.push_back(named("unknown-" + std::to_string(i)));
  return out;
}

TEST(ManyTopics, AMetadataNamingThousandsOfUnknownTopicsAnswersEachWhileAnotherClientIsAnswered) {
  broker_config cfg;
  cfg.auto_create_topics_max_per_request = 5;
  broker_fixture f{false, cfg};
  auto admin = f.connect();
  must(admin.create_topic("hot", 1));
  const auto names = unknown_topics(30000);
  raw_kafka storm{f.server->kafka_port()}, innocent{f.server->kafka_port()};
  storm.send(3, 9, 1, metadata_for(names, true), true);
  auto hot = call<msg::MetadataResponse>(innocent, 3, 9, metadata_for({named("hot")}, false), true);
  ASSERT_EQ(hot.topics.size(), 1u);
  EXPECT_EQ(hot.topics[0].name, "hot");
  EXPECT_EQ(hot.topics[0].errorCode, 0);
  EXPECT_EQ(hot.topics[0].partitions.size(), 1u);

  auto big = answer_to<msg::MetadataResponse>(storm, 1, 9, true);
  ASSERT_EQ(big.topics.size(), names.size());
  for (std::size_t i = 0; i < names.size(); ++i) {
    ASSERT_EQ(big.topics[i].name, names[i].name) << i;
    // The request's cap: the first 5 names are created, the rest UNKNOWN_TOPIC_OR_PARTITION.
    ASSERT_EQ(big.topics[i].errorCode, i < 5 ? 0 : 3) << *names[i].name;
  }
  EXPECT_EQ(f.metrics().request_limited_total(request_limit::auto_create_topics), names.size() - 5);
}

TEST(ManyTopics, AMetadataNamingManyTopicsAnswersEachAsRequestsNamingOneWould) {
  broker_config cfg;
  cfg.auto_create_topics = false;
  broker_fixture f{false, cfg};
  auto admin = f.connect();
  must(admin.create_topic("hot", 2));
  must(admin.create_topic("cold", 1));
  raw_kafka k{f.server->kafka_port()};
  auto ids = call<msg::MetadataResponse>(k, 3, 12, metadata_for({named("hot")}, false), true);
  ASSERT_EQ(ids.topics.size(), 1u);
  const auto hot_id = ids.topics[0].topicId;
  auto made_up_id = hot_id;
  made_up_id[0] ^= 0xff;
  // Known and unknown names, an invalid one, known and unknown ids: more than a request
  // looks up one by one.
  auto each = unknown_topics(static_cast<int>(lookups_named_alone) + 40);
  each.insert(each.begin() + 3, named("hot"));
  each.insert(each.begin() + 7, named("bad name"));
  each.insert(each.begin() + 11, with_id(hot_id));
  each.insert(each.begin() + 12, named("cold"));
  each.push_back(with_id(made_up_id));
  auto all = each;
  all.push_back(named("hot"));  // each answered once, where first named
  all.push_back(with_id(hot_id));

  auto whole = call<msg::MetadataResponse>(k, 3, 12, metadata_for(all, false), true);
  ASSERT_EQ(whole.topics.size(), each.size());
  for (std::size_t i = 0; i < each.size(); ++i) {
    auto alone = call<msg::MetadataResponse>(k, 3, 12, metadata_for({each[i]}, false), true);
    ASSERT_EQ(alone.topics.size(), 1u);
    EXPECT_EQ(whole.topics[i], alone.topics[0]) << i;
  }
  EXPECT_EQ(whole.topics[3].errorCode, 0);
  EXPECT_EQ(whole.topics[3].partitions.size(), 2u);
  EXPECT_EQ(whole.topics[4].errorCode, 3);
  EXPECT_EQ(whole.topics[7].errorCode, 17);  // INVALID_TOPIC_EXCEPTION
  EXPECT_EQ(whole.topics[11].topicId, hot_id);
  EXPECT_EQ(whole.topics[11].errorCode, 0);
  EXPECT_EQ(whole.topics.back().errorCode, 100);  // UNKNOWN_TOPIC_ID
}

TEST(ManyTopics, AProduceNamingThousandsOfUnknownTopicsAnswersEachWhileAnotherProducerIsStored) {
  broker_config cfg;
  cfg.auto_create_topics_max_per_request = 5;
  broker_fixture f{false, cfg};
  auto admin = f.connect();
  must(admin.create_topic("hot", 2));
  const auto records = record_batch_bytes("v", 1, kafka::compression_type::none);
  constexpr int unknown = 20000;
  msg::ProduceRequest big;
  big.acks = -1;
  big.timeoutMs = 30000;
  for (int i = 0; i < unknown; ++i)
    big.topicData.push_back({"unknown-" + std::to_string(i), {{0, protocol::gather_bytes(records)}}});
  // A partition that exists and one the topic does not have, among them.
  big.topicData.push_back({"hot", {{0, protocol::gather_bytes(records)}, {7, protocol::gather_bytes(records)}}});
  raw_kafka storm{f.server->kafka_port()}, innocent{f.server->kafka_port()};
  storm.send(0, 9, 1, big, true);
  auto mine = call<msg::ProduceResponse>(innocent, 0, 9, produce_request("hot", 1, records), true);
  ASSERT_EQ(mine.responses.size(), 1u);
  ASSERT_EQ(mine.responses[0].partitionResponses.size(), 1u);
  EXPECT_EQ(mine.responses[0].partitionResponses[0].errorCode, 0);

  auto answer = answer_to<msg::ProduceResponse>(storm, 1, 9, true);
  ASSERT_EQ(answer.responses.size(), big.topicData.size());
  for (int i = 0; i < unknown; ++i) {
    const auto& t = answer.responses[static_cast<std::size_t>(i)];
    ASSERT_EQ(t.name, "unknown-" + std::to_string(i));
    ASSERT_EQ(t.partitionResponses.size(), 1u) << t.name;
    // The request's cap: the first 5 topics are created, the rest UNKNOWN_TOPIC_OR_PARTITION.
    ASSERT_EQ(t.partitionResponses[0].errorCode, i < 5 ? 0 : 3) << t.name;
  }
  const auto& hot = answer.responses.back();
  ASSERT_EQ(hot.name, "hot");
  ASSERT_EQ(hot.partitionResponses.size(), 2u);
  EXPECT_EQ(hot.partitionResponses[0].errorCode, 0);
  EXPECT_EQ(hot.partitionResponses[1].index, 7);
  EXPECT_EQ(hot.partitionResponses[1].errorCode, 3);
  EXPECT_EQ(f.metrics().request_limited_total(request_limit::auto_create_topics),
            static_cast<std::uint64_t>(unknown - 5));

  auto reader = f.connect();
  EXPECT_EQ(must(reader.fetch("hot", 1, 0)).messages.size(), 1u) << "the other producer's record";
  EXPECT_EQ(must(reader.fetch("hot", 0, 0)).messages.size(), 1u);
  EXPECT_EQ(must(reader.fetch("unknown-4", 0, 0)).messages.size(), 1u) << "created within the cap";
}

}  // namespace
}  // namespace portask::test
