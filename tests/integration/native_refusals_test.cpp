// Native requests the broker refuses, against the real `portask` executable on the memory
// store: what Kafka clients could not read back (group ids and commit metadata past Kafka's
// limits, or not UTF-8), refusals that say what is wrong (publishes' included), the encrypted
// flag on a frame without a batch, and the request kinds the metrics count native admin
// requests as.
#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <set>

#include "protocol/frame.hpp"
#include "protocol/native_messages.hpp"
#include "raw_kafka.hpp"
#include "server_process.hpp"

using namespace portask;
using namespace portask::test;
using namespace std::chrono_literals;
namespace native = portask::protocol::native;

namespace {

class NativeRefusals : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<server_process>("memory", dir_.path() + "/portask.log");
    ASSERT_TRUE(server_->start()) << "portask did not start";
  }
  void TearDown() override { print_log_if_failed(dir_.path() + "/portask.log"); }
  temp_dir dir_;
  std::unique_ptr<server_process> server_;
};

// The request failed with `code`, and its message contains `says`.
template <class T>
void expect_refused(const client::result<T>& r, errc code, const std::string& says) {
  ASSERT_FALSE(client::ok(r)) << "accepted; expected: " << says;
  EXPECT_EQ(client::error_of(r).code, code) << client::error_of(r).message;
  EXPECT_NE(client::error_of(r).message.find(says), std::string::npos) << client::error_of(r).message;
}

// Sends `frame` as it is and reads the Error frame that answers it.
native::error_response error_answering(client::connection& c, const protocol::buffer& frame) {
  EXPECT_TRUE(c.send_raw(frame));
  auto answer = c.receive_frame(30s);
  if (!client::ok(answer)) {
    ADD_FAILURE() << "no answer: " << client::error_of(answer).message;
    return {};
  }
  const auto& bytes = std::get<0>(answer);
  EXPECT_EQ(static_cast<protocol::message_type>(bytes.at(5)), protocol::message_type::error);
  auto err = native::decode_error(protocol::byte_view{bytes}.subspan(protocol::frame_header_size));
  if (!err) {
    ADD_FAILURE() << "not an Error frame";
    return {};
  }
  return *err;
}

}  // namespace

// Before, both were stored, and every Kafka client's ListGroups failed to decode (a group id
// past 32767 bytes) or read OffsetFetch misaligned (metadata past 32767 bytes).
TEST_F(NativeRefusals, AckRefusesGroupIdsAndMetadataKafkaCouldNotCarry) {
  auto c = server_->connect();
  ASSERT_TRUE(client::ok(c.create_topic("acked", 1)));
  const std::string longest_group(32767, 'g');
  expect_refused(c.commit(std::string(32768, 'g'), "acked", 0, 1), errc::invalid_request, "32768 bytes");
  expect_refused(c.commit("", "acked", 0, 1), errc::invalid_request, "empty group id");
  expect_refused(c.commit("meta", "acked", 0, -1), errc::invalid_request, "offset -1");
  expect_refused(c.commit("meta", "acked", 0, 1, std::string(4097, 'm')), errc::invalid_request,
                 "offset.metadata.max.bytes");
  // Bytes that are not UTF-8 are no string at all (docs/protocol.md section 4), however many.
  expect_refused(c.commit("meta", "acked", 0, 1, std::string(40000, '\x80')), errc::malformed_payload, "malformed");
  expect_refused(c.commit("meta", "acked", 0, 1, std::string(10, '\x80')), errc::malformed_payload, "malformed");
  // 4096 characters of three bytes each are 4096 units.
  std::string wide;
  for (int i = 0; i < 4096; ++i) wide += "\xe2\x82\xac";
  ASSERT_TRUE(client::ok(c.commit("meta", "acked", 0, 1, wide)));
  expect_refused(c.committed(std::string(32768, 'g'), "acked", 0), errc::invalid_request, "32768 bytes");
  // Every request that names a group refuses the same ids.
  expect_refused(c.join_group(std::string(32768, 'g'), {"acked"}), errc::invalid_request, "32768 bytes");
  expect_refused(c.describe_group(std::string(32768, 'g')), errc::invalid_request, "32768 bytes");
  ASSERT_TRUE(client::ok(c.commit(longest_group, "acked", 0, 1)));
  ASSERT_TRUE(client::ok(c.commit("meta", "acked", 0, 5, std::string(4096, 'm'))));
  auto native_view = c.committed("meta", "acked", 0);
  ASSERT_TRUE(client::ok(native_view));
  EXPECT_EQ(std::get<0>(native_view).metadata.size(), 4096u);

  // Kafka clients read both groups back.
  raw_kafka kafka(server_->kafka_port());
  auto groups = call<msg::ListGroupsResponse>(kafka, 16, 0, msg::ListGroupsRequest{}, false);
  EXPECT_EQ(groups.errorCode, 0);
  std::set<std::string> ids;
  for (const auto& g : groups.groups) ids.insert(g.groupId);
  EXPECT_TRUE(ids.count("meta"));
  EXPECT_TRUE(ids.count(longest_group));
  EXPECT_EQ(ids.size(), 2u) << "nothing refused was stored";
  msg::OffsetFetchRequest fetch;
  fetch.groupId = "meta";
  fetch.topics = std::vector<msg::OffsetFetchRequest::OffsetFetchRequestTopic>{{"acked", {0}}};
  auto offsets = call<msg::OffsetFetchResponse>(kafka, 9, 3, fetch, false);
  ASSERT_EQ(offsets.topics.size(), 1u);
  ASSERT_EQ(offsets.topics[0].partitions.size(), 1u);
  EXPECT_EQ(offsets.topics[0].partitions[0].committedOffset, 5);
  EXPECT_EQ(offsets.topics[0].partitions[0].metadata, std::string(4096, 'm'));
}

TEST_F(NativeRefusals, RefusalsSayWhatIsWrong) {
  auto c = server_->connect();
  const std::string internal = "__consumer_offsets";
  expect_refused(c.delete_topic(internal), errc::invalid_request, "cannot be deleted");
  expect_refused(c.add_partitions(internal, 80), errc::invalid_request, "cannot grow");
  expect_refused(c.alter_topic_config(internal, {{"retention.ms", "1000"}}), errc::invalid_request,
                 "configs cannot be changed");
  for (const int op : {0, 7}) {
    protocol::buffer frame;
    native::encode(frame, native::topic_admin_request{900 + static_cast<std::uint32_t>(op),
                                                      static_cast<native::admin_op>(op), "t", 1, {}});
    const auto err = error_answering(c, frame);
    EXPECT_EQ(err.request_id, 900u + static_cast<std::uint32_t>(op));
    EXPECT_EQ(err.code, static_cast<std::uint16_t>(errc::invalid_request));
    EXPECT_NE(err.message.find("unknown operation " + std::to_string(op)), std::string::npos) << err.message;
  }
  // max.message.bytes: the error names the limit it passed.
  ASSERT_TRUE(client::ok(c.create_topic("small", 1, {{"max.message.bytes", "100"}})));
  expect_refused(c.publish("small", 0, one_message(std::string(500, 'v'))), errc::frame_too_large, "max.message.bytes");
  // A publish to a name no topic may have says the naming rule, as TopicAdmin create does
  // (before, the auto-creation's bare "invalid request"), whatever the partition.
  for (const auto& name : {std::string(), std::string("."), std::string(250, 'n'), std::string("q1 bad")}) {
    expect_refused(c.publish(name, 0, one_message("v")), errc::invalid_request, "1 to 249");
    expect_refused(c.publish(name, -1, one_message("v")), errc::invalid_request, "1 to 249");
  }
  // A message without a key on a compacted topic: the error says a key is missing.
  ASSERT_TRUE(client::ok(c.create_topic("compacted", 1, {{"cleanup.policy", "compact"}})));
  expect_refused(c.publish("compacted", 0, one_message("keyless")), errc::invalid_record, "no key");
  auto bounds = c.list_offsets("compacted", 0);
  ASSERT_TRUE(client::ok(bounds));
  EXPECT_EQ(std::get<0>(bounds).high_watermark, 0) << "nothing of the batch was stored";
  EXPECT_TRUE(client::ok(c.heartbeat())) << "the connection goes on";
}

// docs/protocol.md section 3: the encrypted flag is refused on every frame, not only on a
// Publish's batch.
TEST_F(NativeRefusals, TheEncryptedFlagIsRefusedOnFramesWithoutABatch) {
  auto c = server_->connect();
  protocol::buffer heartbeat;
  native::encode_heartbeat(heartbeat, 4242);
  heartbeat[7] |= protocol::frame_flags::encrypted;  // the flags' low byte; the CRC covers the payload
  auto err = error_answering(c, heartbeat);
  EXPECT_EQ(err.request_id, 4242u);
  EXPECT_EQ(err.code, static_cast<std::uint16_t>(errc::encrypted_unsupported)) << err.message;
  protocol::buffer list;
  native::encode(list, native::topic_admin_request{4243, native::admin_op::list, {}, 0, {}});
  list[7] |= protocol::frame_flags::encrypted;
  err = error_answering(c, list);
  EXPECT_EQ(err.request_id, 4243u);
  EXPECT_EQ(err.code, static_cast<std::uint16_t>(errc::encrypted_unsupported)) << err.message;
  EXPECT_TRUE(client::ok(c.heartbeat())) << "the connection goes on";
}

// As the Kafka side counts them (api_table.cpp) and docs/operations.md says: users and ACLs
// are security_admin, InitProducer is publish (as InitProducerId).
TEST_F(NativeRefusals, AdminRequestsAreCountedAsTheirKafkaCounterparts) {
  auto c = server_->connect();
  ASSERT_TRUE(client::ok(c.list_users()));
  (void)c.list_acls();  // refused (authorization is off) and counted all the same
  ASSERT_TRUE(client::ok(c.init_producer()));
  auto [status, body] = http_get(server_->http_port(), "/metrics");
  ASSERT_EQ(status, 200);
  const std::string series = "portask_requests_total{protocol=\"portask\",request=\"";
  EXPECT_EQ(prometheus_value(body, series + "security_admin\"}"), 2);
  EXPECT_EQ(prometheus_value(body, series + "publish\"}"), 1);
  EXPECT_EQ(prometheus_value(body, series + "authenticate\"}"), -1) << "none counted";
  EXPECT_EQ(prometheus_value(body, series + "other\"}"), -1) << "none counted";
}
