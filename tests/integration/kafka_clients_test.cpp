// Real Kafka clients against the real `portask` executable on a real redis-server: kcat
// (librdkafka) with every compression codec, kafka-python, the JavaScript clients under
// tests/clients/ (kafkajs, node-rdkafka with a current librdkafka, @platformatic/kafka) and the
// Go clients Debian packages (sarama, told each Kafka version from 0.8.2 to 2.1; kafka-go).
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>
#include <sys/wait.h>

#include "protocol/crc32.hpp"
#include "protocol/frame.hpp"
#include "redis_server.hpp"
#include "server_process.hpp"

using namespace portask;
using namespace portask::test;

namespace {

// Runs a shell command (loopback only), returns exit status and stdout.
class KafkaClients : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(redis_.start());
    server_ = std::make_unique<server_process>(redis_.url(), dir_.path() + "/portask.log");
    ASSERT_TRUE(server_->start());
    bootstrap_ = "127.0.0.1:" + std::to_string(server_->kafka_port());
  }
  void TearDown() override { print_log_if_failed(dir_.path() + "/portask.log"); }
  temp_dir dir_;
  redis_server redis_;
  std::unique_ptr<server_process> server_;
  std::string bootstrap_;
};

}  // namespace

TEST_F(KafkaClients, KcatProducesAndConsumesWithEveryCompressionCodec) {
  auto native = server_->connect();
  for (const std::string codec : {"none", "gzip", "snappy", "lz4", "zstd"}) {
    const std::string topic = "kcat-" + codec;
    ASSERT_TRUE(client::ok(native.create_topic(topic, 3)));
    // 3 partitions x 20 keyed messages with a header; -z sets the batch compression.
    std::string input;
    for (int i = 0; i < 60; ++i) input += "key" + std::to_string(i) + ":value-" + codec + "-" + std::to_string(i) + "\n";
    std::ofstream(dir_.path() + "/in.txt") << input;
    for (int p = 0; p < 3; ++p) {
      auto [rc, out] = run_shell("kcat -b " + bootstrap_ + " -P -t " + topic + " -p " + std::to_string(p) +
                           " -K: -H origin=kcat -z " + codec + " -l " + dir_.path() + "/in.txt 2>&1");
      ASSERT_EQ(rc, 0) << out;
    }
    std::set<std::string> seen;
    for (int p = 0; p < 3; ++p) {
      auto [rc, out] = run_shell("kcat -b " + bootstrap_ + " -C -t " + topic + " -p " + std::to_string(p) +
                           " -o beginning -e -f '%p|%o|%k|%s|%h\\n' 2>/dev/null");
      ASSERT_EQ(rc, 0);
      std::istringstream lines(out);
      int count = 0;
      for (std::string line; std::getline(lines, line);) {
        if (line.empty()) continue;
        ++count;
        EXPECT_NE(line.find("|origin=kcat"), std::string::npos) << line;
        EXPECT_EQ(line.substr(0, 2), std::to_string(p) + "|") << line;
        seen.insert(line.substr(line.find('|', 2) + 1));
      }
      EXPECT_EQ(count, 60) << codec << " partition " << p;
    }
    for (int i = 0; i < 60; ++i)
      EXPECT_TRUE(seen.count("key" + std::to_string(i) + "|value-" + codec + "-" + std::to_string(i) + "|origin=kcat"))
          << codec << " message " << i;
  }
}

TEST_F(KafkaClients, OldClientsProduceAndConsumeMessageSetsOfMagicZero) {
  // librdkafka told the broker is 0.8.2 / 0.9.0 (it then skips ApiVersions) speaks what those
  // clients spoke: Produce v0 / v1 with message sets of magic 0, Fetch v0 / v1, with gzip and
  // without. Every message of either era is read back by both.
  const std::vector<std::string> eras{"0.8.2", "0.9.0"};
  auto old = [&](const std::string& era) {
    return " -X api.version.request=false -X broker.version.fallback=" + era + " ";
  };
  std::set<std::string> expected;
  for (const auto& era : eras)
    for (const std::string codec : {"none", "gzip"}) {
      std::string input;
      for (int i = 0; i < 5; ++i) {
        const auto key = "k" + std::to_string(i) + "-" + era + "-" + codec;
        input += key + ":v" + std::to_string(i) + "\n";
        expected.insert(key + "=v" + std::to_string(i));
      }
      std::ofstream(dir_.path() + "/old.txt") << input;
      auto [rc, out] = run_shell("kcat -b " + bootstrap_ + " -P -t old -p 0 -K: -z " + codec +
                                 old(era) + "-l " + dir_.path() + "/old.txt 2>&1");
      ASSERT_EQ(rc, 0) << era << " " << codec << ": " << out;
    }
  for (const auto& era : eras) {
    auto [rc, out] = run_shell("kcat -b " + bootstrap_ + " -C -t old -p 0 -o beginning -e -f '%k=%s\\n'" +
                               old(era) + "2>/dev/null");
    ASSERT_EQ(rc, 0) << era;
    std::set<std::string> got;
    std::istringstream lines(out);
    for (std::string line; std::getline(lines, line);)
      if (!line.empty()) got.insert(line);
    EXPECT_EQ(got, expected) << "read as " << era;
  }
}

TEST_F(KafkaClients, KafkaPythonAsAKafka0100ClientUsesMessageSetsOfMagicOne) {
  auto [rc, out] = run_shell("/usr/bin/python3 " PORTASK_TEST_SOURCE_DIR "/kafka_python_old_protocol.py " +
                             bootstrap_ + " old-py 2>&1");
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("10 magic-1 messages checked"), std::string::npos) << out;
}

TEST_F(KafkaClients, AGroupsCommitsAreReadFromConsumerOffsetsByAPlainConsumer) {
  // A librdkafka consumer group reads a topic and commits as it closes; kcat then reads
  // __consumer_offsets like any topic and finds the commit: key v1 (group, topic,
  // partition) and a v3 value, bytes as Kafka writes them.
  auto [rc, out] = run_shell("printf 'a:1\\nb:2\\n' | kcat -b " + bootstrap_ + " -P -t watched -p 0 -K: 2>&1");
  ASSERT_EQ(rc, 0) << out;
  std::tie(rc, out) = run_shell("kcat -b " + bootstrap_ + " -G watchers watched -o beginning -e -q " +
                                "-X enable.auto.commit=true -X auto.commit.interval.ms=100 2>&1");
  ASSERT_EQ(rc, 0) << out;
  std::tie(rc, out) = run_shell("kcat -b " + bootstrap_ + " -C -t __consumer_offsets -o beginning -e " +
                                "-f '%k|%s\\n' 2>/dev/null | od -An -c | tr -d ' \\n'");
  ASSERT_EQ(rc, 0);
  EXPECT_NE(out.find("watchers"), std::string::npos) << "the group's records: " << out;
  EXPECT_NE(out.find("watched"), std::string::npos) << out;
}

TEST_F(KafkaClients, KafkaMessagesAreStoredAsPortaskFramesAndCountedLikeNativeOnes) {
  auto [rc, out] = run_shell("printf 'a:1\\nb:2\\nc:3\\n' | kcat -b " + bootstrap_ + " -P -t stored -p 0 -K: 2>&1");
  ASSERT_EQ(rc, 0) << out;
  redisContext* r = redisConnect("127.0.0.1", redis_.port());
  ASSERT_TRUE(r && !r->err);
  auto* reply = static_cast<redisReply*>(redisCommand(r, "XRANGE portask:{stored:0}:log - +"));
  ASSERT_TRUE(reply && reply->type == REDIS_REPLY_ARRAY && reply->elements >= 1);
  auto* fields = reply->element[0]->element[1];
  std::string frame;
  for (std::size_t k = 0; k + 1 < fields->elements; k += 2)
    if (std::string(fields->element[k]->str) == "f") frame.assign(fields->element[k + 1]->str, fields->element[k + 1]->len);
  ASSERT_GE(frame.size(), protocol::frame_header_size);
  EXPECT_EQ(frame.substr(0, 4), "PORT");
  EXPECT_EQ(frame[4], 1);
  const auto bytes = protocol::as_bytes(frame);
  EXPECT_EQ(protocol::load_be32(bytes.data() + 12), protocol::crc32(bytes.subspan(16)));
  freeReplyObject(reply);
  redisFree(r);
  auto [status, metrics] = http_get(server_->http_port(), "/metrics");
  ASSERT_EQ(status, 200);
  EXPECT_EQ(prometheus_value(metrics, "portask_messages_in_total{protocol=\"kafka\"}"), 3);
  // And a native consumer reads the Kafka-produced messages unchanged.
  auto native = server_->connect();
  auto got = native.fetch("stored", 0, 0);
  ASSERT_TRUE(client::ok(got));
  ASSERT_EQ(std::get<0>(got).messages.size(), 3u);
  EXPECT_EQ(std::get<0>(got).messages[2].key, "c");
  EXPECT_EQ(std::get<0>(got).messages[2].value, "3");
}

TEST_F(KafkaClients, KafkaPythonProducesAndConsumesKeyedMessagesWithHeaders) {
  auto native = server_->connect();
  ASSERT_TRUE(client::ok(native.create_topic("py", 3)));
  auto [rc, out] = run_shell("/usr/bin/python3 " PORTASK_TEST_SOURCE_DIR "/kafka_python_check.py " +
                       bootstrap_ + " py 2>&1");
  EXPECT_EQ(rc, 0) << out;
}

TEST_F(KafkaClients, KafkajsProducesAndConsumesKeyedMessagesWithHeadersThroughAGroup) {
  // kafkajs is installed from its lockfile by `tools/setup --test` (which tools/test runs).
  std::ifstream installed(PORTASK_KAFKAJS_DIR "/node_modules/kafkajs/package.json");
  ASSERT_TRUE(installed) << "kafkajs is not installed: run tools/setup --test";
  auto [rc, out] = run_shell("KAFKAJS_NO_PARTITIONER_WARNING=1 node " PORTASK_KAFKAJS_DIR "/check.js " +
                       bootstrap_ + " kjs kjs-group 2>&1");
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("60 messages checked"), std::string::npos) << out;
}

TEST_F(KafkaClients, NodeRdkafkaAdministersProducesAndConsumesByPartitionAndThroughAGroup) {
  // node-rdkafka (and the librdkafka it bundles) is built from its lockfile by `tools/setup --test`.
  std::ifstream installed(PORTASK_NODE_RDKAFKA_DIR "/node_modules/node-rdkafka/build/Release/node-librdkafka.node");
  ASSERT_TRUE(installed) << "node-rdkafka is not installed: run tools/setup --test";
  auto [rc, out] = run_shell("node " PORTASK_NODE_RDKAFKA_DIR "/check.js " + bootstrap_ + " rdk rdk-group 2>&1");
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("node-rdkafka: 60 messages checked"), std::string::npos) << out;
}

TEST_F(KafkaClients, PlatformaticKafkaAdministersProducesAndConsumesByPartitionAndThroughAGroup) {
  // @platformatic/kafka is installed from its lockfile by `tools/setup --test`.
  std::ifstream installed(PORTASK_PLATFORMATIC_KAFKA_DIR "/node_modules/@platformatic/kafka/package.json");
  ASSERT_TRUE(installed) << "@platformatic/kafka is not installed: run tools/setup --test";
  auto [rc, out] = run_shell("node " PORTASK_PLATFORMATIC_KAFKA_DIR "/check.js " + bootstrap_ + " plt plt-group 2>&1");
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("platformatic-kafka: 60 messages checked"), std::string::npos) << out;
}

namespace {

// Builds one of the Go checks under tests/clients/go/ with Debian's Go and the client library
// Debian packages (GOPATH mode: nothing is downloaded), into the test artifact directory.
// Returns the binary's path, or the build's output prefixed by "error: ".
std::string build_go_check(const std::string& name) {
  const std::string artifacts = PORTASK_TEST_ARTIFACT_DIR;
  const std::string binary = artifacts + "/" + name;
  auto [rc, out] = run_shell("mkdir -p " + artifacts + " && cd " PORTASK_GO_CLIENTS_DIR "/" + name +
                             " && GO111MODULE=off GOPATH=/usr/share/gocode GOPROXY=off GOFLAGS= GOENV=off"
                             " GOCACHE=" + artifacts + "/go-cache go build -o " + binary + " . 2>&1");
  return rc == 0 ? binary : "error: " + out;
}

}  // namespace

TEST_F(KafkaClients, SaramaAsKafka082To21ClientsAdministersProducesConsumesAndCommits) {
  const auto check = build_go_check("sarama_check");
  ASSERT_EQ(check.rfind("error: ", 0), std::string::npos) << check;
  // Each version changes what sarama sends: 0.8.2 message sets of magic 0 and no admin or
  // groups; 0.10.0 magic 1; 0.10.2 consumer groups and CreateTopics; 0.11 record batches with
  // headers and DescribeConfigs; 1.0 and 2.1 newer request versions (2.1: zstd).
  for (const std::string args : {"0.8.2.0 gzip", "0.10.0.0 snappy", "0.10.2.0 lz4", "1.0.0 none", "2.1.0 zstd"}) {
    auto [rc, out] = run_shell(check + " " + bootstrap_ + " " + args + " 2>&1");
    EXPECT_EQ(rc, 0) << args << ": " << out;
    EXPECT_NE(out.find("400 messages checked"), std::string::npos) << args << ": " << out;
  }
}

TEST_F(KafkaClients, KafkaGoCreatesATopicWritesBatchesAndReadsThemThroughAGroup) {
  const auto check = build_go_check("kafka_go_check");
  ASSERT_EQ(check.rfind("error: ", 0), std::string::npos) << check;
  auto [rc, out] = run_shell(check + " " + bootstrap_ + " 2>&1");
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("kafka-go: 500 messages checked"), std::string::npos) << out;
}
