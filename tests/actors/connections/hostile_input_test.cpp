// Malformed and hostile input on the native port: each gets an Error frame with a code,
// a clean close where the stream cannot be resynchronised, and the broker keeps serving.
#include <gtest/gtest.h>

#include "tests/actors/broker_fixture.hpp"
#include "protocol/codec_manager.hpp"
#include "protocol/native_messages.hpp"
#include "raw_kafka.hpp"

#include <string>
#include <utility>

using namespace portask;
using namespace portask::test;
using namespace std::chrono_literals;
namespace native = protocol::native;

namespace {

// Reads frames until an Error arrives; returns it (or fails the test).
native::error_response expect_error(client::connection& c) {
  for (int i = 0; i < 10; ++i) {
    auto f = c.receive_frame(30s);
    if (!client::ok(f)) {
      ADD_FAILURE() << "no error frame: " << client::error_of(f).message;
      return {};
    }
    const auto& bytes = std::get<0>(f);
    if (static_cast<protocol::message_type>(bytes[5]) != protocol::message_type::error) continue;
    auto e = native::decode_error(protocol::byte_view{bytes}.subspan(protocol::frame_header_size));
    if (!e) ADD_FAILURE() << "malformed error frame";
    return e ? *e : native::error_response{};
  }
  ADD_FAILURE() << "no error frame";
  return {};
}

// True when the broker closed the connection (reads hit end of stream).
bool closed_by_broker(client::connection& c) {
  auto f = c.receive_frame(30s);
  return !client::ok(f) && client::error_of(f).message.find("closed") != std::string::npos;
}

void still_serving(broker_fixture& f) {
  auto other = f.connect();
  EXPECT_GT(must(other.heartbeat(), "heartbeat after hostile input"), 0);
}

protocol::buffer valid_frame() {
  protocol::buffer out;
  native::encode_heartbeat(out, 7);
  return out;
}

}  // namespace

TEST(HostileInput, GarbageBytesAreBadMagicThenClose) {
  broker_fixture f;
  auto c = f.connect();
  const std::string junk = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_TRUE(c.send_raw(protocol::as_bytes(junk)));
  auto e = expect_error(c);
  EXPECT_EQ(e.code, static_cast<std::uint16_t>(errc::bad_magic));
  EXPECT_EQ(e.request_id, 0u);
  EXPECT_TRUE(closed_by_broker(c));
  still_serving(f);
}

TEST(HostileInput, WrongCrcIsRejectedAndClosed) {
  broker_fixture f;
  auto c = f.connect();
  auto frame = valid_frame();
  frame.back() ^= 0xFF;
  ASSERT_TRUE(c.send_raw(frame));
  EXPECT_EQ(expect_error(c).code, static_cast<std::uint16_t>(errc::crc_mismatch));
  EXPECT_TRUE(closed_by_broker(c));
  still_serving(f);
}

TEST(HostileInput, OversizeLengthIsRejectedBeforeThePayload) {
  broker_config cfg;
  cfg.max_frame_bytes = 4096;
  broker_fixture f{false, cfg};
  auto c = f.connect();
  protocol::buffer header(protocol::frame_header_size);
  protocol::frame_header h;
  h.type = protocol::message_type::publish;
  h.length = 1u << 30;  // a 1 GiB promise, never sent
  protocol::encode_header(h, std::span<std::uint8_t, protocol::frame_header_size>(header.data(), 16));
  ASSERT_TRUE(c.send_raw(header));
  EXPECT_EQ(expect_error(c).code, static_cast<std::uint16_t>(errc::frame_too_large));
  EXPECT_TRUE(closed_by_broker(c));
  still_serving(f);
}

TEST(HostileInput, UnknownTypeAndVersionAreRejected) {
  broker_fixture f;
  {
    auto c = f.connect();
    auto frame = valid_frame();
    frame[5] = 0x3F;
    ASSERT_TRUE(c.send_raw(frame));
    EXPECT_EQ(expect_error(c).code, static_cast<std::uint16_t>(errc::unknown_type));
  }
  {
    auto c = f.connect();
    auto frame = valid_frame();
    frame[4] = 9;
    ASSERT_TRUE(c.send_raw(frame));
    EXPECT_EQ(expect_error(c).code, static_cast<std::uint16_t>(errc::unsupported_version));
  }
  still_serving(f);
}

TEST(HostileInput, TruncatedRequestPayloadIsAnErrorButTheConnectionStays) {
  broker_fixture f;
  auto c = f.connect();
  // A well-framed Fetch whose payload stops after the request id and half a topic.
  protocol::buffer frame;
  const std::uint8_t body[] = {0, 0, 0, 42, 0, 10, 'a', 'b'};
  protocol::append_frame(frame, protocol::message_type::fetch, 0, body);
  ASSERT_TRUE(c.send_raw(frame));
  auto e = expect_error(c);
  EXPECT_EQ(e.code, static_cast<std::uint16_t>(errc::malformed_payload));
  EXPECT_EQ(e.request_id, 42u) << "the error is correlated with the request";
  EXPECT_GT(must(c.heartbeat()), 0) << "the same connection keeps working";
}

// Groups named in a Metadata request that does not ask for the cluster fields, where their
// coordinators are answered, would go unanswered: refused, not ignored.
TEST(HostileInput, MetadataNamingGroupsWithoutTheClusterFieldsIsRefused) {
  broker_fixture f;
  auto c = f.connect();
  protocol::buffer frame;
  native::encode_metadata_request(frame, native::metadata_request{99, false, {"g"}});
  ASSERT_TRUE(c.send_raw(frame));
  auto e = expect_error(c);
  EXPECT_EQ(e.code, static_cast<std::uint16_t>(errc::invalid_request));
  EXPECT_EQ(e.request_id, 99u);
  // The client asks for the cluster fields (absent outside a cluster, so no coordinator).
  EXPECT_TRUE(client::ok(c.metadata({"g"})));
}

// docs/protocol.md section 4: a bool is 0 or 1. Before, a `cluster` of 2 was taken for 1.
TEST(HostileInput, AMetadataClusterFieldOtherThanZeroOrOneIsRefused) {
  broker_fixture f;
  auto c = f.connect();
  protocol::buffer frame;
  const std::uint8_t body[] = {0, 0, 0, 98, 2, 0, 0};
  protocol::append_frame(frame, protocol::message_type::metadata, 0, body);
  ASSERT_TRUE(c.send_raw(frame));
  auto e = expect_error(c);
  EXPECT_EQ(e.code, static_cast<std::uint16_t>(errc::invalid_request));
  EXPECT_EQ(e.request_id, 98u);
  EXPECT_NE(e.message.find("0 or 1"), std::string::npos) << e.message;
  EXPECT_TRUE(client::ok(c.metadata()));
}

// docs/protocol.md section 4: a string is UTF-8. Before, an Ack's group id or metadata that
// was not was stored, and Kafka clients listing the groups could not decode the answer
// (kafka-python) or crashed (librdkafka).
TEST(HostileInput, RequestStringsThatAreNotUtf8AreMalformedAndNothingIsStored) {
  broker_fixture f;
  auto c = f.connect();
  must(c.create_topic("acked", 1));
  auto malformed = [](const auto& r, const char* what) {
    ASSERT_FALSE(client::ok(r)) << what << " accepted";
    EXPECT_EQ(client::error_of(r).code, errc::malformed_payload) << what << ": " << client::error_of(r).message;
  };
  malformed(c.commit("grp\xff\xfe", "acked", 0, 1), "a group id");
  malformed(c.commit("grp", "acked", 0, 1, "meta\xc3"), "metadata");
  malformed(c.commit("grp", "acked\xff", 0, 1), "a topic");
  malformed(c.join_group("grp\xff\xfe", {"acked"}), "a group to join");
  malformed(c.join_group("grp", {"acked\xc0\xaf"}), "a topic to join with");
  EXPECT_TRUE(must(c.list_groups(), "list_groups").empty()) << "nothing refused was stored";
  raw_kafka k{f.server->kafka_port()};
  auto groups = call<msg::ListGroupsResponse>(k, 16, 0, msg::ListGroupsRequest{}, false);
  EXPECT_EQ(groups.errorCode, 0);
  EXPECT_TRUE(groups.groups.empty());
  // UTF-8 beyond ASCII is a string like any other.
  const std::string group = "gr\xc3\xbcppe-\xe2\x82\xac";
  must(c.commit(group, "acked", 0, 1, "m\xc3\xa9ta"), "commit");
  EXPECT_EQ(must(c.committed(group, "acked", 0), "committed").metadata, "m\xc3\xa9ta");
}

TEST(HostileInput, CorruptBatchAndUnknownCompressionAreErrors) {
  broker_fixture f;
  auto c = f.connect();
  native::publish_request p;
  p.request_id = 5;
  p.topic = "t";
  p.partition = 0;
  const std::uint8_t junk[] = {1, 200, 200, 200, 200, 200};
  p.batch = junk;
  protocol::buffer frame;
  native::encode(frame, p, protocol::flags_for({}));
  ASSERT_TRUE(c.send_raw(frame));
  EXPECT_EQ(expect_error(c).code, static_cast<std::uint16_t>(errc::malformed_payload));
  frame.clear();
  native::encode(frame, p, 0xF001);  // compressed with id 15
  ASSERT_TRUE(c.send_raw(frame));
  EXPECT_EQ(expect_error(c).code, static_cast<std::uint16_t>(errc::unknown_compression));
  frame.clear();
  protocol::buffer gz;  // gzip flags over bytes that are not gzip
  native::encode(frame, p, protocol::flags_for({protocol::codec_id::binary, protocol::compression_id::gzip}));
  ASSERT_TRUE(c.send_raw(frame));
  EXPECT_EQ(expect_error(c).code, static_cast<std::uint16_t>(errc::decompression_failed));
  EXPECT_GT(must(c.heartbeat()), 0);
  // Nothing of it was stored.
  auto topics = must(c.list_topics());
  EXPECT_TRUE(topics.empty());
}

// CBOR and MessagePack readers recurse per nesting level: a batch of nested one-element
// arrays would run a worker's stack out (and take the broker down) if it were read.
TEST(HostileInput, DeeplyNestedStructuredBatchesAreMalformed) {
  broker_fixture f;
  auto c = f.connect();
  const std::string cbor = std::string(200000, '\x81') + '\xF6';
  const std::string msgpack = std::string(200000, '\x91') + '\xC0';
  for (const auto& [codec, payload] : {std::pair{protocol::codec_id::cbor, cbor}, std::pair{protocol::codec_id::msgpack, msgpack}}) {
    native::publish_request p;
    p.request_id = 9;
    p.topic = "t";
    p.partition = 0;
    p.batch = protocol::as_bytes(payload);
    protocol::buffer frame;
    native::encode(frame, p, protocol::flags_for({codec, protocol::compression_id::none}) | protocol::frame_flags::batch);
    ASSERT_TRUE(c.send_raw(frame));
    EXPECT_EQ(expect_error(c).code, static_cast<std::uint16_t>(errc::malformed_payload));
  }
  EXPECT_GT(must(c.heartbeat()), 0);
  still_serving(f);
}

// A few hundred bytes of zstd can hold millions of empty messages, each a struct of over a
// hundred bytes decoded: a batch is bounded by what it takes decoded, and a connection's
// decoded publishes by max_decompressed_bytes_per_request (the frames after them wait).
TEST(HostileInput, CompressedEmptyMessagesAreBoundedDecoded) {
  broker_config small;
  small.max_frame_bytes = 1 << 20;                         // a batch: 4 MiB decoded at most
  small.max_decompressed_bytes_per_request = 8u << 20;     // the connection's decoded publishes
  broker_fixture f{false, small};
  auto c = f.connect();
  must(c.create_topic("empty", 1));
  protocol::codec_manager codecs{small.max_frame_bytes};
  auto publish_frame = [&](std::uint32_t id, std::size_t messages) {
    protocol::message_batch b;
    b.messages.resize(messages);
    protocol::buffer payload;
    auto flags = codecs.encode(b, {protocol::codec_id::binary, protocol::compression_id::zstd}, payload);
    EXPECT_TRUE(flags);
    native::publish_request p;
    p.request_id = id;
    p.acks = 1;
    p.topic = "empty";
    p.partition = 0;
    p.batch = payload;
    protocol::buffer frame;
    native::encode(frame, p, flags ? *flags : std::uint16_t{0});
    return frame;
  };
  // Over a batch's bound: refused, and the connection goes on.
  auto bomb = publish_frame(1, 100000);
  ASSERT_LT(bomb.size(), 4096u);
  ASSERT_TRUE(c.send_raw(bomb));
  EXPECT_EQ(expect_error(c).code, static_cast<std::uint16_t>(errc::decompressed_too_large));
  // Within it, many at once in one write: they take turns within the connection's budget,
  // and every one is stored and answered, in order.
  protocol::buffer burst;
  constexpr int frames = 24;
  constexpr std::size_t each = 15000;
  for (int i = 0; i < frames; ++i) {
    auto one = publish_frame(static_cast<std::uint32_t>(100 + i), each);
    burst.insert(burst.end(), one.begin(), one.end());
  }
  ASSERT_TRUE(c.send_raw(burst));
  for (int i = 0; i < frames; ++i) {
    auto r = c.receive_frame(60s);
    ASSERT_TRUE(client::ok(r)) << i;
    const auto& bytes = std::get<0>(r);
    ASSERT_EQ(static_cast<protocol::message_type>(bytes[5]), protocol::message_type::response) << i;
    protocol::byte_view body;
    auto h = native::decode_response_header(protocol::byte_view{bytes}.subspan(protocol::frame_header_size), body);
    ASSERT_TRUE(h);
    EXPECT_EQ(h->request_id, static_cast<std::uint32_t>(100 + i));
    auto answer = native::decode_publish_response(body);
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->base_offset, static_cast<std::int64_t>(i * each));
  }
  EXPECT_GT(must(c.heartbeat()), 0);
}

// A batch kept in its encoding is decoded later (a Kafka fetch, compaction): one that would
// build more than a received batch may (here a million empty headers, two bytes each) is
// refused as it would be decoded.
TEST(HostileInput, ABatchOfEmptyHeadersIsRefusedAsItWouldBeDecoded) {
  broker_config small;
  small.max_frame_bytes = 4u << 20;  // a batch: 16 MiB of structures at most
  broker_fixture f{false, small};
  auto c = f.connect();
  must(c.create_topic("headers", 1));
  protocol::message_batch b;
  b.messages.resize(1);
  b.messages.front().key = "k";
  b.messages.front().headers.resize(1'000'000);
  auto refused = c.publish("headers", 0, b);
  ASSERT_FALSE(client::ok(refused));
  EXPECT_EQ(client::error_of(refused).code, errc::decompressed_too_large);
  b.messages.front().headers.resize(1000);
  EXPECT_EQ(must(c.publish("headers", 0, b)).base_offset, 0);
  EXPECT_EQ(must(c.fetch("headers", 0, 0)).messages.at(0).headers.size(), 1000u);
}

// The requests read before bad bytes are answered, in order, before the Error that ends
// the connection.
TEST(HostileInput, RequestsBeforeAFramingErrorAreAnsweredFirst) {
  broker_fixture f;
  auto c = f.connect();
  must(c.create_topic("kept", 1));
  protocol::message_batch b;
  b.messages.resize(1);
  b.messages.front().value = "v";
  protocol::codec_manager codecs;
  protocol::buffer payload;
  auto flags = codecs.encode(b, {}, payload);
  ASSERT_TRUE(flags);
  native::publish_request p;
  p.request_id = 41;
  p.acks = 1;
  p.topic = "kept";
  p.partition = 0;
  p.batch = payload;
  protocol::buffer bytes;
  native::encode(bytes, p, *flags);
  auto bad = valid_frame();
  bad[12] ^= 0xFF;  // its CRC
  bytes.insert(bytes.end(), bad.begin(), bad.end());
  ASSERT_TRUE(c.send_raw(bytes));
  auto first = c.receive_frame(30s);
  ASSERT_TRUE(client::ok(first));
  ASSERT_EQ(static_cast<protocol::message_type>(std::get<0>(first)[5]), protocol::message_type::response);
  protocol::byte_view body;
  auto h = native::decode_response_header(protocol::byte_view{std::get<0>(first)}.subspan(protocol::frame_header_size), body);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->request_id, 41u);
  EXPECT_EQ(expect_error(c).code, static_cast<std::uint16_t>(errc::crc_mismatch));
  EXPECT_TRUE(closed_by_broker(c));
  auto other = f.connect();
  EXPECT_EQ(must(other.fetch("kept", 0, 0)).messages.size(), 1u);
}

TEST(HostileInput, ServerOnlyMessageTypesFromAClientAreRefused) {
  broker_fixture f;
  auto c = f.connect();
  protocol::buffer frame;
  const std::uint8_t body[] = {0, 0, 0, 9};
  protocol::append_frame(frame, protocol::message_type::deliver, 0, body);
  ASSERT_TRUE(c.send_raw(frame));
  auto e = expect_error(c);
  EXPECT_EQ(e.code, static_cast<std::uint16_t>(errc::invalid_request));
  EXPECT_EQ(e.request_id, 9u);
}

TEST(HostileInput, ConnectionsOverTheLimitGetAnErrorAndAreClosed) {
  broker_config cfg;
  cfg.max_connections = 2;
  broker_fixture f{false, cfg};
  auto a = f.connect();
  auto b = f.connect();
  // Both busy (a subscription keeps its connection from being idle), so nobody is evicted.
  must(a.create_topic("limit", 1));
  must(a.subscribe("limit", 0, -1, 1024));
  must(b.subscribe("limit", 0, -1, 1024));
  auto c = f.connect();
  EXPECT_EQ(expect_error(c).code, static_cast<std::uint16_t>(errc::too_many_connections));
  EXPECT_TRUE(closed_by_broker(c));
  EXPECT_GT(must(a.heartbeat()), 0);
  EXPECT_EQ(f.metrics().connection_limited_total(listener_kind::native, connection_limit::listener_full), 1u);
}

TEST(HostileInput, ANewClientOverTheLimitEvictsTheLeastRecentlyActiveIdleConnection) {
  broker_config cfg;
  cfg.max_connections = 2;
  broker_fixture f{false, cfg};
  auto a = f.connect();
  auto b = f.connect();
  EXPECT_GT(must(a.heartbeat()), 0);
  EXPECT_GT(must(b.heartbeat()), 0);  // b is the more recently active
  auto c = f.connect();
  EXPECT_GT(must(c.heartbeat()), 0);
  EXPECT_TRUE(closed_by_broker(a));
  EXPECT_GT(must(b.heartbeat()), 0);
  EXPECT_EQ(f.metrics().connection_limited_total(listener_kind::native, connection_limit::evicted_idle), 1u);
}

TEST(HostileInput, ManyPipelinedRequestsWithATinyInflightLimitAllComplete) {
  broker_config cfg;
  cfg.max_inflight_bytes_per_connection = 8 * 1024;  // reading pauses often
  broker_fixture f{false, cfg};
  auto c = f.connect();
  constexpr int n = 300;
  // 300 requests of ~700 bytes against an 8 KiB in-flight limit: the broker stops reading
  // again and again and resumes as answers are written. The answers are small enough to wait
  // in the socket buffer until they are read below.
  for (int i = 0; i < n; ++i) must(c.send_publish("bp", 0, make_batch(20)));
  auto reader = f.connect();
  std::int64_t expected_base = 0;
  for (int i = 0; i < n; ++i) {
    auto r = must(c.receive_publish());
    EXPECT_EQ(r.base_offset, expected_base);
    expected_base += 20;
  }
  EXPECT_EQ(must(reader.list_offsets("bp", 0)).high_watermark, n * 20);
}

// A connection that ends with an answer outstanding waits for it only until the request
// timeout: a publish the store does not answer for a minute (stalled by SIGSTOP), read before
// bytes that cannot be framed, does not keep the connection, its actor and its slot open.
TEST(HostileInput, AnEndingConnectionWaitsForAnOutstandingAnswerOnlyUntilTheRequestTimeout) {
  broker_config cfg;
  cfg.store_timeout_ms = 60000;   // the store stalls for as long as the test pauses it
  cfg.request_timeout_ms = 1000;  // how long an ending connection waits for its answers
  broker_fixture f{true, cfg};
  auto c = f.connect();
  must(c.create_topic("stalled", 1));
  f.redis->pause();
  struct resume_at_exit {
    redis_server& r;
    ~resume_at_exit() { r.resume(); }
  } resume{*f.redis};
  must(c.send_publish("stalled", 0, make_batch(1)));
  ASSERT_TRUE(c.flush());
  const std::string junk = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_TRUE(c.send_raw(protocol::as_bytes(junk)));
  EXPECT_TRUE(closed_by_broker(c)) << "closed without the publish's answer, long before the store's";
}
