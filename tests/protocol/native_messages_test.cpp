// Native request and push payloads added for consumer groups: round trips, optional
// trailing fields, and refusal of malformed or invalid payloads.
#include "protocol/native_messages.hpp"

#include <gtest/gtest.h>

#include "protocol/frame.hpp"

using namespace portask;
using namespace portask::protocol;
using namespace portask::protocol::native;

namespace {
byte_view payload_of(const buffer& frame) { return byte_view{frame}.subspan(frame_header_size); }
}  // namespace

TEST(NativeMessages, GroupJoinRoundTripsAndRefusesNonsense) {
  buffer f;
  encode(f, group_join_request{7, "workers", 1, 5000, {"orders", "payments"}});
  EXPECT_EQ(static_cast<message_type>(f[5]), message_type::group_join);
  auto g = decode_group_join(payload_of(f));
  ASSERT_TRUE(g);
  EXPECT_EQ(g->request_id, 7u);
  EXPECT_EQ(g->group, "workers");
  EXPECT_EQ(g->strategy, 1);
  EXPECT_EQ(g->session_timeout_ms, 5000u);
  EXPECT_EQ(g->topics, (std::vector<std::string>{"orders", "payments"}));
  for (const auto& bad : {group_join_request{1, "", 0, 5000, {"t"}},
                          group_join_request{1, "g", 9, 5000, {"t"}},
                          group_join_request{1, "g", 0, 5000, {}}}) {
    buffer b;
    encode(b, bad);
    EXPECT_EQ(decode_group_join(payload_of(b)).error(), errc::invalid_request);
  }
  buffer truncated;
  encode(truncated, group_join_request{1, "g", 0, 5000, {"orders"}});
  truncated.pop_back();
  EXPECT_FALSE(decode_group_join(payload_of(truncated)));
}

TEST(NativeMessages, GroupAssignmentAndLeaveRoundTrip) {
  group_assignment a{3, "workers", "member-1", 4, {{"orders", 0}, {"orders", 5}}};
  buffer f;
  encode(f, a);
  EXPECT_EQ(static_cast<message_type>(f[5]), message_type::group_assignment);
  EXPECT_EQ(decode_group_assignment(payload_of(f)).value(), a);
  f.push_back(0);
  EXPECT_FALSE(decode_group_assignment(byte_view{f}.subspan(frame_header_size)))
      << "trailing garbage";
  buffer l;
  encode(l, group_leave_request{9, 3});
  auto leave = decode_group_leave(payload_of(l));
  ASSERT_TRUE(leave);
  EXPECT_EQ(leave->membership_id, 3u);
}

TEST(NativeMessages, AckCarriesAnOptionalMemberIdentity) {
  buffer plain;
  encode(plain, ack_request{1, "g", "t", 0, 10, "m", {}, -1});
  auto a = decode_ack(payload_of(plain));
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->member_id.empty());
  EXPECT_EQ(a->generation, -1);
  buffer member;
  encode(member, ack_request{1, "g", "t", 0, 10, "m", "member-1", 3});
  EXPECT_GT(member.size(), plain.size());
  a = decode_ack(payload_of(member));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->member_id, "member-1");
  EXPECT_EQ(a->generation, 3);
  member.pop_back();  // a member id without the whole generation
  EXPECT_FALSE(decode_ack(payload_of(member)));
}

TEST(NativeMessages, IdempotentPublishCarriesTheProducerClaim) {
  const buffer batch_bytes{1, 2, 3};
  publish_request plain{5, 1, "orders", 2, {}, batch_bytes};
  buffer p;
  encode(p, plain, 0);
  auto d = decode_publish(payload_of(p));
  ASSERT_TRUE(d);
  EXPECT_FALSE(d->producer.present());
  EXPECT_EQ(buffer(d->batch.begin(), d->batch.end()), batch_bytes);

  publish_request idem{6, 1, "orders", 2, {77, 3, 1000}, batch_bytes};
  buffer q;
  encode(q, idem, 0);
  EXPECT_EQ(q.size(), p.size() + 14) << "i64 id, i16 epoch, i32 sequence";
  d = decode_publish(payload_of(q));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->producer, (publish_producer{77, 3, 1000}));
  EXPECT_EQ(d->acks, 1);
  EXPECT_EQ(buffer(d->batch.begin(), d->batch.end()), batch_bytes);

  // An idempotent publish must name its partition, ask for an answer, and carry sane fields.
  for (const auto& bad : {publish_request{1, 1, "t", -1, {77, 0, 0}, batch_bytes},
                          publish_request{1, 0, "t", 0, {77, 0, 0}, batch_bytes},
                          publish_request{1, 1, "t", 0, {77, -1, 0}, batch_bytes},
                          publish_request{1, 1, "t", 0, {77, 0, -5}, batch_bytes}}) {
    buffer b;
    encode(b, bad, 0);
    EXPECT_EQ(decode_publish(payload_of(b)).error(), errc::invalid_request);
  }
  buffer unknown_bits = p;
  unknown_bits[frame_header_size + 4] = 0x80;
  EXPECT_EQ(decode_publish(payload_of(unknown_bits)).error(), errc::invalid_request);
  buffer cut;
  encode(cut, idem, 0);
  cut.resize(frame_header_size + 4 + 1 + 2 + 6 + 4 + 5);  // inside the producer fields
  EXPECT_EQ(decode_publish(payload_of(cut)).error(), errc::malformed_payload);
}

TEST(NativeMessages, InitProducerRoundTrips) {
  buffer f;
  encode(f, init_producer_request{3, -1, -1});
  EXPECT_EQ(static_cast<message_type>(f[5]), message_type::init_producer);
  auto r = decode_init_producer(payload_of(f));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->producer_id, -1);
  buffer bump;
  encode(bump, init_producer_request{4, 77, 2});
  r = decode_init_producer(payload_of(bump));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->producer_id, 77);
  EXPECT_EQ(r->producer_epoch, 2);
  buffer half;
  encode(half, init_producer_request{4, 77, -1});
  EXPECT_EQ(decode_init_producer(payload_of(half)).error(), errc::invalid_request);
  buffer body;
  encode_body(body, init_producer_response{77, 3});
  EXPECT_EQ(decode_init_producer_response(body).value(), (init_producer_response{77, 3}));
  body.push_back(0);
  EXPECT_FALSE(decode_init_producer_response(body));
}

TEST(NativeMessages, DeleteRecordsRoundTripsAndRefusesTruncation) {
  buffer f;
  encode(f, delete_records_request{9, "orders", 2, 1234});
  EXPECT_EQ(static_cast<message_type>(f[5]), message_type::delete_records);
  auto r = decode_delete_records(payload_of(f));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->request_id, 9u);
  EXPECT_EQ(r->topic, "orders");
  EXPECT_EQ(r->partition, 2);
  EXPECT_EQ(r->offset, 1234);
  auto payload = payload_of(f);
  EXPECT_FALSE(decode_delete_records(payload.first(payload.size() - 1)));
}

TEST(NativeMessages, GroupAdminRequestsRoundTripAndRefuseUnknownOps) {
  for (auto op : {group_op::list, group_op::describe, group_op::remove}) {
    buffer f;
    encode(f, group_admin_request{5, op, op == group_op::list ? "" : "billing"});
    EXPECT_EQ(static_cast<message_type>(f[5]), message_type::group_admin);
    auto r = decode_group_admin(payload_of(f));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->request_id, 5u);
    EXPECT_EQ(r->op, op);
    EXPECT_EQ(r->group, op == group_op::list ? "" : "billing");
  }
  buffer f;
  encode(f, group_admin_request{5, group_op::describe, "billing"});
  auto payload = payload_of(f);
  EXPECT_FALSE(decode_group_admin(payload.first(payload.size() - 1)));
  buffer bad(payload.begin(), payload.end());
  bad[4] = 9;  // no such operation
  EXPECT_EQ(decode_group_admin(bad).error(), errc::invalid_request);
}

TEST(NativeMessages, GroupDetailAndListBodiesRoundTrip) {
  group_detail d;
  d.summary = {"billing", "Stable", "consumer", 2};
  d.protocol_name = "range";
  d.generation = 7;
  d.leader = "m-1";
  d.members = {{"m-1", "rdkafka", "/127.0.0.1", {{"orders", 0}, {"orders", 1}}},
               {"m-2", "rdkafka", "/127.0.0.1", {}}};
  d.offsets = {{"orders", 0, 42, ""}, {"orders", 1, 7, "meta"}};
  buffer body;
  encode_body(body, d);
  EXPECT_EQ(decode_group_detail(body).value(), d);
  for (std::size_t cut = 0; cut < body.size(); ++cut)
    EXPECT_FALSE(decode_group_detail(byte_view(body).first(cut))) << cut;

  std::vector<group_summary> groups{{"a", "Empty", "consumer", 0}, {"b", "Stable", "portask", 3}};
  buffer list;
  encode_body(list, groups);
  EXPECT_EQ(decode_group_list(list).value(), groups);
  list[3] = 200;  // a count the bytes cannot hold
  EXPECT_FALSE(decode_group_list(list));
}

TEST(NativeMessages, ListOffsetsByTimeIsATrailingFieldBothWays) {
  buffer plain;
  encode(plain, list_offsets_request{1, "orders", 0, std::nullopt});
  auto r = decode_list_offsets(payload_of(plain));
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->timestamp);
  buffer timed;
  encode(timed, list_offsets_request{1, "orders", 0, 1700000000000});
  r = decode_list_offsets(payload_of(timed));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->timestamp, 1700000000000);
  auto payload = payload_of(timed);
  EXPECT_FALSE(decode_list_offsets(payload.first(payload.size() - 3)));

  buffer bounds;
  encode_body(bounds, list_offsets_response{3, 9, std::nullopt});
  auto b = decode_list_offsets_response(bounds);
  ASSERT_TRUE(b);
  EXPECT_FALSE(b->at_time);
  buffer found;
  encode_body(found, list_offsets_response{3, 9, offset_at_time{5, 1700000000123}});
  b = decode_list_offsets_response(found);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->at_time, (offset_at_time{5, 1700000000123}));
}

TEST(NativeMessages, TopicAdminAlterAndGrowRoundTrip) {
  buffer alter;
  encode(alter, topic_admin_request{3, admin_op::alter_config, "orders", 0,
                                    {{"retention.ms", "1000"}, {"cleanup.policy", ""}}});
  auto a = decode_topic_admin(payload_of(alter));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->op, admin_op::alter_config);
  EXPECT_EQ(a->configs.size(), 2u);
  EXPECT_EQ(a->configs[1].value, "");
  buffer grow;
  encode(grow, topic_admin_request{3, admin_op::add_partitions, "orders", 6, {}});
  auto g = decode_topic_admin(payload_of(grow));
  ASSERT_TRUE(g);
  EXPECT_EQ(g->op, admin_op::add_partitions);
  EXPECT_EQ(g->partitions, 6);

  topic_detail t{"orders", 2, {{0, 1, 5, 300}, {1, 0, 0, 0}}, {{"retention.ms", "1000"}}};
  buffer body;
  encode_body(body, t);
  auto d = decode_topic_detail(body);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->partition_states[0].stored_bytes, 300);
  EXPECT_EQ(d->partition_states[1].stored_bytes, 0);
}

TEST(NativeMessages, UserAdminCarriesASaltedPasswordOnlyForUpserts) {
  const std::string salt = "0123456789abcdef", salted(64, 's');
  buffer f;
  user_admin_request up{};
  up.request_id = 9;
  up.op = user_op::upsert;
  up.user = "alice";
  up.mechanism = "SCRAM-SHA-512";
  up.iterations = 8192;
  up.salt = as_bytes(salt);
  up.salted_password = as_bytes(salted);
  encode(f, up);
  EXPECT_EQ(static_cast<message_type>(f[5]), message_type::user_admin);
  auto r = decode_user_admin(payload_of(f));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->user, "alice");
  EXPECT_EQ(r->mechanism, "SCRAM-SHA-512");
  EXPECT_EQ(r->iterations, 8192);
  EXPECT_EQ(std::string(as_chars(r->salt)), salt);
  EXPECT_EQ(std::string(as_chars(r->salted_password)), salted);
  auto payload = payload_of(f);
  for (std::size_t cut = 0; cut < payload.size(); ++cut)
    EXPECT_FALSE(decode_user_admin(payload.first(cut))) << cut;
  // A list carries nothing after the operation; a remove no salt.
  buffer l;
  user_admin_request list{};
  list.request_id = 1;
  list.op = user_op::list;
  encode(l, list);
  EXPECT_EQ(payload_of(l).size(), 5u);
  buffer bad(payload_of(l).begin(), payload_of(l).end());
  bad[4] = 7;
  EXPECT_EQ(decode_user_admin(bad).error(), errc::invalid_request);
  std::vector<user_credential_info> creds{{"alice", "SCRAM-SHA-256", 4096}, {"bob", "SCRAM-SHA-512", 8192}};
  buffer body;
  encode_body(body, creds);
  EXPECT_EQ(decode_user_list(body).value(), creds);
}

TEST(NativeMessages, AclAdminRoundTripsBindingsAndFilters) {
  std::vector<acl_entry> entries{{2, "orders", 3, "User:alice", "*", 3, 3}, {1, "", 1, "", "", 1, 1}};
  for (auto op : {acl_op::list, acl_op::create, acl_op::remove}) {
    buffer f;
    encode(f, acl_admin_request{4, op, entries});
    EXPECT_EQ(static_cast<message_type>(f[5]), message_type::acl_admin);
    auto r = decode_acl_admin(payload_of(f));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->op, op);
    EXPECT_EQ(r->entries, entries);
    auto payload = payload_of(f);
    for (std::size_t cut = 0; cut < payload.size(); ++cut)
      EXPECT_FALSE(decode_acl_admin(payload.first(cut))) << cut;
  }
  buffer body;
  encode_body(body, entries);
  EXPECT_EQ(decode_acl_list(body).value(), entries);
}

// The decoders return only invalid_request; refusal_reason tells the sender what it broke.
TEST(NativeMessages, RefusalReasonsNameWhatTheRequestBroke) {
  for (const int op : {0, 7}) {
    buffer f;
    encode(f, topic_admin_request{1, static_cast<admin_op>(op), "t", 1, {}});
    ASSERT_EQ(decode_topic_admin(payload_of(f)).error(), errc::invalid_request) << op;
    EXPECT_EQ(refusal_reason(message_type::topic_admin, payload_of(f)), "unknown operation " + std::to_string(op));
  }
  buffer group;
  encode(group, group_admin_request{2, static_cast<group_op>(9), "g"});
  EXPECT_EQ(refusal_reason(message_type::group_admin, payload_of(group)), "unknown operation 9");
  // A known operation is no refusal of its own, whatever follows it (or does not).
  buffer create;
  encode(create, topic_admin_request{3, admin_op::create, "t", 1, {}});
  const auto cut = payload_of(create).first(5);
  EXPECT_EQ(refusal_reason(message_type::topic_admin, payload_of(create)), "");
  EXPECT_EQ(refusal_reason(message_type::topic_admin, cut), "");
  buffer half;
  encode(half, init_producer_request{4, -1, 0});
  ASSERT_EQ(decode_init_producer(payload_of(half)).error(), errc::invalid_request);
  EXPECT_NE(refusal_reason(message_type::init_producer, payload_of(half)).find("both be -1"), std::string::npos);
  buffer join;
  encode(join, group_join_request{5, "", 0, 5000, {"t"}});
  ASSERT_EQ(decode_group_join(payload_of(join)).error(), errc::invalid_request);
  EXPECT_NE(refusal_reason(message_type::group_join, payload_of(join)).find("names a group"), std::string::npos);
}

// docs/protocol.md section 4: a string is UTF-8. A request's strings are checked (the broker
// stores group ids, topics and metadata that Kafka clients read back, and cannot decode when
// they are not); an answer's are taken as they come (a group id a Kafka client chose is listed
// as given). Bytes fields (a Publish's batch, Authenticate's token) are not strings.
TEST(NativeMessages, ARequestStringThatIsNotUtf8IsMalformed) {
  // Cut short, not UTF-8 at all, overlong, a surrogate, past U+10FFFF.
  const std::string not_utf8[] = {"meta\xc3", "grp\xff\xfe", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80"};
  const buffer not_text{0xff, 0xfe, 0xc3};
  for (const auto& bad : not_utf8) {
    for (const auto& ack : {ack_request{1, bad, "t", 0, 1, "", {}, -1}, ack_request{1, "g", bad, 0, 1, "", {}, -1},
                            ack_request{1, "g", "t", 0, 1, bad, {}, -1}, ack_request{1, "g", "t", 0, 1, "", bad, 2}}) {
      buffer f;
      encode(f, ack);
      EXPECT_EQ(decode_ack(payload_of(f)).error(), errc::malformed_payload);
    }
    for (const auto& join : {group_join_request{2, bad, 0, 5000, {"t"}}, group_join_request{2, "g", 0, 5000, {"t", bad}}}) {
      buffer f;
      encode(f, join);
      EXPECT_EQ(decode_group_join(payload_of(f)).error(), errc::malformed_payload);
    }
    buffer meta;
    encode_metadata_request(meta, metadata_request{3, true, {"g", bad}});
    EXPECT_EQ(decode_metadata_request(payload_of(meta)).error(), errc::malformed_payload);
    buffer publish;
    encode(publish, publish_request{4, 1, bad, 0, {}, not_text}, 0);
    EXPECT_EQ(decode_publish(payload_of(publish)).error(), errc::malformed_payload);
  }
  // Well-formed UTF-8 of every length, and bytes fields that are not UTF-8, decode.
  buffer ok;
  encode(ok, ack_request{5, "gr\xc3\xbcppe-\xe2\x82\xac-\xf0\x9f\x98\x80", "t", 0, 1, "m\xc3\xa9ta", {}, -1});
  auto a = decode_ack(payload_of(ok));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->consumer, "gr\xc3\xbcppe-\xe2\x82\xac-\xf0\x9f\x98\x80");
  buffer publish;
  encode(publish, publish_request{6, 1, "t", 0, {}, not_text}, 0);
  auto p = decode_publish(payload_of(publish));
  ASSERT_TRUE(p);
  EXPECT_TRUE(same_bytes(p->batch, not_text));
  // An answer's strings are not checked.
  buffer body;
  encode_body(body, offset_fetch_response{7, "meta\xc3"});
  EXPECT_EQ(decode_offset_fetch_response(body).value().metadata, "meta\xc3");
  std::vector<group_summary> groups{{"grp\xff\xfe", "Empty", "consumer", 0}};
  buffer list;
  encode_body(list, groups);
  EXPECT_EQ(decode_group_list(list).value(), groups);
}

// docs/protocol.md section 4: a bool is 0 or 1; another value is one the protocol does not
// define, refused as invalid_request saying so.
TEST(NativeMessages, ABoolOtherThanZeroOrOneIsInvalid) {
  for (const std::uint8_t cluster : {0, 1, 2, 255}) {
    buffer f;
    const std::uint8_t body[] = {0, 0, 0, 9, cluster, 0, 0};
    append_frame(f, message_type::metadata, 0, body);
    auto m = decode_metadata_request(payload_of(f));
    if (cluster <= 1) {
      ASSERT_TRUE(m) << int{cluster};
      EXPECT_EQ(m->cluster, cluster == 1);
      continue;
    }
    EXPECT_EQ(m.error(), errc::invalid_request) << int{cluster};
    EXPECT_NE(refusal_reason(message_type::metadata, payload_of(f)).find("0 or 1"), std::string::npos);
  }
  buffer e;
  encode(e, error_response{1, 39, false, "x"});
  e[e.size() - 4] = 2;  // retriable: its u16 message length and "x" follow
  const auto refused = decode_error(payload_of(e));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error(), errc::invalid_request);
}
