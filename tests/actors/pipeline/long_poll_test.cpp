// Long polls: a fetch with nothing to read parks in its partition until data comes, its wait
// runs out, or it is cancelled — when another partition answered its request, or its
// connection closed. What is sent is counted out, nothing else.
#include <gtest/gtest.h>

#include "raw_kafka.hpp"
#include "tests/actors/broker_fixture.hpp"

using namespace portask;
using namespace portask::test;
using namespace std::chrono_literals;

namespace {

msg::FetchRequest long_poll(const std::string& topic, std::int32_t partitions) {
  msg::FetchRequest fetch;
  fetch.replicaId = -1;
  fetch.maxWaitMs = 30000;  // far beyond the waits below: only a cancel ends it sooner
  fetch.minBytes = 1;
  fetch.maxBytes = 1 << 20;
  fetch.topics.push_back({topic, {}, {}});
  for (std::int32_t p = 0; p < partitions; ++p)
    fetch.topics[0].partitions.push_back({p, -1, 0, -1, -1, 1 << 20, {}});
  return fetch;
}

}  // namespace

TEST(LongPolls, AKafkaFetchAnsweredByOnePartitionCancelsTheOtherPartitionsPolls) {
  broker_fixture f;
  auto c = f.connect();
  must(c.create_topic("polled", 3));
  raw_kafka k{f.server->kafka_port()};
  k.send(1, 11, 5, long_poll("polled", 3), false);
  ASSERT_TRUE(wait_until([&] { return f.metrics().fetches_waiting() == 3; }));
  must(c.publish("polled", 1, make_batch(4)));
  std::int32_t corr = 0;
  auto body = k.receive(corr, false);
  ASSERT_TRUE(body);
  EXPECT_EQ(corr, 5);
  auto res = decode_as<msg::FetchResponse>(*body, 11);
  ASSERT_EQ(res.responses.at(0).partitions.size(), 3u);
  EXPECT_TRUE(res.responses[0].partitions[1].records && !res.responses[0].partitions[1].records->empty());
  // The other two polls end now, not when their 30 s run out.
  EXPECT_TRUE(wait_until([&] { return f.metrics().fetches_waiting() == 0; }, 10s));
  EXPECT_EQ(f.metrics().messages_out_total(protocol_kind::kafka), 4u) << "what was sent";
}

TEST(LongPolls, ClosingAConnectionCancelsItsPolls) {
  broker_fixture f;
  auto c = f.connect();
  must(c.create_topic("quiet", 2));
  {
    raw_kafka k{f.server->kafka_port()};
    k.send(1, 11, 1, long_poll("quiet", 2), false);
    ASSERT_TRUE(wait_until([&] { return f.metrics().fetches_waiting() == 2; }));
  }  // the client goes away
  EXPECT_TRUE(wait_until([&] { return f.metrics().fetches_waiting() == 0; }, 10s));
  // And its connection actor ends with them, instead of waiting for the polls' 30 s.
  EXPECT_TRUE(wait_until([&] { return f.metrics().open_connections(protocol_kind::kafka) == 0; }, 10s));
}

TEST(LongPolls, AnAppendWakesOnlyThePollsItsOffsetsReach) {
  broker_fixture f;
  auto c = f.connect();
  must(c.create_topic("woken", 1));
  must(c.publish("woken", 0, make_batch(2)));  // offsets 0-1
  // A poll at the end (offset 2) waits; an append of offsets 2-4 answers it from offset 2.
  raw_kafka k{f.server->kafka_port()};
  auto fetch = long_poll("woken", 1);
  fetch.topics[0].partitions[0].fetchOffset = 2;
  k.send(1, 11, 9, fetch, false);
  ASSERT_TRUE(wait_until([&] { return f.metrics().fetches_waiting() == 1; }));
  must(c.publish("woken", 0, make_batch(3, "more")));
  std::int32_t corr = 0;
  auto body = k.receive(corr, false);
  ASSERT_TRUE(body);
  auto res = decode_as<msg::FetchResponse>(*body, 11);
  const auto& p = res.responses.at(0).partitions.at(0);
  ASSERT_TRUE(p.records);
  auto batches = kafka::decode_record_batches(p.records->owned());
  ASSERT_TRUE(batches && batches->size() == 1u);
  EXPECT_EQ(batches->front().base_offset, 2);
  EXPECT_EQ(f.metrics().fetches_waiting(), 0);
}
