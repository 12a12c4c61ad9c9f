// The C++ client library against an in-process broker: answers are paired with their
// requests by id, whatever else the broker sends on the connection; long polls may outlast
// the request timeout; a subscription delivers from the offset it was made at.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/actors/broker_fixture.hpp"

using namespace portask;
using namespace portask::test;
using namespace std::chrono_literals;

namespace {

protocol::message_batch values(const std::string& prefix, int n) {
  protocol::message_batch b;
  for (int i = 0; i < n; ++i) {
    protocol::message m;
    m.value = prefix + std::to_string(i);
    b.messages.push_back(std::move(m));
  }
  return b;
}

broker_config without_auto_create() {
  broker_config c;
  c.auto_create_topics = false;
  return c;
}

}  // namespace

// A publish without acks that the broker refuses is answered by an Error only: it is kept
// for next_publish_error, not taken for the answer of the call made next (which would then
// put every later answer one call off).
TEST(NativeClient, TheErrorOfAPublishWithoutAcksIsNotTakenForAnotherCallsAnswer) {
  broker_fixture f{false, without_auto_create()};
  auto c = f.connect();
  must(c.create_topic("there", 1));
  ASSERT_TRUE(client::ok(c.send_publish("missing", 0, values("x", 1), false)));
  EXPECT_GT(must(c.heartbeat(), "heartbeat"), 0);
  auto topics = must(c.list_topics(), "list_topics");
  ASSERT_EQ(topics.size(), 1u);
  EXPECT_EQ(topics.front().topic, "there");
  auto refused = c.next_publish_error();
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->code, errc::unknown_topic);
  EXPECT_FALSE(c.next_publish_error());
  // Pipelined publishes with acks get their own answers, in order.
  ASSERT_TRUE(client::ok(c.send_publish("there", 0, values("a", 2), true)));
  ASSERT_TRUE(client::ok(c.send_publish("missing", 0, values("b", 1), true)));
  ASSERT_TRUE(client::ok(c.send_publish("there", 0, values("c", 3), true)));
  EXPECT_EQ(must(c.receive_publish()).base_offset, 0);
  auto second = c.receive_publish();
  ASSERT_FALSE(client::ok(second));
  EXPECT_EQ(client::error_of(second).code, errc::unknown_topic);
  EXPECT_EQ(must(c.receive_publish()).base_offset, 2);
  EXPECT_TRUE(c.usable());
}

// A fetch that waits for data longer than the request timeout is a long poll, not a broker
// that stopped answering.
TEST(NativeClient, ALongPollMayOutlastTheRequestTimeout) {
  broker_fixture f;
  must(f.connect().create_topic("quiet", 1));
  client::options o;
  o.port = f.server->native_port();
  o.timeout = 1s;
  auto opened = client::connection::open(o);
  ASSERT_TRUE(client::ok(opened));
  auto& c = std::get<0>(opened);
  auto got = c.fetch("quiet", 0, 0, 1 << 20, 2500);
  ASSERT_TRUE(client::ok(got)) << client::error_of(got).message;
  EXPECT_TRUE(std::get<0>(got).messages.empty());
  EXPECT_TRUE(c.usable());
}

// A delivery is a stored batch, whole: the client delivers from the offset the subscription
// was made at, as fetch does.
TEST(NativeClient, ASubscriptionDeliversFromItsStartOffset) {
  broker_fixture f;
  auto producer = f.connect();
  must(producer.create_topic("ten", 1));
  must(producer.publish("ten", 0, values("m", 10)));
  auto consumer = f.connect();
  const auto sub = must(consumer.subscribe("ten", 0, 5, 1 << 20));
  std::vector<std::int64_t> offsets;
  for (int i = 0; i < 20 && offsets.size() < 5; ++i) {
    auto d = must(consumer.next_delivery(2s));
    if (!d) continue;
    EXPECT_EQ(d->subscription_id, sub);
    for (const auto& m : d->data.messages) offsets.push_back(m.offset);
    must(consumer.grant_credit(sub, static_cast<std::uint32_t>(d->wire_bytes)));
  }
  EXPECT_EQ(offsets, (std::vector<std::int64_t>{5, 6, 7, 8, 9}));
  // Later batches come whole (they start where the subscription stands).
  must(producer.publish("ten", 0, values("n", 2)));
  for (int i = 0; i < 20 && offsets.size() < 7; ++i) {
    auto d = must(consumer.next_delivery(2s));
    if (!d) continue;
    for (const auto& m : d->data.messages) offsets.push_back(m.offset);
    must(consumer.grant_credit(sub, static_cast<std::uint32_t>(d->wire_bytes)));
  }
  EXPECT_EQ(offsets, (std::vector<std::int64_t>{5, 6, 7, 8, 9, 10, 11}));
}

// Each membership is an actor and a coordinator per group: bounded per connection, as
// subscriptions are.
TEST(NativeClient, GroupMembershipsAreBoundedPerConnection) {
  broker_config limited;
  limited.max_inflight_requests_per_connection = 4;
  broker_fixture f{false, limited};
  auto c = f.connect();
  for (int i = 0; i < 4; ++i) must(c.join_group("group-" + std::to_string(i), {"t"}), "join");
  auto refused = c.join_group("group-4", {"t"});
  ASSERT_FALSE(client::ok(refused));
  EXPECT_EQ(client::error_of(refused).code, errc::invalid_request);
  EXPECT_NE(client::error_of(refused).message.find("group memberships per connection"), std::string::npos);
  EXPECT_GT(must(c.heartbeat()), 0);
}
