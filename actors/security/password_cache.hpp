#pragma once
/// Passwords recently verified for HTTP Basic, so that a console page or a Prometheus
/// scrape with credentials does not pay a full key derivation (PBKDF2 at the credential's
/// iteration count, 4096 or more, per credential) on every request, nor lets a caller who
/// knows one password make the broker pay it at request rate.
///
/// An entry is one user's: a keyed digest of the password (HMAC-SHA-256 under a key drawn
/// at random per process; never the password, nor a digest a guess could be tested against
/// without the key) and a copy of the user's credentials it was verified against. It serves
/// only while the snapshot holds exactly those credentials, so a change or deletion
/// (AlterUserScramCredentials, portask-cli users) takes effect on the next request, and for
/// `lifetime` after the verification. Only successes are kept: a wrong password is derived
/// in full every time (and counted by the caller's brake), and never displaces a right one.
/// Bounded: past `capacity` users, the one verified longest ago leaves.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/security/scram.hpp"

namespace portask {

struct security_snapshot;

class password_cache {
 public:
  static constexpr std::size_t default_capacity = 256;
  static constexpr std::chrono::minutes default_lifetime{5};

  explicit password_cache(std::size_t capacity = default_capacity,
                          std::chrono::steady_clock::duration lifetime = default_lifetime);

  /// security_snapshot::password_matches, answered from the cache when `user`'s entry was
  /// made from this password against the credentials `snapshot` holds now, less than
  /// `lifetime` before `now` (a test's clock). Safe from any thread; the derivation runs
  /// outside the lock. A hit compares the entry with the snapshot's credentials where they
  /// are, copying no keys, salts or names (the snapshot is looked up by a view of `user`).
  bool matches(const security_snapshot& snapshot, const std::string& user, std::string_view password,
               std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now());

  std::size_t size() const;
  /// How many passwords were checked in full (a key derivation), not from the cache.
  std::uint64_t derivations() const;

 private:
  struct entry {
    std::string user;
    std::string password_tag;  ///< HMAC-SHA-256(key_, password)
    std::vector<protocol::security::scram_credential> credentials;  ///< as verified against
    std::chrono::steady_clock::time_point verified;
  };
  using entries = std::list<entry>;

  /// With mutex_ held.
  void forget(std::map<std::string, entries::iterator, std::less<>>::iterator it);

  const std::string key_;
  const std::size_t capacity_;
  const std::chrono::steady_clock::duration lifetime_;
  mutable std::mutex mutex_;
  /// Verified longest ago first: a new entry goes to the back, eviction takes the front.
  entries entries_;
  std::map<std::string, entries::iterator, std::less<>> by_user_;
  std::uint64_t derivations_ = 0;
};

}  // namespace portask
