#pragma once
/// Shared by the Kafka API handlers: the connection actor's state, the parsed request, the
/// response writer, and the API table every handler is registered in.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <stdexcept>
#include <unordered_map>

#include "actors/runtime/broker_context.hpp"
#include "actors/connections/kafka/error_codes.hpp"
#include "actors/connections/kafka/response_errors.hpp"
#include "actors/connections/transport/connection_lifecycle.hpp"
#include "actors/connections/transport/log_limiter.hpp"
#include "actors/connections/transport/long_polls.hpp"
#include "actors/connections/transport/response_queue.hpp"
#include "actors/pipeline/partition.hpp"
#include "actors/security/sasl_session.hpp"
#include "logging/loggers.hpp"
#include "portask/kafka/kafka_messages.hpp"

namespace portask::kafka {

namespace msg = protocol::kafka::messages;

inline constexpr std::string_view cluster_id = "portask";

struct connection_state {
  std::shared_ptr<broker_context> ctx;
  /// Where the bridges, registry, groups and security actors are (from the supervisor);
  /// declared before the members that use it as they go (presence, polls).
  actor_directory dir;
  hook_presence presence;
  std::shared_ptr<const kafka_endpoint> endpoint;  ///< the listener the client came in on
  std::shared_ptr<tcp_session> session;
  std::unique_ptr<response_queue> responses;
  std::unique_ptr<long_polls> polls;  ///< cancelled when answered otherwise or on close
  std::string client_id;  ///< from the latest request header (group members' descriptions)
  // Topic facts this connection has looked up, kept while no topic is created, grown or
  // deleted anywhere (broker_context::topic_changes): see topic_caches().
  std::map<storage::topic_id, std::string> topic_names;  ///< Fetch v13+'s ids
  std::map<std::string, std::int32_t> commit_partition_counts;  ///< OffsetCommit's checks
  std::uint64_t topic_caches_as_of = 0;
  // -- security (docs/security.md) -------------------------------------------------------
  /// Where authentication stands. `open`: the listener does not authenticate.
  enum class sasl_phase { open, handshake, authenticate, raw_token, authenticated };
  sasl_phase phase = sasl_phase::open;
  std::unique_ptr<sasl_session> sasl;  ///< on a SASL listener
  std::string principal{anonymous_principal};
  protocol::security::client_host host;  ///< the client's address, as ACLs name hosts
  std::unique_ptr<authorization_cache> acl;
  /// When the authenticated session ends without a re-authentication (KIP-368); none: never.
  std::optional<std::chrono::steady_clock::time_point> session_expiry;
  /// Ending: nothing read from now on is served; the connection goes once the answers to what
  /// was read before are written, or when `deadline` passes (close_after_answers).
  bool closing = false;
  /// The client closed: answers still being made are never sent, so not counted as sent.
  bool peer_closed = false;
  /// The stream could not be framed further: the requests held below are served (they came
  /// before the bad bytes), then the connection closes.
  bool end_after_held = false;
  close_deadline deadline;
  /// Produce requests not answered yet, by request: what each inflated and decoded (bytes
  /// and record structures, as their decompression budget counted). Past
  /// max_decompressed_bytes_per_request in all, the requests read next wait in
  /// `held_requests` until answers bring it down: each request is bounded by that budget,
  /// and pipelined ones together are too.
  std::unordered_map<std::uint64_t, std::uint64_t> decoded_by_seq;
  std::uint64_t decoded_bytes = 0;
  std::deque<protocol::buffer> held_requests;
  bool serving_held = false;
  static inline const char* name = "portask.kafka_connection";
};
using self_ptr = kafka_connection_actor::stateful_pointer<connection_state>;

struct request {
  std::int16_t api_key = 0;
  std::int16_t api_version = 0;
  std::int32_t correlation_id = 0;
  std::uint64_t seq = 0;
  request_kind kind = request_kind::other;
  const char* api_name = nullptr;  ///< Kafka's name of the API ("Produce"), for /metrics
  std::chrono::steady_clock::time_point start;
};

/// Called once the answer of request `seq` is complete (or nothing will be answered): its
/// decoded bytes no longer count, and requests held behind them go on.
void request_completed(self_ptr self, std::uint64_t seq);

/// Ends the connection once the answers to the requests read so far are written: nothing
/// read from now on is served (requests held behind decoded produce requests included), the
/// session reads no more, and parked fetches answer now. Kafka reads a connection's requests
/// one at a time, so whatever ends a connection, the requests before it have been answered: a
/// Produce pipelined ahead of a request that cannot be served is acknowledged, not stored and
/// then sent again by its producer. Answers still missing when `deadline` passes are given up.
/// Every way a connection ends goes through here, the client's own close included; a handler
/// may also set `closing` before its last respond(), which comes here.
inline void close_after_answers(self_ptr self) {
  auto& st = self->state;
  st.closing = true;
  st.held_requests.clear();
  st.polls->cancel_all();
  if (st.responses->empty()) return self->quit();
  if (st.deadline.arm(self, *st.session)) st.session->stop_reading();
}

/// Writes the response for `r`: size, header (v0, or v1 with tagged fields when
/// `flexible_header`), then the body encoded at the request's version. Record fields that
/// share stored bytes (Fetch) stay shared up to the socket. Counted as failed when `failed`
/// or when the body answers some topic or partition with an error.
/// A body holding a value longer than its Kafka length field (the writer throws
/// std::length_error rather than cut the length) is not sent: the connection is closed once
/// the answers before it are written (no answer is sent that the client would misread).
template <class Body>
void respond(self_ptr self, const request& r, const Body& body, bool flexible_header,
             bool failed = false) {
  failed = failed || response_errors::carried(body);
  protocol::gather_bytes out;
  out.owned().resize(4);
  protocol::kafka::writer w{out};
  w.i32(r.correlation_id);
  if (flexible_header) w.uvarint(0);
  auto& st = self->state;
  try {
    body.encode(w, r.api_version);
  } catch (const std::length_error& e) {
    logging::kafka().error("kafka {}: {} v{} response cannot be encoded ({}); closing", st.session->peer(),
                           r.api_name, r.api_version, e.what());
    const auto latency = std::chrono::steady_clock::now() - r.start;
    st.ctx->metrics.request(protocol_kind::kafka, r.kind, latency, true);
    st.ctx->metrics.kafka_request(r.api_key, r.api_name, latency, true);
    st.responses->complete(r.seq, {});
    return close_after_answers(self);
  }
  protocol::store_be32(out.owned().data(), static_cast<std::uint32_t>(out.size() - 4));
  const auto latency = std::chrono::steady_clock::now() - r.start;
  st.ctx->metrics.request(protocol_kind::kafka, r.kind, latency, failed);
  st.ctx->metrics.kafka_request(r.api_key, r.api_name, latency, failed);
  st.responses->complete(r.seq, std::move(out));
  if (st.closing) return close_after_answers(self);
  request_completed(self, r.seq);
}

/// The connection's topic caches, emptied first when topics changed since they were filled.
inline connection_state& topic_caches(self_ptr self) {
  auto& st = self->state;
  const auto now = st.ctx->topic_changes.load(std::memory_order_relaxed);
  if (now != st.topic_caches_as_of) {
    st.topic_names.clear();
    st.commit_partition_counts.clear();
    st.topic_caches_as_of = now;
  }
  return st;
}

/// How long an admin request (CreateTopics, DeleteTopics, CreatePartitions) waits for the
/// registry to make its change: until its `timeoutMs` has passed since it was taken up, as in
/// Kafka, where what is not done by then is answered REQUEST_TIMED_OUT and still completes.
/// Zero or less asks only that the change be started. Kafka then answers REQUEST_TIMED_OUT at
/// once for what it started (librdkafka hides that code); Portask waits for the change
/// itself, which the registry makes in milliseconds, as long as registry_wait allows, and
/// answers what happened: a client is never told of a failure that did not happen.
class admin_deadline {
 public:
  admin_deadline(const request& r, std::int32_t timeout_ms, const broker_config& config)
      : at_(r.start + (timeout_ms > 0 ? std::chrono::milliseconds(std::min(timeout_ms, 300000))
                                      : registry_wait(config))) {}
  /// What is left of it, at least 1 ms (a request with no time left still gets its answer:
  /// REQUEST_TIMED_OUT unless the registry is quicker).
  std::chrono::milliseconds left() const {
    const auto rest = std::chrono::duration_cast<std::chrono::milliseconds>(
        at_ - std::chrono::steady_clock::now());
    return std::max(rest, std::chrono::milliseconds(1));
  }

 private:
  std::chrono::steady_clock::time_point at_;
};

/// A request that gets no response (acks=0).
void respond_nothing(self_ptr self, const request& r);

using handler = void (*)(self_ptr, const request&, protocol::byte_view body);

struct api_entry {
  std::int16_t key;
  const char* name;  ///< Kafka's name of the API
  std::int16_t min_version;
  std::int16_t max_version;
  request_kind kind;
  handler handle;
  bool (*flexible)(std::int16_t);  ///< whether a version uses header v2 / v1
};

/// Every supported API; ApiVersions reports from this table.
const std::vector<api_entry>& api_table();
const api_entry* find_api(std::int16_t key);

void handle_api_versions(self_ptr, const request&, protocol::byte_view);
void handle_metadata(self_ptr, const request&, protocol::byte_view);
void handle_produce(self_ptr, const request&, protocol::byte_view);
void handle_fetch(self_ptr, const request&, protocol::byte_view);
void handle_list_offsets(self_ptr, const request&, protocol::byte_view);
void handle_create_topics(self_ptr, const request&, protocol::byte_view);
void handle_delete_topics(self_ptr, const request&, protocol::byte_view);
void handle_delete_records(self_ptr, const request&, protocol::byte_view);
void handle_create_partitions(self_ptr, const request&, protocol::byte_view);
void handle_describe_configs(self_ptr, const request&, protocol::byte_view);
void handle_alter_configs(self_ptr, const request&, protocol::byte_view);
void handle_incremental_alter_configs(self_ptr, const request&, protocol::byte_view);
void handle_describe_cluster(self_ptr, const request&, protocol::byte_view);
void handle_init_producer_id(self_ptr, const request&, protocol::byte_view);
void handle_offset_for_leader_epoch(self_ptr, const request&, protocol::byte_view);
void handle_describe_log_dirs(self_ptr, const request&, protocol::byte_view);
void handle_elect_leaders(self_ptr, const request&, protocol::byte_view);
void handle_describe_producers(self_ptr, const request&, protocol::byte_view);
void handle_find_coordinator(self_ptr, const request&, protocol::byte_view);
void handle_join_group(self_ptr, const request&, protocol::byte_view);
void handle_sync_group(self_ptr, const request&, protocol::byte_view);
void handle_heartbeat(self_ptr, const request&, protocol::byte_view);
void handle_leave_group(self_ptr, const request&, protocol::byte_view);
void handle_offset_commit(self_ptr, const request&, protocol::byte_view);
void handle_offset_fetch(self_ptr, const request&, protocol::byte_view);
void handle_list_groups(self_ptr, const request&, protocol::byte_view);
void handle_describe_groups(self_ptr, const request&, protocol::byte_view);
void handle_delete_groups(self_ptr, const request&, protocol::byte_view);
void handle_offset_delete(self_ptr, const request&, protocol::byte_view);
void handle_sasl_handshake(self_ptr, const request&, protocol::byte_view);
void handle_sasl_authenticate(self_ptr, const request&, protocol::byte_view);
void handle_describe_user_scram_credentials(self_ptr, const request&, protocol::byte_view);
void handle_alter_user_scram_credentials(self_ptr, const request&, protocol::byte_view);
void handle_create_acls(self_ptr, const request&, protocol::byte_view);
void handle_describe_acls(self_ptr, const request&, protocol::byte_view);
void handle_delete_acls(self_ptr, const request&, protocol::byte_view);

/// A SASL token that came without a Kafka header, after SaslHandshake v0 (the legacy flow):
/// answered the same way, without a header; a failure closes the connection.
void on_raw_sasl_token(self_ptr self, const protocol::buffer& frame);

/// Whether this connection's principal may do `op` on the resource (always, with
/// authorization off). A denial is logged unless `log` is quiet (denial_log says when).
inline bool allowed(self_ptr self, protocol::security::acl_operation op,
                    protocol::security::resource_type type, std::string_view name,
                    denial_log log = denial_log::logged) {
  auto& st = self->state;
  return st.acl->allowed(st.principal, st.host, op, type, name, log);
}
inline bool allowed_on_some(self_ptr self, protocol::security::acl_operation op,
                            protocol::security::resource_type type) {
  auto& st = self->state;
  return st.acl->allowed_on_some(st.principal, st.host, op, type);
}
inline bool allowed_on_cluster(self_ptr self, protocol::security::acl_operation op,
                               denial_log log = denial_log::logged) {
  return allowed(self, op, protocol::security::resource_type::cluster,
                 protocol::security::cluster_resource_name, log);
}

/// This node's broker id: its cluster node id, 0 outside a cluster.
inline std::int32_t broker_id(self_ptr self) { return self->state.ctx->cluster()->self; }

/// A broker as the clients of this connection's listener reach it.
struct broker_address {
  std::int32_t id = -1;
  std::string host;
  std::int32_t port = -1;
};
/// Broker `id` on the listener this client came in on (this node: as the listener
/// advertises itself; another live node: as it registered that listener); none for a node
/// that is not live or has no listener of that name.
inline std::optional<broker_address> address_of(self_ptr self, const cluster_view& v, std::int32_t id) {
  const auto& endpoint = *self->state.endpoint;
  if (id == v.self) return broker_address{id, endpoint.advertised_host, endpoint.advertised_port.load()};
  const auto* n = v.node(id);
  const auto* hp = n != nullptr ? n->kafka_listener(endpoint.name) : nullptr;
  if (hp == nullptr) return std::nullopt;
  return broker_address{id, hp->host, hp->port};
}
/// Every live broker with this listener, by id (this node always).
inline std::vector<broker_address> brokers_of(self_ptr self, const cluster_view& v) {
  std::vector<broker_address> out;
  bool self_listed = false;
  for (const auto& [id, n] : v.nodes) {
    if (auto a = address_of(self, v, id)) out.push_back(std::move(*a));
    self_listed = self_listed || id == v.self;
  }
  if (!self_listed) {
    out.push_back(*address_of(self, v, v.self));
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  }
  return out;
}

/// KIP-951: a partition answered NOT_LEADER_OR_FOLLOWER names its current leader and that
/// node's endpoint (Fetch v16 and Produce v10 carry them; earlier versions leave them out),
/// so the client can go there without asking Metadata first. Never this node: its view may
/// still show it as the leader for a moment after the store stopped taking its writes (the
/// topic was deleted and created again through another node, or its lease was taken while
/// it was paused) until its next lease round, and naming itself would send the client
/// straight back to it. The hint is then left empty (-1), as Kafka leaves it when it knows
/// no leader. (FENCED_LEADER_EPOCH on the leader names the leader, this node.)
template <class Response, class Partition>
void note_current_leader(self_ptr self, Response& res, Partition& o, const topic_partition& tp) {
  const auto view = self->state.ctx->cluster();
  const auto leader = view->leader(tp);
  if (leader == view->self && o.errorCode == static_cast<std::int16_t>(error_code::not_leader_or_follower))
    return;
  const auto address = leader >= 0 ? address_of(self, *view, leader) : std::nullopt;
  if (!address) return;
  o.currentLeader.leaderId = leader;
  o.currentLeader.leaderEpoch = view->leader_epoch(tp);
  for (const auto& n : res.nodeEndpoints)
    if (n.nodeId == leader) return;
  res.nodeEndpoints.push_back({leader, address->host, address->port, std::nullopt});
}

/// Runs `f(coordinator)` for `group`, or `fail(errc)` when the group directory cannot be
/// reached (restarting) or the group id is invalid.
template <class F, class Fail>
void with_group(self_ptr self, const std::string& group, F f, Fail fail) {
  using namespace std::chrono_literals;
  // A group id sent within a Kafka string may read longer than one (bytes that are not UTF-8
  // read as U+FFFD, three bytes each). Such a group, stored, would make every ListGroups
  // answer impossible to encode: it is INVALID_GROUP_ID, as the native protocol bounds group
  // ids (Kafka fails later, where it serializes the id).
  if (group.size() > protocol::kafka::max_string_bytes) return fail(errc::invalid_request);
  auto groups = self->state.dir.groups;
  if (!groups) return fail(errc::not_ready);
  self->request(groups, 10s, group_atom::value, group)
      .then([=](group_coordinator_actor& g) mutable { f(g); },
            [=](caf::error& e) mutable { fail(to_errc(e)); });
}

/// Whether the response to `r` uses response header v1 (tagged fields). ApiVersions always
/// answers with header v0 so that a client of any version can read it.
bool flexible_response_header(const request& r);

/// The log lines of refuse_unreadable: a client can send such requests at will (on a
/// connection that stays open, where the response has an error code), so one line a second
/// across every API, with the count of the others.
inline log_limiter& unreadable_requests() {
  static log_limiter lines;
  return lines;
}

/// A request of a supported version whose body cannot be read: answered with the API's
/// response carrying INVALID_REQUEST where that response has a top-level error code at this
/// version, otherwise (nothing to answer with) the connection is closed after the answers to
/// the requests before it. One log line (unreadable_requests).
template <class Res>
void refuse_unreadable(self_ptr self, const request& r, bool has_error_code) {
  if (const auto events = unreadable_requests().count(); events > 0)
    logging::kafka().warn("kafka {}: unreadable API {} v{} request (correlation {}); {}{}",
                          self->state.session->peer(), r.api_key, r.api_version, r.correlation_id,
                          has_error_code ? "answered INVALID_REQUEST" : "closing",
                          more_since_last_line(events));
  if (!has_error_code) {
    self->state.responses->complete(r.seq, {});
    return close_after_answers(self);
  }
  if constexpr (requires(Res x) { x.errorCode; }) {
    Res res;
    res.errorCode = static_cast<std::int16_t>(error_code::invalid_request);
    respond(self, r, res, flexible_response_header(r), true);
  }
}

/// Reads a request body as Apache Kafka does: the fields of the request's version, unknown
/// tagged fields skipped, and bytes after the last field ignored (librdkafka >= 2.3 leaves
/// some behind in Metadata v9+).
template <class Req>
bool read_request_body(protocol::byte_view body, const request& r, Req& out) {
  protocol::kafka::reader rd{body};
  if (!out.decode(rd, r.api_version)) return false;
  if (!rd.at_end())
    logging::kafka().debug("kafka: API {} v{} request: {} bytes after the last field ignored", r.api_key,
                  r.api_version, rd.remaining());
  return true;
}

/// read_request_body; when the body cannot be read, false, and the request has been answered
/// or the connection is closing (refuse_unreadable).
template <class Res, class Req>
bool decode_request(self_ptr self, const request& r, protocol::byte_view body, Req& out,
                    bool (*has_error_code)(std::int16_t)) {
  if (read_request_body(body, r, out)) return true;
  refuse_unreadable<Res>(self, r, has_error_code(r.api_version));
  return false;
}

/// decode_request for API `Name`: PORTASK_KAFKA_DECODE(Heartbeat, body, req).
#define PORTASK_KAFKA_DECODE(Name, body, req) \
  decode_request<msg::Name##Response>(self, r, body, req, msg::Name##Response_has_error_code)

}  // namespace portask::kafka
