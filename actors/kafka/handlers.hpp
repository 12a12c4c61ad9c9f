#pragma once
/// Shared by the Kafka API handlers: the connection actor's state, the parsed request, the
/// response writer, and the API table every handler is registered in.

#include <chrono>
#include <memory>

#include "actors/broker_context.hpp"
#include "actors/kafka/error_codes.hpp"
#include "actors/network/response_queue.hpp"
#include "portask/kafka/kafka_messages.hpp"

namespace portask::kafka {

namespace msg = protocol::kafka::messages;

/// This broker as Kafka clients see it: a one-broker cluster.
inline constexpr std::int32_t broker_id = 0;
inline constexpr std::string_view cluster_id = "portask";

struct connection_state {
  std::shared_ptr<broker_context> ctx;
  std::shared_ptr<tcp_session> session;
  std::unique_ptr<response_queue> responses;
  std::string client_id;  ///< from the latest request header (group members' descriptions)
  bool closing = false;
  static inline const char* name = "portask.kafka_connection";
};
using self_ptr = caf::stateful_actor<connection_state>*;

struct request {
  std::int16_t api_key = 0;
  std::int16_t api_version = 0;
  std::int32_t correlation_id = 0;
  std::uint64_t seq = 0;
  request_kind kind = request_kind::other;
  std::chrono::steady_clock::time_point start;
};

/// Writes the response for `r`: size, header (v0, or v1 with tagged fields when
/// `flexible_header`), then the body encoded at the request's version.
template <class Body>
void respond(self_ptr self, const request& r, const Body& body, bool flexible_header,
             bool failed = false) {
  protocol::buffer out;
  out.resize(4);
  protocol::kafka::writer w{out};
  w.i32(r.correlation_id);
  if (flexible_header) w.uvarint(0);
  body.encode(w, r.api_version);
  protocol::store_be32(out.data(), static_cast<std::uint32_t>(out.size() - 4));
  auto& st = self->state;
  st.ctx->metrics.request(protocol_kind::kafka, r.kind, std::chrono::steady_clock::now() - r.start,
                          failed);
  st.responses->complete(r.seq, std::move(out));
  if (st.closing && st.responses->empty()) self->quit();
}

/// A request that gets no response (acks=0).
void respond_nothing(self_ptr self, const request& r);

using handler = void (*)(self_ptr, const request&, protocol::byte_view body);

struct api_entry {
  std::int16_t key;
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
void handle_create_partitions(self_ptr, const request&, protocol::byte_view);
void handle_describe_configs(self_ptr, const request&, protocol::byte_view);
void handle_describe_cluster(self_ptr, const request&, protocol::byte_view);
void handle_init_producer_id(self_ptr, const request&, protocol::byte_view);
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

/// Runs `f(coordinator)` for `group`, or `fail(errc)` when the group directory cannot be
/// reached (restarting) or the group id is invalid.
template <class F, class Fail>
void with_group(self_ptr self, const std::string& group, F f, Fail fail) {
  using namespace std::chrono_literals;
  auto groups = self->state.ctx->groups();
  if (!groups) return fail(errc::not_ready);
  self->request(groups, 10s, group_atom::value, group)
      .then([=](group_coordinator_actor& g) mutable { f(g); },
            [=](caf::error& e) mutable { fail(to_errc(e)); });
}

/// Decodes a request body at the request's version; false (and a log line) on failure.
template <class T>
bool decode_body(protocol::byte_view body, const request& r, T& out) {
  protocol::kafka::reader rd{body};
  return out.decode(rd, r.api_version) && rd.at_end();
}

}  // namespace portask::kafka
