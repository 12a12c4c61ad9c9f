#pragma once
/// SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802, RFC 7677), the server side, without channel
/// binding: the credentials a server keeps (salt, iterations, StoredKey, ServerKey; never
/// the password) and the two-round exchange that checks a client's proof. Kafka and the
/// native protocol carry the same messages, so both use this.
///
/// Written here over OpenSSL's primitives rather than through a SASL library: Debian 12's
/// GNU SASL has no SCRAM-SHA-512, and the exchange is two messages whose every check (nonce
/// continuation, channel-binding echo, proof, authzid) a test must be able to reach.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/expected.hpp"
#include "protocol/security/crypto.hpp"

namespace portask::protocol::security {

/// The numbering is Kafka's (ScramMechanism in Describe/AlterUserScramCredentials).
enum class scram_mechanism : std::int8_t { sha256 = 1, sha512 = 2 };

/// "SCRAM-SHA-256" / "SCRAM-SHA-512".
std::string_view mechanism_name(scram_mechanism m) noexcept;
std::optional<scram_mechanism> scram_mechanism_named(std::string_view name) noexcept;
std::optional<scram_mechanism> scram_mechanism_of(std::int8_t kafka_id) noexcept;
hash_algorithm hash_of(scram_mechanism m) noexcept;

/// Kafka's bounds on a credential's iteration count.
inline constexpr std::int32_t scram_min_iterations = 4096;
inline constexpr std::int32_t scram_max_iterations = 16384;

/// What the server keeps for one user and mechanism.
struct scram_credential {
  scram_mechanism mechanism = scram_mechanism::sha256;
  std::string salt;
  std::int32_t iterations = 0;
  std::string stored_key;  ///< H(HMAC(SaltedPassword, "Client Key"))
  std::string server_key;  ///< HMAC(SaltedPassword, "Server Key")

  friend bool operator==(const scram_credential&, const scram_credential&) = default;
};

/// From SaltedPassword = Hi(password, salt, iterations), as AlterUserScramCredentials sends it.
scram_credential scram_credential_from_salted(scram_mechanism m, std::string_view salted_password,
                                              std::string salt, std::int32_t iterations);
/// From a password, with a fresh random salt when `salt` is empty.
scram_credential scram_credential_from_password(scram_mechanism m, std::string_view password,
                                                std::int32_t iterations = scram_min_iterations,
                                                std::string salt = {});
/// Whether `password` is the one the credential was made from (SASL PLAIN checks a password
/// against the SCRAM credentials, the only form in which passwords are kept).
bool password_matches(const scram_credential& c, std::string_view password);

/// One server-side exchange: client-first → server-first → client-final → server-final.
/// Every error is errc::authentication_failed (a malformed message included) with a reason in
/// failure(), for the server's log and the client's error message alike; an unknown user and a
/// wrong password look alike to the client (a decoy salt, stable per name, 24 bytes long and
/// at 4096 iterations, refused at the proof) unless the user's real credential has another
/// iteration count or salt length.
class scram_server {
 public:
  /// `server_nonce`: empty for a fresh random one (a test passes RFC 7677's).
  explicit scram_server(scram_mechanism m, std::string server_nonce = {});

  /// Reads client-first-message; on success the user it names is username().
  std::error_code read_client_first(std::string_view message);
  /// server-first-message for the user's credential (nullptr: no such user).
  std::string server_first(const scram_credential* credential);
  /// Reads client-final-message and checks it; the server-final-message on success.
  expected<std::string> read_client_final(std::string_view message);

  scram_mechanism mechanism() const noexcept { return mechanism_; }
  const std::string& username() const noexcept { return username_; }
  const std::string& failure() const noexcept { return failure_; }

 private:
  std::error_code fail(std::string why);

  enum class step { client_first, server_first, client_final, done };
  scram_mechanism mechanism_;
  step step_ = step::client_first;
  std::string gs2_header_;
  std::string client_first_bare_;
  std::string username_;
  std::string nonce_;  ///< the client's nonce, then client + server nonce
  std::string server_first_;
  std::optional<scram_credential> credential_;  ///< an unknown user's: a decoy no proof matches
  std::string failure_;
  std::string server_nonce_;
  std::size_t client_nonce_size_ = 0;
};

}  // namespace portask::protocol::security
