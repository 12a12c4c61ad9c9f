#include "protocol/security/scram.hpp"

#include <vector>

#include "protocol/base64.hpp"

namespace portask::protocol::security {

namespace {

// As portask-cli salts the credentials it creates (client/client.cpp), so a decoy salt (below)
// is as long as a real one.
constexpr std::size_t salt_bytes = 24;
constexpr std::size_t server_nonce_bytes = 24;
constexpr std::size_t max_message_bytes = 4096;

std::vector<std::string_view> split_commas(std::string_view s) {
  std::vector<std::string_view> parts;
  for (;;) {
    const auto comma = s.find(',');
    parts.push_back(s.substr(0, comma));
    if (comma == std::string_view::npos) return parts;
    s.remove_prefix(comma + 1);
  }
}

// "k=value" with a one-letter key.
bool attribute(std::string_view part, char key, std::string_view& value) {
  if (part.size() < 2 || part[0] != key || part[1] != '=') return false;
  value = part.substr(2);
  return true;
}

// saslname (RFC 5802 5.1): "=2C" is ',' and "=3D" is '='; any other '=' is malformed.
std::optional<std::string> decode_saslname(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '\0') return std::nullopt;
    if (c != '=') {
      out += c;
      continue;
    }
    const auto esc = s.substr(i, 3);
    if (esc == "=2C") out += ',';
    else if (esc == "=3D") out += '=';
    else return std::nullopt;
    i += 2;
  }
  return out;
}

// printable (RFC 5802): %x21-2B / %x2D-7E, i.e. visible ASCII but ','.
bool printable_nonce(std::string_view s) {
  if (s.empty()) return false;
  for (const unsigned char c : s)
    if (c < 0x21 || c > 0x7e || c == ',') return false;
  return true;
}

std::string xor_bytes(std::string_view a, std::string_view b) {
  std::string out(a);
  for (std::size_t i = 0; i < out.size() && i < b.size(); ++i) out[i] = static_cast<char>(out[i] ^ b[i]);
  return out;
}

// Keys a decoy salt per user name, so repeated probes for an unknown name see one salt.
const std::string& decoy_secret() {
  static const std::string secret = random_bytes(32);
  return secret;
}

}  // namespace

std::string_view mechanism_name(scram_mechanism m) noexcept {
  return m == scram_mechanism::sha256 ? "SCRAM-SHA-256" : "SCRAM-SHA-512";
}

std::optional<scram_mechanism> scram_mechanism_named(std::string_view name) noexcept {
  if (name == "SCRAM-SHA-256") return scram_mechanism::sha256;
  if (name == "SCRAM-SHA-512") return scram_mechanism::sha512;
  return std::nullopt;
}

std::optional<scram_mechanism> scram_mechanism_of(std::int8_t kafka_id) noexcept {
  if (kafka_id == 1) return scram_mechanism::sha256;
  if (kafka_id == 2) return scram_mechanism::sha512;
  return std::nullopt;
}

hash_algorithm hash_of(scram_mechanism m) noexcept {
  return m == scram_mechanism::sha256 ? hash_algorithm::sha256 : hash_algorithm::sha512;
}

scram_credential scram_credential_from_salted(scram_mechanism m, std::string_view salted_password,
                                              std::string salt, std::int32_t iterations) {
  const auto h = hash_of(m);
  scram_credential c;
  c.mechanism = m;
  c.salt = std::move(salt);
  c.iterations = iterations;
  c.stored_key = digest(h, hmac(h, salted_password, "Client Key"));
  c.server_key = hmac(h, salted_password, "Server Key");
  return c;
}

scram_credential scram_credential_from_password(scram_mechanism m, std::string_view password,
                                                std::int32_t iterations, std::string salt) {
  if (salt.empty()) salt = random_bytes(salt_bytes);
  const auto salted = pbkdf2(hash_of(m), password, salt, iterations);
  return scram_credential_from_salted(m, salted, std::move(salt), iterations);
}

bool password_matches(const scram_credential& c, std::string_view password) {
  if (c.iterations < 1) return false;
  const auto h = hash_of(c.mechanism);
  const auto salted = pbkdf2(h, password, c.salt, c.iterations);
  return equal_constant_time(digest(h, hmac(h, salted, "Client Key")), c.stored_key);
}

scram_server::scram_server(scram_mechanism m, std::string server_nonce)
    : mechanism_(m), server_nonce_(std::move(server_nonce)) {}

std::error_code scram_server::fail(std::string why) {
  failure_ = std::move(why);
  step_ = step::done;
  return make_error_code(errc::authentication_failed);
}

std::error_code scram_server::read_client_first(std::string_view message) {
  if (step_ != step::client_first) return fail("client-first-message out of turn");
  if (message.size() > max_message_bytes) return fail("client-first-message too long");
  // gs2-header: cbind-flag "," [authzid] ","
  const auto parts = split_commas(message);
  if (parts.size() < 4) return fail("malformed client-first-message");
  if (parts[0] != "n" && parts[0] != "y")
    return fail(parts[0].starts_with("p=") ? "channel binding is not supported"
                                           : "malformed gs2 header");
  std::optional<std::string> authzid;
  if (!parts[1].empty()) {
    std::string_view a;
    if (!attribute(parts[1], 'a', a)) return fail("malformed authorization id");
    authzid = decode_saslname(a);
    if (!authzid) return fail("malformed authorization id");
  }
  gs2_header_ = std::string(message.substr(0, parts[0].size() + parts[1].size() + 2));
  client_first_bare_ = std::string(message.substr(gs2_header_.size()));
  std::size_t i = 2;
  std::string_view v;
  if (attribute(parts[i], 'm', v)) return fail("mandatory extension not supported");
  if (!attribute(parts[i], 'n', v)) return fail("client-first-message has no user name");
  auto user = decode_saslname(v);
  if (!user || user->empty()) return fail("malformed user name");
  ++i;
  if (!attribute(parts[i], 'r', v) || !printable_nonce(v)) return fail("malformed client nonce");
  nonce_ = std::string(v);
  client_nonce_size_ = nonce_.size();
  for (++i; i < parts.size(); ++i) {
    // Extensions: Kafka's "tokenauth=true" asks for a delegation token, which Portask has not.
    if (parts[i] == "tokenauth=true") return fail("delegation tokens are not supported");
    if (parts[i].find('=') == std::string_view::npos) return fail("malformed extension");
  }
  if (authzid && *authzid != *user)
    return fail("authorization id differs from the user name");
  username_ = std::move(*user);
  step_ = step::server_first;
  return {};
}

std::string scram_server::server_first(const scram_credential* credential) {
  std::string salt;
  std::int32_t iterations = scram_min_iterations;
  if (credential != nullptr && credential->mechanism == mechanism_) {
    credential_ = *credential;
    salt = credential->salt;
    iterations = credential->iterations;
  } else {
    // An unknown user gets a salt and iteration count like anyone's (a salt as long as
    // Portask makes them, at Kafka's minimum and default count), and a decoy credential that
    // its proof is checked against as any other: it fails there, in the same steps.
    const auto h = hash_of(mechanism_);
    salt = hmac(hash_algorithm::sha256, decoy_secret(), username_).substr(0, salt_bytes);
    scram_credential decoy;
    decoy.mechanism = mechanism_;
    decoy.salt = salt;
    decoy.iterations = iterations;
    decoy.stored_key = hmac(h, decoy_secret(), "StoredKey," + username_);
    decoy.server_key = hmac(h, decoy_secret(), "ServerKey," + username_);
    credential_ = std::move(decoy);
  }
  nonce_ += server_nonce_.empty() ? base64_encode(random_bytes(server_nonce_bytes)) : server_nonce_;
  server_first_ = "r=" + nonce_ + ",s=" + base64_encode(salt) + ",i=" + std::to_string(iterations);
  step_ = step::client_final;
  return server_first_;
}

expected<std::string> scram_server::read_client_final(std::string_view message) {
  if (step_ != step::client_final) return fail("client-final-message out of turn");
  if (message.size() > max_message_bytes) return fail("client-final-message too long");
  // channel-binding "," nonce ["," extensions] "," proof
  const auto proof_at = message.rfind(",p=");
  if (proof_at == std::string_view::npos) return fail("client-final-message has no proof");
  const auto without_proof = message.substr(0, proof_at);
  const auto parts = split_commas(without_proof);
  std::string_view v;
  if (parts.size() < 2 || !attribute(parts[0], 'c', v)) return fail("malformed channel binding");
  const auto binding = base64_decode(v);
  if (!binding || *binding != gs2_header_) return fail("channel binding does not match");
  // librdkafka before 2.6.1 puts its own nonce in front of the whole nonce once more
  // (librdkafka#4895); Apache Kafka 3.x accepts that, and so does Portask, in exactly that
  // form.
  const bool nonce_ok = attribute(parts[1], 'r', v) &&
                        (v == nonce_ || (v.size() == client_nonce_size_ + nonce_.size() &&
                                         v.substr(0, client_nonce_size_) == nonce_.substr(0, client_nonce_size_) &&
                                         v.substr(client_nonce_size_) == nonce_));
  if (!nonce_ok) return fail("nonce does not match");
  const auto proof = base64_decode(message.substr(proof_at + 3));
  const auto h = hash_of(mechanism_);
  if (!proof || proof->size() != digest_size(h)) return fail("malformed proof");
  if (!credential_) return fail("invalid credentials");  // server_first sets one (a decoy at least)
  const std::string auth_message = client_first_bare_ + "," + server_first_ + "," + std::string(without_proof);
  const auto client_signature = hmac(h, credential_->stored_key, auth_message);
  const auto client_key = xor_bytes(*proof, client_signature);
  if (!equal_constant_time(digest(h, client_key), credential_->stored_key))
    return fail("invalid credentials");
  step_ = step::done;
  return "v=" + base64_encode(hmac(h, credential_->server_key, auth_message));
}

}  // namespace portask::protocol::security
