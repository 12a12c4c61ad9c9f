// The native broker end to end, in process: client -> connection actor -> bridge ->
// partition -> writer -> store, and back.
#include <gtest/gtest.h>

#include <poll.h>

#include <future>

#include "actors/pipeline/hooks.hpp"
#include "tests/actors/broker_fixture.hpp"
#include "raw_kafka.hpp"
#include "protocol/crc32.hpp"

using namespace portask;
using namespace portask::test;
using namespace std::chrono_literals;

TEST(Broker, PublishThenFetchReturnsEveryFieldAndOffset) {
  broker_fixture f;
  auto c = f.connect();
  must(c.create_topic("orders", 3));
  const auto first = make_batch(5);
  auto r = must(c.publish("orders", 1, first));
  EXPECT_EQ(r.partition, 1);
  EXPECT_EQ(r.base_offset, 0);
  EXPECT_EQ(r.count, 5u);
  r = must(c.publish("orders", 1, make_batch(3, "second")));
  EXPECT_EQ(r.base_offset, 5);
  auto got = must(c.fetch("orders", 1, 0));
  ASSERT_EQ(got.messages.size(), 8u);
  EXPECT_EQ(got.high_watermark, 8);
  for (std::size_t i = 0; i < 8; ++i) EXPECT_EQ(got.messages[i].offset, static_cast<std::int64_t>(i));
  EXPECT_EQ(got.messages[0].key, "k0");
  EXPECT_EQ(got.messages[0].value, "v0");
  EXPECT_EQ(got.messages[0].headers.at(0).key, "h");
  EXPECT_EQ(got.messages[0].timestamp_ms, first.messages[0].timestamp_ms);
  EXPECT_EQ(got.messages[0].topic, "orders");
  EXPECT_EQ(got.messages[7].value, "second2");
  // From the middle of a batch: the batch comes whole, the client skips to the offset.
  got = must(c.fetch("orders", 1, 6));
  ASSERT_EQ(got.messages.size(), 2u);
  EXPECT_EQ(got.messages[0].offset, 6);
}

TEST(Broker, EveryCodecAndCompressionOnTheWireIsStoredInTheBrokersFormat) {
  broker_fixture f;
  for (auto codec : {protocol::codec_id::binary, protocol::codec_id::json, protocol::codec_id::cbor,
                     protocol::codec_id::msgpack}) {
    for (auto z : {protocol::compression_id::none, protocol::compression_id::gzip,
                   protocol::compression_id::snappy, protocol::compression_id::lz4,
                   protocol::compression_id::zstd}) {
      auto c = f.connect({codec, z});
      const std::string topic = "enc-" + std::string(protocol::to_string(codec)) + "-" +
                                std::string(protocol::to_string(z));
      must(c.publish(topic, 0, make_batch(3)));
      auto got = must(c.fetch(topic, 0, 0));
      ASSERT_EQ(got.messages.size(), 3u) << topic;
      EXPECT_EQ(got.messages[2].value, "v2") << topic;
    }
  }
}

TEST(Broker, APublishThatSetsAnExpiryIsRefusedWithTheReasonInEveryCodec) {
  broker_fixture f;
  must(f.connect().create_topic("ttl", 1));
  // Binary (kept as it came, checked by its scan) and JSON (decoded): both refuse it.
  for (auto codec : {protocol::codec_id::binary, protocol::codec_id::json}) {
    auto c = f.connect({codec, protocol::compression_id::none});
    auto b = make_batch(3);
    b.messages[1].expires_at_ms = 1'800'000'000'000;
    auto refused = c.publish("ttl", 0, b);
    ASSERT_FALSE(client::ok(refused)) << protocol::to_string(codec);
    EXPECT_EQ(client::error_of(refused).code, errc::invalid_request);
    EXPECT_NE(client::error_of(refused).message.find("expiry"), std::string::npos)
        << client::error_of(refused).message;
    // Priority is carried as it came.
    b.messages[1].expires_at_ms = protocol::no_expiry;
    b.messages[1].priority = 7;
    must(c.publish("ttl", 0, b));
  }
  auto got = must(f.connect().fetch("ttl", 0, 0));
  ASSERT_EQ(got.messages.size(), 6u) << "only the batches without an expiry were stored";
  EXPECT_EQ(got.messages[1].priority, 7);
  EXPECT_EQ(got.messages[4].priority, 7);
}

TEST(Broker, TopicAdminAndMetadata) {
  broker_fixture f;
  auto c = f.connect();
  must(c.create_topic("a", 2, {{"retention.ms", "60000"}}));
  must(c.create_topic("b", 1));
  auto dup = c.create_topic("a", 2);
  ASSERT_FALSE(client::ok(dup));
  EXPECT_EQ(client::error_of(dup).code, errc::topic_already_exists);
  // Each refusal says why, in the words Kafka's CreateTopics and the HTTP API use too.
  auto refused = [&](const std::string& topic, std::int32_t partitions,
                     std::vector<protocol::native::config_entry> configs, const std::string& why,
                     errc code = errc::invalid_request) {
    auto res = c.create_topic(topic, partitions, std::move(configs));
    ASSERT_FALSE(client::ok(res)) << topic;
    EXPECT_EQ(client::error_of(res).code, code) << topic;
    EXPECT_NE(client::error_of(res).message.find(why), std::string::npos)
        << topic << ": " << client::error_of(res).message;
  };
  refused("bad name!", 1, {}, "invalid topic name 'bad name!'");
  refused("__consumer_offsets", 1, {}, "is internal");
  refused("none", 0, {}, "at least 1", errc::invalid_partition_count);
  refused("huge", 10001, {}, "at most 10000", errc::invalid_partition_count);
  refused("cfg", 1, {{"retention.ms", "soon"}}, "invalid value 'soon' for 'retention.ms': not a number");
  refused("cfg", 1, {{"no.such", "1"}}, "unknown config 'no.such'");
  auto grow = c.add_partitions("a", 10001);
  ASSERT_FALSE(client::ok(grow));
  EXPECT_EQ(client::error_of(grow).code, errc::invalid_partition_count);
  EXPECT_NE(client::error_of(grow).message.find("at most 10000"), std::string::npos);
  // A count not above the topic's says the count it has, in the words of Kafka's
  // CreatePartitions.
  for (const auto& [total, why] :
       {std::pair<std::int32_t, std::string>{1, "The topic a currently has 2 partition(s); 1 would not be an increase."},
        {2, "Topic already has 2 partition(s)."}}) {
    auto not_more = c.add_partitions("a", total);
    ASSERT_FALSE(client::ok(not_more)) << total;
    EXPECT_EQ(client::error_of(not_more).code, errc::invalid_partition_count);
    EXPECT_NE(client::error_of(not_more).message.find(why), std::string::npos)
        << client::error_of(not_more).message;
  }
  // Only the broker writes the internal topic, and a publish to it never creates it.
  auto internal = c.publish("__consumer_offsets", -1, make_batch(1));
  ASSERT_FALSE(client::ok(internal));
  EXPECT_EQ(client::error_of(internal).code, errc::invalid_request);
  EXPECT_NE(client::error_of(internal).message.find("is internal"), std::string::npos);
  auto list = must(c.list_topics());
  EXPECT_EQ(list.size(), 2u);
  must(c.publish("a", 1, make_batch(4)));
  auto d = must(c.describe_topic("a"));
  EXPECT_EQ(d.partitions, 2);
  ASSERT_EQ(d.partition_states.size(), 2u);
  EXPECT_EQ(d.partition_states[1].high_watermark, 4);
  EXPECT_EQ(d.configs.at(0).key, "retention.ms");
  auto md = must(c.metadata());
  EXPECT_EQ(md.broker_port, f.server->native_port());
  EXPECT_EQ(md.broker_host, "127.0.0.1");
  EXPECT_EQ(md.topics.size(), 2u);
  must(c.delete_topic("b"));
  EXPECT_EQ(must(c.list_topics()).size(), 1u);
  auto gone = c.fetch("b", 0, 0);
  ASSERT_FALSE(client::ok(gone));
  EXPECT_EQ(client::error_of(gone).code, errc::unknown_topic);
}

TEST(Broker, MetadataNamesTheHostThisNodeIsAdvertisedAt) {
  // A node bound to every address is reached at the host it advertises (as the node list
  // names it), not at 0.0.0.0.
  broker_config cfg;
  cfg.cluster.advertised_host = "node-a.example";
  broker_fixture f{false, cfg};
  auto c = f.connect();
  auto md = must(c.metadata());
  EXPECT_EQ(md.broker_host, "node-a.example");
  EXPECT_EQ(md.broker_port, f.server->native_port());
}

TEST(Broker, AutoCreatesTopicsAndChoosesPartitionsRoundRobin) {
  broker_config cfg;
  cfg.default_partitions = 3;
  broker_fixture f{false, cfg};
  auto c = f.connect();
  std::set<std::int32_t> used;
  for (int i = 0; i < 6; ++i) used.insert(must(c.publish("auto", -1, make_batch(1))).partition);
  EXPECT_EQ(used, (std::set<std::int32_t>{0, 1, 2}));
  auto bad = c.publish("auto", 7, make_batch(1));
  ASSERT_FALSE(client::ok(bad));
  EXPECT_EQ(client::error_of(bad).code, errc::unknown_partition);
}

// Pipelined publishes arrive in a few reads, served as bursts; the first names partition -1 of
// a topic not created yet, so the broker looks the topic up before it can place it. The
// publishes behind it, in the same read or later ones, still land in the order sent.
TEST(Broker, PipelinedPublishesBehindATopicLookupKeepTheirOrder) {
  broker_config cfg;
  cfg.default_partitions = 1;
  broker_fixture f{false, cfg};
  auto c = f.connect();
  constexpr int n = 40;
  for (int i = 0; i < n; ++i) {
    must(c.send_publish("burst", i % 2 == 0 ? -1 : 0, make_batch(1)));
    // In several writes (the client would send all 40 in one), so that they arrive in
    // several reads.
    if (i % 8 == 7) {
      EXPECT_TRUE(c.flush());
    }
  }
  for (int i = 0; i < n; ++i) {
    auto r = must(c.receive_publish());
    EXPECT_EQ(r.partition, 0);
    EXPECT_EQ(r.base_offset, i) << "publish " << i << " stored out of order";
  }
}

// A topic lookup that fails (no such topic, and no auto-creation) fails the publishes to
// partition -1 waiting on it, and the publishes that named a partition of the topic behind
// it get their own answer; a publish to another topic sent meanwhile is stored.
TEST(Broker, PublishesBehindAFailedTopicLookupAreEachAnswered) {
  broker_config cfg;
  cfg.auto_create_topics = false;
  broker_fixture f{false, cfg};
  auto c = f.connect();
  must(c.create_topic("exists", 1));
  must(c.send_publish("missing", -1, make_batch(1)));
  must(c.send_publish("missing", 0, make_batch(1)));
  must(c.send_publish("exists", -1, make_batch(2)));
  must(c.send_publish("missing", -1, make_batch(1)));
  for (int i = 0; i < 4; ++i) {
    auto r = c.receive_publish();
    if (i == 2) {
      ASSERT_TRUE(client::ok(r)) << client::error_of(r).message;
      EXPECT_EQ(std::get<0>(r).partition, 0);
      EXPECT_EQ(std::get<0>(r).count, 2u);
      continue;
    }
    ASSERT_FALSE(client::ok(r)) << "publish " << i << " to a topic that does not exist";
    EXPECT_EQ(client::error_of(r).code, errc::unknown_topic) << "publish " << i;
  }
  EXPECT_EQ(must(c.fetch("exists", 0, 0)).messages.size(), 2u);
}

TEST(Broker, LongPollFetchWakesWhenDataArrives) {
  broker_fixture f;
  auto consumer = f.connect();
  auto producer = f.connect();
  must(producer.create_topic("lp", 1));
  std::thread t([&] {
    // The fetch below is parked at the high watermark until this publish lands.
    std::this_thread::sleep_for(100ms);
    must(producer.publish("lp", 0, make_batch(2)));
  });
  const auto start = std::chrono::steady_clock::now();
  auto got = must(consumer.fetch("lp", 0, 0, 1 << 20, 15'000));
  const auto waited = std::chrono::steady_clock::now() - start;
  t.join();
  EXPECT_EQ(got.messages.size(), 2u);
  // Far from the deadline whatever the machine's speed: the publish comes 100 ms in.
  EXPECT_LT(waited, 12s) << "answered when data arrived, not at the 15 s deadline";
}

TEST(Broker, LongPollFetchReturnsEmptyAtItsDeadline) {
  broker_fixture f;
  auto c = f.connect();
  must(c.create_topic("quiet", 1));
  auto got = must(c.fetch("quiet", 0, 0, 1 << 20, 200));
  EXPECT_TRUE(got.messages.empty());
  auto past = c.fetch("quiet", 0, 5);
  ASSERT_FALSE(client::ok(past));
  EXPECT_EQ(client::error_of(past).code, errc::offset_out_of_range);
}

TEST(Broker, SubscriptionPushesWithCreditFlowControl) {
  broker_fixture f;
  auto consumer = f.connect();
  auto producer = f.connect();
  must(producer.create_topic("push", 1));
  must(producer.publish("push", 0, make_batch(10)));
  // Credit for about one batch: the broker pushes one, then waits for more credit.
  auto sub = must(consumer.subscribe("push", 0, 0, 1));
  auto first = must(consumer.next_delivery(30s));
  ASSERT_TRUE(first);
  EXPECT_EQ(first->subscription_id, sub);
  EXPECT_EQ(first->data.messages.size(), 10u);
  must(producer.publish("push", 0, make_batch(5, "later")));
  auto none = must(consumer.next_delivery(300ms));
  EXPECT_FALSE(none) << "no credit left: nothing is pushed";
  must(consumer.grant_credit(sub, 1 << 20));
  auto second = must(consumer.next_delivery(30s));
  ASSERT_TRUE(second);
  ASSERT_EQ(second->data.messages.size(), 5u);
  EXPECT_EQ(second->data.messages[0].offset, 10);
  EXPECT_EQ(second->data.messages[0].value, "later0");
  must(consumer.unsubscribe(sub));
}

// The broker ends a subscription with an Error frame naming its Subscribe. One that arrives
// while the client waits for another call's answer is no answer to that call: the call gets
// its own, and next_delivery reports the ended subscription.
TEST(Broker, ASubscriptionsEndIsNotTakenForAnotherCallsAnswer) {
  broker_fixture f;
  auto consumer = f.connect();
  auto admin = f.connect();
  must(admin.create_topic("ending", 1));
  must(admin.publish("ending", 0, make_batch(1)));
  const auto sub = must(consumer.subscribe("ending", 0, 0, 1 << 20));
  ASSERT_TRUE(must(consumer.next_delivery(30s)));
  must(admin.delete_topic("ending"));
  // Wait until the end is on the consumer's socket, then make a call.
  pollfd p{consumer.native_handle(), POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 10000), 1);
  auto topics = consumer.list_topics();
  ASSERT_TRUE(client::ok(topics)) << client::error_of(topics).message;
  auto ended = consumer.next_delivery(5s);
  ASSERT_FALSE(client::ok(ended));
  EXPECT_EQ(client::error_of(ended).subscription_id, sub);
  EXPECT_TRUE(client::ok(consumer.heartbeat()));
}

TEST(Broker, SubscribeFromLatestSeesOnlyNewMessages) {
  broker_fixture f;
  auto consumer = f.connect();
  auto producer = f.connect();
  must(producer.publish("latest", 0, make_batch(3, "old")));
  must(consumer.subscribe("latest", 0, -1, 1 << 20));
  must(producer.publish("latest", 0, make_batch(2, "new")));
  auto d = must(consumer.next_delivery(30s));
  ASSERT_TRUE(d);
  ASSERT_EQ(d->data.messages.size(), 2u);
  EXPECT_EQ(d->data.messages[0].value, "new0");
  EXPECT_EQ(d->data.messages[0].offset, 3);
}

TEST(Broker, CommittedOffsetsPerConsumer) {
  broker_fixture f;
  auto c = f.connect();
  must(c.create_topic("t", 2));
  EXPECT_EQ(must(c.committed("g", "t", 0)).offset, -1);
  must(c.commit("g", "t", 0, 17, "meta"));
  auto got = must(c.committed("g", "t", 0));
  EXPECT_EQ(got.offset, 17);
  EXPECT_EQ(got.metadata, "meta");
  auto bad = c.commit("", "t", 0, 1);
  ASSERT_FALSE(client::ok(bad));
  EXPECT_EQ(client::error_of(bad).code, errc::invalid_request);
  // As Kafka's OffsetCommit: no offset is stored for a topic or partition that does not
  // exist (and the lookup creates no topic).
  auto misspelt = c.commit("g", "tt", 0, 5);
  ASSERT_FALSE(client::ok(misspelt));
  EXPECT_EQ(client::error_of(misspelt).code, errc::unknown_topic);
  auto past_end = c.commit("g", "t", 2, 5);
  ASSERT_FALSE(client::ok(past_end));
  EXPECT_EQ(client::error_of(past_end).code, errc::unknown_partition);
  EXPECT_FALSE(client::ok(c.describe_topic("tt")));
  EXPECT_EQ(must(c.committed("g", "t", 2)).offset, -1);
  must(c.create_topic("tt", 1));
  must(c.commit("g", "tt", 0, 5));  // a topic created since is known at once
  EXPECT_EQ(must(c.committed("g", "tt", 0)).offset, 5);
}

TEST(Broker, ListOffsetsAndHeartbeat) {
  broker_fixture f;
  auto c = f.connect();
  must(c.publish("lo", 0, make_batch(7)));
  auto lo = must(c.list_offsets("lo", 0));
  EXPECT_EQ(lo.log_start, 0);
  EXPECT_EQ(lo.high_watermark, 7);
  EXPECT_GT(must(c.heartbeat()), 1'600'000'000'000);
}

TEST(Broker, PipelinedPublishesAreAnsweredInOrder) {
  broker_fixture f;
  auto c = f.connect();
  must(c.create_topic("pipe", 4));
  std::vector<std::int32_t> partitions;
  for (int i = 0; i < 200; ++i) {
    const std::int32_t p = i % 4;
    partitions.push_back(p);
    must(c.send_publish("pipe", p, make_batch(2)));
  }
  std::vector<std::int64_t> next(4, 0);
  for (int i = 0; i < 200; ++i) {
    auto r = must(c.receive_publish());
    EXPECT_EQ(r.partition, partitions[static_cast<std::size_t>(i)]) << "response " << i;
    EXPECT_EQ(r.base_offset, next[static_cast<std::size_t>(r.partition)]);
    next[static_cast<std::size_t>(r.partition)] += 2;
  }
}

TEST(Broker, AcksZeroGetsNoResponseButIsStored) {
  broker_fixture f;
  auto c = f.connect();
  must(c.send_publish("fire", 0, make_batch(3), false));
  // The heartbeat's answer is the next frame: nothing came for the acks=0 publish.
  EXPECT_GT(must(c.heartbeat()), 0);
  auto got = must(c.fetch("fire", 0, 0, 1 << 20, 2000));
  EXPECT_EQ(got.messages.size(), 3u);
}

TEST(Broker, EveryPublishIsCountedInTheUnifiedMetrics) {
  broker_fixture f;
  auto c = f.connect();
  must(c.publish("m", 0, make_batch(4)));
  must(c.publish("m", 0, make_batch(6)));
  EXPECT_EQ(f.metrics().messages_in_total(protocol_kind::portask), 10u);
  EXPECT_EQ(f.metrics().requests_total(protocol_kind::portask, request_kind::publish), 2u);
  must(c.fetch("m", 0, 0));
  EXPECT_EQ(f.metrics().messages_out_total(protocol_kind::portask), 10u);
  EXPECT_EQ(f.metrics().open_connections(protocol_kind::portask), 1);
}

// Subscribes the listener to one kind of hook event and waits for the hooks actor's answer,
// so the subscription is in place when this returns.
template <class Subscriber>
bool subscribe_hooks(caf::scoped_actor& listener, const hooks_actor& hooks) {
  bool in_place = false;
  listener->request(hooks, caf::infinite, subscribe_atom::value,
                    caf::actor_cast<Subscriber>(listener))
      .receive([&](bool ok) { in_place = ok; }, [&](caf::error&) { in_place = false; });
  return in_place;
}

TEST(Broker, OnMessageHooksSeeEveryStoredBatch) {
  broker_fixture f;
  caf::scoped_actor listener{*f.system};
  ASSERT_TRUE(subscribe_hooks<message_subscriber_actor>(listener, f.server->directory().hooks));
  ASSERT_TRUE(subscribe_hooks<connect_subscriber_actor>(listener, f.server->directory().hooks));
  EXPECT_EQ(f.server->context()->message_hook_subscribers.load(), 1);
  auto c = f.connect();
  bool connected = false;
  listener->receive([&](const connect_event& e) { connected = e.protocol == protocol_kind::portask; },
                    caf::after(30s) >> [] {});
  EXPECT_TRUE(connected);
  must(c.publish("hooked", 0, make_batch(3)));
  bool seen = false;
  listener->receive(
      [&](const message_event& e) {
        seen = true;
        EXPECT_EQ(e.tp.topic, "hooked");
        EXPECT_EQ(e.base_offset, 0);
        ASSERT_EQ(e.batch->messages.size(), 3u);
        EXPECT_EQ(e.batch->messages[1].value, "v1");
        for (const auto& m : e.batch->messages) EXPECT_EQ(m.topic, "hooked") << "whole messages";
      },
      caf::after(30s) >> [] {});
  EXPECT_TRUE(seen);
}

TEST(Broker, OnMessageHooksSeeKafkaBatchesAsWholeMessages) {
  broker_fixture f;
  caf::scoped_actor listener{*f.system};
  ASSERT_TRUE(subscribe_hooks<message_subscriber_actor>(listener, f.server->directory().hooks));
  raw_kafka k{f.server->kafka_port()};
  const std::string topic = "a-kafka-topic-name-longer-than-sso";
  k.send(0, 7, 1, produce_request(topic, 0, record_batch_bytes("h", 4, kafka::compression_type::lz4)),
         false);
  std::int32_t corr = 0;
  ASSERT_TRUE(k.receive(corr, false));
  bool seen = false;
  listener->receive(
      [&](const message_event& e) {
        seen = true;
        EXPECT_EQ(e.protocol, protocol_kind::kafka);
        EXPECT_EQ(e.tp.topic, topic);
        ASSERT_EQ(e.batch->messages.size(), 4u);
        for (std::size_t i = 0; i < 4; ++i) {
          const auto& m = e.batch->messages[i];
          EXPECT_EQ(m.topic, topic) << "every message names its topic, not just the first";
          EXPECT_EQ(m.value, "h" + std::to_string(i));
          EXPECT_EQ(m.key, "k" + std::to_string(i));
          EXPECT_EQ(m.headers.at(0).value, "hv");
        }
      },
      caf::after(30s) >> [] {});
  EXPECT_TRUE(seen);
}

TEST(Broker, AStorageWriterThatDiesIsRestartedAndPublishingContinues) {
  broker_fixture f;
  auto c = f.connect();
  must(c.publish("sup", 0, make_batch(2)));
  const topic_partition tp{"sup", 0};
  auto before = f.server->directory().writer_for(tp);
  caf::anon_send_exit(before, caf::exit_reason::kill);
  // The supervisor notices the exit and registers a new writer in the directory.
  ASSERT_TRUE(wait_until([&] {
    auto now = f.server->directory().writer_for(tp);
    return now && now != before;
  }));
  // Publishing works again (a request caught by the dead writer got a retriable error).
  client::result<protocol::native::publish_response> r = client::failure{};
  ASSERT_TRUE(wait_until([&] {
    r = c.publish("sup", 0, make_batch(1));
    if (!client::ok(r)) {
      EXPECT_TRUE(client::error_of(r).retriable) << client::error_of(r).message;
    }
    return client::ok(r);
  }));
  auto all = must(c.fetch("sup", 0, 0));
  EXPECT_EQ(all.messages.size(), 3u);
}

TEST(Broker, OnDisconnectHooksFireWhenAClientLeaves) {
  broker_fixture f;
  caf::scoped_actor listener{*f.system};
  ASSERT_TRUE(subscribe_hooks<disconnect_subscriber_actor>(listener, f.server->directory().hooks));
  {
    auto c = f.connect();
    EXPECT_GT(must(c.heartbeat()), 0);
  }  // the client closes its socket here
  // Other listeners' connections may come and go meanwhile: wait for this client's.
  bool seen = false;
  for (bool waiting = true; waiting && !seen;)
    listener->receive(
        [&](const disconnect_event& e) { seen = e.protocol == protocol_kind::portask; },
        caf::after(30s) >> [&] { waiting = false; });
  EXPECT_TRUE(seen);
  EXPECT_TRUE(wait_until([&] { return f.metrics().open_connections(protocol_kind::portask) == 0; }));
}

TEST(Broker, RunsAsManyStorageWritersAndReadersAsConfigured) {
  broker_config c;
  c.storage_writers = 3;
  c.storage_readers = 1;
  c.default_partitions = 6;
  broker_fixture f{false, c};
  const auto dir = f.server->directory();
  ASSERT_EQ(dir.writers.size(), 3u);
  ASSERT_EQ(dir.readers.size(), 1u);
  for (const auto& w : dir.writers) EXPECT_TRUE(w);
  // Partitions spread over the three: every writer stores what it is handed.
  auto conn = f.connect();
  for (int p = 0; p < 6; ++p) must(conn.publish("spread", p, make_batch(1)));
  for (int p = 0; p < 6; ++p) EXPECT_EQ(must(conn.fetch("spread", p, 0)).messages.size(), 1u) << p;
}

TEST(Broker, HookSubscriptionsSurviveARestartOfTheHooks) {
  broker_fixture f;
  auto ctx = f.server->context();
  caf::scoped_actor listener{*f.system};
  const auto before = f.server->directory().hooks;
  ASSERT_TRUE(subscribe_hooks<message_subscriber_actor>(listener, before));
  EXPECT_EQ(ctx->message_hook_subscribers.load(), 1);
  listener->monitor(before);
  caf::anon_send_exit(before, caf::exit_reason::kill);
  listener->receive([](const caf::down_msg&) {});
  // Between the crash and the restart, a subscription to the dead handle is answered with an
  // error rather than lost without a word.
  EXPECT_FALSE(subscribe_hooks<disconnect_subscriber_actor>(listener, before));
  ASSERT_TRUE(wait_until([&] {
    auto now = f.server->directory().hooks;
    return now && now != before;
  }));
  // The count is the inherited subscriptions', not the dead incarnation's leftovers.
  EXPECT_EQ(ctx->message_hook_subscribers.load(), 1);
  auto c = f.connect();
  must(c.publish("after-restart", 0, make_batch(2)));
  bool seen = false;
  listener->receive([&](const message_event& e) { seen = e.tp.topic == "after-restart"; },
                    caf::after(10s) >> [] {});
  EXPECT_TRUE(seen) << "the subscriber still gets events from the new hooks actor";
}

TEST(Broker, WhenTheSupervisorFailsTheNodeSaysWhyAndStops) {
  caf::actor_system_config cfg;
  configure_actor_system(cfg);
  caf::actor_system sys{cfg};
  broker_config config;
  config.native = {"127.0.0.1", 0};
  config.kafka.port = 0;
  config.http.port = 0;
  portask::broker b{sys, config};
  std::promise<std::string> fatal;
  b.on_fatal([&](const std::string& why) { fatal.set_value(why); });
  ASSERT_FALSE(b.start());
  caf::anon_send_exit(b.supervisor(), caf::exit_reason::kill);
  auto reason = fatal.get_future();
  ASSERT_EQ(reason.wait_for(30s), std::future_status::ready);
  EXPECT_FALSE(reason.get().empty());
  b.stop();
}

// A clean stop leaves every idempotent producer in its partition's producer snapshot, as
// Kafka writes its producer snapshots on shutdown: the next start reads the producers back
// from it, each with its last write time (its expiry counts from there), not from the log.
TEST(Broker, AStoppedBrokerLeavesItsIdempotentProducersInTheProducerSnapshot) {
  broker_fixture f;
  auto c = f.connect();
  must(c.create_topic("kept", 1));
  auto pid = must(c.init_producer());
  const protocol::native::publish_producer first{pid.producer_id, pid.producer_epoch, 0};
  must(c.send_publish("kept", 0, make_batch(3), true, first));
  must(c.receive_publish());
  f.server->stop();
  auto store = f.server->context()->store_factory();
  ASSERT_TRUE(store);
  auto history = (*store)->read_producer_history({"kept", 0});
  ASSERT_TRUE(history);
  EXPECT_EQ(history->covers, 3) << "a snapshot covering the whole log";
  ASSERT_EQ(history->batches.size(), 1u);
  EXPECT_EQ(history->batches[0].producer_id, pid.producer_id);
  EXPECT_GE(history->batches[0].last_use_ms, 0) << "read from the snapshot, not from the log";
}

TEST(Broker, AfterARegistryRestartPartitionsComeBackWithTheirIdempotentProducers) {
  broker_fixture f;
  auto c = f.connect();
  must(c.create_topic("kept", 1));
  auto pid = must(c.init_producer());
  const protocol::native::publish_producer first{pid.producer_id, pid.producer_epoch, 0};
  must(c.send_publish("kept", 0, make_batch(3), true, first));
  const auto stored = must(c.receive_publish());
  auto ctx = f.server->context();
  const auto before = f.server->directory().registry;
  // The registry takes its partitions with it; the supervisor starts a new one.
  caf::anon_send_exit(before, caf::exit_reason::kill);
  ASSERT_TRUE(wait_until([&] {
    auto now = f.server->directory().registry;
    return now && now != before;
  }));
  // The producer's resend of its batch is recognised by the new partition (it read the
  // producer state back from the store): the same offsets, stored once.
  client::result<protocol::native::publish_response> again = client::failure{};
  ASSERT_TRUE(wait_until([&] {
    if (!client::ok(c.send_publish("kept", 0, make_batch(3), true, first))) return false;
    again = c.receive_publish();
    return client::ok(again);
  }));
  EXPECT_EQ(std::get<0>(again).base_offset, stored.base_offset);
  const protocol::native::publish_producer next{pid.producer_id, pid.producer_epoch, 3};
  must(c.send_publish("kept", 0, make_batch(2), true, next));
  EXPECT_EQ(must(c.receive_publish()).base_offset, stored.base_offset + 3);
  EXPECT_EQ(must(c.fetch("kept", 0, 0)).messages.size(), 5u) << "nothing stored twice";
}
