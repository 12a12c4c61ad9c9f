// The C++ client library against an in-process broker: answers are paired with their
// requests by id, whatever else the broker sends on the connection; long polls may outlast
// the request timeout; a subscription delivers from the offset it was made at; frames a
// little longer than the broker's largest are taken. And the broker's side of
// subscriptions: offsets outside the log and pipelined Subscribes past the cap are refused.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "tests/actors/broker_fixture.hpp"

using namespace portask;
using namespace portask::test;
using namespace std::chrono_literals;
namespace native = protocol::native;

namespace {

// An answer read as a raw frame: its type, the request it answers, and an Error's code.
struct raw_answer {
  protocol::message_type type = protocol::message_type::response;
  std::uint32_t request_id = 0;
  errc code = errc::ok;
};

raw_answer next_answer(client::connection& c) {
  auto frame = must(c.receive_frame(20s), "receive_frame");
  const auto type = static_cast<protocol::message_type>(frame[5]);
  const protocol::byte_view payload{frame.data() + protocol::frame_header_size,
                                    frame.size() - protocol::frame_header_size};
  if (type == protocol::message_type::error) {
    auto e = native::decode_error(payload);
    if (!e) throw std::runtime_error("malformed error frame");
    return raw_answer{type, e->request_id, static_cast<errc>(e->code)};
  }
  return raw_answer{type, protocol::load_be32(payload.data()), errc::ok};
}

// The payload of a Publish of `batch` (binary, uncompressed) to `topic`.
std::size_t publish_payload(const std::string& topic, const protocol::message_batch& batch) {
  protocol::buffer encoded;
  const auto flags = protocol::codec_manager{}.encode(batch, protocol::encoding{}, encoded);
  if (!flags) throw std::runtime_error("encode failed");
  native::publish_request req;
  req.topic = topic;
  req.partition = 0;
  req.batch = encoded;
  protocol::buffer frame;
  native::encode(frame, req, *flags);
  return frame.size() - protocol::frame_header_size;
}

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

// publish() waits for its own answer: publishes pipelined before it keep theirs for
// receive_publish, which would otherwise each get the answer of the call after.
TEST(NativeClient, APublishGetsItsOwnAnswerWhilePipelinedOnesAreAwaited) {
  broker_fixture f;
  auto c = f.connect();
  must(c.create_topic("own", 1));
  must(c.send_publish("own", 0, values("a", 2)));
  must(c.send_publish("own", 0, values("b", 3)));
  EXPECT_EQ(must(c.publish("own", 0, values("c", 1))).base_offset, 5);
  EXPECT_EQ(must(c.receive_publish()).base_offset, 0);
  EXPECT_EQ(must(c.receive_publish()).base_offset, 2);
  auto none = c.receive_publish();
  ASSERT_FALSE(client::ok(none));
  EXPECT_EQ(client::error_of(none).code, errc::invalid_request);
  EXPECT_TRUE(c.usable());
}

// A Subscribe outside the log is answered offset_out_of_range, as a Fetch there is, not
// made into a subscription that ends at its first push; its ends and -1 / -2 are taken.
TEST(NativeClient, ASubscribeOutsideTheLogIsRefusedOffsetOutOfRange) {
  broker_fixture f;
  auto c = f.connect();
  must(c.create_topic("bounded", 1));
  must(c.publish("bounded", 0, values("m", 5)));
  must(c.publish("bounded", 0, values("n", 5)));
  const auto bounds = must(c.delete_records("bounded", 0, 5));
  ASSERT_GT(bounds.log_start, 0);
  ASSERT_EQ(bounds.high_watermark, 10);
  for (const auto& offset : {bounds.log_start - 1, bounds.high_watermark + 1, std::int64_t{-3}}) {
    auto refused = c.subscribe("bounded", 0, offset, 1 << 20);
    ASSERT_FALSE(client::ok(refused)) << offset;
    EXPECT_EQ(client::error_of(refused).code, errc::offset_out_of_range) << offset;
  }
  for (const auto& offset : {bounds.log_start, bounds.high_watermark, native::latest_offset, native::earliest_offset})
    must(c.subscribe("bounded", 0, offset, 1 << 20), "subscribe");
  EXPECT_TRUE(c.usable());
}

// Subscribes pipelined in one write are all read before the first has looked its partition
// up: those still looking count against the cap, or every one of them would pass it.
TEST(NativeClient, PipelinedSubscribesCountAgainstTheSubscriptionCap) {
  broker_config limited;
  limited.max_inflight_requests_per_connection = 2;
  broker_fixture f{false, limited};
  auto c = f.connect();
  must(c.create_topic("capped", 1));
  must(c.subscribe("capped", 0, native::latest_offset, 1 << 20));
  protocol::buffer frames;
  native::encode(frames, native::subscribe_request{1001, "capped", 0, native::latest_offset, 1 << 20});
  native::encode(frames, native::subscribe_request{1002, "capped", 0, native::latest_offset, 1 << 20});
  ASSERT_TRUE(c.send_raw(frames));
  const auto made = next_answer(c);
  EXPECT_EQ(made.request_id, 1001u);
  EXPECT_EQ(made.type, protocol::message_type::response);
  const auto refused = next_answer(c);
  EXPECT_EQ(refused.request_id, 1002u);
  EXPECT_EQ(refused.type, protocol::message_type::error);
  EXPECT_EQ(refused.code, errc::invalid_request);
}

// A Fetch answer or Deliver frame carries a stored batch and its own header: one holding a
// batch published at the broker's largest frame is a few dozen bytes longer than that. The
// client's limit (options::max_frame_bytes) leaves room for it by default; without room the
// answer is refused and the consumer could never get past that batch.
TEST(NativeClient, ABatchPublishedAtTheLargestFrameIsFetchedAndDelivered) {
  EXPECT_EQ(client::options{}.max_frame_bytes, broker_config{}.max_frame_bytes + (1u << 20));
  broker_config small;
  small.max_frame_bytes = 1 << 20;
  broker_fixture f{false, small};
  auto connect = [&](std::uint32_t max_frame_bytes) {
    client::options o;
    o.port = f.server->native_port();
    o.timeout = 20s;
    o.max_frame_bytes = max_frame_bytes;
    return must(client::connection::open(o), "connect");
  };
  auto c = connect(small.max_frame_bytes + 64 * 1024);
  must(c.create_topic("large", 1));
  // One message, its Publish 32 bytes short of the limit (the value's length prefix keeps
  // its size: three bytes from 16 KiB to 2 MiB).
  const std::size_t target = small.max_frame_bytes - 32;
  auto batch = values("", 1);
  batch.messages[0].value = std::string(target - 1024, 'x');
  batch.messages[0].value->append(target - publish_payload("large", batch), 'x');
  ASSERT_EQ(publish_payload("large", batch), target);
  must(c.publish("large", 0, batch), "publish");
  const auto value_size = batch.messages[0].value->size();
  auto got = must(c.fetch("large", 0, 0), "fetch");
  ASSERT_EQ(got.messages.size(), 1u);
  EXPECT_EQ(got.messages[0].value->size(), value_size);
  const auto sub = must(c.subscribe("large", 0, 0, 4 << 20), "subscribe");
  std::optional<client::delivery> d;
  for (int i = 0; i < 20 && !d; ++i) d = must(c.next_delivery(2s), "next_delivery");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->subscription_id, sub);
  ASSERT_EQ(d->data.messages.size(), 1u);
  EXPECT_EQ(d->data.messages[0].value->size(), value_size);
  EXPECT_TRUE(c.usable());
  // The limit is the option's: at exactly the broker's, the answer is too long.
  auto strict = connect(small.max_frame_bytes);
  auto refused = strict.fetch("large", 0, 0);
  ASSERT_FALSE(client::ok(refused));
  EXPECT_EQ(client::error_of(refused).code, errc::frame_too_large);
  EXPECT_FALSE(strict.usable());
}
