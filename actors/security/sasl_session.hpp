#pragma once
/// One connection's SASL authentication, whatever the protocol carries it (Kafka's
/// SaslHandshake/SaslAuthenticate, the native Authenticate frame): the mechanism the client
/// chose, then its tokens, until it is authenticated or refused. PLAIN checks the password
/// against the user's SCRAM credentials; SCRAM runs protocol/security's exchange against
/// the credentials in the access-control snapshot. Failures are counted per client address
/// (access_control::may_authenticate); a refusal that is the broker's doing (credentials not
/// loaded) is not.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "actors/security/access_control.hpp"
#include "protocol/security/scram.hpp"

namespace portask {

class sasl_session {
 public:
  sasl_session(access_control& access, std::vector<std::string> mechanisms, std::string address);

  /// Starts an exchange with `mechanism`; false when this listener does not offer it.
  bool start(std::string_view mechanism);
  const std::vector<std::string>& mechanisms() const noexcept { return mechanisms_; }

  struct step {
    enum class outcome { challenge, authenticated, failed } result = outcome::failed;
    std::string token;  ///< to the client (challenge; the server-final on success)
    std::string error;  ///< why, when failed (for the client's error message and the log)
  };
  /// The client's next token.
  step respond(std::string_view token);

  /// "User:<name>" once authenticated (kept across a re-authentication, which must name the
  /// same user).
  const std::string& principal() const noexcept { return principal_; }
  bool authenticated() const noexcept { return !principal_.empty(); }
  /// Between start() and the exchange's end (success or failure).
  bool in_exchange() const noexcept { return in_exchange_; }
  const std::string& mechanism() const noexcept { return mechanism_; }

  /// Whether an authenticated session may begin a re-authentication (KIP-368) at `now`, as
  /// Kafka decides it: only when sessions have a lifetime (`session_lifetime`, Kafka's
  /// connections.max.reauth.ms; zero: none), and no sooner than a second after the last one
  /// began. True records `now` as that beginning.
  bool admit_reauthentication(std::chrono::milliseconds session_lifetime, std::chrono::steady_clock::time_point now);

 private:
  /// Ends the exchange, counting a failed authentication against the client's address.
  step fail(std::string why);
  /// Ends the exchange without counting it: the broker could not check, the client was not wrong.
  step refuse(std::string why);
  step succeed(const std::string& user, std::string token);

  access_control* access_;
  std::vector<std::string> mechanisms_;
  std::string address_;
  std::string mechanism_;
  std::optional<protocol::security::scram_server> scram_;
  std::shared_ptr<const security_snapshot> snapshot_;
  std::string principal_;
  bool in_exchange_ = false;
  bool mechanism_changed_ = false;  ///< a re-authentication started with another mechanism
  std::optional<std::chrono::steady_clock::time_point> last_reauthentication_;
};

}  // namespace portask
