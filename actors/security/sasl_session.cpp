#include "actors/security/sasl_session.hpp"

#include <algorithm>

#include "protocol/security/plain.hpp"

namespace portask {

namespace sec = protocol::security;

sasl_session::sasl_session(access_control& access, std::vector<std::string> mechanisms, std::string address)
    : access_(&access), mechanisms_(std::move(mechanisms)), address_(std::move(address)) {}

bool sasl_session::start(std::string_view mechanism) {
  if (std::find(mechanisms_.begin(), mechanisms_.end(), mechanism) == mechanisms_.end()) return false;
  in_exchange_ = true;
  scram_.reset();
  // A re-authentication (KIP-368) keeps the session's mechanism, as Kafka requires: no
  // going from SCRAM to a cleartext PLAIN password. Refused at its first token.
  mechanism_changed_ = authenticated() && mechanism != mechanism_;
  if (mechanism_changed_) return true;
  mechanism_ = std::string(mechanism);
  if (auto m = sec::scram_mechanism_named(mechanism)) scram_.emplace(*m);
  return true;
}

bool sasl_session::admit_reauthentication(std::chrono::milliseconds session_lifetime,
                                          std::chrono::steady_clock::time_point now) {
  // Kafka (KafkaChannel.maybeBeginServerReauthentication): no lifetime, no re-authentication;
  // at most one a second, each one's start counted (the first may follow the authentication
  // at once). A PLAIN re-authentication costs the broker a key derivation: the spacing keeps
  // a client from spending the broker's CPU on them in a loop.
  if (!authenticated() || session_lifetime <= std::chrono::milliseconds::zero()) return false;
  if (last_reauthentication_ && now - *last_reauthentication_ < std::chrono::seconds(1)) return false;
  last_reauthentication_ = now;
  return true;
}

sasl_session::step sasl_session::refuse(std::string why) {
  in_exchange_ = false;
  scram_.reset();
  return {step::outcome::failed, {}, std::move(why)};
}

sasl_session::step sasl_session::fail(std::string why) {
  access_->authentication_failed(address_);
  return refuse(std::move(why));
}

sasl_session::step sasl_session::succeed(const std::string& user, std::string token) {
  in_exchange_ = false;
  scram_.reset();
  const auto principal = "User:" + user;
  if (!principal_.empty() && principal_ != principal)
    return fail("re-authentication must name the same user (" + principal_ + ")");
  principal_ = principal;
  return {step::outcome::authenticated, std::move(token), {}};
}

sasl_session::step sasl_session::respond(std::string_view token) {
  if (mechanism_changed_) {
    mechanism_changed_ = false;
    return fail("a re-authentication must use " + mechanism_ + ", the mechanism the session authenticated with");
  }
  if (!in_exchange_) return fail("no authentication exchange in progress");
  const bool first = !scram_ || scram_->username().empty();
  if (first) {
    if (!access_->may_authenticate(address_))
      return fail("too many failed authentications from " + address_ + "; try again later");
    snapshot_ = access_->snapshot();
    // Not counted: the brake would otherwise hold clients back after the store came back,
    // for attempts that never reached a password check (HTTP answers 503 alike).
    if (!snapshot_->loaded) return refuse("credentials are not loaded yet (the store is unreachable)");
  }
  if (!scram_) {  // PLAIN: one message
    auto plain = sec::parse_plain(token);
    if (!plain) return fail("malformed PLAIN message");
    if (!snapshot_->password_matches(plain->username, plain->password))
      return fail("invalid credentials for user " + plain->username);
    // Checked after the password, with Kafka's words (PlainSaslServer): no acting as another.
    if (!plain->authzid.empty() && plain->authzid != plain->username)
      return fail("Client requested an authorization id that is different from username");
    return succeed(plain->username, {});
  }
  if (first) {
    if (auto ec = scram_->read_client_first(token)) return fail(scram_->failure());
    return {step::outcome::challenge,
            scram_->server_first(snapshot_->credential(scram_->username(), scram_->mechanism())), {}};
  }
  auto final = scram_->read_client_final(token);
  if (!final) return fail(scram_->failure() + " for user " + scram_->username());
  return succeed(scram_->username(), std::move(*final));
}

}  // namespace portask
