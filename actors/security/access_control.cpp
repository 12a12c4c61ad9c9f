#include "actors/security/access_control.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <functional>
#include <iterator>
#include <optional>

#include <boost/asio/ip/address.hpp>

#include "actors/connections/transport/log_limiter.hpp"
#include "actors/connections/transport/log_text.hpp"
#include "logging/loggers.hpp"

namespace portask {

namespace sec = protocol::security;

namespace {

// What an unknown user's PLAIN or HTTP Basic password is checked against: one credential per
// mechanism at Kafka's minimum (and kafka-configs' default) iteration count, as the admin user
// has them, from a random password nobody knows. The result is thrown away; only the time counts.
const sec::scram_credential& decoy_credential(sec::scram_mechanism m) {
  static const sec::scram_credential decoy_256 = sec::scram_credential_from_password(
      sec::scram_mechanism::sha256, sec::random_bytes(32), sec::scram_min_iterations);
  static const sec::scram_credential decoy_512 = sec::scram_credential_from_password(
      sec::scram_mechanism::sha512, sec::random_bytes(32), sec::scram_min_iterations);
  return m == sec::scram_mechanism::sha256 ? decoy_256 : decoy_512;
}

// What the brake counts under: an IPv4 address; an IPv6 address's /64, the least a site is
// given (per /128, a client holding one /64 could take every attempt from a fresh address);
// an IPv4-mapped IPv6 address as its IPv4 one. Anything that is not an address (such as
// "unknown") stands for itself.
std::string brake_key(const std::string& address) {
  namespace ip = boost::asio::ip;
  boost::system::error_code ec;
  const auto a = ip::make_address(address, ec);
  if (ec) return address;
  if (a.is_v4()) return a.to_string();
  const auto v6 = a.to_v6();
  if (v6.is_v4_mapped()) return ip::make_address_v4(ip::v4_mapped, v6).to_string();
  auto bytes = v6.to_bytes();
  std::fill(bytes.begin() + 8, bytes.end(), static_cast<unsigned char>(0));
  return ip::address_v6(bytes).to_string() + "/64";
}

constexpr std::chrono::minutes failure_window{1};

// A client retrying a refused request must not flood the log: each (principal, resource) pair
// is logged at most once a second by one of 16 limiters, chosen by hash, which bounds the
// lines a second however many names a client tries. The pairs sharing a limiter share its
// second, so a client cycling names can hold back other principals' denials, and a line's
// count of those held back is of any principal and resource (held_back).
log_limiter& denial_limiter(std::string_view principal, sec::resource_type type, std::string_view name) {
  static std::array<log_limiter, 16> limiters;
  const std::size_t h = std::hash<std::string_view>{}(principal) * 31 + std::hash<std::string_view>{}(name) +
                        static_cast<std::size_t>(type);
  return limiters[h % limiters.size()];
}

// The end of a line that stands for `events` denials: the ones its limiter held back since its
// last line, whichever principal and resource they were of (the limiter is shared).
std::string held_back(std::uint64_t events) {
  if (events <= 1) return {};
  return " (and " + std::to_string(events - 1) +
         " more denials, of any principal or resource, held back by the once-a-second limit)";
}

// Portask's line, like Kafka's authorizer line but not its text (Kafka names the request too):
// "Principal = User:bob is Denied operation = READ from host = 127.0.0.1 on resource =
// TOPIC:LITERAL:t"; `name` none: a check of some resource of the type.
// Names are the client's text, shown printable so that they cannot forge lines.
void log_denial(denial_log log, std::string_view principal, const sec::client_host& host, sec::acl_operation op,
                sec::resource_type type, std::optional<std::string_view> name) {
  auto& logger = logging::authorizer();
  const auto level = log == denial_log::logged ? spdlog::level::info : spdlog::level::debug;
  if (!logger.should_log(level)) return;
  std::uint64_t events = 1;
  if (log == denial_log::logged) {
    events = denial_limiter(principal, type, name.value_or(std::string_view{})).count();
    if (events == 0) return;
  }
  const std::string resource = name ? std::string(sec::to_string(type)) + ":LITERAL:" + printable(*name, 255)
                                    : "any " + std::string(sec::to_string(type));
  logger.log(level, "Principal = {} is Denied operation = {} from host = {} on resource = {}{}",
             printable(principal, 255), sec::to_string(op), printable(host.text()), resource,
             held_back(events));
}

}  // namespace

const sec::scram_credential* security_snapshot::credential(std::string_view user, sec::scram_mechanism m) const {
  const auto it = credentials.find(credential_view{user, m});
  return it == credentials.end() ? nullptr : &it->second;
}

bool security_snapshot::password_matches(const std::string& user, std::string_view password) const {
  // Any of the user's credentials will do: kafka-configs can change one mechanism alone, so
  // after a SCRAM-SHA-512 password change the SHA-256 credential still holds the old one, and
  // the new password is the user's too. Every credential is checked, whichever matched, so the
  // time taken depends on which credentials the user has, not on which password was right.
  bool known = false;
  bool matched = false;
  for (auto m : {sec::scram_mechanism::sha256, sec::scram_mechanism::sha512}) {
    if (const auto* c = credential(user, m)) {
      known = true;
      if (sec::password_matches(*c, password)) matched = true;
    }
  }
  // An unknown user costs what a known one does, or timing would tell names apart.
  if (!known) {
    for (auto m : {sec::scram_mechanism::sha256, sec::scram_mechanism::sha512})
      static_cast<void>(sec::password_matches(decoy_credential(m), password));
  }
  return matched;
}

access_control::access_control(const security_config& config)
    : authorization_(config.authorization),
      allow_if_no_acl_(config.allow_everyone_if_no_acl),
      super_users_(config.super_users.begin(), config.super_users.end()),
      max_failures_per_minute_(config.max_failed_authentications_per_minute),
      snapshot_(std::make_shared<security_snapshot>()) {}

std::shared_ptr<const security_snapshot> access_control::snapshot() const {
  std::lock_guard lock(mutex_);
  return snapshot_;
}

void access_control::publish(std::shared_ptr<const security_snapshot> s) {
  {
    std::lock_guard lock(mutex_);
    snapshot_ = std::move(s);
  }
  version_.fetch_add(1, std::memory_order_acq_rel);
}

bool access_control::may_authenticate(const std::string& address, std::chrono::steady_clock::time_point now) {
  const auto key = brake_key(address);
  std::lock_guard lock(failures_mutex_);
  const auto it = failures_.find(key);
  if (it == failures_.end()) return true;
  if (now - it->second->window_start >= failure_window) {
    failure_windows_.erase(it->second);
    failures_.erase(it);
    return true;
  }
  return it->second->count < max_failures_per_minute_;
}

void access_control::drop_oldest_window() {
  failures_.erase(failure_windows_.front().key);
  failure_windows_.pop_front();
}

void access_control::authentication_failed(const std::string& address, std::chrono::steady_clock::time_point now) {
  auto key = brake_key(address);
  std::lock_guard lock(failures_mutex_);
  // Bounded work whatever the number of addresses: a couple of windows that are over leave
  // from the front (so an idle table empties), and a full one gives up its oldest window,
  // not every count at once (which would free the address the brake is holding back).
  for (int i = 0; i < 2 && !failure_windows_.empty() && now - failure_windows_.front().window_start >= failure_window;
       ++i)
    drop_oldest_window();
  if (const auto it = failures_.find(key); it != failures_.end()) {
    auto& f = *it->second;
    if (now - f.window_start < failure_window) {
      ++f.count;
      return;
    }
    // Its minute is over: a new window, which goes to the back to keep the order.
    f.window_start = now;
    f.count = 1;
    failure_windows_.splice(failure_windows_.end(), failure_windows_, it->second);
    return;
  }
  if (failures_.size() >= max_tracked_addresses) drop_oldest_window();
  failure_windows_.push_back({key, now, 1});
  failures_.emplace(std::move(key), std::prev(failure_windows_.end()));
}

bool authorization_cache::allowed(std::string_view principal, const sec::client_host& host, sec::acl_operation op,
                                  sec::resource_type type, std::string_view name, denial_log log) {
  if (!access_->authorization() || current().acls.allowed(principal, host, op, type, name)) return true;
  log_denial(log, principal, host, op, type, name);
  return false;
}

bool authorization_cache::allowed_on_some(std::string_view principal, const sec::client_host& host,
                                          sec::acl_operation op, sec::resource_type type) {
  if (!access_->authorization() || current().acls.allowed_on_some(principal, host, op, type)) return true;
  log_denial(denial_log::logged, principal, host, op, type, std::nullopt);
  return false;
}

const security_snapshot& authorization_cache::current() {
  const auto v = access_->version();
  if (v != version_ || !snapshot_) {
    snapshot_ = access_->snapshot();
    version_ = v;
  }
  return *snapshot_;
}

}  // namespace portask
