#include "actors/security/access_control.hpp"

namespace portask {

namespace sec = protocol::security;

const sec::scram_credential* security_snapshot::credential(const std::string& user,
                                                           sec::scram_mechanism m) const {
  const auto it = credentials.find({user, m});
  return it == credentials.end() ? nullptr : &it->second;
}

bool security_snapshot::password_matches(const std::string& user, std::string_view password) const {
  for (auto m : {sec::scram_mechanism::sha256, sec::scram_mechanism::sha512})
    if (const auto* c = credential(user, m)) return sec::password_matches(*c, password);
  return false;
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

bool access_control::may_authenticate(const std::string& address) {
  std::lock_guard lock(failures_mutex_);
  const auto it = failures_.find(address);
  if (it == failures_.end()) return true;
  if (std::chrono::steady_clock::now() - it->second.window_start >= std::chrono::minutes(1)) {
    failures_.erase(it);
    return true;
  }
  return it->second.count < max_failures_per_minute_;
}

void access_control::authentication_failed(const std::string& address) {
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(failures_mutex_);
  // Bounded whatever the number of addresses: expired windows go first, then everything.
  if (failures_.size() >= 10000) {
    std::erase_if(failures_, [&](const auto& kv) { return now - kv.second.window_start >= std::chrono::minutes(1); });
    if (failures_.size() >= 10000) failures_.clear();
  }
  auto& f = failures_[address];
  if (f.count == 0 || now - f.window_start >= std::chrono::minutes(1)) f = {now, 0};
  ++f.count;
}

bool authorization_cache::allowed(std::string_view principal, std::string_view host, sec::acl_operation op,
                                  sec::resource_type type, std::string_view name) {
  return !access_->authorization() || current().acls.allowed(principal, host, op, type, name);
}

bool authorization_cache::allowed_on_some(std::string_view principal, std::string_view host,
                                          sec::acl_operation op, sec::resource_type type) {
  return !access_->authorization() || current().acls.allowed_on_some(principal, host, op, type);
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
