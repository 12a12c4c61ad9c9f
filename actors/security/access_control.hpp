#pragma once
/// Who may connect and what they may do, as every connection reads it: the users' SCRAM
/// credentials and the ACLs, as one immutable snapshot that the security actor replaces on
/// every change (and on start, from the store). A connection keeps the snapshot it last
/// used and looks again only when the version moved (one atomic load per request), so
/// authorization never consults the store or takes a lock on the hot path.
///
/// Also the per-address count of failed authentications (a brute-force brake), and the
/// passwords HTTP Basic verified recently (password_cache.hpp).

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "actors/runtime/broker_config.hpp"
#include "actors/security/password_cache.hpp"
#include "protocol/security/acl.hpp"
#include "protocol/security/scram.hpp"

namespace portask {

struct security_snapshot {
  using credential_key = std::pair<std::string, protocol::security::scram_mechanism>;
  /// A credential_key's user and mechanism, the name not copied: credentials is looked up
  /// by it (ordered as credential_key is), so that a lookup by a name the caller holds
  /// allocates nothing.
  struct credential_view {
    std::string_view user;
    protocol::security::scram_mechanism mechanism;

    friend bool operator<(const credential_key& k, const credential_view& v) noexcept {
      const int c = std::string_view(k.first).compare(v.user);
      return c < 0 || (c == 0 && k.second < v.mechanism);
    }
    friend bool operator<(const credential_view& v, const credential_key& k) noexcept {
      const int c = v.user.compare(k.first);
      return c < 0 || (c == 0 && v.mechanism < k.second);
    }
  };
  /// False until the store has been read: nobody authenticates before.
  bool loaded = false;
  std::map<credential_key, protocol::security::scram_credential, std::less<>> credentials;
  protocol::security::authorizer acls{{}, {}, false};

  const protocol::security::scram_credential* credential(
      std::string_view user, protocol::security::scram_mechanism m) const;
  /// Whether PLAIN's (or HTTP Basic's) password is `user`'s: true when any of its SCRAM
  /// credentials was made from it. An unknown user costs as much as one with both credentials
  /// at 4096 iterations (a decoy is checked), so timing does not tell it from such a user.
  bool password_matches(const std::string& user, std::string_view password) const;
};

class access_control {
 public:
  explicit access_control(const security_config& config);

  /// The current snapshot (a mutex-guarded copy of the pointer: for authentication, which
  /// is rare; per-request checks go through an authorization_cache).
  std::shared_ptr<const security_snapshot> snapshot() const;
  std::uint64_t version() const noexcept { return version_.load(std::memory_order_acquire); }
  void publish(std::shared_ptr<const security_snapshot> s);

  /// Whether ACLs are checked at all (security_config::authorization).
  bool authorization() const noexcept { return authorization_; }
  const std::set<std::string>& super_users() const noexcept { return super_users_; }
  bool allow_everyone_if_no_acl() const noexcept { return allow_if_no_acl_; }

  /// False while `address` has used up its failed authentications for this minute. Counted
  /// per IPv4 address and per IPv6 /64 (an IPv4-mapped IPv6 address as its IPv4 one): a
  /// client holding one /64 could otherwise take each attempt from a fresh address. `now`:
  /// a test's clock.
  bool may_authenticate(const std::string& address,
                        std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now());
  void authentication_failed(const std::string& address,
                             std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now());
  /// How many addresses the brake follows at once; past it, the oldest window makes room.
  static constexpr std::size_t max_tracked_addresses = 10000;

  /// HTTP Basic's check of a password against a snapshot (password_cache::matches).
  password_cache& passwords() noexcept { return passwords_; }

 private:
  const bool authorization_;
  const bool allow_if_no_acl_;
  const std::set<std::string> super_users_;
  const std::uint32_t max_failures_per_minute_;
  mutable std::mutex mutex_;
  std::shared_ptr<const security_snapshot> snapshot_;
  std::atomic<std::uint64_t> version_{1};
  struct failures {
    std::string key;  ///< the address, or its /64 (brake_key in access_control.cpp)
    std::chrono::steady_clock::time_point window_start;
    std::uint32_t count = 0;
  };
  /// With failures_mutex_ held.
  void drop_oldest_window();
  std::mutex failures_mutex_;
  /// Oldest window first: a new window goes to the back, expiry and eviction take from the
  /// front, so neither has to search.
  std::list<failures> failure_windows_;
  std::map<std::string, std::list<failures>::iterator, std::less<>> failures_;
  password_cache passwords_;
};

/// Whether a denial refuses the client something, and so is logged (Kafka's logIfDenied).
/// `quiet` for a check whose denial refuses nothing: a filter leaving out what the client may
/// not see (all topics' Metadata, ListGroups), a broad check tried before a narrower one
/// (CREATE on the cluster before CREATE on the topic), an authorized-operations bit, or a
/// check made before it is known to be needed (auto-creation of a topic that may exist).
enum class denial_log : bool { quiet, logged };

/// One connection's view of the ACLs: the snapshot it last saw, refreshed when the version
/// moved. Unauthenticated clients are User:ANONYMOUS, as in Kafka.
///
/// Every decision passes here, so here each denial is logged, on portask.authorizer: at info
/// when `logged` (a principal and resource at most once a second; pairs share 16 limits, so
/// at most 16 lines a second in all: docs/security.md), at debug when `quiet`.
class authorization_cache {
 public:
  explicit authorization_cache(access_control& access) : access_(&access) {}

  /// `host`: the connection's peer, parsed once when it connected.
  bool allowed(std::string_view principal, const protocol::security::client_host& host,
               protocol::security::acl_operation op, protocol::security::resource_type type, std::string_view name,
               denial_log log = denial_log::logged);
  /// Its denial is logged as a refusal: Portask's choice, since it refuses the request
  /// (InitProducerId without IDEMPOTENT_WRITE on the cluster). Kafka's authorizeByResourceType
  /// logs none (logIfDenied = false).
  bool allowed_on_some(std::string_view principal, const protocol::security::client_host& host,
                       protocol::security::acl_operation op, protocol::security::resource_type type);

 private:
  const security_snapshot& current();
  access_control* access_;
  std::shared_ptr<const security_snapshot> snapshot_;
  std::uint64_t version_ = 0;
};

inline constexpr std::string_view anonymous_principal = "User:ANONYMOUS";

}  // namespace portask
