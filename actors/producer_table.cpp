#include "actors/producer_table.hpp"

#include <limits>

namespace portask {

producer_table::check_result producer_table::check(const producer_sequence& p) const {
  if (!p.present()) return {verdict::append, {}};
  auto it = producers_.find(p.id);
  if (it == producers_.end()) return {verdict::append, {}};
  const auto& e = it->second;
  if (p.epoch < e.epoch) return {verdict::stale_epoch, {}};
  // A new epoch starts its sequences again at 0.
  if (p.epoch > e.epoch) return {p.first_seq == 0 ? verdict::append : verdict::out_of_order, {}};
  for (const auto& b : e.recent)
    if (b.first_seq == p.first_seq && b.last_seq == p.last_seq)
      return b.done ? check_result{verdict::duplicate, b.result}
                    : check_result{verdict::in_flight, {}};
  if (e.recent.empty()) return {verdict::append, {}};
  const auto last = e.recent.back().last_seq;
  // Sequences wrap from INT32_MAX to 0.
  const auto expected = last == std::numeric_limits<std::int32_t>::max() ? 0 : last + 1;
  return {p.first_seq == expected ? verdict::append : verdict::out_of_order, {}};
}

void producer_table::appended(const producer_sequence& p, std::uint64_t ticket) {
  if (!p.present()) return;
  auto it = producers_.find(p.id);
  if (it == producers_.end()) {
    if (producers_.size() >= max_producers_) evict_one();
    it = producers_.emplace(p.id, entry{p.epoch, {}, 0}).first;
  } else if (it->second.epoch != p.epoch) {
    it->second.epoch = p.epoch;
    for (const auto& b : it->second.recent) by_ticket_.erase(b.ticket);
    it->second.recent.clear();
  }
  auto& e = it->second;
  e.last_use = ++clock_;
  e.recent.push_back({p.first_seq, p.last_seq, ticket, false, {}});
  by_ticket_[ticket] = p.id;
  if (e.recent.size() > remembered_batches) {
    by_ticket_.erase(e.recent.front().ticket);
    e.recent.pop_front();
  }
}

void producer_table::stored(std::uint64_t ticket, const publish_result& result) {
  auto t = by_ticket_.find(ticket);
  if (t == by_ticket_.end()) return;
  auto it = producers_.find(t->second);
  by_ticket_.erase(t);
  if (it == producers_.end()) return;
  for (auto& b : it->second.recent)
    if (b.ticket == ticket) {
      b.done = true;
      b.result = result;
    }
}

void producer_table::failed(std::uint64_t ticket) {
  auto t = by_ticket_.find(ticket);
  if (t == by_ticket_.end()) return;
  auto it = producers_.find(t->second);
  by_ticket_.erase(t);
  if (it == producers_.end()) return;
  for (const auto& b : it->second.recent) by_ticket_.erase(b.ticket);
  producers_.erase(it);
}

void producer_table::evict_one() {
  auto oldest = producers_.begin();
  for (auto it = producers_.begin(); it != producers_.end(); ++it)
    if (it->second.last_use < oldest->second.last_use) oldest = it;
  if (oldest == producers_.end()) return;
  for (const auto& b : oldest->second.recent) by_ticket_.erase(b.ticket);
  producers_.erase(oldest);
}

}  // namespace portask
