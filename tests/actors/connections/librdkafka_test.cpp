// librdkafka's C API (Debian's librdkafka-dev 2.0.2) against the in-process broker: a real
// client's ApiVersions/Metadata/Produce/Fetch, keyed messages with headers, 3 partitions.
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include <map>

#include "tests/actors/broker_fixture.hpp"

using namespace portask;
using namespace portask::test;

namespace {

rd_kafka_t* make_client(rd_kafka_type_t type, const std::string& bootstrap,
                        std::map<std::string, std::string> extra = {}) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  extra["bootstrap.servers"] = bootstrap;
  extra.emplace("log_level", "3");
  for (const auto& [k, v] : extra)
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK)
      ADD_FAILURE() << k << ": " << err;
  rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof err);
  EXPECT_NE(rk, nullptr) << err;
  return rk;
}

}  // namespace

TEST(Librdkafka, ProducesAndConsumesKeyedMessagesWithHeadersOnThreePartitions) {
  broker_fixture f;
  must(f.connect().create_topic("rdk", 3));
  const std::string bootstrap = "127.0.0.1:" + std::to_string(f.server->kafka_port());
  rd_kafka_t* producer = make_client(RD_KAFKA_PRODUCER, bootstrap,
                                     {{"acks", "all"}, {"linger.ms", "5"}, {"compression.codec", "lz4"}});
  ASSERT_NE(producer, nullptr);
  constexpr int n = 90;
  for (int i = 0; i < n; ++i) {
    const std::string key = "key-" + std::to_string(i), value = "value-" + std::to_string(i);
    rd_kafka_headers_t* headers = rd_kafka_headers_new(1);
    rd_kafka_header_add(headers, "n", -1, key.data() + 4, static_cast<ssize_t>(key.size() - 4));
    const auto rc = rd_kafka_producev(
        producer, RD_KAFKA_V_TOPIC("rdk"), RD_KAFKA_V_PARTITION(i % 3),
        RD_KAFKA_V_KEY(key.data(), key.size()), RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_END);
    ASSERT_EQ(rc, RD_KAFKA_RESP_ERR_NO_ERROR) << rd_kafka_err2str(rc);
  }
  ASSERT_EQ(rd_kafka_flush(producer, 20'000), RD_KAFKA_RESP_ERR_NO_ERROR) << "every message acknowledged";
  rd_kafka_destroy(producer);
  EXPECT_EQ(f.metrics().messages_in_total(protocol_kind::kafka), static_cast<std::uint64_t>(n));

  rd_kafka_t* consumer = make_client(RD_KAFKA_CONSUMER, bootstrap,
                                     {{"group.id", "unused-no-commit"}, {"enable.auto.commit", "false"}});
  ASSERT_NE(consumer, nullptr);
  rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(3);
  for (int p = 0; p < 3; ++p)
    rd_kafka_topic_partition_list_add(parts, "rdk", p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  ASSERT_EQ(rd_kafka_assign(consumer, parts), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_topic_partition_list_destroy(parts);
  std::map<std::string, std::pair<std::string, int>> got;
  for (int polls = 0; polls < 200 && got.size() < static_cast<std::size_t>(n); ++polls) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(consumer, 100);
    if (!m) continue;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      std::string key(static_cast<const char*>(m->key), m->key_len);
      std::string value(static_cast<const char*>(m->payload), m->len);
      rd_kafka_headers_t* h = nullptr;
      const void* hv = nullptr;
      size_t hlen = 0;
      ASSERT_EQ(rd_kafka_message_headers(m, &h), RD_KAFKA_RESP_ERR_NO_ERROR);
      ASSERT_EQ(rd_kafka_header_get_last(h, "n", &hv, &hlen), RD_KAFKA_RESP_ERR_NO_ERROR);
      EXPECT_EQ(std::string(static_cast<const char*>(hv), hlen), key.substr(4));
      got[key] = {value, m->partition};
    } else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      ADD_FAILURE() << rd_kafka_message_errstr(m);
    }
    rd_kafka_message_destroy(m);
  }
  rd_kafka_consumer_close(consumer);
  rd_kafka_destroy(consumer);
  ASSERT_EQ(got.size(), static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    const auto& [value, partition] = got.at("key-" + std::to_string(i));
    EXPECT_EQ(value, "value-" + std::to_string(i));
    EXPECT_EQ(partition, i % 3);
  }
}

TEST(Librdkafka, IdempotentProducerGetsAnIdAndStoresEveryMessageOnce) {
  broker_fixture f;
  must(f.connect().create_topic("rdk-idem", 2));
  const std::string bootstrap = "127.0.0.1:" + std::to_string(f.server->kafka_port());
  rd_kafka_t* producer = make_client(
      RD_KAFKA_PRODUCER, bootstrap,
      {{"enable.idempotence", "true"}, {"linger.ms", "2"}, {"max.in.flight", "5"}});
  ASSERT_NE(producer, nullptr);
  constexpr int n = 2000;
  for (int i = 0; i < n; ++i) {
    const std::string value = "v" + std::to_string(i);
    ASSERT_EQ(rd_kafka_producev(producer, RD_KAFKA_V_TOPIC("rdk-idem"), RD_KAFKA_V_PARTITION(i % 2),
                                RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
              RD_KAFKA_RESP_ERR_NO_ERROR);
  }
  ASSERT_EQ(rd_kafka_flush(producer, 30'000), RD_KAFKA_RESP_ERR_NO_ERROR);
  char fatal[256] = {};
  EXPECT_EQ(rd_kafka_fatal_error(producer, fatal, sizeof fatal), RD_KAFKA_RESP_ERR_NO_ERROR) << fatal;
  rd_kafka_destroy(producer);
  auto native = f.connect();
  for (std::int32_t p = 0; p < 2; ++p) {
    std::vector<std::string> values;
    for (std::int64_t offset = 0; values.size() < n / 2;) {
      auto got = must(native.fetch("rdk-idem", p, offset));
      if (got.messages.empty()) break;
      for (const auto& m : got.messages) values.push_back(m.value.value_or(""));
      offset += static_cast<std::int64_t>(got.messages.size());
    }
    ASSERT_EQ(values.size(), static_cast<std::size_t>(n / 2)) << "partition " << p;
    for (std::size_t i = 0; i < values.size(); ++i)
      EXPECT_EQ(values[i], "v" + std::to_string(2 * i + static_cast<std::size_t>(p))) << "in order, once";
  }
}

// Portask has no transactions: librdkafka's init_transactions must fail at once with a fatal
// error naming why, not retry the coordinator lookup until its timeout.
TEST(Librdkafka, TransactionalProducerFailsAtOnceWithAFatalError) {
  broker_fixture f;
  const std::string bootstrap = "127.0.0.1:" + std::to_string(f.server->kafka_port());
  rd_kafka_t* producer = make_client(RD_KAFKA_PRODUCER, bootstrap, {{"transactional.id", "rdk-txn"}});
  ASSERT_NE(producer, nullptr);
  // The timeout is far beyond what the answer takes: a retrying client would hit it instead.
  rd_kafka_error_t* error = rd_kafka_init_transactions(producer, 30'000);
  ASSERT_NE(error, nullptr);
  EXPECT_TRUE(rd_kafka_error_is_fatal(error)) << rd_kafka_error_string(error);
  EXPECT_NE(rd_kafka_error_code(error), RD_KAFKA_RESP_ERR__TIMED_OUT) << rd_kafka_error_string(error);
  EXPECT_NE(std::string(rd_kafka_error_string(error)).find("transactions are not supported"),
            std::string::npos)
      << rd_kafka_error_string(error);
  rd_kafka_error_destroy(error);
  rd_kafka_destroy(producer);
}
