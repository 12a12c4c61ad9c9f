#include "actors/connections/transport/connection_table.hpp"

#include <algorithm>

namespace portask {

connection_table::verdict connection_table::admit(const boost::asio::ip::address& address) {
  // Connections looked at are kept alive until the mutex is released: the last reference
  // dropping here would run the connection's destructor, which leaves the table (locks).
  std::vector<std::shared_ptr<limited_connection>> looked_at;
  std::lock_guard lock{mutex_};
  bool evicted = false;
  const auto key = address.to_string();
  if (auto it = by_address_.find(key);
      max_per_address_ > 0 && it != by_address_.end() && it->second.size() >= max_per_address_) {
    if (!evict_one(it->second, looked_at)) return verdict::address_full;
    evicted = true;
  }
  if (entries_.size() >= max_total_) {
    std::vector<const limited_connection*> scope;
    scope.reserve(entries_.size());
    for (const auto& [k, e] : entries_) scope.push_back(k);
    if (!evict_one(scope, looked_at)) return verdict::listener_full;
    evicted = true;
  }
  return evicted ? verdict::admitted_after_eviction : verdict::admitted;
}

void connection_table::join(const boost::asio::ip::address& address,
                            const std::shared_ptr<limited_connection>& c) {
  std::lock_guard lock{mutex_};
  entries_[c.get()] = entry{c, c.get(), address};
  by_address_[address.to_string()].push_back(c.get());
}

void connection_table::leave(const limited_connection* c) {
  std::lock_guard lock{mutex_};
  forget(c);
}

void connection_table::forget(const limited_connection* c) {
  auto it = entries_.find(c);
  if (it == entries_.end()) return;
  const auto key = it->second.address.to_string();
  entries_.erase(it);
  auto& list = by_address_[key];
  std::erase(list, c);
  if (list.empty()) by_address_.erase(key);
}

bool connection_table::evict_one(const std::vector<const limited_connection*>& scope,
                                 std::vector<std::shared_ptr<limited_connection>>& looked_at) {
  limited_connection* victim = nullptr;
  for (const auto* k : scope) {
    auto it = entries_.find(k);
    if (it == entries_.end()) continue;
    auto c = it->second.connection.lock();
    if (!c) continue;
    looked_at.push_back(c);  // released after the lock, whether chosen or not
    if (!c->idle()) continue;
    if (!victim || c->last_active() < victim->last_active()) victim = c.get();
  }
  if (!victim) return false;
  // Forgotten now, so the new client's slot is free at once; the socket closes on its strand.
  forget(victim);
  victim->evict();
  return true;
}

std::size_t connection_table::size() const {
  std::lock_guard lock{mutex_};
  return entries_.size();
}

}  // namespace portask
