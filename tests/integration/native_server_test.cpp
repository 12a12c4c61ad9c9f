// Integration tests: the real `portask` executable against a real redis-server, both
// started by the test on free loopback ports.
#include <gtest/gtest.h>

#include <algorithm>
#include <hiredis/hiredis.h>
#include <signal.h>

#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "client/idempotent_producer.hpp"
#include "protocol/crc32.hpp"
#include "protocol/frame.hpp"
#include "redis_server.hpp"
#include "server_process.hpp"

using namespace portask;
using namespace portask::test;
using namespace std::chrono_literals;

namespace {

template <class T>
T must(client::result<T> r, const char* what = "call") {
  if (!client::ok(r)) throw std::runtime_error(std::string(what) + ": " + client::error_of(r).message);
  return std::move(std::get<0>(r));
}

protocol::message_batch batch_of(const std::vector<std::string>& values) {
  protocol::message_batch b;
  for (const auto& v : values) {
    protocol::message m;
    m.key = v.substr(0, v.find('-'));
    m.value = v;
    m.headers = {{"origin", std::string("test")}};
    b.messages.push_back(std::move(m));
  }
  return b;
}

// Reads every message of a partition from `from` up to the high watermark.
std::vector<protocol::message> read_all(client::connection& c, const std::string& topic,
                                        std::int32_t partition, std::int64_t from = 0) {
  std::vector<protocol::message> out;
  std::int64_t offset = from;
  for (int guard = 0; guard < 100000; ++guard) {
    auto f = must(c.fetch(topic, partition, offset, 1 << 20, 0), "fetch");
    for (auto& m : f.messages) out.push_back(std::move(m));
    offset = f.next_offset;
    if (offset >= f.high_watermark) break;
  }
  return out;
}

class NativeServer : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(redis_.start()) << "redis-server did not start";
    server_ = std::make_unique<server_process>(redis_.url(), dir_.path() + "/portask.log");
    ASSERT_TRUE(server_->start()) << "portask did not start";
  }
  void TearDown() override { print_log_if_failed(dir_.path() + "/portask.log"); }
  temp_dir dir_;
  redis_server redis_;
  std::unique_ptr<server_process> server_;
};

}  // namespace

TEST_F(NativeServer, StoredValuesInRedisArePortaskFramesWithValidCrc) {
  auto c = server_->connect();
  must(c.create_topic("seed", 1));
  must(c.publish("seed", 0, batch_of({"a-1", "a-2", "a-3"})));
  must(c.publish("seed", 0, batch_of({"b-1"})));
  redisContext* r = redisConnect("127.0.0.1", redis_.port());
  ASSERT_TRUE(r && !r->err);
  auto* reply = static_cast<redisReply*>(redisCommand(r, "XRANGE portask:{seed:0}:log - +"));
  ASSERT_NE(reply, nullptr);
  ASSERT_EQ(reply->type, REDIS_REPLY_ARRAY);
  ASSERT_EQ(reply->elements, 2u);
  for (std::size_t i = 0; i < reply->elements; ++i) {
    auto* fields = reply->element[i]->element[1];
    std::string frame;
    for (std::size_t k = 0; k + 1 < fields->elements; k += 2)
      if (std::string(fields->element[k]->str) == "f")
        frame.assign(fields->element[k + 1]->str, fields->element[k + 1]->len);
    ASSERT_GE(frame.size(), protocol::frame_header_size);
    EXPECT_EQ(frame.substr(0, 4), "PORT");
    EXPECT_EQ(static_cast<int>(frame[4]), 1) << "protocol version";
    const auto bytes = protocol::as_bytes(frame);
    const auto length = protocol::load_be32(bytes.data() + 8);
    ASSERT_EQ(length, frame.size() - protocol::frame_header_size);
    EXPECT_EQ(protocol::load_be32(bytes.data() + 12), protocol::crc32(bytes.subspan(16)))
        << "the stored CRC32 matches the stored payload";
  }
  freeReplyObject(reply);
  redisFree(r);
}

TEST_F(NativeServer, EveryPublishedMessageIncrementsTheUnifiedMetrics) {
  auto c = server_->connect();
  for (int i = 0; i < 5; ++i) must(c.publish("metered", 0, batch_of({"x-1", "x-2", "x-3", "x-4"})));
  auto [status, body] = http_get(server_->http_port(), "/metrics");
  ASSERT_EQ(status, 200);
  EXPECT_EQ(prometheus_value(body, "portask_messages_in_total{protocol=\"portask\"}"), 20);
  EXPECT_EQ(prometheus_value(body, "portask_requests_total{protocol=\"portask\",request=\"publish\"}"), 5);
  EXPECT_GE(prometheus_value(body, "portask_store_command_duration_seconds_count"), 1);
  auto health = http_get(server_->http_port(), "/health");
  EXPECT_EQ(health.first, 200);
  EXPECT_NE(health.second.find("\"store\":\"redis\""), std::string::npos);
}

TEST_F(NativeServer, ThreeProducersAndThreeConsumersOnThreePartitions) {
  must(server_->connect().create_topic("load", 3));
  constexpr int producers = 3, batches = 99, per_batch = 10;  // 99: an even split over 3
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int p = 0; p < producers; ++p) {
    threads.emplace_back([&, p] {
      try {
        auto c = server_->connect();
        for (int b = 0; b < batches; ++b) {
          std::vector<std::string> values;
          for (int i = 0; i < per_batch; ++i)
            values.push_back("p" + std::to_string(p) + "-" + std::to_string(b * per_batch + i));
          must(c.publish("load", b % 3, batch_of(values)), "publish");
        }
      } catch (const std::exception& e) {
        ADD_FAILURE() << e.what();
        ++failures;
      }
    });
  }
  // Consumers run at the same time, one per partition, long-polling until they have all.
  std::mutex seen_mutex;
  std::map<std::string, int> seen;
  const int expected_per_partition = producers * batches * per_batch / 3;
  for (int part = 0; part < 3; ++part) {
    threads.emplace_back([&, part] {
      try {
        auto c = server_->connect();
        std::int64_t offset = 0;
        int got = 0;
        std::map<int, int> last_seq;  // per producer, order within the partition
        const auto deadline = std::chrono::steady_clock::now() + 60s;
        while (got < expected_per_partition && std::chrono::steady_clock::now() < deadline) {
          auto f = must(c.fetch("load", part, offset, 256 * 1024, 1000), "fetch");
          for (auto& m : f.messages) {
            const int producer = (*m.value)[1] - '0';
            const int seq = std::stoi(m.value->substr(m.value->find('-') + 1));
            EXPECT_GT(seq, last_seq.count(producer) ? last_seq[producer] : -1);
            last_seq[producer] = seq;
            std::lock_guard lock{seen_mutex};
            ++seen[*m.value];
            ++got;
          }
          offset = f.next_offset;
        }
        EXPECT_EQ(got, expected_per_partition) << "partition " << part << " stopped at offset "
                                               << offset;
        if (got != expected_per_partition) {
          auto again = read_all(c, "load", part, 0);
          ADD_FAILURE() << "partition " << part << " holds " << again.size()
                        << " messages on a fresh read; hwm "
                        << must(c.list_offsets("load", part)).high_watermark;
        }
      } catch (const std::exception& e) {
        ADD_FAILURE() << e.what();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(producers * batches * per_batch));
  for (const auto& [value, count] : seen) EXPECT_EQ(count, 1) << value;
}

TEST_F(NativeServer, RestartKeepsEveryAcknowledgedMessageTopicsAndCommits) {
  std::int64_t hwm = 0;
  {
    auto c = server_->connect();
    must(c.create_topic("durable", 2));
    for (int i = 0; i < 20; ++i)
      hwm = must(c.publish("durable", 1, batch_of({"m-" + std::to_string(2 * i),
                                                    "m-" + std::to_string(2 * i + 1)})))
                .base_offset + 2;
    must(c.commit("readers", "durable", 1, 17, "checkpoint"));
  }
  // SIGKILL: no orderly shutdown. Only what the store acknowledged may count.
  server_->stop(SIGKILL);
  ASSERT_TRUE(server_->start());
  auto c = server_->connect();
  auto topics = must(c.list_topics());
  // "durable", and __consumer_offsets if the commit's mirror (written after the commit, best
  // effort) created it before the kill; nothing else.
  for (const auto& t : topics) EXPECT_TRUE(t.topic == "durable" || t.topic == "__consumer_offsets") << t.topic;
  auto durable = std::find_if(topics.begin(), topics.end(), [](const auto& t) { return t.topic == "durable"; });
  ASSERT_NE(durable, topics.end());
  EXPECT_EQ(durable->partitions, 2);
  auto all = read_all(c, "durable", 1);
  ASSERT_EQ(all.size(), 40u);
  for (int i = 0; i < 40; ++i) {
    EXPECT_EQ(all[static_cast<std::size_t>(i)].offset, i);
    EXPECT_EQ(all[static_cast<std::size_t>(i)].value, "m-" + std::to_string(i));
  }
  auto next = must(c.publish("durable", 1, batch_of({"after-restart"})));
  EXPECT_EQ(next.base_offset, hwm) << "offsets continue where they were";
  auto committed = must(c.committed("readers", "durable", 1));
  EXPECT_EQ(committed.offset, 17);
  EXPECT_EQ(committed.metadata, "checkpoint");
}

TEST_F(NativeServer, StoreOutageGivesRetriableErrorsThenRecoversWithoutLosingAcks) {
  auto c = server_->connect();
  must(c.create_topic("outage", 1));
  std::vector<std::string> acked;
  int n = 0;
  auto publish = [&] {
    const std::string v = "o-" + std::to_string(n++);
    const auto start = std::chrono::steady_clock::now();
    auto r = c.publish("outage", 0, batch_of({v}));
    EXPECT_LT(std::chrono::steady_clock::now() - start, 12s) << "a failure is answered, not hung";
    if (client::ok(r)) acked.push_back(v);
    return r;
  };
  // Before: everything is acknowledged.
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(client::ok(publish()));
  // During the outage: every publish fails, retriably, and none is falsely acknowledged.
  redis_.kill();
  for (int i = 0; i < 50; ++i) {
    auto r = publish();
    ASSERT_FALSE(client::ok(r)) << "acknowledged while the store was down";
    EXPECT_TRUE(client::error_of(r).retriable) << client::error_of(r).message;
  }
  // After: the broker reconnects on its own (writer and partition back off and retry).
  ASSERT_TRUE(redis_.start());
  ASSERT_TRUE(wait_until([&] { return client::ok(publish()); }, 15s))
      << "publishes did not succeed again after the store came back";
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(client::ok(publish()));
  // Every acknowledged message is stored, in acknowledgement order, at increasing offsets.
  auto all = read_all(c, "outage", 0);
  std::vector<std::string> stored;
  for (auto& m : all) stored.push_back(*m.value);
  EXPECT_EQ(stored, acked);
  for (std::size_t i = 1; i < all.size(); ++i) EXPECT_GT(all[i].offset, all[i - 1].offset);
}

// A native idempotent publish sent again (the same producer, epoch and sequence), before and
// after a broker SIGKILL, is answered with the first result and stored once.
TEST_F(NativeServer, AnIdempotentPublishResentAcrossARestartIsStoredOnce) {
  auto c = server_->connect();
  must(c.create_topic("idem", 2));
  auto ids = must(c.init_producer(), "init producer");
  auto again = must(c.init_producer(), "init producer");
  EXPECT_NE(ids.producer_id, again.producer_id) << "every producer gets its own id";
  const protocol::native::publish_producer first{ids.producer_id, ids.producer_epoch, 0};
  must(c.send_publish("idem", 1, batch_of({"a-0", "a-1"}), true, first));
  auto r1 = must(c.receive_publish());
  must(c.send_publish("idem", 1, batch_of({"a-0", "a-1"}), true, first));
  auto r2 = must(c.receive_publish());
  EXPECT_EQ(r2.base_offset, r1.base_offset);
  server_->stop(SIGKILL);
  ASSERT_TRUE(server_->start());
  auto d = server_->connect();
  must(d.send_publish("idem", 1, batch_of({"a-0", "a-1"}), true, first));
  auto r3 = must(d.receive_publish());
  EXPECT_EQ(r3.base_offset, r1.base_offset) << "the restarted broker rebuilt the window";
  // A gap, an older epoch and a stranger at a non-zero sequence are refused.
  must(d.send_publish("idem", 1, batch_of({"gap"}), true, {ids.producer_id, ids.producer_epoch, 5}));
  auto gap = d.receive_publish();
  ASSERT_FALSE(client::ok(gap));
  EXPECT_EQ(client::error_of(gap).code, errc::out_of_order_sequence);
  auto bumped = must(d.init_producer(ids.producer_id, ids.producer_epoch));
  EXPECT_EQ(bumped.producer_id, ids.producer_id);
  EXPECT_EQ(bumped.producer_epoch, ids.producer_epoch + 1);
  must(d.send_publish("idem", 1, batch_of({"b-0"}), true, {ids.producer_id, bumped.producer_epoch, 0}));
  must(d.receive_publish());
  must(d.send_publish("idem", 1, batch_of({"zombie"}), true, {ids.producer_id, ids.producer_epoch, 2}));
  auto zombie = d.receive_publish();
  ASSERT_FALSE(client::ok(zombie));
  EXPECT_EQ(client::error_of(zombie).code, errc::invalid_producer_epoch);
  must(d.send_publish("idem", 0, batch_of({"x"}), true, {again.producer_id, 0, 9}));
  auto stranger = d.receive_publish();
  ASSERT_FALSE(client::ok(stranger));
  EXPECT_EQ(client::error_of(stranger).code, errc::unknown_producer_id);
  std::vector<std::string> stored;
  for (auto& m : read_all(d, "idem", 1)) stored.push_back(*m.value);
  EXPECT_EQ(stored, (std::vector<std::string>{"a-0", "a-1", "b-0"}));
}

// Two clients resuming one saved producer pair (InitProducer with its id and epoch): the
// first gets the next epoch, the second is refused, so that its batches cannot be taken for
// resends of the first's (acknowledged as duplicates and never stored); an id no broker
// handed out is refused too.
TEST_F(NativeServer, OnlyOneOfTwoClientsResumingOneProducerGetsItsNextEpoch) {
  auto c = server_->connect();
  must(c.create_topic("resumed", 1));
  const auto saved = must(c.init_producer(), "init producer");
  const auto first = must(c.init_producer(saved.producer_id, saved.producer_epoch), "first resume");
  EXPECT_EQ(first.producer_id, saved.producer_id);
  EXPECT_EQ(first.producer_epoch, saved.producer_epoch + 1);
  auto d = server_->connect();
  auto second = d.init_producer(saved.producer_id, saved.producer_epoch);
  ASSERT_FALSE(client::ok(second)) << "both resumes got epoch " << std::get<0>(second).producer_epoch;
  EXPECT_EQ(client::error_of(second).code, errc::invalid_producer_epoch);
  EXPECT_NE(client::error_of(second).message.find("not current"), std::string::npos)
      << client::error_of(second).message;
  // The first resumer publishes on, from sequence 0 of its epoch.
  must(c.send_publish("resumed", 0, batch_of({"a-0"}), true, {first.producer_id, first.producer_epoch, 0}));
  const auto a0 = must(c.receive_publish());
  must(c.send_publish("resumed", 0, batch_of({"a-1"}), true, {first.producer_id, first.producer_epoch, 1}));
  const auto a1 = must(c.receive_publish());
  EXPECT_EQ(a1.base_offset, a0.base_offset + 1);
  // The refused client takes a new id, as told, and is stored beside it.
  const auto fresh = must(d.init_producer(), "new id");
  EXPECT_NE(fresh.producer_id, saved.producer_id);
  must(d.send_publish("resumed", 0, batch_of({"b-0"}), true, {fresh.producer_id, fresh.producer_epoch, 0}));
  must(d.receive_publish());
  auto claimed = d.init_producer(1'000'000'000, 0);
  ASSERT_FALSE(client::ok(claimed)) << "an id no broker handed out was resumed";
  EXPECT_EQ(client::error_of(claimed).code, errc::unknown_producer_id);
  // The next id of this broker's block is allocated in the store but no producer's yet:
  // claimed, it would be refused to the producer later given it.
  claimed = d.init_producer(fresh.producer_id + 1, 0);
  ASSERT_FALSE(client::ok(claimed)) << "an id waiting in the broker's block was resumed";
  EXPECT_EQ(client::error_of(claimed).code, errc::unknown_producer_id);
  EXPECT_EQ(must(d.init_producer(), "the next new id").producer_id, fresh.producer_id + 1);
  std::vector<std::string> stored;
  for (auto& m : read_all(d, "resumed", 0)) stored.push_back(*m.value);
  EXPECT_EQ(stored, (std::vector<std::string>{"a-0", "a-1", "b-0"}));
}

// The client library's idempotent producer keeps publishing through broker restarts: every
// publish it reports as done is stored exactly once, in order.
TEST_F(NativeServer, TheIdempotentProducerRidesOutBrokerRestarts) {
  {
    auto c = server_->connect();
    must(c.create_topic("ride", 1));
  }
  client::options o;
  o.port = server_->port();
  o.timeout = 5s;
  auto p = must(client::idempotent_producer::open(o, 60s), "open producer");
  std::vector<std::string> acked;
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 20; ++i) {
      const std::string v = "r" + std::to_string(round) + "-" + std::to_string(i);
      must(p.publish("ride", 0, batch_of({v})), "idempotent publish");
      acked.push_back(v);
    }
    server_->stop(SIGKILL);
    ASSERT_TRUE(server_->start());
  }
  EXPECT_GE(p.reconnects(), 2u);
  auto c = server_->connect();
  std::vector<std::string> stored;
  for (auto& m : read_all(c, "ride", 0)) stored.push_back(*m.value);
  EXPECT_EQ(stored, acked);
}

TEST_F(NativeServer, HealthReportsTheStoreGoingDownAndComingBack) {
  ASSERT_EQ(http_get(server_->http_port(), "/health").first, 200);
  redis_.kill();
  // The supervisor pings the store every second; /health follows within a few seconds.
  EXPECT_TRUE(wait_until([&] { return http_get(server_->http_port(), "/health").first == 503; }, 10s));
  ASSERT_TRUE(redis_.start());
  EXPECT_TRUE(wait_until([&] { return http_get(server_->http_port(), "/health").first == 200; }, 10s));
}

TEST(ServerConfig, FlagsBeatEnvironmentWhichBeatsTheYamlFile) {
  temp_dir dir;
  const auto yaml_port = free_port(), env_port = free_port(), flag_port = free_port();
  const auto http_port = free_port();
  {
    std::ofstream yaml(dir.path() + "/portask.yaml");
    yaml << "store: memory\nnative: {host: 127.0.0.1, port: " << yaml_port
         << "}\nhttp: {host: 127.0.0.1, port: " << http_port << "}\nkafka: {port: 0}\n";
  }
  // The child inherits this environment.
  setenv("PORTASK_PORT", std::to_string(env_port).c_str(), 1);
  {
    child_process p({PORTASK_SERVER_BINARY, "--config", dir.path() + "/portask.yaml"},
                    dir.path() + "/a.log");
    EXPECT_TRUE(wait_until([&] { return port_accepts(env_port); }, 60s)) << "env beats the file";
    // The listeners open one after another: the HTTP one may come a moment after the native.
    EXPECT_TRUE(wait_until([&] { return port_accepts(http_port); }, 60s)) << "the file's other settings apply";
  }
  {
    child_process p({PORTASK_SERVER_BINARY, "--config", dir.path() + "/portask.yaml", "--port",
                     std::to_string(flag_port)},
                    dir.path() + "/b.log");
    EXPECT_TRUE(wait_until([&] { return port_accepts(flag_port); }, 60s)) << "the flag beats env";
  }
  unsetenv("PORTASK_PORT");
  {
    child_process p({PORTASK_SERVER_BINARY, "--config", dir.path() + "/portask.yaml"},
                    dir.path() + "/c.log");
    EXPECT_TRUE(wait_until([&] { return port_accepts(yaml_port); }, 60s)) << "the file beats defaults";
  }
  child_process bad({PORTASK_SERVER_BINARY, "--store", "ftp://nowhere"}, dir.path() + "/d.log");
  EXPECT_TRUE(wait_until([&] { return !bad.running(); }, 60s)) << "an invalid store URL stops the server";
}

TEST_F(NativeServer, HostileBytesGetAnErrorAndACloseWhileOthersAreServed) {
  auto good = server_->connect();
  must(good.publish("safe", 0, batch_of({"s-1"})));
  const std::vector<std::string> hostile = {
      std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11),  // a TLS ClientHello
      std::string("PORT\x01\x01\x00\x00\xff\xff\xff\xff\x00\x00\x00\x00", 16),  // 4 GiB length
      std::string("PORT\x01\x05\x00\x00\x00\x00\x00\x04\xde\xad\xbe\xef\x00\x00\x00\x01", 20),  // bad CRC
  };
  for (const auto& bytes : hostile) {
    auto c = server_->connect();
    ASSERT_TRUE(c.send_raw(protocol::as_bytes(bytes)));
    auto f = c.receive_frame(30s);
    ASSERT_TRUE(client::ok(f)) << "an Error frame comes back";
    EXPECT_EQ(static_cast<protocol::message_type>(std::get<0>(f)[5]), protocol::message_type::error);
    auto closed = c.receive_frame(30s);
    EXPECT_FALSE(client::ok(closed)) << "then the broker closes the connection";
  }
  EXPECT_TRUE(server_->running());
  auto got = must(good.fetch("safe", 0, 0));
  EXPECT_EQ(got.messages.size(), 1u) << "the well-behaved client is still served";
}

TEST_F(NativeServer, SubscribePushesNewMessagesFromTheRealBinary) {
  auto consumer = server_->connect();
  auto producer = server_->connect();
  must(producer.create_topic("pushed", 1));
  must(producer.publish("pushed", 0, batch_of({"before-1", "before-2"})));
  auto sub = must(consumer.subscribe("pushed", 0, 0, 1 << 20));
  std::vector<std::string> values;
  auto collect = [&](std::size_t want) {
    for (int i = 0; i < 20 && values.size() < want; ++i) {
      auto d = must(consumer.next_delivery(2s));
      if (!d) continue;
      EXPECT_EQ(d->subscription_id, sub);
      for (auto& m : d->data.messages) values.push_back(*m.value);
      must(consumer.grant_credit(sub, static_cast<std::uint32_t>(d->wire_bytes)));
    }
  };
  collect(2);
  must(producer.publish("pushed", 0, batch_of({"after-1"})));
  collect(3);
  EXPECT_EQ(values, (std::vector<std::string>{"before-1", "before-2", "after-1"}));
  must(consumer.unsubscribe(sub));
}
