#include "protocol/security/scram_client.hpp"

#include <charconv>

#include "protocol/base64.hpp"

namespace portask::protocol::security {

std::string encode_saslname(std::string_view name) {
  std::string out;
  for (const char c : name) {
    if (c == ',') out += "=2C";
    else if (c == '=') out += "=3D";
    else out += c;
  }
  return out;
}

scram_client::scram_client(scram_mechanism m, std::string username, std::string password, std::string nonce)
    : mechanism_(m), username_(std::move(username)), password_(std::move(password)), nonce_(std::move(nonce)) {
  if (nonce_.empty()) nonce_ = base64_encode(random_bytes(18));
}

std::string scram_client::client_first() const { return "n,,n=" + encode_saslname(username_) + ",r=" + nonce_; }

expected<std::string> scram_client::client_final(std::string_view server_first) {
  // r=<nonce>,s=<salt>,i=<iterations>[,extensions]
  std::string_view nonce, salt_b64, iters;
  std::string_view rest = server_first;
  for (int field = 0; field < 3; ++field) {
    const auto comma = rest.find(',');
    const auto part = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    const char key = "rsi"[field];
    if (part.size() < 2 || part[0] != key || part[1] != '=') return errc::authentication_failed;
    (field == 0 ? nonce : field == 1 ? salt_b64 : iters) = part.substr(2);
  }
  if (nonce.size() <= nonce_.size() || !nonce.starts_with(nonce_)) return errc::authentication_failed;
  const auto salt = base64_decode(salt_b64);
  std::int32_t iterations = 0;
  const auto [end, ec] = std::from_chars(iters.data(), iters.data() + iters.size(), iterations);
  if (!salt || ec != std::errc{} || end != iters.data() + iters.size() ||
      iterations < scram_min_iterations || iterations > scram_max_iterations)
    return errc::authentication_failed;
  const auto h = hash_of(mechanism_);
  const auto salted = pbkdf2(h, password_, *salt, iterations);
  const auto client_key = hmac(h, salted, "Client Key");
  server_key_ = hmac(h, salted, "Server Key");
  const std::string without_proof = "c=biws,r=" + std::string(nonce);
  auth_message_ = client_first().substr(3) + "," + std::string(server_first) + "," + without_proof;
  const auto signature = hmac(h, digest(h, client_key), auth_message_);
  std::string proof = client_key;
  for (std::size_t i = 0; i < proof.size(); ++i) proof[i] = static_cast<char>(proof[i] ^ signature[i]);
  return without_proof + ",p=" + base64_encode(proof);
}

std::error_code scram_client::check_server_final(std::string_view server_final) const {
  if (!server_final.starts_with("v=") || auth_message_.empty()) return make_error_code(errc::authentication_failed);
  const auto signature = base64_decode(server_final.substr(2));
  if (!signature ||
      !equal_constant_time(*signature, hmac(hash_of(mechanism_), server_key_, auth_message_)))
    return make_error_code(errc::authentication_failed);
  return {};
}

}  // namespace portask::protocol::security
