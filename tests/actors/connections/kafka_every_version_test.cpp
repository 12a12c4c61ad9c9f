// Every Kafka API the broker serves, at every version it serves, with requests written byte
// by byte by an encoder of this file: field lists, versions, nullable, flexible and tagged
// versions transcribed from the Kafka message definitions, one branch per version as a
// client's encoder has them. The generated message classes are not used to encode: a
// misreading of a definition by the generator would sit on both sides of a round trip through
// them and pass; this encoder does not share it. (Responses are decoded with the generated
// classes where that is handy.) Also: librdkafka's "all topics" Metadata request from v9 on,
// which trails bytes after its last field, and trailing bytes after any request.
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tests/actors/broker_fixture.hpp"
#include "protocol/crc32.hpp"
#include "raw_kafka.hpp"

using namespace portask;
using namespace portask::test;

namespace {

// -- the encoder ----------------------------------------------------------------------------

/// Request bytes, field by field. The primitive writers are the protocol's types; str, nstr,
/// blob, len and tags pick the classic or the compact (flexible) form from `flexible`.
class kafka_bytes {
 public:
  explicit kafka_bytes(bool flex = false) : flexible(flex) {}

  bool flexible;
  protocol::buffer out;

  void i8(std::int8_t v) { out.push_back(static_cast<std::uint8_t>(v)); }
  void boolean(bool v) { i8(v ? 1 : 0); }
  void i16(std::int16_t v) { big_endian(static_cast<std::uint16_t>(v), 2); }
  void i32(std::int32_t v) { big_endian(static_cast<std::uint32_t>(v), 4); }
  void u32(std::uint32_t v) { big_endian(v, 4); }
  void i64(std::int64_t v) { big_endian(static_cast<std::uint64_t>(v), 8); }
  void uvarint(std::uint64_t v) {
    while (v >= 0x80) {
      out.push_back(static_cast<std::uint8_t>((v & 0x7F) | 0x80));
      v >>= 7;
    }
    out.push_back(static_cast<std::uint8_t>(v));
  }
  void uuid(const std::array<std::uint8_t, 16>& id = {}) {
    out.insert(out.end(), id.begin(), id.end());
  }
  void raw(std::string_view s) {
    const auto* p = reinterpret_cast<const std::uint8_t*>(s.data());
    out.insert(out.end(), p, p + s.size());
  }
  void raw(const protocol::buffer& b) { out.insert(out.end(), b.begin(), b.end()); }

  // STRING and NULLABLE_STRING: INT16 length, -1 for null.
  void string16(std::string_view s) {
    i16(static_cast<std::int16_t>(s.size()));
    raw(s);
  }
  void nullable_string16(const std::optional<std::string>& s) {
    if (!s) return i16(-1);
    string16(*s);
  }
  // COMPACT_STRING and COMPACT_NULLABLE_STRING: unsigned varint N+1, 0 for null.
  void compact_string(std::string_view s) {
    uvarint(s.size() + 1);
    raw(s);
  }
  void compact_nullable_string(const std::optional<std::string>& s) {
    if (!s) return uvarint(0);
    compact_string(*s);
  }
  // BYTES (INT32 length) and COMPACT_BYTES (unsigned varint N+1); records are written alike.
  void bytes32(std::string_view b) {
    i32(static_cast<std::int32_t>(b.size()));
    raw(b);
  }
  void compact_bytes(std::string_view b) {
    uvarint(b.size() + 1);
    raw(b);
  }
  // ARRAY: INT32 count, -1 for null. COMPACT_ARRAY: unsigned varint N+1, 0 for null.
  void array_len32(std::int32_t n) { i32(n); }
  void compact_array_len(std::int32_t n) { uvarint(n < 0 ? 0 : static_cast<std::uint64_t>(n) + 1); }
  /// A tagged-field section with no fields.
  void empty_tags() { uvarint(0); }

  // The forms of the version being written.
  void str(std::string_view s) {
    if (flexible) return compact_string(s);
    string16(s);
  }
  void nstr(const std::optional<std::string>& s) {
    if (flexible) return compact_nullable_string(s);
    nullable_string16(s);
  }
  void blob(std::string_view b) {
    if (flexible) return compact_bytes(b);
    bytes32(b);
  }
  /// An array's length; -1 for a null array.
  void len(std::int32_t n) {
    if (flexible) return compact_array_len(n);
    array_len32(n);
  }
  /// The tag section closing a structure (or the request), in flexible versions only.
  void tags() {
    if (flexible) empty_tags();
  }

 private:
  void big_endian(std::uint64_t v, int n) {
    for (int i = n - 1; i >= 0; --i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  }
};

/// Size, request header (v1, or v2 with its tag section when the version is flexible: the
/// client id keeps its INT16 length in both) and body.
protocol::buffer frame(std::int16_t key, std::int16_t version, std::int32_t correlation,
                       bool flexible, const protocol::buffer& body) {
  kafka_bytes h;
  h.i32(0);  // the size, set below
  h.i16(key);
  h.i16(version);
  h.i32(correlation);
  h.string16("ev-client");
  if (flexible) h.empty_tags();
  h.raw(body);
  protocol::store_be32(h.out.data(), static_cast<std::uint32_t>(h.out.size() - 4));
  return h.out;
}

std::string as_string(const protocol::buffer& b) { return std::string(protocol::as_chars(b)); }

// -- request bodies, one per API, branching on the version as the definitions do ------------

const std::string topic = "ev";      // 3 partitions, created by each test
const std::string grow = "ev-grow";  // 1 partition, for CreatePartitions
std::array<std::uint8_t, 16> topic_id{};  // "ev"'s id (Metadata v10+), which Fetch v13+ names
const std::string group = "ev-group";
const std::string member = "ev-member";
std::string v_name(const char* prefix, std::int16_t v) { return prefix + std::to_string(v); }

/// A MessageSet of the formats before record batches: magic 0 (Produce v0-1) or 1 (v2).
/// Each message: offset, size, CRC-32 of the rest, magic, attributes, [timestamp], key, value.
std::string message_set(std::int8_t magic) {
  kafka_bytes set;
  for (int i = 0; i < 2; ++i) {
    kafka_bytes m;
    m.i8(magic);
    m.i8(0);  // attributes: no compression
    if (magic >= 1) m.i64(1'700'000'000'000 + i);
    m.bytes32("k" + std::to_string(i));
    m.bytes32("old" + std::to_string(i));
    set.i64(i);
    set.i32(static_cast<std::int32_t>(4 + m.out.size()));
    set.u32(protocol::crc32(m.out));
    set.raw(m.out);
  }
  return as_string(set.out);
}

void produce_body(kafka_bytes& b, std::int16_t v) {
  if (v >= 3) b.nstr(std::nullopt);  // transactional id
  b.i16(-1);                         // acks: all
  b.i32(5000);                       // timeout
  b.len(1);
  b.str(topic);
  b.len(1);
  b.i32(0);  // partition
  b.blob(v >= 3 ? record_batch_bytes("ev", 2, kafka::compression_type::none)
                : message_set(v == 2 ? 1 : 0));
  b.tags();
  b.tags();
  b.tags();
}

void fetch_body(kafka_bytes& b, std::int16_t v) {
  if (v <= 14) b.i32(-1);      // replica id: a consumer
  b.i32(100);                  // max wait
  b.i32(1);                    // min bytes
  if (v >= 3) b.i32(1 << 20);  // max bytes
  if (v >= 4) b.i8(0);         // isolation level
  if (v >= 7) {
    b.i32(0);   // session id
    b.i32(-1);  // session epoch: no session
  }
  b.len(1);
  if (v <= 12) {
    b.str(topic);
  } else {
    b.uuid(topic_id);
  }
  b.len(1);
  b.i32(0);                // partition
  if (v >= 9) b.i32(-1);   // current leader epoch
  b.i64(0);                // fetch offset
  if (v >= 12) b.i32(-1);  // last fetched epoch
  if (v >= 5) b.i64(-1);   // log start offset
  b.i32(1 << 20);          // partition max bytes
  b.tags();
  b.tags();
  if (v >= 7) b.len(0);    // forgotten topics
  if (v >= 11) b.str("");  // rack id
  b.tags();
}

void list_offsets_body(kafka_bytes& b, std::int16_t v) {
  b.i32(-1);            // replica id
  if (v >= 2) b.i8(0);  // isolation level
  b.len(1);
  b.str(topic);
  b.len(1);
  b.i32(0);               // partition
  if (v >= 4) b.i32(-1);  // current leader epoch
  b.i64(-1);              // timestamp: latest
  if (v == 0) b.i32(1);   // max number of offsets
  b.tags();
  b.tags();
  if (v >= 10) b.i32(5000);  // timeout
  b.tags();
}

void metadata_fields_after_topics(kafka_bytes& b, std::int16_t v) {
  if (v >= 4) b.boolean(false);             // allow auto topic creation
  if (v >= 8 && v <= 10) b.boolean(false);  // include cluster authorized operations
  if (v >= 8) b.boolean(false);             // include topic authorized operations
  b.tags();
}

void metadata_body(kafka_bytes& b, std::int16_t v) {
  b.len(1);
  if (v >= 10) {
    b.uuid();  // topic id: zero, the name is used
    b.nstr(topic);
  } else {
    b.str(topic);
  }
  b.tags();
  metadata_fields_after_topics(b, v);
}

void offset_commit_body(kafka_bytes& b, std::int16_t v) {
  b.str(group);
  if (v >= 1) {
    b.i32(-1);  // generation: none, a commit from outside group management
    b.str("");  // member id
  }
  if (v >= 7) b.nstr(std::nullopt);  // group instance id
  if (v >= 2 && v <= 4) b.i64(-1);   // retention time
  b.len(1);
  b.str(topic);
  b.len(1);
  b.i32(0);               // partition
  b.i64(1);               // committed offset
  if (v >= 6) b.i32(-1);  // committed leader epoch
  if (v == 1) b.i64(-1);  // commit timestamp
  b.nstr("");             // metadata
  b.tags();
  b.tags();
  b.tags();
}

void offset_fetch_topics(kafka_bytes& b) {
  b.len(1);
  b.str(topic);
  b.len(3);
  for (std::int32_t p = 0; p < 3; ++p) b.i32(p);
  b.tags();
}

void offset_fetch_body(kafka_bytes& b, std::int16_t v) {
  if (v <= 7) {
    b.str(group);
    offset_fetch_topics(b);
  } else {
    b.len(1);
    b.str(group);
    offset_fetch_topics(b);
    b.tags();
  }
  if (v >= 7) b.boolean(false);  // require stable
  b.tags();
}

void find_coordinator_body(kafka_bytes& b, std::int16_t v) {
  if (v <= 3) b.str(group);  // key
  if (v >= 1) b.i8(0);       // key type: group
  if (v >= 4) {
    b.len(1);
    b.str(group);
  }
  b.tags();
}

/// ConsumerProtocolSubscription v0: version, topics, user data.
std::string subscription() {
  kafka_bytes s;
  s.i16(0);
  s.array_len32(1);
  s.string16(topic);
  s.bytes32("");
  return as_string(s.out);
}

void join_group_body(kafka_bytes& b, std::int16_t v) {
  // A group of its own per version: the first join of v0-3 (no member id) completes the
  // rebalance after the initial delay; v4+ gets MEMBER_ID_REQUIRED right away.
  b.str(v_name("ev-join-v", v));
  b.i32(6000);                       // session timeout
  if (v >= 1) b.i32(1000);           // rebalance timeout
  b.str("");                         // member id: a first join
  if (v >= 5) b.nstr(std::nullopt);  // group instance id
  b.str("consumer");                 // protocol type
  b.len(1);
  b.str("range");
  b.blob(subscription());
  b.tags();
  if (v >= 8) b.nstr("every version");  // reason
  b.tags();
}

void heartbeat_body(kafka_bytes& b, std::int16_t v) {
  b.str(group);
  b.i32(1);  // generation
  b.str(member);
  if (v >= 3) b.nstr(std::nullopt);  // group instance id
  b.tags();
}

void leave_group_body(kafka_bytes& b, std::int16_t v) {
  b.str(group);
  if (v <= 2) {
    b.str(member);
  } else {
    b.len(1);
    b.str(member);
    b.nstr(std::nullopt);                 // group instance id
    if (v >= 5) b.nstr("every version");  // reason
    b.tags();
  }
  b.tags();
}

void sync_group_body(kafka_bytes& b, std::int16_t v) {
  b.str(group);
  b.i32(1);  // generation
  b.str(member);
  if (v >= 3) b.nstr(std::nullopt);  // group instance id
  if (v >= 5) {
    b.nstr("consumer");  // protocol type
    b.nstr("range");     // protocol name
  }
  b.len(0);  // assignments: a follower sends none
  b.tags();
}

void describe_groups_body(kafka_bytes& b, std::int16_t v) {
  b.len(1);
  b.str(group);
  if (v >= 3) b.boolean(false);  // include authorized operations
  b.tags();
}

void list_groups_body(kafka_bytes& b, std::int16_t v) {
  if (v >= 4) b.len(0);  // states filter
  if (v >= 5) b.len(0);  // types filter
  b.tags();
}

void api_versions_body(kafka_bytes& b, std::int16_t v) {
  if (v >= 3) {
    b.str("ev-encoder");  // client software name
    b.str("1.0");         // client software version
  }
  b.tags();
}

void create_topics_body(kafka_bytes& b, std::int16_t v) {
  b.len(1);
  b.str(v_name("ev-new-v", v));
  b.i32(2);  // partitions
  b.i16(1);  // replication factor
  b.len(0);  // assignments
  b.len(1);  // configs
  b.str("retention.ms");
  b.nstr("3600000");
  b.tags();
  b.tags();
  b.i32(5000);                   // timeout
  if (v >= 1) b.boolean(false);  // validate only
  b.tags();
}

void delete_topics_body(kafka_bytes& b, std::int16_t v) {
  b.len(1);
  if (v >= 6) {  // topics by name or id
    b.nstr(v_name("ev-new-v", v));
    b.uuid();
    b.tags();
  } else {
    b.str(v_name("ev-new-v", v));  // created by CreateTopics at the same version
  }
  b.i32(5000);
  b.tags();
}

void delete_records_body(kafka_bytes& b, std::int16_t) {
  b.len(1);
  b.str(topic);
  b.len(1);
  b.i32(0);  // partition
  b.i64(0);  // the log start already: nothing is deleted
  b.tags();
  b.tags();
  b.i32(5000);
  b.tags();
}

void init_producer_id_body(kafka_bytes& b, std::int16_t v) {
  b.nstr(std::nullopt);  // transactional id: an idempotent producer
  b.i32(60000);          // transaction timeout
  if (v >= 3) {
    b.i64(-1);  // producer id
    b.i16(-1);  // producer epoch
  }
  b.tags();
}

void offset_for_leader_epoch_body(kafka_bytes& b, std::int16_t v) {
  if (v >= 3) b.i32(-1);  // replica id: a consumer
  b.len(1);
  b.str(topic);
  b.len(1);
  b.i32(0);               // partition
  if (v >= 2) b.i32(-1);  // current leader epoch
  b.i32(0);               // leader epoch
  b.tags();
  b.tags();
  b.tags();
}

void describe_configs_body(kafka_bytes& b, std::int16_t v) {
  b.len(1);
  b.i8(2);  // resource type: topic
  b.str(topic);
  b.len(-1);  // configuration keys: all
  b.tags();
  if (v >= 1) b.boolean(false);  // include synonyms
  if (v >= 3) b.boolean(false);  // include documentation
  b.tags();
}

void alter_configs_body(kafka_bytes& b, std::int16_t) {
  b.len(1);
  b.i8(2);
  b.str(topic);
  b.len(1);
  b.str("retention.ms");
  b.nstr("604800000");
  b.tags();
  b.tags();
  b.boolean(true);  // validate only
  b.tags();
}

void describe_log_dirs_body(kafka_bytes& b, std::int16_t) {
  b.len(1);
  b.str(topic);
  b.len(3);
  for (std::int32_t p = 0; p < 3; ++p) b.i32(p);
  b.tags();
  b.tags();
}

void create_partitions_body(kafka_bytes& b, std::int16_t v) {
  b.len(1);
  b.str(grow);
  b.i32(2 + v);  // one more partition at each version
  b.len(-1);     // assignments: the broker's choice
  b.tags();
  b.i32(5000);       // timeout
  b.boolean(false);  // validate only
  b.tags();
}

void delete_groups_body(kafka_bytes& b, std::int16_t) {
  b.len(1);
  b.str("ev-gone");
  b.tags();
}

void elect_leaders_body(kafka_bytes& b, std::int16_t v) {
  if (v >= 1) b.i8(0);  // election type: preferred
  b.len(1);
  b.str(topic);
  b.len(1);
  b.i32(0);
  b.tags();
  b.i32(5000);
  b.tags();
}

void incremental_alter_configs_body(kafka_bytes& b, std::int16_t) {
  b.len(1);
  b.i8(2);
  b.str(topic);
  b.len(1);
  b.str("retention.ms");
  b.i8(0);  // operation: set
  b.nstr("604800000");
  b.tags();
  b.tags();
  b.boolean(true);  // validate only
  b.tags();
}

void offset_delete_body(kafka_bytes& b, std::int16_t) {
  b.str(group);
  b.len(1);
  b.str(topic);
  b.len(1);
  b.i32(0);
  b.tags();
  b.tags();
  b.tags();
}

void describe_cluster_body(kafka_bytes& b, std::int16_t v) {
  b.boolean(false);     // include cluster authorized operations
  if (v >= 1) b.i8(1);  // endpoint type: brokers
  b.tags();
}

void describe_producers_body(kafka_bytes& b, std::int16_t) {
  b.len(1);
  b.str(topic);
  b.len(3);
  for (std::int32_t p = 0; p < 3; ++p) b.i32(p);
  b.tags();
  b.tags();
}

// The SASL APIs on this (PLAINTEXT) listener: answered ILLEGAL_SASL_STATE, as Kafka does.
void sasl_handshake_body(kafka_bytes& b, std::int16_t) { b.str("SCRAM-SHA-256"); }

void sasl_authenticate_body(kafka_bytes& b, std::int16_t) {
  b.blob("n,,n=someone,r=nonce");
  b.tags();
}

// An ACL filter (DescribeAcls' fields; each of DeleteAcls' filters): topic `ev-acl`, any
// pattern from v1 (v0 has literal ones only), any principal, host, operation and permission.
void acl_filter_fields(kafka_bytes& b, std::int16_t v) {
  b.i8(2);  // topic
  b.nstr(std::string("ev-acl"));
  if (v >= 1) b.i8(1);  // pattern type filter: any
  b.nstr(std::nullopt);
  b.nstr(std::nullopt);
  b.i8(1);  // operation: any
  b.i8(1);  // permission: any
}

void describe_acls_body(kafka_bytes& b, std::int16_t v) {
  acl_filter_fields(b, v);
  b.tags();
}

void create_acls_body(kafka_bytes& b, std::int16_t v) {
  b.len(1);
  b.i8(2);  // topic
  b.str("ev-acl");
  if (v >= 1) b.i8(3);  // literal
  b.str("User:ev");
  b.str("*");
  b.i8(3);  // read
  b.i8(3);  // allow
  b.tags();
  b.tags();
}

void delete_acls_body(kafka_bytes& b, std::int16_t v) {
  b.len(1);
  acl_filter_fields(b, v);
  b.tags();
  b.tags();
}

void describe_user_scram_credentials_body(kafka_bytes& b, std::int16_t) {
  b.len(1);
  b.str("ev-user");
  b.tags();
  b.tags();
}

void alter_user_scram_credentials_body(kafka_bytes& b, std::int16_t) {
  b.len(0);  // deletions
  b.len(1);  // upsertions
  b.str("ev-user");
  b.i8(1);  // SCRAM-SHA-256
  b.i32(4096);
  b.blob("ev-salt");
  b.blob(std::string(32, 'p'));  // a SHA-256 salted password
  b.tags();
  b.tags();
}

// -- response checks (only some APIs: the others need only answer) --------------------------

void sasl_handshake_check(const protocol::buffer& res, std::int16_t v) {
  EXPECT_EQ(decode_as<msg::SaslHandshakeResponse>(res, v).errorCode, 34);
}

void sasl_authenticate_check(const protocol::buffer& res, std::int16_t v) {
  EXPECT_EQ(decode_as<msg::SaslAuthenticateResponse>(res, v).errorCode, 34);
}

// The test broker checks no ACLs (authorization off): the three ACL APIs answer
// SECURITY_DISABLED (54), as Kafka without an authorizer does.
void create_acls_check(const protocol::buffer& res, std::int16_t v) {
  auto r = decode_as<msg::CreateAclsResponse>(res, v);
  ASSERT_EQ(r.results.size(), 1u);
  EXPECT_EQ(r.results[0].errorCode, 54);
  EXPECT_TRUE(r.results[0].errorMessage.has_value());
}

void describe_acls_check(const protocol::buffer& res, std::int16_t v) {
  EXPECT_EQ(decode_as<msg::DescribeAclsResponse>(res, v).errorCode, 54);
}

void delete_acls_check(const protocol::buffer& res, std::int16_t v) {
  auto r = decode_as<msg::DeleteAclsResponse>(res, v);
  ASSERT_EQ(r.filterResults.size(), 1u);
  EXPECT_EQ(r.filterResults[0].errorCode, 54);
}

void alter_user_scram_credentials_check(const protocol::buffer& res, std::int16_t v) {
  auto r = decode_as<msg::AlterUserScramCredentialsResponse>(res, v);
  ASSERT_EQ(r.results.size(), 1u);
  EXPECT_EQ(r.results[0].errorCode, 0);
}

void api_versions_check(const protocol::buffer& res, std::int16_t v) {
  auto r = decode_as<msg::ApiVersionsResponse>(res, v);
  EXPECT_EQ(r.errorCode, 0);
  EXPECT_FALSE(r.apiKeys.empty());
}

void produce_check(const protocol::buffer& res, std::int16_t v) {
  auto r = decode_as<msg::ProduceResponse>(res, v);
  ASSERT_EQ(r.responses.size(), 1u);
  ASSERT_EQ(r.responses[0].partitionResponses.size(), 1u);
  EXPECT_EQ(r.responses[0].partitionResponses[0].errorCode, 0);
}

void fetch_check(const protocol::buffer& res, std::int16_t v) {
  auto r = decode_as<msg::FetchResponse>(res, v);
  EXPECT_EQ(r.errorCode, 0);
  ASSERT_EQ(r.responses.size(), 1u);
  ASSERT_EQ(r.responses[0].partitions.size(), 1u);
  const auto& p = r.responses[0].partitions[0];
  EXPECT_EQ(p.errorCode, 0);
  EXPECT_TRUE(p.records && !p.records->empty()) << "what Produce stored at offset 0";
  if (v >= 13) {
    EXPECT_EQ(r.responses[0].topicId, topic_id);
  }
}

const msg::MetadataResponse::MetadataResponseTopic* find_topic(const msg::MetadataResponse& r,
                                                               const std::string& name) {
  for (const auto& t : r.topics)
    if (t.name == name) return &t;
  return nullptr;
}

void metadata_check(const protocol::buffer& res, std::int16_t v) {
  auto r = decode_as<msg::MetadataResponse>(res, v);
  const auto* t = find_topic(r, topic);
  ASSERT_NE(t, nullptr) << "topic " << topic << " listed";
  EXPECT_EQ(t->errorCode, 0);
  EXPECT_EQ(t->partitions.size(), 3u);
}

void create_topics_check(const protocol::buffer& res, std::int16_t v) {
  auto r = decode_as<msg::CreateTopicsResponse>(res, v);
  ASSERT_EQ(r.topics.size(), 1u);
  EXPECT_EQ(r.topics[0].errorCode, 0) << "a new topic";
  if (v >= 7) {
    EXPECT_NE(r.topics[0].topicId, (std::array<std::uint8_t, 16>{}));
  }
}

void delete_topics_check(const protocol::buffer& res, std::int16_t v) {
  auto r = decode_as<msg::DeleteTopicsResponse>(res, v);
  ASSERT_EQ(r.responses.size(), 1u);
  EXPECT_EQ(r.responses[0].errorCode, 0) << "the topic CreateTopics made at this version";
}

void delete_records_check(const protocol::buffer& res, std::int16_t v) {
  auto r = decode_as<msg::DeleteRecordsResponse>(res, v);
  ASSERT_EQ(r.topics.size(), 1u);
  ASSERT_EQ(r.topics[0].partitions.size(), 1u);
  EXPECT_EQ(r.topics[0].partitions[0].errorCode, 0);
  EXPECT_EQ(r.topics[0].partitions[0].lowWatermark, 0);
}

void describe_configs_check(const protocol::buffer& res, std::int16_t v) {
  auto r = decode_as<msg::DescribeConfigsResponse>(res, v);
  ASSERT_EQ(r.results.size(), 1u);
  EXPECT_EQ(r.results[0].errorCode, 0);
}

// -- the table: every API served and its versions -------------------------------------------

constexpr std::int16_t never = 0x7FFF;

struct api_case {
  std::int16_t key;
  const char* name;
  std::int16_t min_version;
  std::int16_t max_version;
  std::int16_t flexible_from;  ///< first version with compact fields and tag sections
  void (*body)(kafka_bytes&, std::int16_t);
  void (*check)(const protocol::buffer&, std::int16_t) = nullptr;
};

/// The APIs and versions the broker serves: the one place to change when that changes.
/// TheBrokerAdvertisesExactlyTheVersionsTestedHere keeps it in step with ApiVersions.
const std::vector<api_case>& served_apis() {
  static const std::vector<api_case> table = {
      {0, "Produce", 0, 10, 9, produce_body, produce_check},
      {1, "Fetch", 0, 16, 12, fetch_body, fetch_check},
      {2, "ListOffsets", 0, 7, 6, list_offsets_body},
      {3, "Metadata", 0, 12, 9, metadata_body, metadata_check},
      {8, "OffsetCommit", 0, 8, 8, offset_commit_body},
      {9, "OffsetFetch", 0, 8, 6, offset_fetch_body},
      {10, "FindCoordinator", 0, 4, 3, find_coordinator_body},
      {11, "JoinGroup", 0, 9, 6, join_group_body},
      {12, "Heartbeat", 0, 4, 4, heartbeat_body},
      {13, "LeaveGroup", 0, 5, 4, leave_group_body},
      {14, "SyncGroup", 0, 5, 4, sync_group_body},
      {15, "DescribeGroups", 0, 5, 5, describe_groups_body},
      {16, "ListGroups", 0, 5, 3, list_groups_body},
      {17, "SaslHandshake", 0, 1, never, sasl_handshake_body, sasl_handshake_check},
      {18, "ApiVersions", 0, 3, 3, api_versions_body, api_versions_check},
      {19, "CreateTopics", 0, 7, 5, create_topics_body, create_topics_check},
      {20, "DeleteTopics", 0, 6, 4, delete_topics_body, delete_topics_check},
      {21, "DeleteRecords", 0, 2, 2, delete_records_body, delete_records_check},
      {22, "InitProducerId", 0, 4, 2, init_producer_id_body},
      {23, "OffsetForLeaderEpoch", 0, 4, 4, offset_for_leader_epoch_body},
      {29, "DescribeAcls", 0, 3, 2, describe_acls_body, describe_acls_check},
      {30, "CreateAcls", 0, 3, 2, create_acls_body, create_acls_check},
      {31, "DeleteAcls", 0, 3, 2, delete_acls_body, delete_acls_check},
      {32, "DescribeConfigs", 0, 4, 4, describe_configs_body, describe_configs_check},
      {33, "AlterConfigs", 0, 2, 2, alter_configs_body},
      {35, "DescribeLogDirs", 0, 4, 2, describe_log_dirs_body},
      {36, "SaslAuthenticate", 0, 2, 2, sasl_authenticate_body, sasl_authenticate_check},
      {37, "CreatePartitions", 0, 3, 2, create_partitions_body},
      {42, "DeleteGroups", 0, 2, 2, delete_groups_body},
      {43, "ElectLeaders", 0, 2, 2, elect_leaders_body},
      {44, "IncrementalAlterConfigs", 0, 1, 1, incremental_alter_configs_body},
      {47, "OffsetDelete", 0, 0, never, offset_delete_body},
      {50, "DescribeUserScramCredentials", 0, 0, 0, describe_user_scram_credentials_body},
      {51, "AlterUserScramCredentials", 0, 0, 0, alter_user_scram_credentials_body,
       alter_user_scram_credentials_check},
      {60, "DescribeCluster", 0, 1, 0, describe_cluster_body},
      {61, "DescribeProducers", 0, 0, 0, describe_producers_body},
  };
  return table;
}

const api_case& api(std::int16_t key) {
  for (const auto& a : served_apis())
    if (a.key == key) return a;
  throw std::logic_error("no such API in the table");
}

// -- the exchange ---------------------------------------------------------------------------

bool flexible_request(const api_case& a, std::int16_t v) { return v >= a.flexible_from; }
/// The response header has a tag section when the request is flexible, except ApiVersions'.
bool flexible_response(const api_case& a, std::int16_t v) {
  return a.key != 18 && flexible_request(a, v);
}

/// Sends `a` at `v` (with `trailing` junk bytes after the body) and returns the response body
/// after its header; nothing, and a test failure, when no response with `correlation` came.
std::optional<protocol::buffer> exchange(raw_kafka& c, const api_case& a, std::int16_t v,
                                         std::int32_t correlation, std::size_t trailing = 0) {
  kafka_bytes body{flexible_request(a, v)};
  a.body(body, v);
  for (std::size_t i = 0; i < trailing; ++i) body.i8(static_cast<std::int8_t>(0x5A + i));
  c.send_raw(frame(a.key, v, correlation, flexible_request(a, v), body.out));
  std::int32_t got = -1;
  auto res = c.receive(got, flexible_response(a, v));
  if (!res) {
    ADD_FAILURE() << a.name << " v" << v << ": no response (connection closed or timed out)";
    return std::nullopt;
  }
  EXPECT_EQ(got, correlation) << a.name << " v" << v;
  if (got != correlation) return std::nullopt;
  return res;
}

/// True when an ApiVersions v0 on `c` is answered: the connection is still in step.
bool still_answers(raw_kafka& c, std::int32_t correlation) {
  c.send_raw(frame(18, 0, correlation, false, {}));
  std::int32_t got = -1;
  return c.receive(got, false).has_value() && got == correlation;
}

void create_test_topics(broker_fixture& f) {
  auto native = f.connect();
  must(native.create_topic(topic, 3), "create ev");
  must(native.create_topic(grow, 1), "create ev-grow");
  // Metadata v12 names the topic's id.
  raw_kafka c{f.server->kafka_port()};
  kafka_bytes b{true};
  metadata_body(b, 12);
  c.send_raw(frame(3, 12, 1, true, b.out));
  std::int32_t corr = 0;
  auto res = c.receive(corr, true);
  ASSERT_TRUE(res);
  auto meta = decode_as<msg::MetadataResponse>(*res, 12);
  ASSERT_EQ(meta.topics.size(), 1u);
  topic_id = meta.topics[0].topicId;
  EXPECT_NE(topic_id, (std::array<std::uint8_t, 16>{})) << "every topic has an id";
}

}  // namespace

TEST(KafkaEveryVersion, EveryApiIsAnsweredAtEveryVersionItServes) {
  broker_fixture f;
  create_test_topics(f);
  for (const auto& a : served_apis()) {
    SCOPED_TRACE(a.name);
    auto c = std::make_unique<raw_kafka>(f.server->kafka_port());
    for (std::int16_t v = a.min_version; v <= a.max_version; ++v) {
      SCOPED_TRACE("v" + std::to_string(v));
      auto res = exchange(*c, a, v, a.key * 100 + v);
      if (!res) {  // go on with a new connection: one failure, not a cascade
        c = std::make_unique<raw_kafka>(f.server->kafka_port());
        continue;
      }
      if (a.check) a.check(*res, v);
    }
    EXPECT_TRUE(still_answers(*c, 99'999)) << a.name << ": the connection is still usable";
  }
}

TEST(KafkaEveryVersion, TheBrokerAdvertisesExactlyTheVersionsTestedHere) {
  broker_fixture f;
  raw_kafka c{f.server->kafka_port()};
  auto res = exchange(c, api(18), 3, 1);
  ASSERT_TRUE(res);
  auto av = decode_as<msg::ApiVersionsResponse>(*res, 3);
  EXPECT_EQ(av.errorCode, 0);
  std::map<std::int16_t, std::pair<std::int16_t, std::int16_t>> advertised;
  for (const auto& k : av.apiKeys) advertised[k.apiKey] = {k.minVersion, k.maxVersion};
  for (const auto& a : served_apis()) {
    auto it = advertised.find(a.key);
    if (it == advertised.end()) {
      ADD_FAILURE() << a.name << " (" << a.key << ") is in the table but not advertised";
      continue;
    }
    EXPECT_EQ(it->second.first, a.min_version) << a.name << " lowest version";
    EXPECT_EQ(it->second.second, a.max_version) << a.name << " highest version";
    advertised.erase(it);
  }
  for (const auto& [key, range] : advertised)
    ADD_FAILURE() << "API " << key << " v" << range.first << "-" << range.second
                  << " is advertised but not in this file's table: add it";
}

TEST(KafkaEveryVersion, MetadataWithoutTopicsListsEveryTopicAtEveryVersion) {
  broker_fixture f;
  create_test_topics(f);
  raw_kafka c{f.server->kafka_port()};
  for (std::int16_t v = 0; v <= 12; ++v) {
    SCOPED_TRACE("v" + std::to_string(v));
    kafka_bytes b{v >= 9};
    b.len(v == 0 ? 0 : -1);  // v0: an empty array means all topics; v1+: a null array
    metadata_fields_after_topics(b, v);
    c.send_raw(frame(3, v, 300 + v, v >= 9, b.out));
    std::int32_t got = -1;
    auto res = c.receive(got, v >= 9);
    ASSERT_TRUE(res) << "no response";
    EXPECT_EQ(got, 300 + v);
    auto md = decode_as<msg::MetadataResponse>(*res, v);
    EXPECT_NE(find_topic(md, topic), nullptr);
    EXPECT_NE(find_topic(md, grow), nullptr);
  }
}

TEST(KafkaEveryVersion, MetadataForAllTopicsAsLibrdkafkaWritesItFromV9ListsEveryTopic) {
  // librdkafka (2.3 on) reserves four bytes for the topic count and, for "all topics" at v9+,
  // leaves them zero: the first reads as a null compact array, the other three as the
  // fields after it (and at v11-12 the tag section), so the fields it writes next and its
  // closing tag section trail the request.
  broker_fixture f;
  create_test_topics(f);
  raw_kafka c{f.server->kafka_port()};
  std::int32_t correlation = 900;
  for (std::int16_t v = 9; v <= 12; ++v) {
    for (bool allow_auto_create : {false, true}) {
      SCOPED_TRACE("v" + std::to_string(v) + (allow_auto_create ? " auto-create" : ""));
      kafka_bytes b{true};
      b.i32(0);  // the reserved topic count, left as it is
      b.boolean(allow_auto_create);
      if (v <= 10) b.boolean(false);  // include cluster authorized operations
      b.boolean(false);               // include topic authorized operations
      b.empty_tags();
      c.send_raw(frame(3, v, ++correlation, true, b.out));
      std::int32_t got = -1;
      auto res = c.receive(got, true);
      ASSERT_TRUE(res) << "no response: the broker closed the connection";
      EXPECT_EQ(got, correlation);
      auto md = decode_as<msg::MetadataResponse>(*res, v);
      const auto* t = find_topic(md, topic);
      ASSERT_NE(t, nullptr) << "all topics are listed";
      EXPECT_EQ(t->errorCode, 0);
      EXPECT_EQ(t->partitions.size(), 3u);
      EXPECT_NE(find_topic(md, grow), nullptr);
    }
  }
  EXPECT_TRUE(still_answers(c, ++correlation));
}

TEST(KafkaEveryVersion, BytesTrailingARequestAreIgnoredByEveryApi) {
  broker_fixture f;
  create_test_topics(f);
  for (const auto& a : served_apis()) {
    SCOPED_TRACE(a.name);
    raw_kafka c{f.server->kafka_port()};
    if (!exchange(c, a, a.max_version, 1, 5)) continue;
    EXPECT_TRUE(still_answers(c, 2)) << a.name << ": the connection is still usable";
  }
}
