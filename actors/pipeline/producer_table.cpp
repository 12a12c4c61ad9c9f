#include "actors/pipeline/producer_table.hpp"

#include <algorithm>
#include <limits>

namespace portask {

namespace {
// True when `seq` lies after `expected` (within half the sequence space: they wrap).
bool ahead_of(std::int32_t seq, std::int32_t expected) {
  const auto d = (static_cast<std::int64_t>(seq) - expected + (std::int64_t{1} << 31)) %
                 (std::int64_t{1} << 31);
  return d > 0 && d < (std::int64_t{1} << 30);
}
}  // namespace

producer_table::check_result producer_table::check(const producer_sequence& p) const {
  if (!p.present()) return {verdict::append, {}};
  // A batch past `expected` while we ourselves refused `expected`: retry, not a gap.
  auto gap = [&](std::int32_t expected) {
    auto r = refused_.find(p.id);
    if (r != refused_.end() && r->second.epoch == p.epoch && r->second.contains(expected) &&
        ahead_of(p.first_seq, expected))
      return check_result{verdict::retry_later, {}};
    return check_result{verdict::out_of_order, {}};
  };
  auto it = producers_.find(p.id);
  // A producer's first batch on a partition has sequence 0. Anything else from a producer we
  // hold nothing of means its state is gone (expired): the client resets (KIP-360).
  if (it == producers_.end()) {
    if (p.first_seq == 0) return {verdict::append, {}};
    auto g = gap(0);
    return g.what == verdict::retry_later ? g : check_result{verdict::unknown_producer, {}};
  }
  const auto& e = it->second;
  if (p.epoch < e.epoch) return {verdict::stale_epoch, {}};
  // A new epoch starts its sequences again at 0.
  if (p.epoch > e.epoch) return p.first_seq == 0 ? check_result{verdict::append, {}} : gap(0);
  for (const auto& b : e.recent)
    if (b.first_seq == p.first_seq && b.last_seq == p.last_seq)
      return b.done ? check_result{verdict::duplicate, b.result}
                    : check_result{verdict::in_flight, {}};
  if (e.recent.empty()) return p.first_seq == 0 ? check_result{verdict::append, {}} : gap(0);
  const auto last = e.recent.back().last_seq;
  const auto expected = last == std::numeric_limits<std::int32_t>::max() ? 0 : last + 1;
  return p.first_seq == expected ? check_result{verdict::append, {}} : gap(expected);
}

bool producer_table::refusals::contains(std::int32_t seq) const noexcept {
  for (std::size_t i = 0; i < std::min(count, first_seqs.size()); ++i)
    if (first_seqs[i] == seq) return true;
  return false;
}

void producer_table::refused(const producer_sequence& p) {
  if (!p.present()) return;
  auto& r = refused_[p.id];
  if (r.epoch != p.epoch) r = refusals{p.epoch, {}, 0};
  if (r.contains(p.first_seq)) return;
  r.first_seqs[r.count++ % r.first_seqs.size()] = p.first_seq;
}

void producer_table::refused(std::uint64_t ticket) {
  auto t = by_ticket_.find(ticket);
  if (t == by_ticket_.end()) return;
  auto it = producers_.find(t->second);
  if (it == producers_.end()) return;
  for (const auto& b : it->second.recent)
    if (b.ticket == ticket && !b.done)
      refused(producer_sequence{t->second, it->second.epoch, b.first_seq, b.last_seq});
}

producer_table::entry& producer_table::touch(std::int64_t id, std::int16_t epoch,
                                             std::int64_t now_ms) {
  auto it = producers_.find(id);
  if (it == producers_.end()) {
    // Back down to the cap once producers mid-write no longer hold it above.
    while (producers_.size() >= max_producers_ && evict_one()) {
    }
    it = producers_.emplace(id, entry{epoch, {}, now_ms}).first;
    forgotten_.erase(id);
  } else if (it->second.epoch != epoch) {
    it->second.epoch = epoch;
    for (const auto& b : it->second.recent)
      if (!b.done) by_ticket_.erase(b.ticket);
    it->second.recent.clear();
  }
  it->second.last_use_ms = std::max(it->second.last_use_ms, now_ms);
  return it->second;
}

void producer_table::appended(const producer_sequence& p, std::uint64_t ticket,
                              std::int64_t now_ms) {
  if (!p.present()) return;
  auto& e = touch(p.id, p.epoch, now_ms);
  e.recent.push_back({p.first_seq, p.last_seq, ticket, false, {}});
  by_ticket_[ticket] = p.id;
  if (e.recent.size() > remembered_batches) {
    if (!e.recent.front().done) by_ticket_.erase(e.recent.front().ticket);
    e.recent.pop_front();
  }
}

void producer_table::stored(std::uint64_t ticket, const publish_result& result) {
  auto t = by_ticket_.find(ticket);
  if (t == by_ticket_.end()) return;
  const auto id = t->second;
  by_ticket_.erase(t);
  auto it = producers_.find(id);
  if (it == producers_.end()) return;
  for (auto& b : it->second.recent)
    if (b.ticket == ticket && !b.done) {
      b.done = true;
      b.ticket = 0;
      b.result = result;
      changed_.insert(id);
    }
}

void producer_table::rebuild(const storage::producer_history& history, std::int32_t partition,
                             std::int64_t now_ms) {
  producers_.clear();
  by_ticket_.clear();
  changed_.clear();
  forgotten_.clear();
  for (const auto& b : history.batches) {
    auto it = producers_.find(b.producer_id);
    // Batches come in log order; one of an epoch older than one already seen is history.
    if (it != producers_.end() && b.epoch < it->second.epoch) continue;
    const bool from_log = b.last_use_ms < 0;
    auto& e = touch(b.producer_id, b.epoch, from_log ? now_ms : b.last_use_ms);
    e.recent.push_back({b.first_seq, b.last_seq, 0, true,
                        publish_result{partition, b.base_offset, b.record_count, false}});
    if (e.recent.size() > remembered_batches) e.recent.pop_front();
    // Batches logged after the snapshot belong in the next one.
    if (from_log || b.base_offset >= history.covers) changed_.insert(b.producer_id);
  }
}

void producer_table::expire(std::int64_t now_ms, std::int64_t ttl_ms) {
  for (auto it = producers_.begin(); it != producers_.end();) {
    const auto& e = it->second;
    bool busy = false;
    for (const auto& b : e.recent) busy = busy || !b.done;
    if (!busy && now_ms - e.last_use_ms > ttl_ms) {
      auto next = std::next(it);
      forget(it);
      it = next;
    } else {
      ++it;
    }
  }
}

storage::producer_snapshot producer_table::take_snapshot(std::int64_t covers) {
  storage::producer_snapshot s;
  s.covers = covers;
  for (auto id : changed_) {
    auto it = producers_.find(id);
    if (it == producers_.end()) continue;
    const auto& e = it->second;
    for (const auto& b : e.recent)
      if (b.done && b.result.base_offset < covers)
        s.batches.push_back({id, e.epoch, b.first_seq, b.last_seq, b.result.base_offset,
                             b.result.count, e.last_use_ms});
  }
  s.expired.assign(forgotten_.begin(), forgotten_.end());
  changed_.clear();
  forgotten_.clear();
  return s;
}

void producer_table::snapshot_failed(const storage::producer_snapshot& s) {
  for (const auto& b : s.batches)
    if (producers_.count(b.producer_id)) changed_.insert(b.producer_id);
  for (auto id : s.expired)
    if (!producers_.count(id)) forgotten_.insert(id);
}

std::vector<producer_summary> producer_table::summaries() const {
  std::vector<producer_summary> out;
  for (const auto& [id, e] : producers_) {
    // The last stored batch: a batch still being written is not in the log yet.
    for (auto b = e.recent.rbegin(); b != e.recent.rend(); ++b)
      if (b->done) {
        out.push_back({id, e.epoch, b->last_seq, e.last_use_ms});
        break;
      }
  }
  std::sort(out.begin(), out.end(),
            [](const producer_summary& a, const producer_summary& b) { return a.id < b.id; });
  return out;
}

std::string producer_table::describe(std::int64_t id) const {
  auto it = producers_.find(id);
  if (it == producers_.end()) return "no state";
  // Appended piece by piece: `"literal" + std::string` trips GCC 12's -Wrestrict at -O3.
  std::string out = "epoch ";
  out += std::to_string(it->second.epoch);
  out += ':';
  for (const auto& b : it->second.recent) {
    out += ' ';
    out += std::to_string(b.first_seq);
    out += '-';
    out += std::to_string(b.last_seq);
    if (b.done) {
      out += " stored@";
      out += std::to_string(b.result.base_offset);
    } else {
      out += " writing";
    }
  }
  return out;
}

void producer_table::forget(std::unordered_map<std::int64_t, entry>::iterator it) {
  for (const auto& b : it->second.recent)
    if (!b.done) by_ticket_.erase(b.ticket);
  changed_.erase(it->first);
  forgotten_.insert(it->first);
  refused_.erase(it->first);
  producers_.erase(it);
}

bool producer_table::evict_one() {
  // Not one with a batch still being written: its retry would find no state and be appended
  // again (as expire() spares them). With every producer busy, the table holds one more.
  auto busy = [](const entry& e) {
    return std::any_of(e.recent.begin(), e.recent.end(), [](const batch_record& b) { return !b.done; });
  };
  auto oldest = producers_.end();
  for (auto it = producers_.begin(); it != producers_.end(); ++it)
    if (!busy(it->second) && (oldest == producers_.end() || it->second.last_use_ms < oldest->second.last_use_ms))
      oldest = it;
  if (oldest == producers_.end()) return false;
  forget(oldest);
  return true;
}

}  // namespace portask
