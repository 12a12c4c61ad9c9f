#include "actors/connections/kafka/kafka_connection.hpp"

#include "actors/connections/transport/connection_lifecycle.hpp"
#include "actors/connections/transport/log_limiter.hpp"
#include "actors/connections/kafka/handlers.hpp"

#include "logging/loggers.hpp"

namespace portask {

namespace {

using kafka::self_ptr;

// The lines for requests that end a connection: a client can send them at will (and connect
// again), so each kind is kept to one line a second, which says how many it stands for.
log_limiter expired_sessions;
log_limiter unauthenticated_requests;
log_limiter malformed_headers;
log_limiter unknown_apis;
log_limiter unsupported_versions;
log_limiter unreadable_header_tags;

// Request header v1 (v2 adds tagged fields): api key, api version, correlation id, client id
// (an INT16-length string even in v2).
// On a SASL listener, before authentication only ApiVersions and the SASL exchange are
// served (Kafka closes the connection on anything else), and an expired session serves
// nothing but a re-authentication.
bool admitted(self_ptr self, const kafka::request& req) {
  using phase = kafka::connection_state::sasl_phase;
  auto& st = self->state;
  const bool sasl_api = req.api_key == 17 || req.api_key == 36;
  if (st.phase == phase::open || req.api_key == 18) return true;
  if (st.phase == phase::authenticated) {
    if (sasl_api || !st.session_expiry || std::chrono::steady_clock::now() < *st.session_expiry) return true;
    if (const auto events = expired_sessions.count(); events > 0)
      logging::kafka().info("kafka {}: session of {} expired without re-authentication; closing{}",
                            st.session->peer(), st.principal, more_since_last_line(events));
    return false;
  }
  if (sasl_api) return true;
  if (const auto events = unauthenticated_requests.count(); events > 0)
    logging::kafka().warn("kafka {}: API {} before authentication; closing{}", st.session->peer(), req.api_key,
                          more_since_last_line(events));
  return false;
}

// A request the connection cannot serve ends it: nothing read after it is served (those held
// behind decoded produce requests included), while the requests read before it are answered
// first, as Kafka, which reads one request at a time, has answered them before it reads this.
void end_connection(self_ptr self) { kafka::close_after_answers(self); }

void on_request(self_ptr self, const protocol::buffer& bytes) {
  if (self->state.closing) return;  // answering what came before, then closing
  if (self->state.phase == kafka::connection_state::sasl_phase::raw_token)
    return kafka::on_raw_sasl_token(self, bytes);
  protocol::kafka::reader r{protocol::byte_view{bytes}.subspan(4)};
  kafka::request req;
  std::optional<std::string> client_id;
  if (!r.i16(req.api_key) || !r.i16(req.api_version) || !r.i32(req.correlation_id) ||
      !r.nullable_string(client_id, false)) {
    if (const auto events = malformed_headers.count(); events > 0)
      logging::kafka().warn("kafka {}: malformed request header; closing{}", self->state.session->peer(),
                            more_since_last_line(events));
    end_connection(self);
    return;
  }
  if (client_id && *client_id != self->state.client_id) self->state.client_id = *client_id;
  const auto* api = kafka::find_api(req.api_key);
  if (api == nullptr) {
    if (const auto events = unknown_apis.count(); events > 0)
      logging::kafka().warn("kafka {}: unsupported API key {} (v{}); closing{}", self->state.session->peer(),
                            req.api_key, req.api_version, more_since_last_line(events));
    end_connection(self);
    return;
  }
  if (!admitted(self, req)) {
    end_connection(self);
    return;
  }
  const bool version_ok = req.api_version >= api->min_version && req.api_version <= api->max_version;
  if (!version_ok && req.api_key != 18) {
    if (const auto events = unsupported_versions.count(); events > 0)
      logging::kafka().warn("kafka {}: API {} version {} not supported ({}-{}); closing{}",
                            self->state.session->peer(), req.api_key, req.api_version, api->min_version,
                            api->max_version, more_since_last_line(events));
    end_connection(self);
    return;
  }
  if (version_ok && api->flexible(req.api_version)) {
    // Header v2: skip the header's tagged fields.
    auto unreadable = [&] {
      if (const auto events = unreadable_header_tags.count(); events > 0)
        logging::kafka().warn("kafka {}: API {} v{}: unreadable request header tags; closing{}",
                              self->state.session->peer(), req.api_key, req.api_version,
                              more_since_last_line(events));
      end_connection(self);
    };
    std::uint64_t n = 0;
    if (!r.uvarint(n) || n > r.remaining()) return unreadable();
    for (std::uint64_t i = 0; i < n; ++i) {
      std::uint64_t tag = 0, size = 0;
      protocol::byte_view skip;
      if (!r.uvarint(tag) || !r.uvarint(size) || size > r.remaining() ||
          !r.raw(static_cast<std::size_t>(size), skip))
        return unreadable();
    }
  }
  protocol::byte_view body;
  r.raw(r.remaining(), body);
  req.seq = self->state.responses->reserve(bytes.size());
  req.kind = api->kind;
  req.api_name = api->name;
  req.start = std::chrono::steady_clock::now();
  api->handle(self, req, body);
}

bool over_decoded_budget(const kafka::connection_state& st) {
  return st.decoded_bytes > st.ctx->config.max_decompressed_bytes_per_request;
}

// The requests held behind decoded produce requests, in order, while the budget allows.
void serve_held(self_ptr self) {
  auto& st = self->state;
  if (st.serving_held) return;  // an answer made while serving one: the loop goes on
  st.serving_held = true;
  while (!st.held_requests.empty() && !over_decoded_budget(st) && !st.closing) {
    auto bytes = std::move(st.held_requests.front());
    st.held_requests.pop_front();
    on_request(self, bytes);
  }
  st.serving_held = false;
  // After a framing error, the last of the requests read before it has been taken up.
  if (st.end_after_held && st.held_requests.empty() && !st.closing) kafka::close_after_answers(self);
}

kafka_connection_actor::behavior_type kafka_connection_impl(self_ptr self, std::shared_ptr<broker_context> ctx,
                                                           supervisor_actor supervisor,
                                                           std::shared_ptr<tcp_session> session,
                                                           std::shared_ptr<const kafka_endpoint> endpoint) {
  self->state.ctx = ctx;
  self->state.endpoint = endpoint;
  self->state.session = session;
  self->state.responses = std::make_unique<response_queue>(session);
  self->state.polls = std::make_unique<long_polls>(ctx, self->state.dir);
  self->state.acl = std::make_unique<authorization_cache>(ctx->access);
  const auto& peer = session->peer();
  self->state.host = protocol::security::client_host(peer.substr(0, peer.rfind(':')));
  // A verified client certificate names the principal (SASL, if also required, replaces it).
  if (!session->tls_principal().empty()) self->state.principal = session->tls_principal();
  if (endpoint->sasl) {
    self->state.sasl = std::make_unique<sasl_session>(ctx->access, ctx->config.security.sasl_mechanisms,
                                                      self->state.host.text());
    self->state.phase = kafka::connection_state::sasl_phase::handshake;
  }
  track_connection(self, ctx, supervisor, session, protocol_kind::kafka);
  return {
      [=](frame_atom, std::vector<protocol::buffer>& frames) {
        auto& st = self->state;
        for (auto& bytes : frames) {
          if (st.closing) return;  // read after what ended the connection: never served
          if (!st.held_requests.empty() || over_decoded_budget(st))
            st.held_requests.push_back(std::move(bytes));
          else
            on_request(self, bytes);
        }
      },
      [=](closed_atom) {
        // The client closed: the requests already taken up finish (a Produce is stored, and
        // acknowledged if the client only stopped writing). Those held behind decoded produce
        // requests are not taken up: the client, gone, would never hear of them, and a
        // producer that sends them again would have them stored twice.
        self->state.peer_closed = true;
        kafka::close_after_answers(self);
      },
      [](drained_atom) {},  // a Kafka connection never asks its session for it
      [=](closed_atom, errc) {
        auto& st = self->state;
        if (close_deadline::quit_if_passed(self, protocol_kind::kafka)) return;
        // Framing error (size out of bounds): Kafka has no error frame for it, and the session
        // (which logged it) reads no more. The requests before the bad bytes are answered
        // first, those held behind decoded produce requests included (Kafka, reading one
        // request at a time, would have served them all); then the connection closes.
        ctx->metrics.request(protocol_kind::kafka, request_kind::other, std::chrono::nanoseconds{0}, true);
        if (st.closing || st.held_requests.empty()) return kafka::close_after_answers(self);
        st.end_after_held = true;
        st.deadline.arm(self, *st.session);
        serve_held(self);
      },
      [=](directory_atom, actor_directory& next) { self->state.dir = std::move(next); },
  };
}

}  // namespace

namespace kafka {

void request_completed(self_ptr self, std::uint64_t seq) {
  auto& st = self->state;
  if (auto d = st.decoded_by_seq.find(seq); d != st.decoded_by_seq.end()) {
    st.decoded_bytes -= d->second;
    st.decoded_by_seq.erase(d);
  }
  if (!st.held_requests.empty()) serve_held(self);
}

}  // namespace kafka

kafka_connection_actor spawn_kafka_connection(caf::actor_system& sys, std::shared_ptr<broker_context> ctx,
                                              supervisor_actor supervisor,
                                              std::shared_ptr<tcp_session> session,
                                              std::shared_ptr<const kafka_endpoint> endpoint) {
  return sys.spawn(kafka_connection_impl, std::move(ctx), std::move(supervisor), std::move(session),
                   std::move(endpoint));
}

}  // namespace portask
