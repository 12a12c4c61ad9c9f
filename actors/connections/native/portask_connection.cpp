#include "actors/connections/native/portask_connection.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <deque>
#include <limits>
#include <map>
#include <optional>
#include <tuple>
#include <unordered_map>

#include "actors/connections/transport/connection_lifecycle.hpp"
#include "actors/connections/transport/log_text.hpp"
#include "actors/connections/transport/long_polls.hpp"
#include "actors/connections/transport/publish_bursts.hpp"
#include "actors/connections/native/native_group_member.hpp"
#include "actors/groups/commit_metadata.hpp"
#include "actors/groups/group_waits.hpp"
#include "actors/connections/transport/response_queue.hpp"
#include "actors/pipeline/offset_for_time.hpp"
#include "actors/pipeline/partition.hpp"
#include "actors/pipeline/reconfigure_topic.hpp"
#include "actors/pipeline/topic_configs.hpp"
#include "actors/pipeline/producer_ids.hpp"
#include "portask/version.hpp"
#include "actors/pipeline/wall_clock.hpp"
#include "actors/security/sasl_session.hpp"
#include "logging/loggers.hpp"
#include "protocol/group_assignment.hpp"
#include "protocol/kafka/kafka_wire.hpp"
#include "protocol/native_messages.hpp"
#include "protocol/topic_name.hpp"

namespace portask {

namespace native = protocol::native;
using protocol::message_type;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;
namespace sec = protocol::security;

namespace {

constexpr std::uint32_t max_fetch_wait_ms = 60'000;
constexpr std::uint32_t subscription_poll_ms = 5'000;
constexpr std::uint32_t max_push_bytes = 1024 * 1024;

struct subscription {
  std::uint32_t request_id = 0;
  topic_partition tp;
  std::int64_t offset = 0;
  std::uint64_t credit = 0;
  bool fetching = false;
  bool active = true;
  std::uint64_t poll_id = 0;  ///< its fetch in flight, to cancel when it ends
};

/// A request in progress: where its answer goes and what to count.
struct request_ctx {
  std::uint64_t seq;
  std::uint32_t request_id;
  message_type type;
  request_kind kind;
  clock_type::time_point start;
};

/// A gathered publish's request, and whether it wants an answer.
using publish_slot = std::pair<request_ctx, bool>;

struct connection_state {
  std::shared_ptr<broker_context> ctx;
  /// Where the bridges, registry, groups and security actors are (from the supervisor);
  /// declared before the members that use it as they go (presence, polls).
  actor_directory dir;
  hook_presence presence;
  std::shared_ptr<tcp_session> session;
  std::unique_ptr<response_queue> responses;
  std::unique_ptr<long_polls> polls;  ///< cancelled when answered otherwise or on close
  std::map<std::uint32_t, subscription> subscriptions;
  /// Subscribes accepted and still looking up their partition: counted against the cap on
  /// subscriptions with those made (on_subscribe).
  std::uint32_t pending_subscribes = 0;
  std::uint32_t next_subscription = 1;
  /// Publishes to partition -1 (the broker chooses, round-robin): the partition counts of
  /// their topics, kept while no topic is created, grown or deleted anywhere
  /// (broker_context::topic_changes), and where each topic's round-robin stands.
  std::unordered_map<std::string, std::int32_t> partition_counts;
  std::uint64_t partition_counts_as_of = 0;
  std::unordered_map<std::string, std::uint32_t> round_robin;
  /// Topics whose partition count is being looked up (the registry may be creating the
  /// topic): every publish to them waits here, in arrival order, whatever its partition, so
  /// that one client's batches for a partition are stored in the order sent. Nothing else
  /// waits: other topics' publishes and every other request go on.
  std::unordered_map<std::string, std::vector<std::tuple<request_ctx, bool, publish_batch>>>
      awaiting_count;
  /// Frames read while a lookup is pending, from the first that is not a publish on: other
  /// requests may depend on the publishes before them (a topic deleted, fetched, a producer
  /// fenced), so they and everything after them wait, in order, until no lookup is left.
  std::vector<protocol::buffer> held_frames;
  /// Publishes decoded into messages (not kept in their encoding) and not answered yet: what
  /// each holds decoded, by request. Past max_decompressed_bytes_per_request in all, the
  /// frames read next wait (held_frames) until answers bring it down: a few bytes of
  /// compressed empty messages take a hundredfold decoded, which the session's bound on
  /// request bytes in flight does not see.
  std::unordered_map<std::uint64_t, std::uint64_t> decoded_by_seq;
  std::uint64_t decoded_bytes = 0;
  /// The stream broke (the session reads no more): answered once what was read before it is.
  std::optional<errc> framing_error;
  std::map<std::uint32_t, native_group_member_actor> memberships;  ///< native group members of this client
  std::uint32_t next_membership = 1;
  /// Publishes gathered from the frames of one read, per bridge: sent as one message each
  /// after the last frame, or before any other request, which must not overtake them.
  publish_bursts<publish_slot> bursts;
  // -- security (docs/security.md) -------------------------------------------------------
  std::unique_ptr<sasl_session> sasl;  ///< on a listener that authenticates
  std::string principal{anonymous_principal};
  sec::client_host host;  ///< the client's address, as ACLs name hosts
  std::unique_ptr<authorization_cache> acl;
  bool closing = false;  ///< the client closed; quit once pending answers are written
  close_deadline deadline;  ///< or when this passes, without the answers still missing
  bool peer_closed = false;  ///< the client is gone: answers made now are never sent
  bool drain_requested = false;  ///< pushes wait for the session's drained_atom
  bool answers_held = false;  ///< answering a burst: its answers wait for one flush
  static inline const char* name = "portask.portask_connection";
};

using self_ptr = native_connection_actor::stateful_pointer<connection_state>;

// Subscriptions and group memberships keep a connection from being idle: their client
// waits for the broker, not the other way round.
void update_hold(self_ptr self) {
  auto& st = self->state;
  st.session->hold(!st.subscriptions.empty() || !st.memberships.empty());
}

// A membership ends at once: its member leaves the group, which reassigns its partitions now
// (not when the member notices its connection is gone), and stops.
void end_membership(self_ptr self, std::map<std::uint32_t, native_group_member_actor>::iterator it) {
  self->send(it->second, leave_atom::value);
  self->state.memberships.erase(it);
}

// Every path that closes the connection (the client gone, a framing error, a failed or
// missing authentication) ends what the client holds at once, not when the last pending
// answer is written: subscriptions stop pushing, parked long polls answer now (so the
// pending answers complete and the actor can go), and memberships leave their groups
// (docs/protocol.md: closing the connection ends all its memberships at once).
void start_closing(self_ptr self) {
  auto& st = self->state;
  st.closing = true;
  st.subscriptions.clear();
  st.polls->cancel_all();
  while (!st.memberships.empty()) end_membership(self, st.memberships.begin());
  update_hold(self);
}

std::uint64_t reserve(self_ptr self, std::uint64_t release) {
  return self->state.responses->reserve(release);
}

// A client that closed is gone once its last answer is written, or when the deadline for
// them passes (an answer that never comes must not keep the connection for ever).
void quit_if_answered_all(self_ptr self) {
  auto& st = self->state;
  if (!st.closing) return;
  if (st.responses->empty()) return self->quit();
  st.deadline.arm(self, *st.session);
}

void complete(self_ptr self, std::uint64_t seq, protocol::buffer bytes,
              std::function<void()> on_flushed = {}) {
  auto& st = self->state;
  if (auto d = st.decoded_by_seq.find(seq); d != st.decoded_by_seq.end()) {
    st.decoded_bytes -= d->second;
    st.decoded_by_seq.erase(d);
  }
  st.responses->complete(seq, std::move(bytes), std::move(on_flushed), !st.answers_held);
  quit_if_answered_all(self);
}

void record(self_ptr self, const request_ctx& r, bool failed) {
  self->state.ctx->metrics.request(protocol_kind::portask, r.kind, clock_type::now() - r.start,
                                   failed);
}

void fail(self_ptr self, const request_ctx& r, errc e, std::string_view detail = {}) {
  record(self, r, true);
  native::error_response err;
  err.request_id = r.request_id;
  err.code = static_cast<std::uint16_t>(e);
  err.retriable = is_retriable(e);
  err.message = make_error_code(e).message();
  if (!detail.empty()) err.message += std::string(": ") + std::string(detail);
  protocol::buffer out;
  native::encode(out, err);
  complete(self, r.seq, std::move(out));
}

void fail(self_ptr self, const request_ctx& r, const caf::error& e) { fail(self, r, to_errc(e)); }

// A request its decoder refused: the decoders return only the code, so an invalid_request
// is told what the request broke (native::refusal_reason).
void fail_decode(self_ptr self, const request_ctx& r, std::error_code e, protocol::byte_view payload) {
  const auto code = static_cast<errc>(e.value());
  fail(self, r, code, code == errc::invalid_request ? native::refusal_reason(r.type, payload) : std::string{});
}

// -- authorization: the same ACLs, decisions and cache as Kafka's (security/access_control) --

/// A denial is logged unless `log` is quiet (denial_log says when).
bool allowed(self_ptr self, sec::acl_operation op, sec::resource_type type, std::string_view name,
             denial_log log = denial_log::logged) {
  auto& st = self->state;
  return st.acl->allowed(st.principal, st.host, op, type, name, log);
}

/// Whether the client may do `op` on `topic`; if not, the request is answered
/// authorization_failed (naming what was missing) and false returned.
bool check_topic(self_ptr self, const request_ctx& r, sec::acl_operation op, const std::string& topic) {
  if (allowed(self, op, sec::resource_type::topic, topic)) return true;
  fail(self, r, errc::authorization_failed, std::string(sec::to_string(op)) + " on topic " + topic);
  return false;
}
bool check_group(self_ptr self, const request_ctx& r, sec::acl_operation op, const std::string& group) {
  if (allowed(self, op, sec::resource_type::group, group)) return true;
  fail(self, r, errc::authorization_failed, std::string(sec::to_string(op)) + " on group " + group);
  return false;
}

/// Whether `group` may name a group, checked by every request that names one, before its
/// ACLs; if not, the request is answered invalid_request saying why and false returned. Not
/// empty: the native protocol has no use for Kafka's empty group id of old standalone
/// consumers. At most a Kafka string: Kafka's clients list the same groups and fetch their
/// offsets, and one id longer than their answers can carry would break those answers.
bool check_group_id(self_ptr self, const request_ctx& r, const std::string& group) {
  if (group.empty()) {
    fail(self, r, errc::invalid_request, "empty group id");
    return false;
  }
  if (group.size() <= protocol::kafka::max_string_bytes) return true;
  fail(self, r, errc::invalid_request,
       "a group id of " + std::to_string(group.size()) + " bytes; at most " +
           std::to_string(protocol::kafka::max_string_bytes) + " (the longest string Kafka carries)");
  return false;
}

/// CREATE on the cluster is tried first, quietly: CREATE on the topic may do. `log`: quiet
/// where it is asked before the topic is known to be missing (Publish's auto-creation).
bool may_create_topic(self_ptr self, const std::string& topic, denial_log log) {
  return allowed(self, sec::acl_operation::create, sec::resource_type::cluster, sec::cluster_resource_name,
                 denial_log::quiet) ||
         allowed(self, sec::acl_operation::create, sec::resource_type::topic, topic, log);
}
/// A filter: what is left out is not refused, so not logged.
std::vector<storage::topic_info> describable(self_ptr self, std::vector<storage::topic_info> topics) {
  std::erase_if(topics, [&](const auto& t) {
    return !allowed(self, sec::acl_operation::describe, sec::resource_type::topic, t.name, denial_log::quiet);
  });
  return topics;
}

template <class Body>
void respond(self_ptr self, const request_ctx& r, Body&& body,
             std::function<void()> on_flushed = {}) {
  record(self, r, false);
  protocol::buffer out;
  const auto pos = native::begin_response(out, {r.request_id, r.type});
  body(out);
  protocol::finish_frame(out, pos, message_type::response, 0);
  complete(self, r.seq, std::move(out), std::move(on_flushed));
}

native::fetch_response to_wire(const fetch_result& r) {
  native::fetch_response f;
  f.partition = r.partition;
  f.high_watermark = r.high_watermark;
  f.log_start = r.log_start;
  f.batches.reserve(r.batches.size());
  for (const auto& b : r.batches) f.batches.push_back({b.base_offset, b.record_count, b.frame.view()});
  return f;
}

// -- publish -------------------------------------------------------------------------------

void answer_publish(self_ptr self, const request_ctx& r, bool acks, const publish_result& res) {
  if (!acks) {
    record(self, r, false);
    complete(self, r.seq, {});
    return;
  }
  respond(self, r, [&](protocol::buffer& out) {
    native::encode_body(out, native::publish_response{res.partition, res.base_offset, res.count});
  });
}

void serve_frames(self_ptr self, std::vector<protocol::buffer> frames);

bool over_decoded_budget(const connection_state& st) {
  return st.decoded_bytes > st.ctx->config.max_decompressed_bytes_per_request;
}

// After a framing error, once every request read before it has its place in the answers:
// the error goes behind them, then the connection closes. Long polls answer now rather than
// hold it open.
void end_after_framing_error(self_ptr self) {
  auto& st = self->state;
  if (!st.framing_error || st.closing || !st.awaiting_count.empty() || !st.held_frames.empty()) return;
  const auto e = *st.framing_error;
  native::error_response err{0, static_cast<std::uint16_t>(e), false, make_error_code(e).message()};
  protocol::buffer out;
  native::encode(out, err);
  start_closing(self);
  const auto seq = reserve(self, 0);
  complete(self, seq, std::move(out), [self] { self->state.session->close_after_writes(); });
}

// The frames held behind topic lookups or decoded publishes go on once neither holds them.
void serve_held_frames(self_ptr self) {
  auto& st = self->state;
  if (st.awaiting_count.empty() && !over_decoded_budget(st) && !st.held_frames.empty()) {
    auto held = std::move(st.held_frames);
    st.held_frames.clear();
    serve_frames(self, std::move(held));
  }
  end_after_framing_error(self);
}

// Which limit a publish answered frame_too_large passed (the frame read was within
// max_frame_bytes): its partition compares the batch's stored frame with the topic's
// max.message.bytes, whose value only the partition holds; a batch re-encoded for the store
// can also outgrow max_frame_bytes.
std::string publish_too_large(const broker_context& ctx) {
  return "the batch's stored frame is larger than the topic's max.message.bytes (TopicAdmin describe "
         "shows it) or than max_frame_bytes (" +
         std::to_string(ctx.config.max_frame_bytes) + ")";
}

// Sends the gathered publishes: one message per bridge. The answers to one bridge's reply
// leave in one write.
void flush_publishes(self_ptr self) {
  auto answer = [self](const publish_slot& slot, errc e, const publish_result& res) {
    self->state.answers_held = true;
    const auto& [r, acks] = slot;
    if (e == errc::frame_too_large) return fail(self, r, e, publish_too_large(*self->state.ctx));
    // A partition's one reason for invalid_record (partition.cpp), which the code alone does
    // not tell.
    if (e == errc::invalid_record)
      return fail(self, r, e,
                  "a message has no key, and the topic is compacted (cleanup.policy compact): every "
                  "message needs one; nothing of the batch was stored");
    if (e != errc::ok) return fail(self, r, e);
    answer_publish(self, r, acks, res);
  };
  auto answered = [self] {
    self->state.answers_held = false;
    self->state.responses->flush();
    quit_if_answered_all(self);
    serve_held_frames(self);
  };
  self->state.bursts.send(self, answer, answered);
}

// Gathers a publish into its bridge's burst; the burst goes after the read's last frame.
void send_publish(self_ptr self, request_ctx r, bool acks, publish_batch pb) {
  auto bridge = self->state.dir.bridge_for(pb.tp);
  if (!bridge) return fail(self, r, errc::not_ready);
  self->state.bursts.add(std::move(bridge), std::move(pb), {r, acks});
}

// The partition for the next publish to partition -1 of a topic of `partitions`: round-robin
// over them (in a cluster, over those this node leads, so that a client may send any node its
// unkeyed batches; leading none, the last one tried, which answers NOT_LEADER, and the client
// looks again).
std::int32_t pick_partition(self_ptr self, const std::string& topic, std::int32_t partitions) {
  auto& rr = self->state.round_robin[topic];
  partitions = std::max<std::int32_t>(1, partitions);
  // A single node leads every partition: no need to load the shared cluster view (an
  // atomic shared_ptr, whose load takes a lock in libstdc++) on this per-publish path.
  if (!self->state.ctx->config.cluster.enabled())
    return static_cast<std::int32_t>(rr++ % static_cast<std::uint32_t>(partitions));
  const auto view = self->state.ctx->cluster();
  topic_partition tp{topic, 0};
  for (std::int32_t tries = 0; tries < partitions; ++tries) {
    tp.partition = static_cast<std::int32_t>(rr++ % static_cast<std::uint32_t>(partitions));
    if (view->owns(tp)) break;
  }
  return tp.partition;
}

// Forgets the cached partition counts once any topic was created, grown or deleted.
void forget_stale_counts(self_ptr self) {
  auto& st = self->state;
  const auto changes = st.ctx->topic_changes.load(std::memory_order_acquire);
  if (changes != st.partition_counts_as_of) {
    st.partition_counts.clear();
    st.partition_counts_as_of = changes;
  }
}

// pick_partition, when the topic's partition count is known and no topic changed since.
std::optional<std::int32_t> chosen_partition(self_ptr self, const std::string& topic) {
  forget_stale_counts(self);
  auto& st = self->state;
  auto it = st.partition_counts.find(topic);
  if (it == st.partition_counts.end()) return std::nullopt;
  return pick_partition(self, topic, it->second);
}

// The first publish to partition -1 of a topic (since a topic changed): asks the registry
// for the topic's partition count, creating the topic if the publish may. Until it answers,
// the topic's later publishes wait behind this one (awaiting_count); the connection serves
// everything else meanwhile.
void look_up_partition_count(self_ptr self, request_ctx r, bool acks, publish_batch pb) {
  auto& st = self->state;
  auto registry = st.dir.registry;
  if (!registry) return fail(self, r, errc::not_ready);
  const auto topic = pb.tp.topic;
  const bool auto_create = pb.auto_create;
  st.awaiting_count[topic].emplace_back(r, acks, std::move(pb));
  // The answer is cached only if no topic changed while it was on its way (a grow or delete
  // meanwhile may have made it stale; creating this topic costs one more lookup later).
  const auto asked_at = st.ctx->topic_changes.load(std::memory_order_acquire);
  auto release = [self, topic, asked_at](const storage::topic_info* info, const caf::error* err) {
    auto node = self->state.awaiting_count.extract(topic);
    if (node.empty()) return;
    forget_stale_counts(self);
    if (info && self->state.partition_counts_as_of == asked_at)
      self->state.partition_counts[topic] = info->partitions;
    for (auto& [req, wants_ack, batch] : node.mapped()) {
      if (batch.tp.partition == any_partition) {
        if (!info) {
          fail(self, req, *err);
          continue;
        }
        batch.tp.partition = pick_partition(self, topic, info->partitions);
      }
      send_publish(self, req, wants_ack, std::move(batch));
    }
    flush_publishes(self);
    // Requests held behind the lookups go on once none is left.
    serve_held_frames(self);
  };
  self->request(registry, 10s, topic_atom::value, topic, auto_create)
      .then([=](storage::topic_info& info) { release(&info, nullptr); },
            [=](caf::error& e) { release(nullptr, &e); });
}

void on_publish(self_ptr self, request_ctx r, const protocol::frame_header& h,
                protocol::buffer& frame, protocol::byte_view payload) {
  const auto wire_bytes = frame.size();
  auto req = native::decode_publish(payload);
  if (!req) return fail_decode(self, r, req.error(), payload);
  auto& ctx = *self->state.ctx;
  publish_batch pb{{req->topic, req->partition}, {}, protocol_kind::portask, false, wire_bytes};
  // A batch already in the store's encoding is checked and kept as it came (the bridge
  // frames its bytes under the broker's header), unless its messages would need rewriting;
  // any other is decoded.
  const protocol::encoding stored_as{};
  auto sent_as = protocol::encoding_of(h.flags);
  if (sent_as && *sent_as == stored_as && ctx.storage_encoding == stored_as) {
    auto scan = protocol::binary_codec::scan(req->batch);
    if (!scan) return fail(self, r, static_cast<errc>(scan.error().value()));
    if (scan->rebasable) {
      // The frame's bytes move on as they are (no copy; req->batch still points into them).
      pb.encoded_at = static_cast<std::size_t>(req->batch.data() - frame.data());
      pb.encoded_scan = *scan;
      pb.encoded = std::move(frame);
    }
  }
  if (!pb.kept_encoded()) {
    auto batch = ctx.codecs.decode_received(h.flags, req->batch);
    if (!batch) return fail(self, r, static_cast<errc>(batch.error().value()));
    pb.batch = std::move(*batch);
    std::uint64_t decoded = pb.batch.messages.size() * sizeof(protocol::message);
    for (const auto& m : pb.batch.messages) {
      decoded += m.topic.size() + (m.key ? m.key->size() : 0) + (m.value ? m.value->size() : 0) +
                 m.headers.size() * sizeof(protocol::message_header);
      for (const auto& hd : m.headers) decoded += hd.key.size() + (hd.value ? hd.value->size() : 0);
    }
    self->state.decoded_by_seq[r.seq] = decoded;
    self->state.decoded_bytes += decoded;
  }
  if (pb.record_count() == 0) return fail(self, r, errc::invalid_request, "empty batch");
  if (!check_topic(self, r, sec::acl_operation::write, req->topic)) return;
  if (protocol::is_internal_topic(req->topic))
    return fail(self, r, errc::invalid_request, "'" + req->topic + "' is internal: only the broker writes it");
  // A topic of such a name cannot exist, and creating it would be refused saying no more
  // (topic_registry): the rule is told here, in TopicAdmin create's words.
  if (auto problem = creatable_name_problem(req->topic))
    return fail(self, r, errc::invalid_request, problem->message);
  // Nothing would drop a message at its expiry (a partition's log keeps what its retention
  // keeps): refused rather than stored as if it would be honoured.
  const bool expiring = pb.kept_encoded() ? pb.encoded_scan.expiring
                                          : std::any_of(pb.batch.messages.begin(), pb.batch.messages.end(),
                                                        [](const protocol::message& m) {
                                                          return m.expires_at_ms != protocol::no_expiry;
                                                        });
  if (expiring)
    return fail(self, r, errc::invalid_request,
                "message expiry (expires_at) is not supported: set the topic's retention.ms instead");
  pb.auto_create = may_create_topic(self, req->topic, denial_log::quiet);
  if (req->producer.present()) {
    const auto count = pb.record_count();
    pb.producer = {req->producer.id, req->producer.epoch, req->producer.base_sequence,
                   storage::last_sequence(req->producer.base_sequence, count)};
  }
  if (req->partition < any_partition) return fail(self, r, errc::unknown_partition);
  const bool acks = req->acks != 0;
  auto& st = self->state;
  if (auto waiting = st.awaiting_count.find(req->topic); waiting != st.awaiting_count.end()) {
    waiting->second.emplace_back(r, acks, std::move(pb));  // behind the lookup, in order
    return;
  }
  if (req->partition != any_partition) return send_publish(self, r, acks, std::move(pb));
  if (auto chosen = chosen_partition(self, req->topic)) {
    pb.tp.partition = *chosen;
    return send_publish(self, r, acks, std::move(pb));
  }
  look_up_partition_count(self, r, acks, std::move(pb));
}

// InitProducer: the same ids as Kafka's InitProducerId; an existing producer gets its next
// epoch, which fences its older incarnations and restarts its sequences. The store bumps it
// (log_store::bump_producer_epoch), only from the epoch current there, in one atomic step:
// two clients resuming one saved pair, on any nodes, never both get the next epoch (their
// batches would share sequences, and the second's be taken for resends of the first's).
void on_init_producer(self_ptr self, request_ctx r, protocol::byte_view payload) {
  auto req = native::decode_init_producer(payload);
  if (!req) return fail_decode(self, r, req.error(), payload);
  {  // as Kafka's InitProducerId: IDEMPOTENT_WRITE on the cluster, or WRITE on some topic
    auto& st = self->state;
    if (!allowed(self, sec::acl_operation::idempotent_write, sec::resource_type::cluster, sec::cluster_resource_name,
                 denial_log::quiet) &&
        !st.acl->allowed_on_some(st.principal, st.host, sec::acl_operation::write, sec::resource_type::topic))
      return fail(self, r, errc::authorization_failed, "IDEMPOTENT_WRITE on the cluster or WRITE on a topic");
  }
  auto answer = [=](std::int64_t id, std::int16_t epoch) {
    respond(self, r, [&](protocol::buffer& out) {
      native::encode_body(out, native::init_producer_response{id, epoch});
    });
  };
  if (req->producer_id >= 0) {
    const auto id = req->producer_id;
    const auto epoch = req->producer_epoch;
    if (epoch >= storage::last_producer_epoch)
      return fail(self, r, errc::invalid_producer_epoch, "epochs exhausted; ask for a new id");
    const auto never_handed_out = [=] {
      fail(self, r, errc::unknown_producer_id, "producer " + std::to_string(id) + " was never handed out: ask for a new id");
    };
    // The store knows only which ids were allocated to some node: one still waiting in this
    // node's block is refused here.
    if (self->state.ctx->producer_ids.reserved_here(id)) return never_handed_out();
    auto reader = self->state.dir.any_reader();
    if (!reader) return fail(self, r, errc::not_ready);
    self->request(reader, 10s, producer_atom::value, id, epoch)
        .then([=](std::int16_t next) { answer(id, next); },
              [=](caf::error& e) {
                const auto code = to_errc(e);
                const auto producer = "producer " + std::to_string(id);
                if (code == errc::invalid_producer_epoch)
                  return fail(self, r, code,
                              producer + " epoch " + std::to_string(epoch) +
                                  " is not current (another client resumed it, or this is an old "
                                  "incarnation): ask for a new id");
                if (code == errc::unknown_producer_id) return never_handed_out();
                fail(self, r, code);
              });
    return;
  }
  with_new_producer_id(self, self->state.ctx, self->state.dir.any_reader(), [=](expected<std::int64_t> id) {
    if (!id) return fail(self, r, static_cast<errc>(id.error().value()));
    answer(*id, 0);
  });
}

// -- fetch and subscriptions ----------------------------------------------------------------

// What a fetch or a push sends to the client (messages_out counts what is sent, nothing else).
void count_out(self_ptr self, const fetch_result& res) {
  if (self->state.peer_closed) return;
  std::uint64_t messages = 0, bytes = 0;
  for (const auto& b : res.batches) {
    messages += b.record_count;
    bytes += b.frame.size();
  }
  self->state.ctx->metrics.messages_out(protocol_kind::portask, messages, bytes);
}

// A fetch's answer stays within the connection's output budget (see response_queue).
void on_fetch(self_ptr self, request_ctx r, protocol::byte_view payload) {
  auto req = native::decode_fetch(payload);
  if (!req) return fail_decode(self, r, req.error(), payload);
  if (!check_topic(self, r, sec::acl_operation::read, req->topic)) return;
  bool alone = false;
  // The answer is one frame, and a frame's payload is at most max_frame_bytes (the client
  // refuses a longer one). Each batch adds 16 bytes to its stored frame's, which is 16 bytes
  // of header and a few of messages at least: within half the limit, an answer of the
  // smallest batches stays within the whole.
  const auto frame_limit = self->state.ctx->config.max_frame_bytes;
  const std::uint64_t answer_limit = frame_limit > 4096 ? frame_limit / 2 - 1024 : 1024;
  const auto granted = self->state.responses->promise_output(
      std::clamp<std::uint64_t>(req->max_bytes, 1, answer_limit), alone);
  // Only an answer made alone may bring a first batch over its limit.
  fetch_request f{{req->topic, req->partition},
                  req->offset,
                  static_cast<std::uint32_t>(granted),
                  std::min(req->max_wait_ms, max_fetch_wait_ms),
                  protocol_kind::portask,
                  alone};
  auto bridge = self->state.dir.bridge_for(f.tp);
  if (!bridge) {
    self->state.responses->keep_promise(granted);
    return fail(self, r, errc::not_ready);
  }
  if (f.max_wait_ms > 0) f.poll_id = self->state.polls->open(f.tp);
  self->request(bridge, caf::infinite, fetch_atom::value, f)
      .then(
          [=](fetch_result& res) {
            self->state.polls->answered(f.poll_id);
            self->state.responses->keep_promise(granted);
            count_out(self, res);
            respond(self, r, [&](protocol::buffer& out) { native::encode_body(out, to_wire(res)); });
          },
          [=](caf::error& e) {
            self->state.polls->answered(f.poll_id);
            self->state.responses->keep_promise(granted);
            fail(self, r, e);
          });
}

void end_subscription(self_ptr self, std::uint32_t id, errc e) {
  auto& subs = self->state.subscriptions;
  auto it = subs.find(id);
  if (it == subs.end()) return;
  native::error_response err;
  err.request_id = it->second.request_id;
  err.code = static_cast<std::uint16_t>(e);
  err.retriable = is_retriable(e);
  err.message = "subscription " + std::to_string(id) + " ended: " + make_error_code(e).message();
  protocol::buffer out;
  native::encode(out, err);
  self->state.session->send(std::move(out));
  subs.erase(it);
  update_hold(self);
}

// Keeps one long-poll fetch in flight per subscription while it has credit and its client
// is reading: once the connection has a whole output cap queued and unread, pushes stop until
// the client has read half of it (an event from the session, not a poll). Memory per
// connection: the cap plus one push (max_push_bytes, or one larger stored batch) per
// subscription, and subscriptions per connection are capped (on_subscribe).
void pump(self_ptr self, std::uint32_t id) {
  auto& st = self->state;
  auto it = st.subscriptions.find(id);
  if (it == st.subscriptions.end()) return;
  auto& s = it->second;
  if (!s.active || s.fetching || s.credit == 0) return;
  const auto cap = st.session->limits().max_queued_output;
  if (st.session->queued_output() >= cap) {
    if (!st.drain_requested) {
      st.drain_requested = true;
      st.ctx->metrics.connection_limited(listener_kind::native, connection_limit::output_full);
      st.session->notify_when_drained(cap / 2);
    }
    return;
  }
  auto bridge = st.dir.bridge_for(s.tp);
  if (!bridge) {  // the runtime is restarting: try again shortly
    self->delayed_send(self, 200ms, subscribe_atom::value, id);
    return;
  }
  s.fetching = true;
  fetch_request f{s.tp, s.offset,
                  static_cast<std::uint32_t>(std::min<std::uint64_t>(s.credit, max_push_bytes)),
                  subscription_poll_ms, protocol_kind::portask};
  f.poll_id = s.poll_id = st.polls->open(s.tp);
  self->request(bridge, caf::infinite, fetch_atom::value, f)
      .then(
          [=](fetch_result& res) {
            self->state.polls->answered(f.poll_id);
            auto& all = self->state.subscriptions;
            auto sub = all.find(id);
            if (sub == all.end()) return;
            sub->second.fetching = false;
            if (!sub->second.active) {
              all.erase(sub);
              update_hold(self);
              return;
            }
            if (res.batches.empty()) {
              if (sub->second.offset < 0) sub->second.offset = res.high_watermark;
            } else {
              protocol::buffer out;
              native::encode(out, native::deliver{id, to_wire(res)});
              sub->second.offset = res.batches.back().next_offset();
              sub->second.credit -= std::min<std::uint64_t>(sub->second.credit, out.size());
              count_out(self, res);
              self->state.session->send(std::move(out));
            }
            pump(self, id);
          },
          [=](caf::error& e) {
            self->state.polls->answered(f.poll_id);
            auto& all = self->state.subscriptions;
            auto sub = all.find(id);
            if (sub == all.end()) return;
            sub->second.fetching = false;
            // Unsubscribed meanwhile: its Unsubscribe was answered, so its end goes unsaid.
            if (!sub->second.active) {
              all.erase(sub);
              update_hold(self);
              return;
            }
            const auto code = to_errc(e);
            // Another node leads the partition now: the subscription ends (retriable), and
            // the client makes it again there (client/cluster_client.hpp).
            if (is_retriable(code) && code != errc::not_leader) {
              self->delayed_send(self, 200ms, subscribe_atom::value, id);  // retry later
              return;
            }
            end_subscription(self, id, code);
          });
}

void on_subscribe(self_ptr self, request_ctx r, protocol::byte_view payload) {
  auto req = native::decode_subscribe(payload);
  if (!req) return fail_decode(self, r, req.error(), payload);
  if (!check_topic(self, r, sec::acl_operation::read, req->topic)) return;
  // Each subscription may have one push in flight: their number is capped like requests.
  // Subscribes still looking up their partition count too: pipelined ones would all pass
  // the cap before the first was made.
  const auto max_subscriptions = self->state.ctx->config.max_inflight_requests_per_connection;
  if (self->state.subscriptions.size() + self->state.pending_subscribes >= max_subscriptions)
    return fail(self, r, errc::invalid_request,
                "at most " + std::to_string(max_subscriptions) + " subscriptions per connection");
  ++self->state.pending_subscribes;
  topic_partition tp{req->topic, req->partition};
  // The partition must exist: asking its bounds says so.
  ask_partition(
      self, self->state.dir, tp, std::chrono::milliseconds(10000),
      [=](storage::partition_bounds& b) {
            auto& st = self->state;
            --st.pending_subscribes;
            // An offset outside the log is refused here, as a Fetch there is, rather than
            // made into a subscription that ends at its first push. -1 and -2 name its ends.
            if (req->offset != native::latest_offset && req->offset != native::earliest_offset &&
                (req->offset < b.log_start || req->offset > b.next_offset))
              return fail(self, r, errc::offset_out_of_range,
                          "offset " + std::to_string(req->offset) + " is outside the log (" +
                              std::to_string(b.log_start) + " to " + std::to_string(b.next_offset) + ")");
            // "Latest" is where the log ends now, when the partition answered: a publish
            // acknowledged after the Subscribe response is always delivered.
            const auto from = req->offset == native::latest_offset ? b.next_offset : req->offset;
            const auto id = st.next_subscription++;
            // A connection closing meanwhile keeps none: the close ends it at once.
            if (!st.closing) {
              st.subscriptions[id] = subscription{r.request_id, tp, from, req->credit_bytes, false, true, 0};
              update_hold(self);
            }
            // Pushing starts once the Subscribe response is on its way, so the client sees
            // the subscription id before the first Deliver frame.
            respond(self, r, [&](protocol::buffer& out) { native::encode_subscribe_response(out, id); },
                    [=] { pump(self, id); });
      },
      [=](caf::error& e) {
        --self->state.pending_subscribes;
        fail(self, r, e);
      },
      bounds_atom::value);
}

void on_credit(self_ptr self, request_ctx r, protocol::byte_view payload) {
  auto req = native::decode_credit(payload);
  if (!req) return fail_decode(self, r, req.error(), payload);
  auto it = self->state.subscriptions.find(req->subscription_id);
  if (it == self->state.subscriptions.end()) return fail(self, r, errc::invalid_request, "no such subscription");
  it->second.credit += req->credit_bytes;
  respond(self, r, [](protocol::buffer&) {});
  pump(self, req->subscription_id);
}

void on_unsubscribe(self_ptr self, request_ctx r, protocol::byte_view payload) {
  auto req = native::decode_unsubscribe(payload);
  if (!req) return fail_decode(self, r, req.error(), payload);
  auto& subs = self->state.subscriptions;
  auto it = subs.find(req->subscription_id);
  if (it == subs.end()) return fail(self, r, errc::invalid_request, "no such subscription");
  if (it->second.fetching) {
    it->second.active = false;  // erased when its fetch returns, which the cancel hastens
    self->state.polls->cancel(it->second.poll_id);
  } else
    subs.erase(it);
  update_hold(self);
  respond(self, r, [](protocol::buffer&) {});
}

// -- offsets, topics, metadata ---------------------------------------------------------------

// Ack and OffsetFetch go to the group's coordinator, the one owner of a group's offsets
// whichever protocol its consumers speak. The caller checked the group id (check_group_id).
template <class F>
void with_group(self_ptr self, request_ctx r, const std::string& group, F f) {
  auto groups = self->state.dir.groups;
  if (!groups) return fail(self, r, errc::not_ready);
  self->request(groups, 10s, group_atom::value, group)
      .then([=](group_coordinator_actor& g) mutable { f(g); },
            [=](caf::error& e) { fail(self, r, e); });
}

void on_ack(self_ptr self, request_ctx r, protocol::byte_view payload) {
  auto req = native::decode_ack(payload);
  if (!req) return fail_decode(self, r, req.error(), payload);
  if (!check_group_id(self, r, req->consumer)) return;
  if (req->offset < 0)
    return fail(self, r, errc::invalid_request,
                "offset " + std::to_string(req->offset) + ": commit the next offset to read, 0 or more");
  // As Kafka's OffsetCommit refuses it (there per partition, OFFSET_METADATA_TOO_LARGE).
  if (commit_metadata_too_large(req->metadata))
    return fail(self, r, errc::invalid_request,
                "metadata longer than " + std::to_string(max_commit_metadata_length) +
                    " characters (Kafka's offset.metadata.max.bytes)");
  if (!check_group(self, r, sec::acl_operation::read, req->consumer) ||
      !check_topic(self, r, sec::acl_operation::read, req->topic))
    return;
  commit_offsets_request commit;
  commit.member = {req->member_id, std::nullopt, req->generation};
  commit.offsets.push_back(
      {{req->topic, req->partition}, storage::committed_offset{req->offset, req->metadata}});
  const auto consumer = req->consumer;
  auto store = [=] {
    with_group(self, r, consumer, [=](group_coordinator_actor& g) {
      // Longer than the coordinator's worst case (group_waits.hpp), so that its own answer
      // comes; an error may still leave the commit stored (its store call timed out).
      self->request(g, group_write_wait(self->state.ctx->config), commit_atom::value, commit)
          .then([=](bool) { respond(self, r, [](protocol::buffer&) {}); },
                [=](caf::error& e) { fail(self, r, e); });
    });
  };
  // As a Kafka OffsetCommit: an offset of a partition that does not exist is refused, not
  // stored (a misspelt topic would otherwise be committed, mirrored and listed). Partition
  // counts come from the connection's cache, else the registry (which creates nothing).
  const auto partition = req->partition;
  auto stored_if_it_exists = [=](std::int32_t partitions) {
    if (partition < 0 || partition >= partitions) return fail(self, r, errc::unknown_partition);
    store();
  };
  forget_stale_counts(self);
  auto& st = self->state;
  // Only a count that admits the partition is taken from the cache: one that refuses it is
  // asked again (in a cluster, another node may have grown the topic since).
  if (auto known = st.partition_counts.find(req->topic);
      known != st.partition_counts.end() && partition >= 0 && partition < known->second)
    return store();
  auto registry = st.dir.registry;
  if (!registry) return fail(self, r, errc::not_ready);
  const auto asked_at = st.ctx->topic_changes.load(std::memory_order_acquire);
  const auto topic = req->topic;
  self->request(registry, 10s, topic_atom::value, topic, false)
      .then(
          [=](storage::topic_info& info) {
            forget_stale_counts(self);
            if (self->state.partition_counts_as_of == asked_at)
              self->state.partition_counts[topic] = info.partitions;
            stored_if_it_exists(info.partitions);
          },
          [=](caf::error& e) { fail(self, r, e); });
}

void on_offset_fetch(self_ptr self, request_ctx r, protocol::byte_view payload) {
  auto req = native::decode_offset_fetch(payload);
  if (!req) return fail_decode(self, r, req.error(), payload);
  if (!check_group_id(self, r, req->consumer)) return;
  if (!check_group(self, r, sec::acl_operation::describe, req->consumer) ||
      !check_topic(self, r, sec::acl_operation::describe, req->topic))
    return;
  std::vector<topic_partition> tps{{req->topic, req->partition}};
  with_group(self, r, req->consumer, [=](group_coordinator_actor& g) {
    self->request(g, 10s, offset_atom::value, tps)
        .then(
            [=](std::vector<storage::group_offset>& offs) {
              const auto off = offs.empty() ? storage::committed_offset{} : offs.front().offset;
              respond(self, r, [&](protocol::buffer& out) {
                native::encode_body(out, native::offset_fetch_response{off.offset, off.metadata});
              });
            },
            [=](caf::error& e) { fail(self, r, e); });
  });
}

// -- consumer groups --------------------------------------------------------------------------

void on_group_join(self_ptr self, request_ctx r, protocol::byte_view payload) {
  auto req = native::decode_group_join(payload);
  if (!req) return fail_decode(self, r, req.error(), payload);
  if (!check_group_id(self, r, req->group)) return;
  if (!check_group(self, r, sec::acl_operation::read, req->group)) return;
  // The assignments pushed tell which subscribed topics exist and their partition counts:
  // what Metadata shows only of topics the client may describe.
  for (const auto& topic : req->topics)
    if (!check_topic(self, r, sec::acl_operation::describe, topic)) return;
  auto& st = self->state;
  // Each membership is an actor (and a coordinator per group named): bounded per connection
  // as subscriptions are.
  const auto max_memberships = st.ctx->config.max_inflight_requests_per_connection;
  if (st.memberships.size() >= max_memberships)
    return fail(self, r, errc::invalid_request,
                "at most " + std::to_string(max_memberships) + " group memberships per connection");
  native_membership m;
  m.membership_id = st.next_membership++;
  m.group = req->group;
  m.strategy = static_cast<protocol::assignment_strategy>(req->strategy);
  m.session_timeout_ms = static_cast<std::int32_t>(
      std::min<std::uint32_t>(req->session_timeout_ms, std::numeric_limits<std::int32_t>::max()));
  m.topics = req->topics;
  m.client_host = st.session->peer();
  const auto id = m.membership_id;
  auto member = spawn_native_group_member(self->system(), caf::actor_cast<native_connection_actor>(self), st.ctx,
                                          st.dir, st.session, std::move(m));
  self->monitor(member);  // a member that ends by itself no longer holds the connection open
  st.memberships.emplace(id, member);
  update_hold(self);
  // The member joins once the GroupJoin response is on its way, so the client sees its
  // membership id before any assignment or error the member pushes.
  respond(self, r, [&](protocol::buffer& out) { native::encode_group_join_response(out, id); },
          [=] { self->send(member, join_atom::value); });
}

void on_group_leave(self_ptr self, request_ctx r, protocol::byte_view payload) {
  auto req = native::decode_group_leave(payload);
  if (!req) return fail_decode(self, r, req.error(), payload);
  auto& all = self->state.memberships;
  auto it = all.find(req->membership_id);
  if (it == all.end()) return fail(self, r, errc::invalid_request, "no such membership");
  end_membership(self, it);
  update_hold(self);
  respond(self, r, [](protocol::buffer&) {});
}

std::vector<native::topic_summary> summaries(const std::vector<storage::topic_info>& topics) {
  std::vector<native::topic_summary> out;
  for (const auto& t : topics) out.push_back({t.name, t.partitions});
  return out;
}

// Sets each listed config (an empty value removes the override), validated as CreateTopics
// and AlterConfigs validate; the topic's other overrides stay.
void alter_topic_config(self_ptr self, request_ctx r, topic_registry_actor registry,
                        const std::string& topic, const std::vector<native::config_entry>& changes) {
  for (auto c = changes.begin(); c != changes.end(); ++c) {
    // As Kafka's AlterConfigs: a key given twice is no order to apply.
    if (std::any_of(changes.begin(), c, [&](const auto& earlier) { return earlier.key == c->key; }))
      return fail(self, r, errc::invalid_request, "config '" + c->key + "' given twice");
    if (c->value.empty() && find_topic_config(c->key)) continue;
    if (auto problem = topic_config_problem(c->key, c->value))
      return fail(self, r, errc::invalid_request, *problem);
  }
  // Computed from the overrides the topic holds, and again when another change came first.
  reconfigure_topic(
      self, registry, topic,
      [self, r, changes](storage::config_entries configs) -> std::optional<storage::config_entries> {
        for (const auto& c : changes) {
          auto it = std::find_if(configs.begin(), configs.end(),
                                 [&](const auto& kv) { return kv.first == c.key; });
          if (c.value.empty()) {
            if (it != configs.end()) configs.erase(it);
          } else if (it != configs.end()) {
            it->second = c.value;
          } else {
            configs.emplace_back(c.key, c.value);
          }
        }
        if (auto problem = topic_configs_conflict(configs)) {
          fail(self, r, errc::invalid_request, *problem);
          return std::nullopt;
        }
        return configs;
      },
      [=](storage::topic_info&) { respond(self, r, [](protocol::buffer&) {}); },
      [=](const caf::error& e) { fail(self, r, e); });
}

void on_topic_admin(self_ptr self, request_ctx r, protocol::byte_view payload) {
  auto req = native::decode_topic_admin(payload);
  if (!req) return fail_decode(self, r, req.error(), payload);
  auto registry = self->state.dir.registry;
  if (!registry) return fail(self, r, errc::not_ready);
  auto on_error = [=](caf::error& e) { fail(self, r, e); };
  auto empty_ok = [=](bool) { respond(self, r, [](protocol::buffer&) {}); };
  // The ACLs Kafka's CreateTopics, DeleteTopics, Metadata, CreatePartitions and
  // (Incremental)AlterConfigs check for the same operations.
  switch (req->op) {
    case native::admin_op::create:
      if (!may_create_topic(self, req->topic, denial_log::logged))
        return fail(self, r, errc::authorization_failed, "CREATE on the cluster or topic " + req->topic);
      break;
    case native::admin_op::remove:
      if (!check_topic(self, r, sec::acl_operation::remove, req->topic)) return;
      break;
    case native::admin_op::describe:
      if (!check_topic(self, r, sec::acl_operation::describe, req->topic)) return;
      break;
    case native::admin_op::add_partitions:
      if (!check_topic(self, r, sec::acl_operation::alter, req->topic)) return;
      break;
    case native::admin_op::alter_config:
      if (!check_topic(self, r, sec::acl_operation::alter_configs, req->topic)) return;
      break;
    case native::admin_op::list:
      break;  // lists what the client may describe
  }
  // The broker's own topic, refused here with the reason as Kafka's DeleteTopics,
  // CreatePartitions and AlterConfigs refuse it once it exists (the registry refuses it too,
  // saying no more); the native protocol refuses it whether or not it exists yet.
  if (protocol::is_internal_topic(req->topic)) {
    const char* refused = req->op == native::admin_op::remove           ? "it cannot be deleted"
                          : req->op == native::admin_op::add_partitions ? "it cannot grow"
                          : req->op == native::admin_op::alter_config   ? "its configs cannot be changed"
                                                                        : nullptr;
    if (refused)
      return fail(self, r, errc::invalid_request,
                  "topic '" + req->topic + "' is internal: the broker keeps it, " + refused);
  }
  switch (req->op) {
    case native::admin_op::create: {
      // -1: the broker's default partition count, as Kafka's CreateTopics (KIP-464).
      const auto defaults =
          static_cast<std::int32_t>(std::max(1u, self->state.ctx->config.default_partitions));
      storage::topic_info info{req->topic, req->partitions == -1 ? defaults : req->partitions, {}};
      for (auto& c : req->configs) info.configs.emplace_back(c.key, c.value);
      // A key named twice keeps its last value, as in Kafka: only that one is checked.
      info.configs = last_value_of_each_key(std::move(info.configs));
      // The shared checks in their order (name, count, configs); a count has its own code.
      if (auto problem = creatable_name_problem(info.name))
        return fail(self, r, errc::invalid_request, problem->message);
      if (auto problem = partition_count_problem(info.partitions))
        return fail(self, r, errc::invalid_partition_count, *problem);
      if (auto problem = topic_configs_problem(info.configs))
        return fail(self, r, errc::invalid_request, *problem);
      self->request(registry, 10s, create_atom::value, std::move(info))
          .then([=](storage::topic_info&) { empty_ok(true); }, on_error);
      break;
    }
    case native::admin_op::remove:
      self->request(registry, registry_wait(self->state.ctx->config), delete_atom::value, req->topic)
          .then(empty_ok, on_error);
      break;
    case native::admin_op::list:
      self->request(registry, 10s, list_atom::value)
          .then(
              [=](std::vector<storage::topic_info>& topics) {
                respond(self, r, [&](protocol::buffer& out) {
                  native::encode_body(out, summaries(describable(self, std::move(topics))));
                });
              },
              on_error);
      break;
    case native::admin_op::describe:
      self->request(registry, 10s, describe_atom::value, req->topic)
          .then(
              [=](topic_description& d) {
                native::topic_detail t;
                t.topic = d.info.name;
                t.partitions = d.info.partitions;
                for (std::size_t i = 0; i < d.partitions.size(); ++i)
                  t.partition_states.push_back({static_cast<std::int32_t>(i),
                                                d.partitions[i].log_start,
                                                d.partitions[i].next_offset});
                for (std::size_t i = 0; i < d.partitions.size(); ++i)
                  t.partition_states[i].stored_bytes =
                      static_cast<std::int64_t>(d.partitions[i].stored_bytes());
                for (auto& [k, v] : d.info.configs) t.configs.push_back({k, v});
                respond(self, r, [&](protocol::buffer& out) { native::encode_body(out, t); });
              },
              on_error);
      break;
    case native::admin_op::add_partitions: {
      // Above the limit whatever the topic; the registry checks the rest against the topic.
      if (req->partitions > max_topic_partitions)
        return fail(self, r, errc::invalid_partition_count, *partition_count_problem(req->partitions));
      const auto topic = req->topic;
      const auto wanted = req->partitions;
      self->request(registry, 10s, grow_atom::value, topic, wanted)
          .then(empty_ok, [=](caf::error& e) {
            // A count not above the topic's: the registry's refusal names neither count, so
            // the topic's is looked up to say why, as Kafka's CreatePartitions says it.
            if (to_errc(e) != errc::invalid_partition_count) return fail(self, r, e);
            self->request(registry, 10s, topic_atom::value, topic, false)
                .then(
                    [=](storage::topic_info& info) {
                      fail(self, r, errc::invalid_partition_count,
                           partition_growth_problem(topic, info.partitions, wanted).value_or(""));
                    },
                    [=](caf::error&) { fail(self, r, errc::invalid_partition_count); });
          });
      break;
    }
    case native::admin_op::alter_config:
      alter_topic_config(self, r, registry, req->topic, req->configs);
      break;
  }
}

// In a cluster, who serves what (docs/cluster.md): the live nodes' native endpoints, every
// listed partition's leader, and the requested groups' coordinators. Outside one the answer
// stays as before: everything is served here.
void describe_cluster(native::metadata_response& m, const cluster_view& view,
                      const std::vector<std::string>& groups) {
  if (!view.clustered) return;
  m.node_id = view.self;
  for (const auto& [id, n] : view.nodes)
    if (n.native) m.nodes.push_back({id, n.native->host, n.native->port});
  for (const auto& t : m.topics)
    for (std::int32_t p = 0; p < t.partitions; ++p) {
      const topic_partition tp{t.topic, p};
      m.owners.push_back({t.topic, p, view.leader(tp), view.leader_epoch(tp)});
    }
  for (const auto& g : groups) m.coordinators.push_back({g, view.coordinator(g)});
}

void on_metadata(self_ptr self, request_ctx r, protocol::byte_view payload) {
  auto req = native::decode_metadata_request(payload);
  if (!req) return fail_decode(self, r, req.error(), payload);
  // Coordinators are answered in the cluster fields, which only `cluster` asks for: groups
  // named without it would go unanswered.
  if (!req->cluster && !req->groups.empty())
    return fail(self, r, errc::invalid_request,
                "groups' coordinators are answered in the cluster fields: set cluster to name groups");
  // A group id no request could use still has a coordinator to name: a client refreshing
  // what it cached (client::cluster_client) is not refused its partitions' leaders for it.
  auto registry = self->state.dir.registry;
  if (!registry) return fail(self, r, errc::not_ready);
  self->request(registry, 10s, list_atom::value)
      .then(
          [=, asked = req->cluster, groups = std::move(req->groups)](std::vector<storage::topic_info>& topics) {
            const auto& c = *self->state.ctx;
            native::metadata_response m;
            // As other nodes advertise this one (a node bound to 0.0.0.0 is not reached there).
            const auto& advertised = c.config.cluster.advertised_host;
            m.broker_host = advertised.empty() ? c.config.native.host : advertised;
            m.broker_port = c.native_port.load();
            m.broker_version = std::string("portask ") + version_string;
            m.topics = summaries(describable(self, std::move(topics)));
            if (asked) describe_cluster(m, *c.cluster(), groups);  // older clients read no more
            respond(self, r, [&](protocol::buffer& out) { native::encode_body(out, m); });
          },
          [=](caf::error& e) { fail(self, r, e); });
}

void on_list_offsets(self_ptr self, request_ctx r, protocol::byte_view payload) {
  auto req = native::decode_list_offsets(payload);
  if (!req) return fail_decode(self, r, req.error(), payload);
  if (!check_topic(self, r, sec::acl_operation::describe, req->topic)) return;
  const topic_partition tp{req->topic, req->partition};
  auto bridge = self->state.dir.bridge_for(tp);
  if (!bridge) return fail(self, r, errc::not_ready);
  const auto timestamp = req->timestamp;
  auto on_error = [=](caf::error& e) { fail(self, r, e); };
  ask_partition(
      self, self->state.dir, tp, std::chrono::milliseconds(10000),
      [=](storage::partition_bounds& b) {
        auto answer = [=](std::optional<native::offset_at_time> at) {
          respond(self, r, [&](protocol::buffer& out) {
            native::encode_body(out, native::list_offsets_response{b.log_start, b.next_offset, at});
          });
        };
        if (!timestamp) return answer(std::nullopt);
        if (*timestamp < 0) return fail(self, r, errc::invalid_request, "negative timestamp");
        if (b.log_start >= b.next_offset) return answer(native::offset_at_time{});
        // The bounded lookup Kafka's ListOffsets uses: a partition's whole log is not read
        // for one answer, and a lookup undecided after its reads is a timeout, not a guess.
        time_lookup look;
        look.bridge = bridge;
        look.tp = tp;
        look.codecs = &self->state.ctx->codecs;
        look.source = protocol_kind::portask;
        look.target = *timestamp;
        find_offset_for_time(
            self, std::move(look), b,
            [=](offset_found f) {
              if (f.gave_up) return fail(self, r, errc::timeout, "the lookup by time read as far as it may");
              answer(native::offset_at_time{f.offset, f.timestamp});
            },
            on_error);
      },
      on_error, bounds_atom::value);
}

// -- group admin ------------------------------------------------------------------------------


native::group_summary summary_of(const group_description& d) {
  return {d.group_id, d.state, d.protocol_type, static_cast<std::int32_t>(d.members.size())};
}

void describe_group(self_ptr self, request_ctx r, const std::string& group) {
  with_group(self, r, group, [=](group_coordinator_actor& g) {
    self->request(g, 10s, describe_atom::value)
        .then(
            [=](group_description& d) {
              if (d.state == "Dead")
                return fail(self, r, errc::unknown_group, "no group '" + group + "'");
              native::group_detail out;
              out.summary = summary_of(d);
              out.summary.group = group;
              out.protocol_name = d.protocol_name;
              out.generation = d.generation;
              out.leader = d.leader;
              for (const auto& m : d.members)
                out.members.push_back(
                    {m.member_id, m.client_id, m.client_host,
                     protocol::member_partitions(d.protocol_type, protocol::as_bytes(m.assignment))});
              self->request(g, 10s, offset_atom::value, std::vector<topic_partition>{})
                  .then(
                      [=](std::vector<storage::group_offset>& offsets) mutable {
                        for (auto& o : offsets)
                          out.offsets.push_back({o.tp.topic, o.tp.partition, o.offset.offset,
                                                 o.offset.metadata});
                        std::sort(out.offsets.begin(), out.offsets.end(),
                                  [](const auto& a, const auto& b) {
                                    return std::tie(a.topic, a.partition) <
                                           std::tie(b.topic, b.partition);
                                  });
                        respond(self, r,
                                [&](protocol::buffer& buf) { native::encode_body(buf, out); });
                      },
                      [=](caf::error& e) { fail(self, r, e); });
            },
            [=](caf::error& e) { fail(self, r, e); });
  });
}

void on_group_admin(self_ptr self, request_ctx r, protocol::byte_view payload) {
  auto req = native::decode_group_admin(payload);
  if (!req) return fail_decode(self, r, req.error(), payload);
  if (req->op != native::group_op::list && !check_group_id(self, r, req->group)) return;
  if (req->op == native::group_op::describe && !check_group(self, r, sec::acl_operation::describe, req->group))
    return;
  if (req->op == native::group_op::remove && !check_group(self, r, sec::acl_operation::remove, req->group))
    return;
  switch (req->op) {
    case native::group_op::list: {
      auto groups = self->state.dir.groups;
      if (!groups) return fail(self, r, errc::not_ready);
      self->request(groups, 10s, list_atom::value)
          .then(
              [=](std::vector<group_description>& all) {
                std::vector<native::group_summary> out;
                // Kafka's empty group id (old standalone consumers) has no native name.
                for (const auto& d : all)
                  if (d.state != "Dead" && !d.group_id.empty() &&
                      allowed(self, sec::acl_operation::describe, sec::resource_type::group, d.group_id,
                              denial_log::quiet))
                    out.push_back(summary_of(d));
                std::sort(out.begin(), out.end(),
                          [](const auto& a, const auto& b) { return a.group < b.group; });
                respond(self, r, [&](protocol::buffer& buf) { native::encode_body(buf, out); });
              },
              [=](caf::error& e) { fail(self, r, e); });
      break;
    }
    case native::group_op::describe:
      describe_group(self, r, req->group);
      break;
    case native::group_op::remove:
      with_group(self, r, req->group, [=](group_coordinator_actor& g) {
        self->request(g, group_write_wait(self->state.ctx->config), delete_atom::value,
                      std::vector<topic_partition>{}, true)
            .then([=](std::vector<topic_partition>&) { respond(self, r, [](protocol::buffer&) {}); },
                  [=](caf::error& e) { fail(self, r, e); });
      });
      break;
  }
}

void on_delete_records(self_ptr self, request_ctx r, protocol::byte_view payload) {
  auto req = native::decode_delete_records(payload);
  if (!req) return fail_decode(self, r, req.error(), payload);
  if (req->offset < -1) return fail(self, r, errc::offset_out_of_range);
  if (!check_topic(self, r, sec::acl_operation::remove, req->topic)) return;
  ask_partition(
      self, self->state.dir, topic_partition{req->topic, req->partition}, std::chrono::milliseconds(30000),
      [=](storage::partition_bounds& b) {
        respond(self, r, [&](protocol::buffer& out) {
          native::encode_body(out, native::list_offsets_response{b.log_start, b.next_offset, std::nullopt});
        });
      },
      [=](caf::error& e) { fail(self, r, e); }, delete_atom::value, req->offset);
}

// -- users and ACLs (docs/protocol.md, UserAdmin and AclAdmin): what Kafka's
// Describe/AlterUserScramCredentials and Create/Describe/DeleteAcls do, with their checks ---

bool check_cluster(self_ptr self, const request_ctx& r, sec::acl_operation op) {
  if (allowed(self, op, sec::resource_type::cluster, sec::cluster_resource_name)) return true;
  fail(self, r, errc::authorization_failed, std::string(sec::to_string(op)) + " on the cluster");
  return false;
}

void on_user_admin(self_ptr self, request_ctx r, protocol::byte_view payload) {
  auto req = native::decode_user_admin(payload);
  if (!req) return fail_decode(self, r, req.error(), payload);
  if (req->op == native::user_op::list) {
    if (!check_cluster(self, r, sec::acl_operation::describe)) return;
    std::vector<native::user_credential_info> out;
    for (const auto& [key, c] : self->state.ctx->access.snapshot()->credentials)
      out.push_back({key.first, std::string(sec::mechanism_name(key.second)), c.iterations});
    return respond(self, r, [&](protocol::buffer& buf) { native::encode_body(buf, out); });
  }
  if (!check_cluster(self, r, sec::acl_operation::alter)) return;
  if (req->user.empty()) return fail(self, r, errc::invalid_request, "empty user name");
  const auto m = sec::scram_mechanism_named(req->mechanism);
  if (!m) return fail(self, r, errc::invalid_request, "unknown SCRAM mechanism " + req->mechanism);
  auto security = self->state.dir.security;
  if (!security) return fail(self, r, errc::not_ready);
  if (req->op == native::user_op::remove) {
    self->request(security, 10s, delete_atom::value, req->user, *m)
        .then(
            [=, user = req->user](bool existed) {
              if (!existed) return fail(self, r, errc::invalid_request, "no such credential of user " + user);
              respond(self, r, [](protocol::buffer&) {});
            },
            [=](caf::error& e) { fail(self, r, e); });
    return;
  }
  if (req->iterations < sec::scram_min_iterations || req->iterations > sec::scram_max_iterations)
    return fail(self, r, errc::invalid_request,
                "iterations must be between " + std::to_string(sec::scram_min_iterations) + " and " +
                    std::to_string(sec::scram_max_iterations));
  const std::string salt(protocol::as_chars(req->salt));
  const std::string salted(protocol::as_chars(req->salted_password));
  if (salt.empty() || salted.size() != sec::digest_size(sec::hash_of(*m)))
    return fail(self, r, errc::invalid_request, "salt or salted password is empty or of the wrong size");
  storage::user_credential c{req->user, sec::scram_credential_from_salted(*m, salted, salt, req->iterations)};
  self->request(security, 10s, create_atom::value, std::move(c))
      .then([=](bool) { respond(self, r, [](protocol::buffer&) {}); }, [=](caf::error& e) { fail(self, r, e); });
}

native::acl_entry entry_of(const sec::acl_binding& b) {
  return {static_cast<std::uint8_t>(b.resource), b.name, static_cast<std::uint8_t>(b.pattern), b.principal, b.host,
          static_cast<std::uint8_t>(b.operation), static_cast<std::uint8_t>(b.permission)};
}

sec::acl_filter filter_of(const native::acl_entry& e) {
  auto text = [](const std::string& s) { return s.empty() ? std::nullopt : std::optional<std::string>(s); };
  return {static_cast<sec::resource_type>(e.resource_type), text(e.resource_name),
          static_cast<sec::pattern_type>(e.pattern_type),   text(e.principal),
          text(e.host),                                     static_cast<sec::acl_operation>(e.operation),
          static_cast<sec::acl_permission>(e.permission)};
}

// A filter names only values Kafka's filters may hold (unknown codes and out-of-range values are refused).
std::string invalid_filter(const sec::acl_filter& f) {
  const auto resource = static_cast<int>(f.resource), pattern = static_cast<int>(f.pattern);
  const auto op = static_cast<int>(f.operation), perm = static_cast<int>(f.permission);
  if (resource < 1 || resource > 7) return "unknown resource type " + std::to_string(resource);
  if (pattern < 1 || pattern > 4) return "unknown pattern type " + std::to_string(pattern);
  if (op < 1 || op > 14) return "unknown operation " + std::to_string(op);
  if (perm < 1 || perm > 3) return "unknown permission " + std::to_string(perm);
  return {};
}

void on_acl_admin(self_ptr self, request_ctx r, protocol::byte_view payload) {
  auto req = native::decode_acl_admin(payload);
  if (!req) return fail_decode(self, r, req.error(), payload);
  const bool listing = req->op == native::acl_op::list;
  if (!check_cluster(self, r, listing ? sec::acl_operation::describe : sec::acl_operation::alter)) return;
  // As Kafka's ACL requests: a binding stored while nothing checks it would be listed and
  // never applied.
  if (!self->state.ctx->access.authorization())
    return fail(self, r, errc::invalid_request,
                "ACLs are not checked: the broker runs with authorization off (--authorization on)");
  auto security = self->state.dir.security;
  if (req->op == native::acl_op::create) {
    std::vector<sec::acl_binding> bindings;
    for (const auto& e : req->entries) {
      sec::acl_binding b{static_cast<sec::resource_type>(e.resource_type), e.resource_name,
                         static_cast<sec::pattern_type>(e.pattern_type), e.principal, e.host,
                         static_cast<sec::acl_operation>(e.operation), static_cast<sec::acl_permission>(e.permission)};
      if (auto why = sec::invalid_binding(b); !why.empty()) return fail(self, r, errc::invalid_request, why);
      bindings.push_back(std::move(b));
    }
    if (bindings.empty()) return fail(self, r, errc::invalid_request, "no binding to create");
    if (!security) return fail(self, r, errc::not_ready);
    self->request(security, 10s, create_atom::value, std::move(bindings))
        .then([=](bool) { respond(self, r, [](protocol::buffer& buf) { native::encode_body(buf, std::vector<native::acl_entry>{}); }); },
              [=](caf::error& e) { fail(self, r, e); });
    return;
  }
  std::vector<sec::acl_filter> filters;
  for (const auto& e : req->entries) {
    filters.push_back(filter_of(e));
    if (auto why = invalid_filter(filters.back()); !why.empty()) return fail(self, r, errc::invalid_request, why);
  }
  if (listing) {
    std::vector<native::acl_entry> out;
    for (const auto& b : self->state.ctx->access.snapshot()->acls.bindings())
      if (filters.empty() || std::any_of(filters.begin(), filters.end(), [&](const auto& f) { return sec::matches(f, b); }))
        out.push_back(entry_of(b));
    return respond(self, r, [&](protocol::buffer& buf) { native::encode_body(buf, out); });
  }
  if (filters.empty()) return fail(self, r, errc::invalid_request, "no filter: name what to delete");
  if (!security) return fail(self, r, errc::not_ready);
  self->request(security, 10s, delete_atom::value, std::move(filters))
      .then(
          [=](const std::vector<sec::acl_binding>& removed) {
            std::vector<native::acl_entry> out;
            for (const auto& b : removed) out.push_back(entry_of(b));
            respond(self, r, [&](protocol::buffer& buf) { native::encode_body(buf, out); });
          },
          [=](caf::error& e) { fail(self, r, e); });
}

// The kinds Kafka's APIs count as (api_table.cpp): InitProducer as InitProducerId, users and
// ACLs as their Kafka admin APIs (docs/operations.md).
request_kind kind_of(message_type t) {
  switch (t) {
    case message_type::publish:
    case message_type::init_producer: return request_kind::publish;
    case message_type::fetch: return request_kind::fetch;
    case message_type::subscribe:
    case message_type::credit:
    case message_type::unsubscribe: return request_kind::subscribe;
    case message_type::ack: return request_kind::commit;
    case message_type::offset_fetch: return request_kind::offset_fetch;
    case message_type::list_offsets: return request_kind::list_offsets;
    case message_type::topic_admin:
    case message_type::delete_records: return request_kind::topic_admin;
    case message_type::group_admin: return request_kind::group;
    case message_type::authenticate: return request_kind::authenticate;
    case message_type::user_admin:
    case message_type::acl_admin: return request_kind::security_admin;
    case message_type::metadata: return request_kind::metadata;
    case message_type::heartbeat: return request_kind::heartbeat;
    case message_type::group_join:
    case message_type::group_leave: return request_kind::group;
    default: return request_kind::other;
  }
}

// One step of a SASL exchange (docs/protocol.md, Authenticate). A failure closes the
// connection once the error is written.
void on_authenticate(self_ptr self, request_ctx r, protocol::byte_view payload) {
  auto& st = self->state;
  auto req = native::decode_authenticate(payload);
  if (!req) return fail_decode(self, r, req.error(), payload);
  if (!st.sasl) return fail(self, r, errc::invalid_request, "this listener does not authenticate");
  auto close_after = [&](std::string why) {
    // Both may quote what the client sent: printable, so no log line is forged.
    logging::native().warn("native {}: authentication with {} failed: {}; closing", st.session->peer(),
                           printable(req->mechanism), printable(why, 256));
    start_closing(self);
    fail(self, r, errc::authentication_failed, why);
  };
  // A new exchange starts with a mechanism different from the one in progress, or after
  // the previous one ended.
  if (req->mechanism != st.sasl->mechanism() || !st.sasl->in_exchange()) {
    if (!st.sasl->start(req->mechanism))
      return close_after("mechanism " + req->mechanism + " is not offered here");
  }
  auto step = st.sasl->respond(protocol::as_chars(req->token));
  using outcome = sasl_session::step::outcome;
  if (step.result == outcome::failed) return close_after(step.error);
  const bool done = step.result == outcome::authenticated;
  if (done) {
    st.principal = st.sasl->principal();
    st.session->authenticated();
    logging::native().info("native {}: authenticated as {} ({})", st.session->peer(), st.principal,
                           req->mechanism);
  }
  respond(self, r, [&](protocol::buffer& out) {
    native::encode_body(out, native::authenticate_response{protocol::as_bytes(step.token), done});
  });
}

void on_frame(self_ptr self, protocol::buffer& bytes) {
  if (self->state.closing) return;  // answering what came before, then closing
  // The session's framer already checked magic, version, type, length and CRC.
  auto h = protocol::decode_header(bytes, protocol::frame_limits{UINT32_MAX});
  if (!h) return;
  const protocol::byte_view payload{bytes.data() + protocol::frame_header_size, h->length};
  request_ctx r{reserve(self, bytes.size()), native::peek_request_id(payload), h->type,
                kind_of(h->type), clock_type::now()};
  // Any other request goes after the publishes before it (its bridge, or another actor).
  if (h->type != message_type::publish && !self->state.bursts.empty()) flush_publishes(self);
  auto& st = self->state;
  if (st.sasl && !st.sasl->authenticated() && h->type != message_type::authenticate &&
      h->type != message_type::heartbeat) {
    logging::native().warn("native {}: {} before authentication; closing", st.session->peer(),
                           protocol::to_string(h->type));
    start_closing(self);
    return fail(self, r, errc::authentication_required, "send Authenticate first");
  }
  // The encrypted flag is refused on every frame (docs/protocol.md section 3), not only where
  // a batch's flags are read: a frame is never served as if the flag were not set.
  if (h->flags & protocol::frame_flags::encrypted)
    return fail(self, r, errc::encrypted_unsupported,
                "the encrypted flag (0x0002) is set on a " + std::string(protocol::to_string(h->type)) +
                    " frame; this broker has no key");
  switch (h->type) {
    case message_type::publish: return on_publish(self, r, *h, bytes, payload);
    case message_type::fetch: return on_fetch(self, r, payload);
    case message_type::subscribe: return on_subscribe(self, r, payload);
    case message_type::credit: return on_credit(self, r, payload);
    case message_type::unsubscribe: return on_unsubscribe(self, r, payload);
    case message_type::ack: return on_ack(self, r, payload);
    case message_type::offset_fetch: return on_offset_fetch(self, r, payload);
    case message_type::topic_admin: return on_topic_admin(self, r, payload);
    case message_type::metadata: return on_metadata(self, r, payload);
    case message_type::list_offsets: return on_list_offsets(self, r, payload);
    case message_type::group_join: return on_group_join(self, r, payload);
    case message_type::group_leave: return on_group_leave(self, r, payload);
    case message_type::init_producer: return on_init_producer(self, r, payload);
    case message_type::delete_records: return on_delete_records(self, r, payload);
    case message_type::group_admin: return on_group_admin(self, r, payload);
    case message_type::authenticate: return on_authenticate(self, r, payload);
    case message_type::user_admin: return on_user_admin(self, r, payload);
    case message_type::acl_admin: return on_acl_admin(self, r, payload);
    case message_type::heartbeat: {
      if (!native::decode_heartbeat(payload)) return fail(self, r, errc::malformed_payload);
      return respond(self, r,
                     [](protocol::buffer& out) { native::encode_heartbeat_response(out, wall_clock_ms()); });
    }
    case message_type::error:
    case message_type::response:
    case message_type::deliver:
    case message_type::group_assignment:
      return fail(self, r, errc::invalid_request, "a client does not send this message type");
  }
}

// Serves a read's frames in order, then sends the publishes gathered from them. While
// publishes wait for a topic lookup, only further publishes go on (those of that topic wait
// with them, in order); the first other request and everything after it are held until the
// lookups are done (look_up_partition_count), so that no request overtakes a publish.
void serve_frames(self_ptr self, std::vector<protocol::buffer> frames) {
  auto& st = self->state;
  auto is_publish = [](const protocol::buffer& frame) {
    auto h = protocol::decode_header(frame, protocol::frame_limits{UINT32_MAX});
    return h && h->type == message_type::publish;
  };
  for (auto& frame : frames) {
    const bool hold = !st.held_frames.empty() || (!st.awaiting_count.empty() && !is_publish(frame)) ||
                      over_decoded_budget(st);
    if (hold)
      st.held_frames.emplace_back(std::move(frame));
    else
      on_frame(self, frame);
  }
  flush_publishes(self);
}

native_connection_actor::behavior_type connection_impl(self_ptr self, std::shared_ptr<broker_context> ctx,
                              supervisor_actor supervisor, std::shared_ptr<tcp_session> session) {
    self->state.ctx = ctx;
    self->state.session = session;
    self->state.responses = std::make_unique<response_queue>(session);
    self->state.polls = std::make_unique<long_polls>(ctx, self->state.dir);
    track_connection(self, ctx, supervisor, session, protocol_kind::portask);
    self->state.acl = std::make_unique<authorization_cache>(ctx->access);
    const auto& peer = session->peer();
    self->state.host = sec::client_host(peer.substr(0, peer.rfind(':')));
    // A verified client certificate names the principal (SASL, if also required, replaces it).
    if (!session->tls_principal().empty()) self->state.principal = session->tls_principal();
    if (ctx->config.native.sasl)
      self->state.sasl = std::make_unique<sasl_session>(ctx->access, ctx->config.security.sasl_mechanisms,
                                                        self->state.host.text());
    self->set_down_handler([=](caf::down_msg& down) {
      std::erase_if(self->state.memberships,
                    [&](const auto& m) { return m.second.address() == down.source; });
      update_hold(self);
    });
    return {
        [=](frame_atom, std::vector<protocol::buffer>& frames) {
          serve_frames(self, std::move(frames));
        },
        [=](closed_atom) {
          self->state.peer_closed = true;
          start_closing(self);
          quit_if_answered_all(self);
        },
        [=](closed_atom, errc e) {
          auto& st = self->state;
          if (close_deadline::quit_if_passed(self, protocol_kind::portask)) return;
          // Framing error: the stream cannot be resynchronised (the session reads no more).
          // The requests read before the bad bytes are answered first, in order, those held
          // behind a lookup or the decoded budget included; then the error, then the close.
          ctx->metrics.request(protocol_kind::portask, request_kind::other, 0ns, true);
          st.framing_error = e;
          serve_held_frames(self);
          // Still waiting for lookups or held frames: the close has begun all the same.
          if (!st.closing) st.deadline.arm(self, *st.session);
        },
        [=](subscribe_atom, std::uint32_t id) { pump(self, id); },  // retry after an error
        [=](drained_atom) {  // the socket took the queued output: pushes resume
          self->state.drain_requested = false;
          std::vector<std::uint32_t> ids;
          for (const auto& [id, sub] : self->state.subscriptions) ids.push_back(id);
          for (auto id : ids) pump(self, id);
        },
        [=](directory_atom a, actor_directory& next) {
          auto& st = self->state;
          st.dir = std::move(next);
          for (const auto& [id, member] : st.memberships) self->send(member, a, st.dir);
        },
    };
}

}  // namespace

native_connection_actor spawn_portask_connection(caf::actor_system& sys, std::shared_ptr<broker_context> ctx,
                                                 supervisor_actor supervisor,
                                                 std::shared_ptr<tcp_session> session) {
  return sys.spawn(connection_impl, std::move(ctx), std::move(supervisor), std::move(session));
}

protocol::buffer portask_rejection_frame() {
  native::error_response err{0, static_cast<std::uint16_t>(errc::too_many_connections), false,
                             make_error_code(errc::too_many_connections).message()};
  protocol::buffer out;
  native::encode(out, err);
  return out;
}

}  // namespace portask
