// Kafka 3.x's answers where Portask used to differ: unreadable requests answered rather than
// dropped, CreateTopics' checks, topic configs altered at run time, commits for topics that
// do not exist, group states that DescribeGroups and ListGroups agree on, transactions
// refused at once, and the data path's answers to requests it cannot serve as asked.
#include <gtest/gtest.h>

#include <chrono>
#include <limits>
#include <map>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "process.hpp"
#include "tests/actors/broker_fixture.hpp"
#include "raw_kafka.hpp"

using namespace portask;
using namespace portask::test;

namespace {

using creatable = msg::CreateTopicsRequest::CreatableTopic;

msg::CreateTopicsResponse::CreatableTopicResult create(raw_kafka& c, creatable t,
                                                       bool validate_only = false) {
  msg::CreateTopicsRequest req;
  req.topics.push_back(std::move(t));
  req.validateOnly = validate_only;
  auto res = call<msg::CreateTopicsResponse>(c, 19, 7, req, true);
  EXPECT_EQ(res.topics.size(), 1u);
  return res.topics.empty() ? msg::CreateTopicsResponse::CreatableTopicResult{} : res.topics[0];
}

std::map<std::string, std::string> topic_configs(raw_kafka& c, const std::string& topic) {
  msg::DescribeConfigsRequest req;
  req.resources.push_back({2, topic, std::nullopt});
  auto res = call<msg::DescribeConfigsResponse>(c, 32, 4, req, true);
  std::map<std::string, std::string> out;
  for (const auto& e : res.results.at(0).configs) out[e.name] = e.value.value_or("<null>");
  return out;
}

}  // namespace

TEST(KafkaConformance, AnUnreadableRequestIsAnsweredWithInvalidRequestWhereTheResponseCanSayIt) {
  broker_fixture f;
  raw_kafka c{f.server->kafka_port()};
  // Heartbeat v4 whose body stops inside the group id: its response has an error code.
  protocol::buffer out(4);
  kafka::writer w{out};
  w.i16(12);
  w.i16(4);
  w.i32(77);
  w.string("test", false);
  w.uvarint(0);     // header tags
  w.uvarint(10);    // group id of 9 bytes...
  w.i16(0x6162);    // ...of which 2 arrive
  protocol::store_be32(out.data(), static_cast<std::uint32_t>(out.size() - 4));
  c.send_raw(out);
  std::int32_t corr = 0;
  auto body = c.receive(corr, true);
  ASSERT_TRUE(body) << "answered, not dropped";
  EXPECT_EQ(corr, 77);
  EXPECT_EQ(decode_as<msg::HeartbeatResponse>(*body, 4).errorCode, 42) << "INVALID_REQUEST";
  // The connection still serves requests.
  EXPECT_EQ(call<msg::ApiVersionsResponse>(c, 18, 0, msg::ApiVersionsRequest{}, false).errorCode, 0);

  // A Produce response has no error code of its own to carry it: the connection closes.
  protocol::buffer produce(4);
  kafka::writer p{produce};
  p.i16(0);
  p.i16(7);
  p.i32(78);
  p.string("test", false);
  p.i16(-1);  // transactional id null, then nothing
  protocol::store_be32(produce.data(), static_cast<std::uint32_t>(produce.size() - 4));
  c.send_raw(produce);
  EXPECT_TRUE(c.closed());
}

TEST(KafkaConformance, CreateTopicsChecksReplicationAssignmentsAndConfigsAsKafkaDoes) {
  broker_fixture f;
  raw_kafka c{f.server->kafka_port()};
  auto bad_config = create(c, {"cfg-bad", 1, 1, {}, {{"retention.ms", std::string("notanumber")}}});
  EXPECT_EQ(bad_config.errorCode, 40) << "INVALID_CONFIG";
  ASSERT_TRUE(bad_config.errorMessage);
  EXPECT_NE(bad_config.errorMessage->find("retention.ms"), std::string::npos) << *bad_config.errorMessage;
  EXPECT_EQ(create(c, {"cfg-unknown", 1, 1, {}, {{"retension.ms", std::string("1")}}}).errorCode, 40);
  EXPECT_EQ(create(c, {"rf3", 1, 3, {}, {}}).errorCode, 38) << "INVALID_REPLICATION_FACTOR";
  auto huge = create(c, {"huge", 10001, 1, {}, {}});
  EXPECT_EQ(huge.errorCode, 37) << "INVALID_PARTITIONS";
  EXPECT_NE(huge.errorMessage.value_or("").find("at most 10000"), std::string::npos);
  EXPECT_EQ(create(c, {"__consumer_offsets", 1, 1, {}, {}}).errorCode, 42) << "the broker creates it";
  EXPECT_EQ(create(c, {"bad/name", 1, 1, {}, {}}).errorCode, 17) << "INVALID_TOPIC_EXCEPTION";
  // A Metadata request that may auto-create (v1 always may) naming the internal topic before
  // any group wrote it makes it as the group coordinators do: one partition, compacted.
  msg::MetadataRequest internal;
  internal.topics = std::vector<msg::MetadataRequest::MetadataRequestTopic>{{{}, std::string("__consumer_offsets")}};
  auto made = call<msg::MetadataResponse>(c, 3, 1, internal, false);
  EXPECT_EQ(made.topics.at(0).errorCode, 0);
  EXPECT_TRUE(made.topics.at(0).isInternal);
  EXPECT_EQ(made.topics.at(0).partitions.size(), 1u);
  EXPECT_EQ(topic_configs(c, "__consumer_offsets")["cleanup.policy"], "compact");
  // Explicit assignments: three partitions on broker 0.
  auto assigned = create(c, {"assigned", -1, -1, {{0, {0}}, {1, {0}}, {2, {0}}}, {}});
  EXPECT_EQ(assigned.errorCode, 0);
  EXPECT_EQ(assigned.numPartitions, 3);
  EXPECT_NE(assigned.topicId, (kafka::uuid{})) << "v7 names the new topic's id";
  // As Kafka checks a manual assignment: each of these is INVALID_REPLICA_ASSIGNMENT, saying why.
  auto two = create(c, {"two-replicas", -1, -1, {{0, {0, 1}}}, {}});
  EXPECT_EQ(two.errorCode, 39);
  EXPECT_NE(two.errorMessage.value_or("").find("broker 1, but no such broker"), std::string::npos);
  auto empty = create(c, {"no-replicas", -1, -1, {{0, {}}}, {}});
  EXPECT_EQ(empty.errorCode, 39);
  EXPECT_NE(empty.errorMessage.value_or("").find("empty replica list"), std::string::npos);
  auto twice = create(c, {"broker-twice", -1, -1, {{0, {0, 0}}}, {}});
  EXPECT_EQ(twice.errorCode, 39);
  EXPECT_NE(twice.errorMessage.value_or("").find("broker 0 more than once"), std::string::npos);
  // Kafka checks each broker, in ascending order, for being registered before being named twice.
  auto other_twice = create(c, {"other-broker-twice", -1, -1, {{0, {5, 5}}}, {}});
  EXPECT_EQ(other_twice.errorCode, 39);
  EXPECT_EQ(other_twice.errorMessage.value_or(""),
            "The manual partition assignment includes broker 5, but no such broker is registered.");
  EXPECT_EQ(create(c, {"gap", -1, -1, {{0, {0}}, {2, {0}}}, {}}).errorCode, 39)
      << "INVALID_REPLICA_ASSIGNMENT";
  EXPECT_EQ(create(c, {"other-broker", -1, -1, {{0, {5}}}, {}}).errorCode, 39);
  // validateOnly: checked, answered, not created.
  EXPECT_EQ(create(c, {"dry", 4, 1, {}, {}}, true).errorCode, 0);
  msg::MetadataRequest meta;
  meta.topics = std::vector<msg::MetadataRequest::MetadataRequestTopic>{{{}, std::string("dry")}};
  meta.allowAutoTopicCreation = false;
  auto m = call<msg::MetadataResponse>(c, 3, 12, meta, true);
  EXPECT_EQ(m.topics.at(0).errorCode, 3) << "validateOnly created nothing";
}

TEST(KafkaConformance, TopicConfigsAreAlteredAtRunTimeValidatedAndKept) {
  broker_fixture f;
  raw_kafka c{f.server->kafka_port()};
  ASSERT_EQ(create(c, {"alter", 1, 1, {}, {{"retention.ms", std::string("60000")}}}).errorCode, 0);

  // Incremental: SET one key, APPEND to a list, DELETE another.
  msg::IncrementalAlterConfigsRequest inc;
  inc.resources.push_back({2, "alter", {{"retention.bytes", 0, std::string("1048576")},
                                        {"cleanup.policy", 2, std::string("compact")},
                                        {"retention.ms", 1, std::nullopt}}});
  auto ires = call<msg::IncrementalAlterConfigsResponse>(c, 44, 1, inc, true);
  ASSERT_EQ(ires.responses.size(), 1u);
  EXPECT_EQ(ires.responses[0].errorCode, 0) << ires.responses[0].errorMessage.value_or("");
  auto now = topic_configs(c, "alter");
  EXPECT_EQ(now["retention.bytes"], "1048576");
  EXPECT_EQ(now["cleanup.policy"], "delete,compact");
  EXPECT_EQ(now["retention.ms"], "604800000") << "deleted: back to the broker default (7 days)";

  // One resource per request (a resource named twice in one request is refused whole).
  using alter_resource = msg::IncrementalAlterConfigsRequest::AlterConfigsResource;
  auto alter = [&](alter_resource rs) {
    msg::IncrementalAlterConfigsRequest one;
    one.resources.push_back(std::move(rs));
    auto res = call<msg::IncrementalAlterConfigsResponse>(c, 44, 1, one, true);
    EXPECT_EQ(res.responses.size(), 1u);
    return res.responses.at(0);
  };

  // Values as Kafka reads them (Python's True, a '+', spaces): applied at the first try and
  // described as Kafka writes them back.
  auto spelled = alter({2, "alter", {{"unclean.leader.election.enable", 0, std::string("True")},
                                     {"retention.bytes", 0, std::string(" +2097152 ")}}});
  EXPECT_EQ(spelled.errorCode, 0) << spelled.errorMessage.value_or("");
  now = topic_configs(c, "alter");
  EXPECT_EQ(now["unclean.leader.election.enable"], "true");
  EXPECT_EQ(now["retention.bytes"], "2097152");
  EXPECT_EQ(alter({2, "alter", {{"cleanup.policy", 0, std::string(",compact")}}}).errorCode, 40)
      << "an empty item is no policy";
  EXPECT_EQ(alter({2, "alter", {{"retention.bytes", 0, std::string("1048576")}}}).errorCode, 0);

  // Refusals: a bad value, an unknown key, APPEND to a non-list, a broker config.
  EXPECT_EQ(alter({2, "alter", {{"retention.ms", 0, std::string("soon")}}}).errorCode, 40);
  EXPECT_EQ(alter({2, "alter", {{"no.such.config", 0, std::string("1")}}}).errorCode, 40);
  EXPECT_EQ(alter({2, "alter", {{"retention.ms", 2, std::string("5")}}}).errorCode, 40);
  auto broker = alter({4, "0", {{"num.partitions", 0, std::string("5")}}});
  EXPECT_EQ(broker.errorCode, 42) << "broker configs are static";
  EXPECT_TRUE(broker.errorMessage.has_value());
  // The cluster-wide default broker (""), whose dynamic defaults Portask does not have, alike.
  auto default_broker = alter({4, "", {{"num.partitions", 0, std::string("5")}}});
  EXPECT_EQ(default_broker.errorCode, 42);
  EXPECT_NE(default_broker.errorMessage.value_or("").find("cannot be changed at run time"), std::string::npos);
  EXPECT_EQ(alter({2, "missing", {{"retention.ms", 0, std::string("5")}}}).errorCode, 3);
  EXPECT_EQ(topic_configs(c, "alter")["retention.bytes"], "1048576") << "nothing changed";
  // Deleting a key no topic has leaves nothing to delete, as in Kafka; setting it is refused.
  EXPECT_EQ(alter({2, "alter", {{"no.such.topic.config", 1, std::nullopt}}}).errorCode, 0);
  EXPECT_EQ(alter({2, "alter", {{"no.such.topic.config", 0, std::string("5")}}}).errorCode, 40);

  // A resource named twice in one request: every copy refused, nothing applied (Kafka's rule).
  msg::IncrementalAlterConfigsRequest twice;
  twice.resources.push_back({2, "alter", {{"retention.ms", 0, std::string("1000")}}});
  twice.resources.push_back({2, "other", {{"retention.ms", 0, std::string("1000")}}});
  twice.resources.push_back({2, "alter", {{"retention.ms", 0, std::string("2000")}}});
  auto tres = call<msg::IncrementalAlterConfigsResponse>(c, 44, 1, twice, true);
  ASSERT_EQ(tres.responses.size(), 3u);
  EXPECT_EQ(tres.responses[0].errorCode, 42);
  EXPECT_EQ(tres.responses[0].errorMessage.value_or(""), "Each resource must appear at most once.");
  EXPECT_EQ(tres.responses[1].errorCode, 3) << "the other resource is handled: no such topic";
  EXPECT_EQ(tres.responses[2].errorCode, 42);
  EXPECT_EQ(topic_configs(c, "alter")["retention.ms"], "604800000") << "neither applied";

  // Values Portask could not honour are refused with the reason, not stored and ignored;
  // the defaults, which tools set explicitly, stay valid.
  for (const auto& [key, value] : std::vector<std::pair<std::string, std::string>>{
           {"compression.type", "lz4"},
           {"message.timestamp.type", "LogAppendTime"},
           {"min.insync.replicas", "2"},
           {"message.timestamp.difference.max.ms", "60000"},
           {"message.downconversion.enable", "false"}}) {
    auto refused = alter({2, "alter", {{key, 0, value}}});
    EXPECT_EQ(refused.errorCode, 40) << key;
    EXPECT_NE(refused.errorMessage.value_or("").find("only"), std::string::npos)
        << refused.errorMessage.value_or("");
  }
  auto defaults = alter({2, "alter", {{"compression.type", 0, std::string("producer")},
                                      {"message.timestamp.type", 0, std::string("CreateTime")},
                                      {"min.insync.replicas", 0, std::string("1")},
                                      {"message.downconversion.enable", 0, std::string("true")}}});
  EXPECT_EQ(defaults.errorCode, 0) << defaults.errorMessage.value_or("");
  EXPECT_EQ(topic_configs(c, "alter")["compression.type"], "producer");
  ASSERT_EQ(create(c, {"lz4-topic", 1, 1, {}, {{"compression.type", std::string("lz4")}}}).errorCode, 40);

  // AlterConfigs replaces the whole set; validateOnly changes nothing. A key given twice
  // takes its last value, as in Kafka.
  msg::AlterConfigsRequest whole;
  whole.resources.push_back({2, "alter", {{"segment.ms", std::string("60000")}, {"segment.ms", std::string("3600000")}}});
  whole.validateOnly = true;
  EXPECT_EQ(call<msg::AlterConfigsResponse>(c, 33, 2, whole, true).responses.at(0).errorCode, 0);
  EXPECT_EQ(topic_configs(c, "alter")["retention.bytes"], "1048576");
  whole.validateOnly = false;
  EXPECT_EQ(call<msg::AlterConfigsResponse>(c, 33, 0, whole, false).responses.at(0).errorCode, 0);
  now = topic_configs(c, "alter");
  EXPECT_EQ(now["segment.ms"], "3600000");
  EXPECT_EQ(now["retention.bytes"], "-1") << "not named: back to the default";

  // The broker's own topic, before the first commit creates it, does not exist, as
  // DescribeConfigs and Metadata say then (and Kafka of any topic that does not).
  msg::AlterConfigsRequest internal;
  internal.resources.push_back({2, "__consumer_offsets", {{"retention.ms", std::string("1000")}}});
  msg::IncrementalAlterConfigsRequest internal_inc;
  internal_inc.resources.push_back({2, "__consumer_offsets", {{"retention.ms", 0, std::string("1000")}}});
  for (bool validate_only : {true, false}) {
    internal.validateOnly = validate_only;
    auto answer = call<msg::AlterConfigsResponse>(c, 33, 2, internal, true).responses.at(0);
    EXPECT_EQ(answer.errorCode, 3) << "UNKNOWN_TOPIC_OR_PARTITION, validateOnly " << validate_only;
    EXPECT_EQ(answer.errorMessage.value_or(""), "The topic '__consumer_offsets' does not exist.");
    internal_inc.validateOnly = validate_only;
    EXPECT_EQ(call<msg::IncrementalAlterConfigsResponse>(c, 44, 1, internal_inc, true).responses.at(0).errorCode, 3)
        << "validateOnly " << validate_only;
  }
  // Once it exists (a Metadata request that may auto-create it makes it), it is refused, and
  // validateOnly says so too rather than yes.
  msg::MetadataRequest make_internal;
  make_internal.topics =
      std::vector<msg::MetadataRequest::MetadataRequestTopic>{{{}, std::string("__consumer_offsets")}};
  ASSERT_EQ(call<msg::MetadataResponse>(c, 3, 1, make_internal, false).topics.at(0).errorCode, 0);
  for (bool validate_only : {true, false}) {
    internal.validateOnly = validate_only;
    auto answer = call<msg::AlterConfigsResponse>(c, 33, 2, internal, true).responses.at(0);
    EXPECT_EQ(answer.errorCode, 42) << "validateOnly " << validate_only;
    EXPECT_NE(answer.errorMessage.value_or("").find("internal"), std::string::npos);
    internal_inc.validateOnly = validate_only;
    EXPECT_EQ(call<msg::IncrementalAlterConfigsResponse>(c, 44, 1, internal_inc, true).responses.at(0).errorCode, 42)
        << "validateOnly " << validate_only;
  }
  EXPECT_NE(topic_configs(c, "__consumer_offsets")["retention.ms"], "1000") << "unchanged";
}

// max.message.bytes bounds a topic's batches (MESSAGE_TOO_LARGE above it), for Kafka and
// native producers alike, and a change applies to the running partitions at once.
TEST(KafkaConformance, MaxMessageBytesBoundsATopicsBatchesAndChangesApplyAtOnce) {
  broker_fixture f;
  raw_kafka c{f.server->kafka_port()};
  ASSERT_EQ(create(c, {"bounded", 1, 1, {}, {{"max.message.bytes", std::string("1000")}}}).errorCode, 0);
  const auto big = record_batch_bytes(std::string(1500, 'x'), 1, kafka::compression_type::none);
  const auto small = record_batch_bytes("v", 2, kafka::compression_type::none);
  ASSERT_GT(big.size(), 1000u);
  auto produce = [&](const std::string& records) {
    return call<msg::ProduceResponse>(c, 0, 9, produce_request("bounded", 0, records), true)
        .responses.at(0).partitionResponses.at(0).errorCode;
  };
  EXPECT_EQ(produce(big), 10) << "MESSAGE_TOO_LARGE";
  EXPECT_EQ(produce(small), 0);
  auto native = f.connect();
  protocol::message_batch one;
  one.messages.push_back({});
  one.messages[0].value = std::string(1500, 'n');
  auto refused = native.publish("bounded", 0, one);
  ASSERT_FALSE(client::ok(refused));
  EXPECT_EQ(client::error_of(refused).code, errc::frame_too_large);

  msg::IncrementalAlterConfigsRequest raise;
  raise.resources.push_back({2, "bounded", {{"max.message.bytes", 0, std::string("100000")}}});
  ASSERT_EQ(call<msg::IncrementalAlterConfigsResponse>(c, 44, 1, raise, true).responses.at(0).errorCode, 0);
  EXPECT_EQ(produce(big), 0) << "the running partition takes the new limit";
  EXPECT_TRUE(client::ok(native.publish("bounded", 0, one)));
}

TEST(KafkaConformance, CommitsForTopicsThatDoNotExistAreRefusedPerPartition) {
  broker_fixture f;
  auto native = f.connect();
  must(native.create_topic("real", 2));
  raw_kafka c{f.server->kafka_port()};
  msg::OffsetCommitRequest req;
  req.groupId = "standalone";
  req.generationIdOrMemberEpoch = -1;
  req.topics.push_back({"real", {{0, 5, -1, -1, std::string("")}, {7, 5, -1, -1, std::string("")}}});
  req.topics.push_back({"ghost", {{0, 5, -1, -1, std::string("")}}});
  for (std::int16_t v : {2, 8}) {
    auto res = call<msg::OffsetCommitResponse>(c, 8, v, req, v >= 8);
    ASSERT_EQ(res.topics.size(), 2u);
    EXPECT_EQ(res.topics[0].partitions.at(0).errorCode, 0);
    EXPECT_EQ(res.topics[0].partitions.at(1).errorCode, 3) << "partition 7 of 2";
    EXPECT_EQ(res.topics[1].partitions.at(0).errorCode, 3) << "no such topic";
  }
  msg::OffsetFetchRequest fetch;
  fetch.groupId = "standalone";
  fetch.topics = std::vector<msg::OffsetFetchRequest::OffsetFetchRequestTopic>{{"ghost", {0}}};
  auto got = call<msg::OffsetFetchResponse>(c, 9, 5, fetch, false);
  EXPECT_EQ(got.topics.at(0).partitions.at(0).committedOffset, -1) << "nothing stored for it";
}

TEST(KafkaConformance, DescribeGroupsAndListGroupsAgreeOnEmptyAndDead) {
  broker_fixture f;
  auto native = f.connect();
  must(native.create_topic("g", 1));
  raw_kafka c{f.server->kafka_port()};
  msg::OffsetCommitRequest commit;
  commit.groupId = "with-offsets";
  commit.generationIdOrMemberEpoch = -1;
  commit.topics.push_back({"g", {{0, 3, -1, -1, std::string("")}}});
  ASSERT_EQ(call<msg::OffsetCommitResponse>(c, 8, 8, commit, true).topics.at(0).partitions.at(0).errorCode, 0);

  msg::DescribeGroupsRequest describe;
  describe.groups = {"with-offsets", "never-used"};
  auto d = call<msg::DescribeGroupsResponse>(c, 15, 5, describe, true);
  ASSERT_EQ(d.groups.size(), 2u);
  EXPECT_EQ(d.groups[0].groupState, "Empty") << "committed offsets, no members";
  EXPECT_EQ(d.groups[1].groupState, "Dead") << "neither members nor offsets";

  auto l = call<msg::ListGroupsResponse>(c, 16, 4, msg::ListGroupsRequest{}, true);
  std::map<std::string, std::string> listed;
  for (const auto& g : l.groups) listed[g.groupId] = g.groupState;
  EXPECT_EQ(listed["with-offsets"], "Empty");
  EXPECT_EQ(listed.count("never-used"), 0u) << "a Dead group is not listed";
}

TEST(KafkaConformance, TransactionsAreRefusedAtOnceWithKafkasErrors) {
  broker_fixture f;
  raw_kafka c{f.server->kafka_port()};
  msg::FindCoordinatorRequest find;
  find.keyType = 1;
  find.coordinatorKeys = {"my-txn"};
  auto res = call<msg::FindCoordinatorResponse>(c, 10, 4, find, true);
  ASSERT_EQ(res.coordinators.size(), 1u);
  EXPECT_EQ(res.coordinators[0].errorCode, 53)
      << "TRANSACTIONAL_ID_AUTHORIZATION_FAILED: final for every client (librdkafka retries others)";
  ASSERT_TRUE(res.coordinators[0].errorMessage.has_value());
  EXPECT_NE(res.coordinators[0].errorMessage->find("transactions are not supported"), std::string::npos);
  find.keyType = 2;
  res = call<msg::FindCoordinatorResponse>(c, 10, 4, find, true);
  ASSERT_EQ(res.coordinators.size(), 1u);
  EXPECT_EQ(res.coordinators[0].errorCode, 42) << "INVALID_REQUEST: an unknown key type";
  msg::InitProducerIdRequest init;
  init.transactionalId = "my-txn";
  init.transactionTimeoutMs = 60000;
  EXPECT_EQ(call<msg::InitProducerIdResponse>(c, 22, 4, init, true).errorCode, 53)
      << "TRANSACTIONAL_ID_AUTHORIZATION_FAILED";
}

namespace {

// One record of __consumer_offsets, read back: the key's version, group, topic, partition;
// the value's offset (-1 for a tombstone) or, for group metadata, its generation.
struct offsets_record {
  std::int16_t key_version = -1;
  std::string group, topic;
  std::int32_t partition = -1;
  std::int64_t offset = -1;
  bool tombstone = false;
};

std::vector<offsets_record> read_offsets_topic(raw_kafka& c, std::size_t at_least) {
  std::vector<offsets_record> out;
  // Bounded by time, not by a count of attempts: until the coordinator's first mirror write
  // has created the topic, a fetch is answered at once (unknown topic), so a count of
  // attempts runs out sooner the faster the machine answers and the slower it mirrors.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (out.size() < at_least && std::chrono::steady_clock::now() < deadline) {
    msg::FetchRequest req;
    req.maxWaitMs = 500;  // long-polls: answered as soon as records are there
    req.minBytes = 1;
    req.maxBytes = 1 << 20;
    req.topics.push_back({"__consumer_offsets", {}, {}});
    req.topics[0].partitions.push_back({0, -1, 0, -1, -1, 1 << 20, {}});
    auto res = call<msg::FetchResponse>(c, 1, 11, req, false);
    out.clear();
    const auto& p = res.responses.at(0).partitions.at(0);
    if (p.errorCode != 0 || !p.records) {  // not created yet: the first commit's mirror creates it
      std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polled, not awaited: no event to wait on
      continue;
    }
    auto batches = kafka::decode_record_batches(p.records->owned());
    if (!batches) continue;
    for (const auto& b : *batches)
      for (const auto& rec : b.records) {
        kafka::reader k{protocol::as_bytes(*rec.key)};
        offsets_record o;
        k.i16(o.key_version);
        std::optional<std::string> s;
        k.nullable_string(s, false);
        o.group = s.value_or("");
        if (o.key_version <= 1) {
          k.nullable_string(s, false);
          o.topic = s.value_or("");
          k.i32(o.partition);
        }
        o.tombstone = !rec.value;
        if (rec.value && o.key_version <= 1) {
          kafka::reader v{protocol::as_bytes(*rec.value)};
          std::int16_t value_version = 0;
          v.i16(value_version);
          EXPECT_EQ(value_version, 3);
          v.i64(o.offset);
        }
        out.push_back(o);
      }
  }
  return out;
}

}  // namespace

TEST(KafkaConformance, ConsumerOffsetsTopicMirrorsEveryCommitAndIsReadOnly) {
  broker_fixture f;
  must(f.connect().create_topic("mirrored", 2));
  raw_kafka c{f.server->kafka_port()};
  for (std::int64_t offset : {5, 9}) {
    msg::OffsetCommitRequest commit;
    commit.groupId = "burrow-watched";
    commit.generationIdOrMemberEpoch = -1;
    commit.topics.push_back({"mirrored", {{1, offset, -1, -1, std::string("m")}}});
    ASSERT_EQ(call<msg::OffsetCommitResponse>(c, 8, 8, commit, true).topics.at(0).partitions.at(0).errorCode, 0);
  }
  msg::OffsetDeleteRequest del;
  del.groupId = "burrow-watched";
  del.topics.push_back({"mirrored", {{1}}});
  ASSERT_EQ(call<msg::OffsetDeleteResponse>(c, 47, 0, del, false).errorCode, 0);

  auto records = read_offsets_topic(c, 3);
  ASSERT_EQ(records.size(), 3u) << "both commits and the deletion, in order";
  for (const auto& r : records) {
    EXPECT_EQ(r.key_version, 1);
    EXPECT_EQ(r.group, "burrow-watched");
    EXPECT_EQ(r.topic, "mirrored");
    EXPECT_EQ(r.partition, 1);
  }
  EXPECT_EQ(records[0].offset, 5);
  EXPECT_EQ(records[1].offset, 9);
  EXPECT_TRUE(records[2].tombstone);

  // Listed as internal; clients cannot write, delete or reconfigure it.
  msg::MetadataRequest meta;
  meta.topics = std::vector<msg::MetadataRequest::MetadataRequestTopic>{{{}, std::string("__consumer_offsets")}};
  auto m = call<msg::MetadataResponse>(c, 3, 12, meta, true);
  EXPECT_TRUE(m.topics.at(0).isInternal);
  auto produced = call<msg::ProduceResponse>(c, 0, 9, produce_request("__consumer_offsets", 0,
                                                                      record_batch_bytes("x", 1, kafka::compression_type::none)), true);
  EXPECT_EQ(produced.responses.at(0).partitionResponses.at(0).errorCode, 17) << "INVALID_TOPIC_EXCEPTION";
  msg::DeleteTopicsRequest drop;
  drop.topicNames = {"__consumer_offsets"};
  EXPECT_NE(call<msg::DeleteTopicsResponse>(c, 20, 4, drop, true).responses.at(0).errorCode, 0);
  EXPECT_EQ(read_offsets_topic(c, 3).size(), 3u) << "nothing else was written to it";
}

TEST(KafkaConformance, LeaderEpochsElectionsLogDirsAndProducersAnswerForOneNode) {
  broker_fixture f;
  must(f.connect().create_topic("one-node", 2));
  raw_kafka c{f.server->kafka_port()};
  // Three records from an idempotent producer on partition 0.
  msg::InitProducerIdRequest init;
  init.transactionalId = std::nullopt;  // an idempotent producer's: no transactional id
  init.transactionTimeoutMs = 60000;
  init.producerId = -1;
  init.producerEpoch = -1;
  auto pid = call<msg::InitProducerIdResponse>(c, 22, 4, init, true);
  ASSERT_EQ(pid.errorCode, 0);
  protocol::message_batch b;
  for (int i = 0; i < 3; ++i) b.messages.emplace_back().value = "r" + std::to_string(i);
  auto rb = kafka::from_messages(b, 0);
  rb.producer_id = pid.producerId;
  rb.producer_epoch = pid.producerEpoch;
  rb.base_sequence = 0;
  protocol::buffer bytes;
  ASSERT_FALSE(kafka::encode_record_batch(rb, bytes));
  auto produced = call<msg::ProduceResponse>(
      c, 0, 9, produce_request("one-node", 0, std::string(protocol::as_chars(bytes))), true);
  ASSERT_EQ(produced.responses.at(0).partitionResponses.at(0).errorCode, 0);

  // Epoch 0 is the only one: it ends at the log end. A later one (a client that read under a
  // cluster's lease epoch, before the cluster became this single node) ends there too: the log
  // was never truncated, so the client's position stands (Kafka's UNDEFINED would reset it).
  msg::OffsetForLeaderEpochRequest epochs;
  epochs.replicaId = -1;
  epochs.topics.push_back({"one-node", {{0, 0, 0}, {1, -1, 0}, {5, -1, 0}, {0, -1, 3}}});
  epochs.topics.push_back({"nowhere", {{0, -1, 0}}});
  auto e = call<msg::OffsetForLeaderEpochResponse>(c, 23, 4, epochs, true);
  ASSERT_EQ(e.topics.size(), 2u);
  EXPECT_EQ(e.topics[0].partitions.at(0).leaderEpoch, 0);
  EXPECT_EQ(e.topics[0].partitions.at(0).endOffset, 3);
  EXPECT_EQ(e.topics[0].partitions.at(1).endOffset, 0) << "an empty partition ends at 0";
  EXPECT_EQ(e.topics[0].partitions.at(2).errorCode, 3);
  EXPECT_EQ(e.topics[0].partitions.at(3).errorCode, 0);
  EXPECT_EQ(e.topics[0].partitions.at(3).leaderEpoch, 0) << "a newer epoch than ours";
  EXPECT_EQ(e.topics[0].partitions.at(3).endOffset, 3);
  EXPECT_EQ(e.topics[1].partitions.at(0).errorCode, 3);

  // ListOffsets and Fetch name the same epoch.
  msg::ListOffsetsRequest lo;
  lo.replicaId = -1;
  lo.topics.push_back({"one-node", {{0, -1, -2, 1}}});  // earliest
  auto offsets = call<msg::ListOffsetsResponse>(c, 2, 7, lo, true);
  EXPECT_EQ(offsets.topics.at(0).partitions.at(0).leaderEpoch, 0);
  // A partition asked for twice is INVALID_REQUEST in both places (v1+), as in Kafka.
  msg::ListOffsetsRequest twice;
  twice.replicaId = -1;
  twice.topics.push_back({"one-node", {{0, -1, -2, 1}, {1, -1, -1, 1}}});
  twice.topics.push_back({"one-node", {{0, -1, -1, 1}}});
  auto dup = call<msg::ListOffsetsResponse>(c, 2, 7, twice, true);
  EXPECT_EQ(dup.topics.at(0).partitions.at(0).errorCode, 42);
  EXPECT_EQ(dup.topics.at(0).partitions.at(1).errorCode, 0) << "partition 1 is asked once";
  EXPECT_EQ(dup.topics.at(1).partitions.at(0).errorCode, 42);
  msg::FetchRequest fetch;
  fetch.maxWaitMs = 0;
  fetch.topics.push_back({"one-node", {}, {}});
  fetch.topics[0].partitions.push_back({0, -1, 0, -1, -1, 1 << 20, {}});
  auto fetched = call<msg::FetchResponse>(c, 1, 11, fetch, false);
  const auto& records = fetched.responses.at(0).partitions.at(0).records;
  ASSERT_TRUE(records);
  auto batches = kafka::decode_record_batches(records->owned());
  ASSERT_TRUE(batches && !batches->empty());
  EXPECT_EQ(batches->front().partition_leader_epoch, 0);

  // A client's current epoch is checked as OffsetForLeaderEpoch checks it: ahead of ours is
  // UNKNOWN_LEADER_EPOCH, behind it FENCED_LEADER_EPOCH (Fetch answers at once), -1 skips.
  for (const auto& [theirs, want] : std::vector<std::pair<std::int32_t, std::int16_t>>{{1, 75}, {-2, 74}, {0, 0}}) {
    msg::ListOffsetsRequest at_epoch;
    at_epoch.replicaId = -1;
    at_epoch.topics.push_back({"one-node", {{0, theirs, -1, 1}}});
    EXPECT_EQ(call<msg::ListOffsetsResponse>(c, 2, 7, at_epoch, true).topics.at(0).partitions.at(0).errorCode, want)
        << "ListOffsets at epoch " << theirs;
    msg::FetchRequest fetch_at;
    fetch_at.maxWaitMs = 10000;
    fetch_at.minBytes = 1;
    fetch_at.topics.push_back({"one-node", {}, {}});
    // Partition 1 is empty: were the epoch not an error, the answer would wait for data.
    fetch_at.topics[0].partitions.push_back({1, theirs, 0, -1, -1, 1 << 20, {}});
    if (want == 0) fetch_at.maxWaitMs = 0;
    const auto answer = call<msg::FetchResponse>(c, 1, 11, fetch_at, false);
    EXPECT_EQ(answer.responses.at(0).partitions.at(0).errorCode, want) << "Fetch at epoch " << theirs;
    // KIP-951: a fenced client learns the current leader (this node, epoch 0) from v12 on
    // (v11 has no field for it). UNKNOWN_LEADER_EPOCH and a read name none.
    const auto flexible = call<msg::FetchResponse>(c, 1, 12, fetch_at, true);
    const auto& named = flexible.responses.at(0).partitions.at(0);
    EXPECT_EQ(named.errorCode, want) << "Fetch v12 at epoch " << theirs;
    EXPECT_EQ(named.currentLeader.leaderId, want == 74 ? 0 : -1) << "v12 at epoch " << theirs;
    EXPECT_EQ(named.currentLeader.leaderEpoch, want == 74 ? 0 : -1) << "v12 at epoch " << theirs;
  }

  msg::ElectLeadersRequest elect;
  elect.electionType = 0;
  elect.topicPartitions = std::vector<msg::ElectLeadersRequest::TopicPartitions>{{"one-node", {0, 1, 9}}};
  auto el = call<msg::ElectLeadersResponse>(c, 43, 2, elect, true);
  EXPECT_EQ(el.errorCode, 0);
  ASSERT_EQ(el.replicaElectionResults.at(0).partitionResult.size(), 3u);
  EXPECT_EQ(el.replicaElectionResults[0].partitionResult[0].errorCode, 84) << "ELECTION_NOT_NEEDED";
  EXPECT_EQ(el.replicaElectionResults[0].partitionResult[2].errorCode, 3);

  msg::DescribeLogDirsRequest dirs;
  dirs.topics = std::vector<msg::DescribeLogDirsRequest::DescribableLogDirTopic>{{"one-node", {0, 1}}};
  auto d = call<msg::DescribeLogDirsResponse>(c, 35, 4, dirs, true);
  ASSERT_EQ(d.results.size(), 1u);
  EXPECT_EQ(d.results[0].errorCode, 0);
  ASSERT_EQ(d.results[0].topics.size(), 1u);
  EXPECT_EQ(d.results[0].topics[0].partitions.size(), 2u);
  // A topic named twice, a partition twice, one that does not exist: each partition the dir
  // holds once.
  dirs.topics = std::vector<msg::DescribeLogDirsRequest::DescribableLogDirTopic>{
      {"one-node", {1, 1, 7}}, {"no-such-topic", {0}}, {"one-node", {1, -1}}};
  d = call<msg::DescribeLogDirsResponse>(c, 35, 4, dirs, true);
  ASSERT_EQ(d.results.size(), 1u);
  ASSERT_EQ(d.results[0].topics.size(), 1u);
  ASSERT_EQ(d.results[0].topics[0].partitions.size(), 1u);
  EXPECT_EQ(d.results[0].topics[0].partitions[0].partitionIndex, 1);

  msg::DescribeProducersRequest producers;
  producers.topics.push_back({"one-node", {0, 1}});
  auto p = call<msg::DescribeProducersResponse>(c, 61, 0, producers, true);
  const auto& parts = p.topics.at(0).partitions;
  ASSERT_EQ(parts.size(), 2u);
  ASSERT_EQ(parts[0].activeProducers.size(), 1u);
  EXPECT_EQ(parts[0].activeProducers[0].producerId, pid.producerId);
  EXPECT_EQ(parts[0].activeProducers[0].producerEpoch, pid.producerEpoch);
  EXPECT_EQ(parts[0].activeProducers[0].lastSequence, 2);
  EXPECT_TRUE(parts[1].activeProducers.empty());
}

TEST(KafkaConformance, ATopicDeletedAndCreatedAgainIsANewTopicToConnectionsThatKnewIt) {
  broker_fixture f;
  raw_kafka c{f.server->kafka_port()};
  auto first = create(c, {"reborn", 1, 1, {}, {}});
  ASSERT_EQ(first.errorCode, 0);
  auto fetch_by_id = [&](const kafka::uuid& id) {
    msg::FetchRequest req;
    req.maxWaitMs = 0;
    req.topics.push_back({{}, id, {}});
    req.topics[0].partitions.push_back({0, -1, 0, -1, -1, 1 << 20, {}});
    return call<msg::FetchResponse>(c, 1, 13, req, true).responses.at(0).partitions.at(0).errorCode;
  };
  EXPECT_EQ(fetch_by_id(first.topicId), 0);  // the connection now knows the id
  auto commit = [&] {
    msg::OffsetCommitRequest req;
    req.groupId = "reborn-readers";
    req.generationIdOrMemberEpoch = -1;
    req.topics.push_back({"reborn", {{0, 1, -1, -1, std::string("")}}});
    return call<msg::OffsetCommitResponse>(c, 8, 8, req, true).topics.at(0).partitions.at(0).errorCode;
  };
  EXPECT_EQ(commit(), 0);  // and the topic's partition count

  msg::DeleteTopicsRequest drop;
  drop.topicNames = {"reborn"};
  ASSERT_EQ(call<msg::DeleteTopicsResponse>(c, 20, 4, drop, true).responses.at(0).errorCode, 0);
  EXPECT_EQ(commit(), 3) << "a deleted topic's partitions take no commits";
  auto second = create(c, {"reborn", 1, 1, {}, {}});
  ASSERT_EQ(second.errorCode, 0);
  EXPECT_NE(second.topicId, first.topicId) << "a new topic, a new id";
  EXPECT_EQ(fetch_by_id(first.topicId), 100) << "UNKNOWN_TOPIC_ID: the old id names nothing now";
  EXPECT_EQ(fetch_by_id(second.topicId), 0);
}

TEST(KafkaConformance, CreateTopicsRefusesTakenAndRepeatedNamesAndProduceItsAcks) {
  broker_fixture f;
  raw_kafka c{f.server->kafka_port()};
  ASSERT_EQ(create(c, {"taken", 1, 1, {}, {}}).errorCode, 0);
  EXPECT_EQ(create(c, {"taken", 1, 1, {}, {}}, true).errorCode, 36)
      << "validateOnly checks that the name is free: TOPIC_ALREADY_EXISTS";
  EXPECT_EQ(create(c, {"free", 1, 1, {}, {}}, true).errorCode, 0);
  // A name taken is said before anything else asked for is looked at (Kafka's order), so a
  // script creating what may exist learns that it does, whatever settings it asks for.
  auto again = create(c, {"taken", 20000, 3, {}, {{"retention.ms", std::string("notanumber")}, {"flush.ms", std::nullopt}}});
  EXPECT_EQ(again.errorCode, 36);
  EXPECT_EQ(again.errorMessage.value_or(""), "Topic 'taken' already exists.");
  // A null config value comes before the partition count (Kafka reads configs first).
  EXPECT_EQ(create(c, {"nulled", 20000, 1, {}, {{"flush.ms", std::nullopt}}}).errorCode, 40)
      << "INVALID_CONFIG";

  msg::CreateTopicsRequest twice;
  twice.topics.push_back({"twice", 1, 1, {}, {}});
  twice.topics.push_back({"twice", 2, 1, {}, {}});
  twice.topics.push_back({"once", 1, 1, {}, {}});
  auto res = call<msg::CreateTopicsResponse>(c, 19, 7, twice, true);
  ASSERT_EQ(res.topics.size(), 3u);
  EXPECT_EQ(res.topics[0].errorCode, 42) << "INVALID_REQUEST for both entries";
  EXPECT_EQ(res.topics[1].errorCode, 42);
  EXPECT_EQ(res.topics[2].errorCode, 0);

  // Names that differ only in '.' against '_' collide (Kafka's metric names would share
  // them): INVALID_TOPIC_EXCEPTION naming the other, against existing topics and earlier
  // names of the same request, validateOnly included.
  ASSERT_EQ(create(c, {"metrics.name", 1, 1, {}, {}}).errorCode, 0);
  auto clash = create(c, {"metrics_name", 1, 1, {}, {}});
  EXPECT_EQ(clash.errorCode, 17);
  EXPECT_EQ(clash.errorMessage.value_or(""), "Topic 'metrics_name' collides with existing topic: metrics.name");
  EXPECT_EQ(create(c, {"metrics_name", 1, 1, {}, {}}, true).errorCode, 17);
  msg::CreateTopicsRequest pair;
  pair.topics.push_back({"a.b", 1, 1, {}, {}});
  pair.topics.push_back({"a_b", 1, 1, {}, {}});
  res = call<msg::CreateTopicsResponse>(c, 19, 7, pair, true);
  ASSERT_EQ(res.topics.size(), 2u);
  EXPECT_EQ(res.topics[0].errorCode, 0);
  EXPECT_EQ(res.topics[1].errorCode, 17);

  auto req = produce_request("taken", 0, record_batch_bytes("v", 2, kafka::compression_type::none));
  req.acks = 2;
  auto produced = call<msg::ProduceResponse>(c, 0, 9, req, true);
  EXPECT_EQ(produced.responses.at(0).partitionResponses.at(0).errorCode, 21) << "INVALID_REQUIRED_ACKS";
  req.acks = 1;
  produced = call<msg::ProduceResponse>(c, 0, 9, req, true);
  EXPECT_EQ(produced.responses.at(0).partitionResponses.at(0).errorCode, 0);
  // A name no topic can have is a partition Kafka does not hold, not a refused creation.
  for (const auto* name : {".", "a b"}) {
    auto nowhere = produce_request(name, 0, record_batch_bytes("v", 1, kafka::compression_type::none));
    EXPECT_EQ(call<msg::ProduceResponse>(c, 0, 9, nowhere, true).responses.at(0).partitionResponses.at(0).errorCode, 3)
        << "UNKNOWN_TOPIC_OR_PARTITION for '" << name << "'";
  }

  // acks=0: nothing is answered; a write that fails closes the connection, Kafka's only
  // way to tell such a producer.
  req.acks = 0;
  c.send(0, 9, 500, req, true);
  EXPECT_EQ(call<msg::ApiVersionsResponse>(c, 18, 0, msg::ApiVersionsRequest{}, false).errorCode, 0)
      << "a stored acks=0 write leaves the connection open";
  auto to_nowhere = produce_request("taken", 7, record_batch_bytes("v", 1, kafka::compression_type::none));
  to_nowhere.acks = 0;
  c.send(0, 9, 501, to_nowhere, true);
  EXPECT_TRUE(c.closed()) << "partition 7 does not exist";
}

TEST(KafkaConformance, AFetchAnswersErrorsAtOnceAndServesAFirstBatchPastAnyLimit) {
  broker_fixture f;
  must(f.connect().create_topic("pair", 2));
  raw_kafka c{f.server->kafka_port()};
  auto produced = call<msg::ProduceResponse>(
      c, 0, 9, produce_request("pair", 0, record_batch_bytes("v", 3, kafka::compression_type::none)), true);
  ASSERT_EQ(produced.responses.at(0).partitionResponses.at(0).errorCode, 0);

  // Partition 0 asked at a negative offset, partition 1 idle at its end, a minute's wait:
  // the error is answered now (Kafka has no symbolic fetch offsets), not after the wait.
  msg::FetchRequest fetch;
  fetch.maxWaitMs = 60000;
  fetch.minBytes = 1;
  fetch.topics.push_back({"pair", {}, {}});
  fetch.topics[0].partitions.push_back({0, -1, -1, -1, -1, 1 << 20, {}});
  fetch.topics[0].partitions.push_back({1, -1, 0, -1, -1, 1 << 20, {}});
  // A partition that does not exist is that, whatever offset it is asked at.
  fetch.topics[0].partitions.push_back({7, -1, -1, -1, -1, 1 << 20, {}});
  const auto asked = std::chrono::steady_clock::now();
  auto res = call<msg::FetchResponse>(c, 1, 12, fetch, true);
  // Far below the minute the broker would have waited, on however slow a machine.
  EXPECT_LT(std::chrono::steady_clock::now() - asked, std::chrono::seconds(30));
  ASSERT_EQ(res.responses.at(0).partitions.size(), 3u);
  EXPECT_EQ(res.responses[0].partitions[0].errorCode, 1) << "OFFSET_OUT_OF_RANGE";
  EXPECT_EQ(res.responses[0].partitions[1].errorCode, 0);
  EXPECT_EQ(res.responses[0].partitions[2].errorCode, 3) << "UNKNOWN_TOPIC_OR_PARTITION";

  // maxBytes 0 still brings the first batch (KIP-74), so such a client is never stuck.
  msg::FetchRequest tiny;
  tiny.maxWaitMs = 0;
  tiny.maxBytes = 0;
  tiny.topics.push_back({"pair", {}, {}});
  tiny.topics[0].partitions.push_back({0, -1, 0, -1, -1, 0, {}});
  auto got = call<msg::FetchResponse>(c, 1, 12, tiny, true);
  const auto& p = got.responses.at(0).partitions.at(0);
  EXPECT_EQ(p.errorCode, 0);
  ASSERT_TRUE(p.records);
  auto batches = kafka::decode_record_batches(p.records->owned());
  ASSERT_TRUE(batches);
  ASSERT_EQ(batches->size(), 1u);
  EXPECT_EQ(batches->front().records.size(), 3u);

  // Of several partitions, only the first in request order that holds a batch brings it
  // past the limits, as in Kafka; the others come within theirs (here nothing).
  auto second = call<msg::ProduceResponse>(
      c, 0, 9, produce_request("pair", 1, record_batch_bytes("w", 2, kafka::compression_type::none)), true);
  ASSERT_EQ(second.responses.at(0).partitionResponses.at(0).errorCode, 0);
  auto records_of = [](const auto& partition) -> std::size_t {
    if (!partition.records) return 0;
    auto decoded = kafka::decode_record_batches(partition.records->owned());
    if (!decoded) return 999;
    std::size_t n = 0;
    for (const auto& b : *decoded) n += b.records.size();
    return n;
  };
  for (const auto& [offset0, want0, want1] :
       std::vector<std::tuple<std::int64_t, std::size_t, std::size_t>>{{3, 0, 2}, {0, 3, 0}}) {
    msg::FetchRequest both = tiny;
    both.topics[0].partitions.clear();
    both.topics[0].partitions.push_back({0, -1, offset0, -1, -1, 0, {}});
    both.topics[0].partitions.push_back({1, -1, 0, -1, -1, 0, {}});
    auto answer = call<msg::FetchResponse>(c, 1, 12, both, true);
    const auto& parts = answer.responses.at(0).partitions;
    ASSERT_EQ(parts.size(), 2u);
    EXPECT_EQ(parts[0].errorCode, 0);
    EXPECT_EQ(parts[1].errorCode, 0);
    EXPECT_EQ(records_of(parts[0]), want0) << "partition 0 asked at " << offset0;
    EXPECT_EQ(records_of(parts[1]), want1) << "partition 0 asked at " << offset0;
  }
  // A partition whose batch exceeds its own limit, named first, brings it whole while the
  // partition after it brings what fits: neither starves the other.
  for (const bool big_first : {true, false}) {
    msg::FetchRequest mixed = tiny;
    mixed.maxBytes = 1 << 20;
    mixed.topics[0].partitions.clear();
    const msg::FetchRequest::FetchTopic::FetchPartition over{0, -1, 0, -1, -1, 0, {}};
    const msg::FetchRequest::FetchTopic::FetchPartition fits{1, -1, 0, -1, -1, 1 << 20, {}};
    mixed.topics[0].partitions = big_first ? std::vector{over, fits} : std::vector{fits, over};
    auto answer = call<msg::FetchResponse>(c, 1, 12, mixed, true);
    const auto& parts = answer.responses.at(0).partitions;
    ASSERT_EQ(parts.size(), 2u);
    const auto& big = parts[big_first ? 0 : 1];
    const auto& small = parts[big_first ? 1 : 0];
    EXPECT_EQ(records_of(small), 2u) << "big first: " << big_first;
    EXPECT_EQ(records_of(big), big_first ? 3u : 0u) << "only the first partition with data may exceed";
  }

  // No fetch sessions: the answer's session id 0 says none was made, and an incremental fetch
  // (a session from elsewhere) is FETCH_SESSION_ID_NOT_FOUND at the top, with no partitions,
  // as Kafka answers a session it does not have. Epoch 0 (a new full fetch) is served.
  auto session = tiny;
  session.sessionId = 12345;
  session.sessionEpoch = 3;
  auto refused = call<msg::FetchResponse>(c, 1, 12, session, true);
  EXPECT_EQ(refused.errorCode, 70);
  EXPECT_EQ(refused.sessionId, 0);
  EXPECT_TRUE(refused.responses.empty());
  session.sessionEpoch = 0;
  auto full = call<msg::FetchResponse>(c, 1, 12, session, true);
  EXPECT_EQ(full.errorCode, 0);
  EXPECT_EQ(full.sessionId, 0);
  ASSERT_EQ(full.responses.size(), 1u);
  EXPECT_EQ(full.responses[0].partitions.at(0).errorCode, 0);
}

namespace {

msg::FetchRequest fetch_of_pair(std::int32_t min_bytes, std::int32_t max_wait_ms,
                                std::int64_t offset0, std::int64_t offset1) {
  msg::FetchRequest fetch;
  fetch.maxWaitMs = max_wait_ms;
  fetch.minBytes = min_bytes;
  fetch.maxBytes = 1 << 20;
  fetch.topics.push_back({"gather", {}, {}});
  fetch.topics[0].partitions.push_back({0, -1, offset0, -1, -1, 1 << 20, {}});
  fetch.topics[0].partitions.push_back({1, -1, offset1, -1, -1, 1 << 20, {}});
  return fetch;
}

// The values of each partition's records in a Fetch answer, in order (a long one as its
// size, to keep a failure's message short).
std::vector<std::vector<std::string>> values_by_partition(const msg::FetchResponse& res) {
  std::vector<std::vector<std::string>> out;
  for (const auto& p : res.responses.at(0).partitions) {
    EXPECT_EQ(p.errorCode, 0);
    auto& values = out.emplace_back();
    if (!p.records || p.records->empty()) continue;
    auto batches = kafka::decode_record_batches(p.records->owned());
    EXPECT_TRUE(batches);
    if (!batches) continue;
    for (const auto& b : *batches)
      for (const auto& rec : b.records) {
        const std::string value = rec.value ? std::string(*rec.value) : "";
        values.push_back(value.size() > 32 ? "<" + std::to_string(value.size()) + " bytes>" : value);
      }
  }
  return out;
}

// A broker with the two-partition topic "gather", and a connection each to read and write it.
struct gather {
  broker_fixture f;
  raw_kafka consumer{f.server->kafka_port()};
  raw_kafka producer{f.server->kafka_port()};
  gather() { must(f.connect().create_topic("gather", 2)); }
  void produce(std::int32_t partition, const std::string& value) {
    auto res = call<msg::ProduceResponse>(
        producer, 0, 9, produce_request("gather", partition, record_batch_bytes(value, 1, kafka::compression_type::none)),
        true);
    ASSERT_EQ(res.responses.at(0).partitionResponses.at(0).errorCode, 0);
  }
};

}  // namespace

TEST(KafkaConformance, AFetchWaitsForMinBytesAcrossPartitionsAndAnswersWhatCameAtMaxWait) {
  gather g;
  auto& consumer = g.consumer;
  auto produce = [&](std::int32_t partition, const std::string& value) { g.produce(partition, value); };
  const std::string big(2500, 'b');  // stored with a "0" after it: read back as "<2501 bytes>"

  // Waiting on both partitions for 2000 bytes: small batches on either are not enough, so
  // the answer is still pending when the large one is produced (after the small ones were
  // acknowledged), and it carries the large one. Were minBytes taken as 1, the first small
  // batch would have answered it alone.
  consumer.send(1, 12, 77, fetch_of_pair(2000, 60000, 0, 0), true);
  produce(0, "a");
  produce(1, "c");
  produce(0, "d");
  produce(1, big);
  std::int32_t corr = 0;
  auto bytes = consumer.receive(corr, true);
  ASSERT_TRUE(bytes);
  EXPECT_EQ(corr, 77);
  auto first = values_by_partition(decode_as<msg::FetchResponse>(*bytes, 12));
  ASSERT_EQ(first.size(), 2u);
  ASSERT_FALSE(first[0].empty());
  EXPECT_EQ(first[0][0], "a0");
  EXPECT_EQ(first[1], (std::vector<std::string>{"c0", "<2501 bytes>"}));

  // More than the partitions will hold: at maxWait the answer brings what there is.
  auto all = call<msg::FetchResponse>(consumer, 1, 12, fetch_of_pair(1'000'000, 300, 0, 0), true);
  EXPECT_EQ(values_by_partition(all),
            (std::vector<std::vector<std::string>>{{"a0", "d0"}, {"c0", "<2501 bytes>"}}));

  // What the first reads find counts: one byte more than the log holds waits for the next
  // batch, and the answer holds the earlier batches with it.
  std::int32_t held = 0;
  for (const auto& p : all.responses.at(0).partitions) {
    ASSERT_TRUE(p.records);
    held += static_cast<std::int32_t>(p.records->size());
  }
  consumer.send(1, 12, 78, fetch_of_pair(held + 1, 60000, 0, 0), true);
  produce(0, "e");
  bytes = consumer.receive(corr, true);
  ASSERT_TRUE(bytes);
  EXPECT_EQ(corr, 78);
  EXPECT_EQ(values_by_partition(decode_as<msg::FetchResponse>(*bytes, 12)),
            (std::vector<std::vector<std::string>>{{"a0", "d0", "e0"}, {"c0", "<2501 bytes>"}}));

  // minBytes 0 answers at once, even with nothing to send (Kafka's rule), however long the
  // wait it allows.
  const auto asked = std::chrono::steady_clock::now();
  auto none = call<msg::FetchResponse>(consumer, 1, 12, fetch_of_pair(0, 60000, 3, 2), true);
  EXPECT_LT(std::chrono::steady_clock::now() - asked, std::chrono::seconds(30));
  EXPECT_EQ(values_by_partition(none), (std::vector<std::vector<std::string>>{{}, {}}));
}

TEST(KafkaConformance, AFetchAtTheLogEndWaitsWhateverItsLimitsAndWhicheverPartitionIsUnknown) {
  gather g;
  auto& consumer = g.consumer;
  auto produce = [&](std::int32_t partition, const std::string& value) { g.produce(partition, value); };
  // Limits of 0 bytes still wait for data, and the first batch then comes whole (KIP-74).
  auto zero = fetch_of_pair(1, 60000, 0, 0);
  zero.maxBytes = 0;
  for (auto& p : zero.topics[0].partitions) p.partitionMaxBytes = 0;
  consumer.send(1, 12, 80, zero, true);
  produce(1, "late");
  std::int32_t corr = 0;
  auto bytes = consumer.receive(corr, true);
  ASSERT_TRUE(bytes);
  EXPECT_EQ(corr, 80);
  EXPECT_EQ(values_by_partition(decode_as<msg::FetchResponse>(*bytes, 12)),
            (std::vector<std::vector<std::string>>{{}, {"late0"}}));

  // A partition that does not exist is answered with its error, but does not end the wait
  // for the others, whichever of them answers the first pass last.
  for (int round = 0; round < 3; ++round) {
    msg::FetchRequest fetch;
    fetch.maxWaitMs = 60000;
    fetch.minBytes = 1;
    fetch.maxBytes = 1 << 20;
    fetch.topics.push_back({"gather", {}, {}});
    fetch.topics[0].partitions.push_back({0, -1, round, -1, -1, 1 << 20, {}});
    fetch.topics[0].partitions.push_back({7, -1, 0, -1, -1, 1 << 20, {}});
    consumer.send(1, 12, 90 + round, fetch, true);
    produce(0, "r" + std::to_string(round) + "-");
    bytes = consumer.receive(corr, true);
    ASSERT_TRUE(bytes);
    EXPECT_EQ(corr, 90 + round);
    auto res = decode_as<msg::FetchResponse>(*bytes, 12);
    const auto& parts = res.responses.at(0).partitions;
    ASSERT_EQ(parts.size(), 2u);
    EXPECT_EQ(parts[1].errorCode, 3) << "UNKNOWN_TOPIC_OR_PARTITION";
    ASSERT_TRUE(parts[0].records);
    auto batches = kafka::decode_record_batches(parts[0].records->owned());
    ASSERT_TRUE(batches);
    ASSERT_EQ(batches->size(), 1u);
    EXPECT_EQ(std::string(*batches->front().records.at(0).value), "r" + std::to_string(round) + "-0");
  }
}

// Kafka reads a long poll's partitions again when its wait ends (DelayedFetch.onComplete): a
// partition whose records DeleteRecords removed while the Fetch waited answers
// OFFSET_OUT_OF_RANGE, as a Fetch made then would, not the records its first pass read before
// they went. Whether another partition's data ends the wait, or the partition's own.
TEST(KafkaConformance, ALongPollWhoseRecordsWereDeletedWhileItWaitedAnswersOffsetOutOfRange) {
  gather g;
  auto& consumer = g.consumer;
  auto delete_below = [&](std::int64_t offset) {
    msg::DeleteRecordsRequest del;
    del.topics.push_back({"gather", {{0, offset}}});
    del.timeoutMs = 30000;
    const auto done = call<msg::DeleteRecordsResponse>(g.producer, 21, 2, del, true);
    ASSERT_EQ(done.topics.at(0).partitions.at(0).errorCode, 0);
    ASSERT_EQ(done.topics.at(0).partitions.at(0).lowWatermark, offset);
  };
  auto answer_of = [&](std::int32_t correlation) {
    std::int32_t corr = 0;
    auto bytes = consumer.receive(corr, true);
    EXPECT_TRUE(bytes);
    EXPECT_EQ(corr, correlation);
    return bytes ? decode_as<msg::FetchResponse>(*bytes, 12) : msg::FetchResponse{};
  };
  auto records_in = [](const msg::FetchResponse::FetchableTopicResponse::PartitionData& p) {
    if (!p.records || p.records->empty()) return std::size_t{0};
    auto batches = kafka::decode_record_batches(p.records->owned());
    EXPECT_TRUE(batches);
    std::size_t n = 0;
    if (batches)
      for (const auto& b : *batches) n += b.records.size();
    return n;
  };
  const std::string big(2500, 'b');  // minBytes (2000) with it

  // The first pass reads partition 0's records 0-4, too few bytes: both partitions wait.
  // Their records deleted, partition 1's data ends the wait.
  for (int i = 0; i < 5; ++i) g.produce(0, "old");
  consumer.send(1, 12, 81, fetch_of_pair(2000, 60000, 0, 0), true);
  ASSERT_TRUE(wait_until([&] { return g.f.metrics().fetches_waiting() == 2; }));
  delete_below(5);
  g.produce(1, big);
  auto res = answer_of(81);
  ASSERT_EQ(res.responses.size(), 1u);
  ASSERT_EQ(res.responses[0].partitions.size(), 2u);
  const auto& deleted = res.responses[0].partitions[0];
  EXPECT_EQ(deleted.errorCode, 1) << "OFFSET_OUT_OF_RANGE";
  EXPECT_EQ(records_in(deleted), 0u);
  EXPECT_EQ(deleted.logStartOffset, -1) << "as Kafka 3.x answers an error";
  EXPECT_EQ(res.responses[0].partitions[1].errorCode, 0);
  EXPECT_EQ(records_in(res.responses[0].partitions[1]), 1u);
  ASSERT_TRUE(wait_until([&] { return g.f.metrics().fetches_waiting() == 0; }));

  // Partition 0 alone, from 5: its first pass reads 5-9, its records are deleted, and its own
  // next record ends the wait.
  for (int i = 0; i < 5; ++i) g.produce(0, "later");
  auto alone = fetch_of_pair(2000, 60000, 5, 0);
  alone.topics[0].partitions.pop_back();
  consumer.send(1, 12, 82, alone, true);
  ASSERT_TRUE(wait_until([&] { return g.f.metrics().fetches_waiting() == 1; }));
  delete_below(10);
  g.produce(0, big);
  res = answer_of(82);
  ASSERT_EQ(res.responses.size(), 1u);
  ASSERT_EQ(res.responses[0].partitions.size(), 1u);
  EXPECT_EQ(res.responses[0].partitions[0].errorCode, 1) << "OFFSET_OUT_OF_RANGE";
  EXPECT_EQ(records_in(res.responses[0].partitions[0]), 0u);

  // A Fetch from the new log start is served as ever.
  alone.topics[0].partitions[0].fetchOffset = 10;
  alone.maxWaitMs = 0;
  res = call<msg::FetchResponse>(consumer, 1, 12, alone, true);
  ASSERT_EQ(res.responses.size(), 1u);
  ASSERT_EQ(res.responses[0].partitions.size(), 1u);
  EXPECT_EQ(res.responses[0].partitions[0].errorCode, 0);
  EXPECT_EQ(res.responses[0].partitions[0].logStartOffset, 10);
  EXPECT_EQ(records_in(res.responses[0].partitions[0]), 1u);
}

// An answer that holds all its maxBytes allows is sent at once, however large its minBytes:
// what the reads bring past its room is given back as it comes (the first partition in
// request order keeps its batch, the second gives its own back), rather than held through a
// long poll that could add nothing to the answer.
TEST(KafkaConformance, AFetchWhoseReadsFillItsMaxBytesIsAnsweredWithoutWaitingForMinBytes) {
  gather g;
  const std::string big(3000, 'b');  // read back as "<3001 bytes>"
  g.produce(0, big);
  g.produce(1, big);
  auto fetch = fetch_of_pair(1 << 20, 60000, 0, 0);  // a mebibyte, or a minute
  fetch.maxBytes = 4000;                             // room for one of the two batches
  const auto res = call<msg::FetchResponse>(g.consumer, 1, 12, fetch, true);
  EXPECT_EQ(values_by_partition(res),
            (std::vector<std::vector<std::string>>{{"<3001 bytes>"}, {}}));
}

// A partition named again and again (20,000 times here, in two entries of its topic) is
// served once, in its first mention's place, at its last mention's offset (Kafka keeps one
// entry per partition). By topic id (v13) too, where several entries naming one id all get
// its name.
TEST(KafkaConformance, AFetchNamingAPartitionOverAndOverServesItOnceInItsFirstPlaceAtItsLastOffset) {
  gather g;
  for (const auto* v : {"a", "b", "c"}) g.produce(0, v);
  for (const auto* v : {"x", "y"}) g.produce(1, v);
  auto fetch = fetch_of_pair(1, 0, 0, 0);
  for (int i = 0; i < 10'000; ++i)
    fetch.topics[0].partitions.push_back({0, -1, i % 3, -1, -1, 1 << 20, {}});
  fetch.topics.push_back({"gather", {}, {}});
  for (int i = 0; i < 10'000; ++i)
    fetch.topics[1].partitions.push_back({0, -1, 1, -1, -1, 1 << 20, {}});
  fetch.topics[1].partitions.push_back({1, -1, 1, -1, -1, 1 << 20, {}});
  fetch.topics[1].partitions.push_back({0, -1, 2, -1, -1, 1 << 20, {}});
  const auto res = call<msg::FetchResponse>(g.consumer, 1, 12, fetch, true);
  ASSERT_EQ(res.responses.size(), 1u) << "the second entry names no partition the first did not";
  ASSERT_EQ(res.responses[0].partitions.size(), 2u);
  EXPECT_EQ(res.responses[0].partitions[0].partitionIndex, 0);
  EXPECT_EQ(res.responses[0].partitions[1].partitionIndex, 1);
  EXPECT_EQ(values_by_partition(res), (std::vector<std::vector<std::string>>{{"c0"}, {"y0"}}));

  auto ids = create(g.consumer, {"by-id", 2, 1, {}, {}});
  ASSERT_EQ(ids.errorCode, 0);
  const std::vector<std::pair<std::int32_t, std::string>> writes{{0, "i"}, {0, "j"}, {1, "k"}};
  for (const auto& [partition, value] : writes) {
    auto produced = call<msg::ProduceResponse>(
        g.producer, 0, 9,
        produce_request("by-id", partition, record_batch_bytes(value, 1, kafka::compression_type::none)),
        true);
    ASSERT_EQ(produced.responses.at(0).partitionResponses.at(0).errorCode, 0);
  }
  msg::FetchRequest by_id;
  by_id.maxWaitMs = 0;
  by_id.topics.push_back({{}, ids.topicId, {}});
  by_id.topics[0].partitions.push_back({0, -1, 0, -1, -1, 1 << 20, {}});
  by_id.topics.push_back({{}, ids.topicId, {}});
  by_id.topics[1].partitions.push_back({1, -1, 0, -1, -1, 1 << 20, {}});
  by_id.topics[1].partitions.push_back({0, -1, 1, -1, -1, 1 << 20, {}});
  const auto named = call<msg::FetchResponse>(g.consumer, 1, 13, by_id, true);
  ASSERT_EQ(named.responses.size(), 2u);
  auto only_value = [](const msg::FetchResponse::FetchableTopicResponse& t) -> std::string {
    EXPECT_EQ(t.partitions.size(), 1u);
    if (t.partitions.empty()) return "<none>";
    const auto& p = t.partitions[0];
    EXPECT_EQ(p.errorCode, 0) << "partition " << p.partitionIndex;
    if (!p.records) return "<none>";
    auto batches = kafka::decode_record_batches(p.records->owned());
    if (!batches || batches->size() != 1 || batches->front().records.size() != 1) return "<other>";
    const auto& value = batches->front().records.front().value;
    return value ? std::string(*value) : "<null>";
  };
  EXPECT_EQ(only_value(named.responses[0]), "j0") << "partition 0 at its last mention's offset";
  EXPECT_EQ(only_value(named.responses[1]), "k0");
  EXPECT_EQ(named.responses[1].partitions.at(0).partitionIndex, 1);
}

TEST(KafkaConformance, DeletingAGroupOrItsOffsetsThatNeverExistedIsGroupIdNotFound) {
  broker_fixture f;
  must(f.connect().create_topic("kept", 1));
  raw_kafka c{f.server->kafka_port()};
  msg::OffsetCommitRequest commit;
  commit.groupId = "real";
  commit.generationIdOrMemberEpoch = -1;
  commit.topics.push_back({"kept", {{0, 3, -1, -1, std::string("")}}});
  ASSERT_EQ(call<msg::OffsetCommitResponse>(c, 8, 8, commit, true).topics.at(0).partitions.at(0).errorCode, 0);

  msg::OffsetDeleteRequest offsets;
  offsets.groupId = "never-used";
  offsets.topics.push_back({"kept", {{0}}});
  EXPECT_EQ(call<msg::OffsetDeleteResponse>(c, 47, 0, offsets, false).errorCode, 69);

  msg::DeleteGroupsRequest del;
  del.groupsNames = {"real", "never-used"};
  auto res = call<msg::DeleteGroupsResponse>(c, 42, 2, del, true);
  ASSERT_EQ(res.results.size(), 2u);
  EXPECT_EQ(res.results[0].errorCode, 0) << "a group with committed offsets exists";
  EXPECT_EQ(res.results[1].errorCode, 69) << "GROUP_ID_NOT_FOUND";
  res = call<msg::DeleteGroupsResponse>(c, 42, 2, del, true);
  EXPECT_EQ(res.results.at(0).errorCode, 69) << "deleted: gone";
}

// KIP-430: with authorization off every operation Kafka defines on a resource is allowed,
// and the bit fields say so when asked (and only then).
TEST(KafkaConformance, AuthorizedOperationsAreReportedWhenAsked) {
  broker_fixture f;
  must(f.connect().create_topic("ops", 1));
  raw_kafka c{f.server->kafka_port()};
  constexpr std::int32_t topic_bits = (1 << 3) | (1 << 4) | (1 << 5) | (1 << 6) | (1 << 7) |
                                      (1 << 8) | (1 << 10) | (1 << 11);
  constexpr std::int32_t cluster_bits = (1 << 5) | (1 << 7) | (1 << 8) | (1 << 9) | (1 << 10) |
                                        (1 << 11) | (1 << 12);
  constexpr std::int32_t group_bits = (1 << 3) | (1 << 6) | (1 << 8);
  constexpr std::int32_t not_asked = std::numeric_limits<std::int32_t>::min();
  msg::MetadataRequest meta;
  meta.topics = std::vector<msg::MetadataRequest::MetadataRequestTopic>{{{}, std::string("ops")}};
  meta.allowAutoTopicCreation = false;
  EXPECT_EQ(call<msg::MetadataResponse>(c, 3, 10, meta, true).topics.at(0).topicAuthorizedOperations, not_asked);
  meta.includeTopicAuthorizedOperations = true;
  meta.includeClusterAuthorizedOperations = true;
  auto m = call<msg::MetadataResponse>(c, 3, 10, meta, true);
  EXPECT_EQ(m.topics.at(0).topicAuthorizedOperations, topic_bits);
  EXPECT_EQ(m.clusterAuthorizedOperations, cluster_bits);
  // An unknown topic is answered with its error and, as Kafka does, the bits.
  meta.topics = std::vector<msg::MetadataRequest::MetadataRequestTopic>{{{}, std::string("no-such-topic")}};
  m = call<msg::MetadataResponse>(c, 3, 10, meta, true);
  EXPECT_EQ(m.topics.at(0).errorCode, 3);
  EXPECT_EQ(m.topics.at(0).topicAuthorizedOperations, topic_bits);

  msg::DescribeGroupsRequest describe;
  describe.groups = {"anyone"};
  EXPECT_EQ(call<msg::DescribeGroupsResponse>(c, 15, 5, describe, true).groups.at(0).authorizedOperations,
            not_asked);
  describe.includeAuthorizedOperations = true;
  EXPECT_EQ(call<msg::DescribeGroupsResponse>(c, 15, 5, describe, true).groups.at(0).authorizedOperations,
            group_bits);
}

// Kafka makes a set of the topics a Metadata request names: each is answered once. Topic ids
// and null names are on the wire from v10 but served from v12 only; below, Kafka refuses the
// whole request. A name that Kafka's metrics would confuse with an existing topic's is refused
// to a request that would create the topic on the way too, as CreateTopics refuses it.
TEST(KafkaConformance, MetadataAnswersEachTopicOnceAndTopicIdsFromV12Only) {
  broker_fixture f;
  raw_kafka c{f.server->kafka_port()};
  auto made = create(c, {"meta-once", 2, 1, {}, {}});
  ASSERT_EQ(made.errorCode, 0);
  using wanted = msg::MetadataRequest::MetadataRequestTopic;
  msg::MetadataRequest meta;
  meta.allowAutoTopicCreation = false;
  meta.topics = std::vector<wanted>{{{}, std::string("meta-once")}, {{}, std::string("meta-none")},
                                    {{}, std::string("meta-once")}, {{}, std::string("meta-none")}};
  auto m = call<msg::MetadataResponse>(c, 3, 9, meta, true);
  ASSERT_EQ(m.topics.size(), 2u) << "each topic once, in the order first named";
  EXPECT_EQ(m.topics[0].name.value_or(""), "meta-once");
  EXPECT_EQ(m.topics[0].errorCode, 0);
  EXPECT_EQ(m.topics[1].name.value_or(""), "meta-none");
  EXPECT_EQ(m.topics[1].errorCode, 3) << "UNKNOWN_TOPIC_OR_PARTITION";

  // v12, by id: an id named twice is answered once; an unknown one is UNKNOWN_TOPIC_ID, named
  // by its id only.
  kafka::uuid unknown{};
  unknown[0] = 1;
  meta.topics = std::vector<wanted>{{made.topicId, std::nullopt}, {unknown, std::nullopt}, {made.topicId, std::nullopt}};
  m = call<msg::MetadataResponse>(c, 3, 12, meta, true);
  ASSERT_EQ(m.topics.size(), 2u);
  EXPECT_EQ(m.topics[0].errorCode, 0);
  EXPECT_EQ(m.topics[0].name.value_or(""), "meta-once");
  EXPECT_EQ(m.topics[0].partitions.size(), 2u);
  EXPECT_EQ(m.topics[1].errorCode, 100) << "UNKNOWN_TOPIC_ID";
  EXPECT_FALSE(m.topics[1].name.has_value());
  EXPECT_EQ(m.topics[1].topicId, unknown);

  // v10 and v11: an id, or a null name, refuses the whole request as Kafka's error response
  // does: every entry as it came, INVALID_REQUEST, no brokers.
  for (std::int16_t v : {10, 11}) {
    meta.topics = std::vector<wanted>{{{}, std::string("meta-once")}, {made.topicId, std::nullopt}};
    m = call<msg::MetadataResponse>(c, 3, v, meta, true);
    ASSERT_EQ(m.topics.size(), 2u) << "v" << v;
    EXPECT_EQ(m.topics[0].errorCode, 42) << "INVALID_REQUEST";
    EXPECT_EQ(m.topics[0].name.value_or("<null>"), "meta-once");
    EXPECT_EQ(m.topics[1].errorCode, 42);
    EXPECT_EQ(m.topics[1].name.value_or("<null>"), "");
    EXPECT_TRUE(m.brokers.empty());
    meta.topics = std::vector<wanted>{{{}, std::string("meta-once")}};
    m = call<msg::MetadataResponse>(c, 3, v, meta, true);
    ASSERT_EQ(m.topics.size(), 1u);
    EXPECT_EQ(m.topics[0].errorCode, 0) << "by name alone: served";
  }

  // A name that differs from an existing topic's only in '.' against '_' is not auto-created
  // either, by Metadata or by Produce: INVALID_TOPIC_EXCEPTION, as CreateTopics answers.
  ASSERT_EQ(create(c, {"meta.dotted", 1, 1, {}, {}}).errorCode, 0);
  meta.allowAutoTopicCreation = true;
  meta.topics = std::vector<wanted>{{{}, std::string("meta_dotted")}};
  EXPECT_EQ(call<msg::MetadataResponse>(c, 3, 9, meta, true).topics.at(0).errorCode, 17)
      << "INVALID_TOPIC_EXCEPTION";
  auto produced = call<msg::ProduceResponse>(
      c, 0, 9, produce_request("meta_dotted", 0, record_batch_bytes("v", 1, kafka::compression_type::none)), true);
  EXPECT_EQ(produced.responses.at(0).partitionResponses.at(0).errorCode, 17);
  meta.allowAutoTopicCreation = false;
  EXPECT_EQ(call<msg::MetadataResponse>(c, 3, 9, meta, true).topics.at(0).errorCode, 3)
      << "nothing was created";
}

// Kafka's checks of a DeleteTopics request before any topic is looked up or deleted: an entry
// with neither a name nor an id, or both; a name or an id given twice; a name that names the
// topic of an id in the same request. Each such entry is refused (INVALID_REQUEST, Kafka's
// message) and nothing it names is deleted.
TEST(KafkaConformance, DeleteTopicsRefusesRepeatedAndAmbiguousEntriesAndDeletesNothingTheyName) {
  broker_fixture f;
  raw_kafka c{f.server->kafka_port()};
  auto twice = create(c, {"del-twice", 1, 1, {}, {}});
  auto other = create(c, {"del-other", 1, 1, {}, {}});
  ASSERT_EQ(twice.errorCode, 0);
  ASSERT_EQ(other.errorCode, 0);
  ASSERT_EQ(create(c, {"del-kept", 1, 1, {}, {}}).errorCode, 0);
  using state = msg::DeleteTopicsRequest::DeleteTopicState;
  auto delete_v6 = [&](std::vector<state> topics) {
    msg::DeleteTopicsRequest req;
    req.timeoutMs = 30000;
    req.topics = std::move(topics);
    return call<msg::DeleteTopicsResponse>(c, 20, 6, req, true).responses;
  };
  auto refused = [](const msg::DeleteTopicsResponse::DeletableTopicResult& r, const std::string& why) {
    EXPECT_EQ(r.errorCode, 42) << "INVALID_REQUEST";
    EXPECT_EQ(r.errorMessage.value_or(""), why);
  };
  auto res = delete_v6({{std::string("del-twice"), {}},
                        {std::string("del-twice"), {}},
                        {std::nullopt, {}},
                        {std::string("del-kept"), other.topicId}});
  ASSERT_EQ(res.size(), 4u);
  refused(res[0], "Duplicate topic name.");
  refused(res[1], "Duplicate topic name.");
  refused(res[2], "Neither topic name nor id were specified.");
  refused(res[3], "You may not specify both topic name and topic id.");
  res = delete_v6({{std::nullopt, twice.topicId}, {std::nullopt, twice.topicId}});
  ASSERT_EQ(res.size(), 2u);
  refused(res[0], "Duplicate topic id.");
  refused(res[1], "Duplicate topic id.");
  EXPECT_FALSE(res[1].name.has_value()) << "asked by id: the id only";
  res = delete_v6({{std::nullopt, other.topicId}, {std::string("del-other"), {}}});
  ASSERT_EQ(res.size(), 2u);
  refused(res[0], "The provided topic name maps to an ID that was already supplied.");
  refused(res[1], "The provided topic name maps to an ID that was already supplied.");
  // Before ids (v1): a name given twice.
  msg::DeleteTopicsRequest old;
  old.timeoutMs = 30000;
  old.topicNames = {"del-kept", "del-kept"};
  auto old_res = call<msg::DeleteTopicsResponse>(c, 20, 1, old, false);
  ASSERT_EQ(old_res.responses.size(), 2u);
  EXPECT_EQ(old_res.responses[0].errorCode, 42);
  EXPECT_EQ(old_res.responses[1].errorCode, 42);
  EXPECT_EQ(must(f.connect().list_topics()).size(), 3u) << "nothing refused was deleted";

  // Each named once: deleted, by id and by name in one request.
  res = delete_v6({{std::nullopt, twice.topicId}, {std::string("del-other"), {}}, {std::string("del-kept"), {}}});
  ASSERT_EQ(res.size(), 3u);
  for (const auto& r : res) EXPECT_EQ(r.errorCode, 0) << r.name.value_or("<null>");
  EXPECT_EQ(res[0].name.value_or(""), "del-twice") << "the name behind the id";
  EXPECT_TRUE(must(f.connect().list_topics()).empty());
}
