// SaslHandshake (key 17) and SaslAuthenticate (key 36): a client picks a mechanism, then
// sends its tokens in SaslAuthenticate requests (v1 handshake) or, after a v0 handshake,
// bare on the wire with only a length before each (the legacy flow, still used by
// kafka-python 2.0). A failure is SASL_AUTHENTICATION_FAILED with a message (or, in the
// legacy flow, nothing), then the connection closes. Where sessions have a lifetime
// (sasl_session_lifetime_ms), an authenticated client may re-authenticate (KIP-368) with a v1
// handshake, at most once a second, and its lifetime starts again. As in Kafka, a handshake
// after authentication without a lifetime, or within a second of the last re-authentication,
// is ILLEGAL_SASL_STATE and the connection goes on. A handshake out of turn (a second one
// before the tokens; a v0 one to re-authenticate, which Kafka would take but no client sends:
// only SaslAuthenticate v1 tells a client its session's lifetime) is ILLEGAL_SASL_STATE with
// no mechanism list, and the connection closes.
// On a listener without SASL both APIs are ILLEGAL_SASL_STATE, as in Kafka.
#include "actors/connections/kafka/handlers.hpp"
#include "actors/connections/transport/log_text.hpp"

namespace portask::kafka {

namespace {

using phase = connection_state::sasl_phase;

std::int64_t session_lifetime_ms(self_ptr self) {
  return self->state.ctx->config.security.sasl_session_lifetime_ms;
}

void authenticated(self_ptr self) {
  auto& st = self->state;
  const bool again = st.phase == phase::authenticated;
  st.principal = st.sasl->principal();
  st.phase = phase::authenticated;
  st.session->authenticated();
  if (const auto ms = session_lifetime_ms(self); ms > 0)
    st.session_expiry = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  logging::kafka().info("kafka {}: {} as {} ({})", st.session->peer(),
                        again ? "re-authenticated" : "authenticated", st.principal, st.sasl->mechanism());
}

void refused(self_ptr self, const std::string& why) {
  auto& st = self->state;
  // The reason may quote the user name the client sent: printable, so no line is forged.
  logging::kafka().warn("kafka {}: authentication with {} failed: {}; closing", st.session->peer(),
                        st.sasl->mechanism(), printable(why, 256));
}

}  // namespace

void handle_sasl_handshake(self_ptr self, const request& r, protocol::byte_view body) {
  msg::SaslHandshakeRequest req;
  if (!PORTASK_KAFKA_DECODE(SaslHandshake, body, req)) return;
  auto& st = self->state;
  msg::SaslHandshakeResponse res;
  if (!st.sasl) {
    res.errorCode = static_cast<std::int16_t>(error_code::illegal_sasl_state);
    return respond(self, r, res, false, true);
  }
  if (st.phase == phase::authenticated &&
      !st.sasl->admit_reauthentication(std::chrono::milliseconds(session_lifetime_ms(self)),
                                       std::chrono::steady_clock::now())) {
    // Kafka re-authenticates only sessions with a lifetime, at most once a second; any other
    // handshake reaches its request handler, which answers ILLEGAL_SASL_STATE (no mechanism
    // list) and leaves the connection, still authenticated, as it was.
    res.errorCode = static_cast<std::int16_t>(error_code::illegal_sasl_state);
    return respond(self, r, res, false, true);
  }
  const bool may_start = st.phase == phase::handshake || (st.phase == phase::authenticated && r.api_version >= 1);
  if (!may_start) {
    // No mechanism list, as in Kafka's error answer to a handshake (getErrorResponse).
    logging::kafka().warn("kafka {}: SaslHandshake v{} out of turn; closing", st.session->peer(), r.api_version);
    res.errorCode = static_cast<std::int16_t>(error_code::illegal_sasl_state);
    st.closing = true;
    return respond(self, r, res, false, true);
  }
  res.mechanisms = st.sasl->mechanisms();
  if (!st.sasl->start(req.mechanism)) {
    logging::kafka().warn("kafka {}: SASL mechanism '{}' is not enabled; closing", st.session->peer(),
                          printable(req.mechanism));
    res.errorCode = static_cast<std::int16_t>(error_code::unsupported_sasl_mechanism);
    st.closing = true;
    return respond(self, r, res, false, true);
  }
  if (st.phase != phase::authenticated) st.phase = r.api_version == 0 ? phase::raw_token : phase::authenticate;
  respond(self, r, res, false);
}

void handle_sasl_authenticate(self_ptr self, const request& r, protocol::byte_view body) {
  msg::SaslAuthenticateRequest req;
  if (!PORTASK_KAFKA_DECODE(SaslAuthenticate, body, req)) return;
  auto& st = self->state;
  const bool flexible = msg::SaslAuthenticateRequest_is_flexible(r.api_version);
  msg::SaslAuthenticateResponse res;
  const bool expecting = st.sasl && (st.phase == phase::authenticate ||
                                     (st.phase == phase::authenticated && st.sasl->in_exchange()));
  if (st.sasl && st.phase == phase::authenticated && !st.sasl->in_exchange()) {
    // Authenticated, and no re-authentication begun: Kafka answers this and carries on.
    res.errorCode = static_cast<std::int16_t>(error_code::illegal_sasl_state);
    res.errorMessage = "SaslAuthenticate after authentication, without a SaslHandshake to re-authenticate";
    return respond(self, r, res, flexible, true);
  }
  if (!expecting) {
    res.errorCode = static_cast<std::int16_t>(error_code::illegal_sasl_state);
    res.errorMessage = "SaslAuthenticate without a SaslHandshake v1 first";
    // On a SASL listener that is a client out of step: it goes. Elsewhere it is only a
    // request this listener does not serve (Kafka answers it and carries on).
    if (st.sasl) {
      logging::kafka().warn("kafka {}: {}; closing", st.session->peer(), *res.errorMessage);
      st.closing = true;
    }
    return respond(self, r, res, flexible, true);
  }
  auto step = st.sasl->respond(req.authBytes);
  using outcome = sasl_session::step::outcome;
  if (step.result == outcome::failed) {
    refused(self, step.error);
    res.errorCode = static_cast<std::int16_t>(error_code::sasl_authentication_failed);
    res.errorMessage = "Authentication failed: " + step.error;
    st.closing = true;
    return respond(self, r, res, flexible, true);
  }
  res.authBytes = std::move(step.token);
  if (step.result == outcome::authenticated) {
    authenticated(self);
    res.sessionLifetimeMs = session_lifetime_ms(self);
  }
  respond(self, r, res, flexible);
}

void on_raw_sasl_token(self_ptr self, const protocol::buffer& frame) {
  auto& st = self->state;
  const auto seq = st.responses->reserve(frame.size());
  const auto start = std::chrono::steady_clock::now();
  auto step = st.sasl->respond(std::string_view(reinterpret_cast<const char*>(frame.data()) + 4, frame.size() - 4));
  using outcome = sasl_session::step::outcome;
  const bool failed = step.result == outcome::failed;
  st.ctx->metrics.request(protocol_kind::kafka, request_kind::authenticate,
                          std::chrono::steady_clock::now() - start, failed);
  if (failed) {
    refused(self, step.error);
    st.responses->complete(seq, {});
    return close_after_answers(self);
  }
  std::uint8_t size[4];
  protocol::store_be32(size, static_cast<std::uint32_t>(step.token.size()));
  protocol::buffer out(size, size + 4);
  out.insert(out.end(), step.token.begin(), step.token.end());
  if (step.result == outcome::authenticated) authenticated(self);
  st.responses->complete(seq, std::move(out));
  if (st.closing) close_after_answers(self);  // one close path, with its deadline
}

}  // namespace portask::kafka
