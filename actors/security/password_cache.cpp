#include "actors/security/password_cache.hpp"

#include <array>
#include <iterator>

#include "actors/security/access_control.hpp"
#include "protocol/security/crypto.hpp"

namespace portask {

namespace sec = protocol::security;

namespace {

constexpr std::array mechanisms{sec::scram_mechanism::sha256, sec::scram_mechanism::sha512};

// The user's credentials, one per mechanism it has, in mechanism order.
std::vector<sec::scram_credential> credentials_of(const security_snapshot& s, const std::string& user) {
  std::vector<sec::scram_credential> out;
  for (auto m : mechanisms)
    if (const auto* c = s.credential(user, m)) out.push_back(*c);
  return out;
}

// Whether `cached` (as credentials_of made it) is what `s` holds for `user` now; compared where
// the snapshot keeps them, so that a hit copies nothing.
bool same_credentials(const std::vector<sec::scram_credential>& cached, const security_snapshot& s,
                      const std::string& user) {
  std::size_t i = 0;
  for (auto m : mechanisms) {
    const auto* c = s.credential(user, m);
    if (!c) continue;
    const auto& a = *c;
    if (i == cached.size()) return false;
    const auto& b = cached[i++];
    if (a.mechanism != b.mechanism || a.iterations != b.iterations || a.salt != b.salt ||
        !sec::equal_constant_time(a.stored_key, b.stored_key) || !sec::equal_constant_time(a.server_key, b.server_key))
      return false;
  }
  return i == cached.size();
}

}  // namespace

password_cache::password_cache(std::size_t capacity, std::chrono::steady_clock::duration lifetime)
    : key_(sec::random_bytes(32)), capacity_(capacity), lifetime_(lifetime) {}

bool password_cache::matches(const security_snapshot& snapshot, const std::string& user, std::string_view password,
                             std::chrono::steady_clock::time_point now) {
  const auto tag = sec::hmac(sec::hash_algorithm::sha256, key_, password);
  {
    std::lock_guard lock(mutex_);
    if (const auto it = by_user_.find(user); it != by_user_.end()) {
      const auto& e = *it->second;
      if (now - e.verified >= lifetime_ || !same_credentials(e.credentials, snapshot, user))
        forget(it);
      else if (sec::equal_constant_time(e.password_tag, tag))
        return true;
    }
    ++derivations_;
  }
  if (!snapshot.password_matches(user, password)) return false;
  // Copied only for a new entry: the snapshot is immutable, so these are what was verified.
  auto credentials = credentials_of(snapshot, user);
  std::lock_guard lock(mutex_);
  // Another thread may have verified the user meanwhile: one entry per user, the latest.
  if (const auto it = by_user_.find(user); it != by_user_.end()) forget(it);
  while (!entries_.empty() && (entries_.size() >= capacity_ || now - entries_.front().verified >= lifetime_))
    forget(by_user_.find(entries_.front().user));
  if (capacity_ == 0) return true;
  entries_.push_back({user, tag, std::move(credentials), now});
  by_user_.emplace(user, std::prev(entries_.end()));
  return true;
}

void password_cache::forget(std::map<std::string, entries::iterator, std::less<>>::iterator it) {
  entries_.erase(it->second);
  by_user_.erase(it);
}

std::size_t password_cache::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

std::uint64_t password_cache::derivations() const {
  std::lock_guard lock(mutex_);
  return derivations_;
}

}  // namespace portask
