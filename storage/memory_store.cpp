#include "storage/memory_store.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <mutex>

#include "logging/loggers.hpp"

namespace portask::storage {

struct memory_store::state {
  /// One partition's log: its batches by base offset, and the bounds that outlive them (a
  /// log whose batches all went keeps its next offset and running totals).
  struct partition_log {
    std::map<std::int64_t, stored_batch> batches;
    std::int64_t log_start = 0;
    std::int64_t next_offset = 0;
    std::uint64_t end_bytes = 0;
    std::int64_t end_timestamp = -1;
  };
  struct producer_state {
    std::int64_t covers = 0;
    std::map<std::int64_t, std::vector<producer_batch>> windows;  // producer id -> batches
  };
  std::mutex mutex;
  std::uint64_t capacity = 0;  ///< 0: no limit
  std::uint64_t used = 0;      ///< bytes of frames held
  bool full_logged = false;    ///< "full" is logged once per episode
  std::map<topic_partition, partition_log> logs;
  std::map<topic_partition, producer_state> producers;
  std::int64_t next_producer_id = 0;
  /// Each resumed producer's current epoch (log_store::bump_producer_epoch); an id never
  /// resumed has none.
  std::map<std::int64_t, std::int16_t> producer_epochs;
  std::map<std::string, topic_info> topics;
  std::map<std::string, std::map<topic_partition, committed_offset>> offsets;
  /// Each group's metadata (commit_group_metadata), kept only while the group has offsets.
  std::map<std::string, group_metadata> metadata;
  std::map<std::pair<std::string, protocol::security::scram_mechanism>, protocol::security::scram_credential>
      credentials;
  std::set<protocol::security::acl_binding> acls;
  // Cluster membership and leases (only ever used by one process's nodes: tests).
  using clock = std::chrono::steady_clock;
  struct timed_value {
    std::string value;
    clock::time_point expires;
  };
  std::map<std::int32_t, std::pair<node_registration, clock::time_point>> nodes;
  std::map<std::string, timed_value> leases;
  std::map<std::string, std::int64_t> lease_epochs;
  /// Each lease's last holder, until it releases the lease or the topic is deleted (as
  /// redis_store's `:last` key): a lease taken while its entry is there is taken over.
  std::map<std::string, lease_holder> lease_last;
  /// The lease's current value, forgetting it once expired.
  const std::string* live_lease(const std::string& name, clock::time_point now) {
    auto it = leases.find(name);
    if (it == leases.end()) return nullptr;
    if (it->second.expires <= now) {
      leases.erase(it);
      return nullptr;
    }
    return &it->second.value;
  }
};

namespace {

partition_bounds bounds_of(const memory_store::state::partition_log& log) {
  partition_bounds b;
  b.next_offset = log.next_offset;
  b.end_bytes = log.end_bytes;
  b.end_timestamp = log.end_timestamp;
  if (log.batches.empty()) {
    b.log_start = log.next_offset;
    b.start_bytes = log.end_bytes;
  } else {
    // The recorded start, which may lie inside the first batch (DeleteRecords) or before it
    // (a compaction removed the records there).
    const auto& first = log.batches.begin()->second;
    b.log_start = log.log_start;
    b.start_bytes = first.start_bytes();
  }
  return b;
}

}  // namespace

store_factory memory_store::factory(std::uint64_t capacity) {
  auto shared = std::make_shared<state>();
  shared->capacity = capacity;
  return [shared]() -> expected<std::unique_ptr<log_store>> {
    return std::unique_ptr<log_store>(std::make_unique<memory_store>(shared));
  };
}

void memory_store::append(std::span<const append_request> requests,
                          std::vector<std::error_code>& results) {
  results.assign(requests.size(), std::error_code{});
  std::lock_guard lock{state_->mutex};
  auto& st = *state_;
  // All or nothing, as a Redis transaction: refusing only some would store a partition's
  // batch N+1 without N.
  std::uint64_t adding = 0;
  for (const auto& r : requests) adding += r.frame.size();
  if (st.capacity != 0 && st.used + adding > st.capacity) {
    if (!st.full_logged)
      logging::storage().warn("memory store full ({} of {} bytes): appends are refused (retriable) until "
                   "retention or DeleteRecords free room",
                   st.used, st.capacity);
    st.full_logged = true;
    results.assign(requests.size(), make_error_code(errc::storage_full));
    return;
  }
  if (st.full_logged) logging::storage().info("memory store has room again ({} of {} bytes)", st.used, st.capacity);
  st.full_logged = false;
  // A fenced writer's batches of a partition after a refused one are refused too: nothing
  // after a gap, as the store's script does. (A writer: a partition under one lease; a stale
  // one's refusal does not stop the current one's batches.) Unfenced ones each stand alone,
  // as in a Redis transaction.
  // Empty unless a fenced batch was refused (rare): no work or allocation per batch otherwise.
  struct refusal {
    const append_request* writer;
    std::error_code error;
  };
  std::vector<refusal> refused;
  auto refuse = [&](std::size_t i, errc e) {
    results[i] = e;
    if (!requests[i].fence.empty()) refused.push_back({&requests[i], results[i]});
  };
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const auto& r = requests[i];
    if (!r.fence.empty()) {
      auto earlier = std::find_if(refused.begin(), refused.end(), [&](const refusal& x) {
        return x.writer->fence == r.fence && *x.writer->tp == *r.tp;
      });
      if (earlier != refused.end()) {
        results[i] = earlier->error;
        continue;
      }
      const auto* lease = st.live_lease(partition_lease(*r.tp), state::clock::now());
      if (lease == nullptr || *lease != r.fence) {
        refuse(i, errc::not_leader);
        continue;
      }
    }
    auto& log = st.logs[*r.tp];
    // Same rule as a stream's explicit ids: strictly increasing base offsets, never below
    // what was ever stored.
    if (r.base_offset < log.next_offset ||
        (!log.batches.empty() && log.batches.rbegin()->first >= r.base_offset)) {
      refuse(i, errc::offset_conflict);
      continue;
    }
    stored_batch b;
    b.base_offset = r.base_offset;
    b.record_count = r.record_count;
    b.max_timestamp = r.max_timestamp;
    b.producer = r.producer;
    b.frame = r.frame;  // immutable once framed: shared, not copied
    b.end_bytes = r.end_bytes;
    b.end_timestamp = r.end_timestamp;
    // A log's first batch starts it (an emptied log's start is its next offset already).
    if (log.batches.empty()) log.log_start = std::max(log.log_start, r.base_offset);
    log.next_offset = b.next_offset();
    log.end_bytes = b.end_bytes;
    log.end_timestamp = std::max(log.end_timestamp, b.end_timestamp);
    st.used += b.frame.size();
    log.batches.emplace(r.base_offset, std::move(b));
  }
}

expected<std::vector<stored_batch>> memory_store::read(const topic_partition& tp,
                                                       std::int64_t offset,
                                                       std::size_t max_bytes) {
  std::vector<stored_batch> out;
  {
    std::lock_guard lock{state_->mutex};
    auto found = state_->logs.find(tp);
    if (found == state_->logs.end()) return out;
    const auto& log = found->second.batches;
    auto it = log.upper_bound(offset);
    if (it != log.begin() && std::prev(it)->second.next_offset() > offset) --it;
    std::size_t bytes = 0;
    for (; it != log.end(); ++it) {
      if (!out.empty() && bytes + it->second.frame.size() > max_bytes) break;
      bytes += it->second.frame.size();
      out.push_back(it->second);  // the frame is shared, not copied
    }
  }
  // Frames never change once stored: their CRCs are checked without holding the store, whose
  // mutex the writers (on the scheduler's threads) take for every append.
  for (const auto& b : out)
    if (auto ec = verify_stored_frame(b.frame)) return ec;
  return out;
}

expected<partition_bounds> memory_store::bounds(const topic_partition& tp) {
  std::lock_guard lock{state_->mutex};
  auto log = state_->logs.find(tp);
  if (log == state_->logs.end()) return partition_bounds{};
  return bounds_of(log->second);
}

expected<std::int64_t> memory_store::retention_point(const topic_partition& tp,
                                                     const retention_limits& limits) {
  std::lock_guard lock{state_->mutex};
  auto found = state_->logs.find(tp);
  if (found == state_->logs.end()) return std::int64_t{0};
  const auto& log = found->second;
  auto point = bounds_of(log).log_start;
  // The time limit asks for the newest record from the first stored batch on: the running
  // maximum also counts batches deleted since, and one stamped far ahead, once gone, must
  // not keep the rest for ever (Kafka decides by each segment's own newest record).
  const retention_limits by_bytes{-1, limits.keep_bytes};
  std::int64_t newest = -1;
  for (const auto& [base, b] : log.batches) {
    newest = std::max(newest, b.max_timestamp);
    const bool by_time = limits.older_than_ms >= 0 && newest < limits.older_than_ms;
    if (!by_time && !by_bytes.removes(b, log.end_bytes)) break;
    point = std::max(point, b.next_offset());
  }
  return point;
}

expected<partition_bounds> memory_store::delete_records(const topic_partition& tp,
                                                        std::int64_t offset,
                                                        const std::string& fence) {
  // Declared before the lock, so the deleted batches are freed after it is released: freeing
  // a large range takes a while, and the writers take this mutex for every append.
  std::vector<decltype(state::partition_log::batches)::node_type> deleted;
  std::lock_guard lock{state_->mutex};
  // Under the same lock as the deletion, as the fenced append checks its lease.
  if (!fence.empty()) {
    const auto* lease = state_->live_lease(partition_lease(tp), state::clock::now());
    if (lease == nullptr || *lease != fence) return errc::not_leader;
  }
  auto& log = state_->logs[tp];
  offset = std::min(offset, log.next_offset);
  if (offset <= log.log_start) return bounds_of(log);
  log.log_start = offset;
  for (auto it = log.batches.begin(); it != log.batches.end() && it->second.next_offset() <= offset;) {
    state_->used -= it->second.frame.size();
    deleted.push_back(log.batches.extract(it++));
  }
  return bounds_of(log);
}

expected<partition_bounds> memory_store::compact(const topic_partition& tp,
                                                const log_compaction& c) {
  // Freed after the lock is released, as in delete_records.
  std::vector<decltype(state::partition_log::batches)::node_type> removed;
  std::lock_guard lock{state_->mutex};
  auto& st = *state_;
  if (!c.fence.empty()) {
    const auto* lease = st.live_lease(partition_lease(tp), state::clock::now());
    if (lease == nullptr || *lease != c.fence) return errc::not_leader;
  }
  auto found = st.logs.find(tp);
  if (found == st.logs.end() || found->second.batches.empty() ||
      found->second.batches.begin()->first != c.first_base)
    return errc::offset_conflict;
  auto& log = found->second;
  const auto after = log.batches.lower_bound(c.end);
  if (after == log.batches.end()) return errc::invalid_request;  // it would empty the log
  if (after == log.batches.begin()) return errc::offset_conflict;
  if (const auto& last = std::prev(after)->second;
      last.next_offset() != c.end || last.end_bytes != c.end_bytes)
    return errc::offset_conflict;
  // The range as it will be: a kept batch is the stored one (its frame shared), with its
  // running bytes counted again.
  std::vector<stored_batch> range;
  range.reserve(c.batches.size());
  for (const auto& b : c.batches) {
    if (b.batch.base_offset < c.first_base || b.batch.next_offset() > c.end)
      return errc::invalid_request;
    if (b.rewritten) {
      range.push_back(b.batch);
      continue;
    }
    auto kept = log.batches.find(b.batch.base_offset);
    if (kept == log.batches.end() || kept->second.record_count != b.batch.record_count)
      return errc::offset_conflict;
    range.push_back(kept->second);
    range.back().end_bytes = b.batch.end_bytes;
  }
  for (auto it = log.batches.begin(); it != log.batches.end() && it->first < c.end;) {
    st.used -= it->second.frame.size();
    removed.push_back(log.batches.extract(it++));
  }
  for (auto& b : range) {
    st.used += b.frame.size();
    const auto base = b.base_offset;
    log.batches.emplace(base, std::move(b));
  }
  return bounds_of(log);
}

std::optional<store_usage> memory_store::usage() {
  std::lock_guard lock{state_->mutex};
  return store_usage{state_->used, state_->capacity};
}

std::error_code memory_store::create_topic(const topic_info& topic) {
  std::lock_guard lock{state_->mutex};
  if (!state_->topics.emplace(topic.name, topic).second) return errc::topic_already_exists;
  return {};
}

expected<topic_write> memory_store::update_topic(const topic_info& before, const topic_info& after) {
  std::lock_guard lock{state_->mutex};
  auto it = state_->topics.find(before.name);
  if (it == state_->topics.end() || it->second.id != before.id) return topic_write::gone;
  if (it->second != before) return topic_write::changed;
  it->second = after;
  return topic_write::done;
}

expected<topic_write> memory_store::delete_topic(const topic_info& topic) {
  // Freed after the lock is released, as in delete_records.
  std::vector<decltype(state::logs)::node_type> deleted;
  std::lock_guard lock{state_->mutex};
  if (auto it = state_->topics.find(topic.name); it != state_->topics.end()) {
    if (it->second.id != topic.id) return topic_write::gone;  // another topic has the name now
    if (it->second != topic) return topic_write::changed;
    state_->topics.erase(it);
  }
  for (std::int32_t p = 0; p < topic.partitions; ++p) {
    if (auto log = state_->logs.find(topic_partition{topic.name, p}); log != state_->logs.end()) {
      for (const auto& [base, b] : log->second.batches) state_->used -= b.frame.size();
      deleted.push_back(state_->logs.extract(log));
    }
    state_->producers.erase(topic_partition{topic.name, p});
    state_->leases.erase(partition_lease({topic.name, p}));
    state_->lease_last.erase(partition_lease({topic.name, p}));
  }
  return topic_write::done;
}

expected<std::vector<topic_info>> memory_store::list_topics() {
  std::lock_guard lock{state_->mutex};
  std::vector<topic_info> out;
  for (const auto& [name, info] : state_->topics) out.push_back(info);
  return out;
}

std::error_code memory_store::commit_offsets(const std::string& group, std::span<const group_offset> offsets,
                                             const std::string& fence) {
  // Nothing to store: no group either (list_groups names groups with offsets), as in Redis,
  // where an empty commit sends nothing.
  if (offsets.empty()) return {};
  std::lock_guard lock{state_->mutex};
  if (!fence.empty()) {
    const auto* lease = state_->live_lease(group_lease(group), state::clock::now());
    if (lease == nullptr || *lease != fence) return make_error_code(errc::not_coordinator);
  }
  auto& g = state_->offsets[group];
  for (const auto& o : offsets) g[o.tp] = o.offset;
  return {};
}

expected<std::vector<group_offset>> memory_store::fetch_offsets(const std::string& group) {
  std::lock_guard lock{state_->mutex};
  std::vector<group_offset> out;
  auto it = state_->offsets.find(group);
  if (it == state_->offsets.end()) return out;
  for (const auto& [tp, o] : it->second) out.push_back({tp, o});
  return out;
}

std::error_code memory_store::delete_offsets(const std::string& group,
                                             std::span<const topic_partition> partitions,
                                             const std::string& fence) {
  std::lock_guard lock{state_->mutex};
  if (!fence.empty()) {
    const auto* lease = state_->live_lease(group_lease(group), state::clock::now());
    if (lease == nullptr || *lease != fence) return make_error_code(errc::not_coordinator);
  }
  auto it = state_->offsets.find(group);
  if (it == state_->offsets.end()) return {};
  for (const auto& tp : partitions) it->second.erase(tp);
  if (partitions.empty() || it->second.empty()) {
    state_->offsets.erase(it);
    state_->metadata.erase(group);
  }
  return {};
}

expected<std::vector<std::string>> memory_store::list_groups() {
  std::lock_guard lock{state_->mutex};
  std::vector<std::string> out;
  for (const auto& [name, offsets] : state_->offsets) out.push_back(name);
  return out;
}

expected<bool> memory_store::commit_group_metadata(const std::string& group, const group_metadata& metadata,
                                                   const std::string& fence) {
  std::lock_guard lock{state_->mutex};
  if (!fence.empty()) {
    const auto* lease = state_->live_lease(group_lease(group), state::clock::now());
    if (lease == nullptr || *lease != fence) return make_error_code(errc::not_coordinator);
  }
  if (state_->offsets.count(group) == 0) {
    state_->metadata.erase(group);
    return false;
  }
  state_->metadata[group] = metadata;
  return true;
}

expected<group_metadata> memory_store::fetch_group_metadata(const std::string& group) {
  std::lock_guard lock{state_->mutex};
  auto it = state_->metadata.find(group);
  return it == state_->metadata.end() ? group_metadata{} : it->second;
}

expected<std::vector<group_listing>> memory_store::list_group_metadata() {
  std::lock_guard lock{state_->mutex};
  std::vector<group_listing> out;
  for (const auto& [name, offsets] : state_->offsets) {
    auto it = state_->metadata.find(name);
    out.push_back({name, it == state_->metadata.end() ? group_metadata{} : it->second});
  }
  return out;
}

expected<producer_history> memory_store::read_producer_history(const topic_partition& tp) {
  std::lock_guard lock{state_->mutex};
  producer_history out;
  if (auto p = state_->producers.find(tp); p != state_->producers.end()) {
    out.covers = p->second.covers;
    for (const auto& [id, window] : p->second.windows)
      out.batches.insert(out.batches.end(), window.begin(), window.end());
    std::sort(out.batches.begin(), out.batches.end(),
              [](const auto& a, const auto& b) { return a.base_offset < b.base_offset; });
  }
  if (auto found = state_->logs.find(tp); found != state_->logs.end()) {
    const auto& log = found->second.batches;
    // The newest entries at or after the snapshot, at most the scan limit: walked back from
    // the end, so that a long log is not counted through under the mutex.
    auto first = log.end();
    for (std::size_t n = 0; n < producer_history_scan_limit && first != log.begin() &&
                            std::prev(first)->first >= out.covers;
         ++n)
      --first;
    for (auto it = first; it != log.end(); ++it) {
      const auto& b = it->second;
      if (!b.producer.present()) continue;
      out.batches.push_back({b.producer.id, b.producer.epoch, b.producer.base_sequence,
                             last_sequence(b.producer.base_sequence, b.record_count),
                             b.base_offset, b.record_count, -1});
    }
  }
  return out;
}

std::error_code memory_store::put_producer_snapshot(const topic_partition& tp,
                                                    const producer_snapshot& snapshot,
                                                    const std::string& fence) {
  std::lock_guard lock{state_->mutex};
  if (!fence.empty()) {
    const auto* lease = state_->live_lease(partition_lease(tp), state::clock::now());
    if (lease == nullptr || *lease != fence) return make_error_code(errc::not_leader);
  }
  auto& p = state_->producers[tp];
  for (auto id : snapshot.expired) p.windows.erase(id);
  std::map<std::int64_t, std::vector<producer_batch>> replaced;
  for (const auto& b : snapshot.batches) replaced[b.producer_id].push_back(b);
  for (auto& [id, window] : replaced) p.windows[id] = std::move(window);
  p.covers = snapshot.covers;
  return {};
}

expected<std::int64_t> memory_store::allocate_producer_ids(std::int64_t count) {
  std::lock_guard lock{state_->mutex};
  const auto first = state_->next_producer_id;
  state_->next_producer_id += count;
  return first;
}

expected<std::int16_t> memory_store::bump_producer_epoch(std::int64_t producer_id, std::int16_t epoch) {
  if (producer_id < 0 || epoch < 0) return errc::invalid_request;
  std::lock_guard lock{state_->mutex};
  if (producer_id >= state_->next_producer_id) return errc::unknown_producer_id;
  auto current = state_->producer_epochs.find(producer_id);
  if (current != state_->producer_epochs.end() && current->second != epoch) return errc::invalid_producer_epoch;
  if (epoch >= last_producer_epoch) return errc::invalid_producer_epoch;
  const auto next = static_cast<std::int16_t>(epoch + 1);
  state_->producer_epochs[producer_id] = next;
  return next;
}

expected<bool> memory_store::register_node(const node_registration& r,
                                           std::chrono::milliseconds ttl) {
  std::lock_guard lock{state_->mutex};
  const auto now = state::clock::now();
  auto it = state_->nodes.find(r.node);
  if (it != state_->nodes.end() && it->second.second > now && it->second.first.token != r.token)
    return false;
  state_->nodes[r.node] = {r, now + ttl};
  return true;
}

std::error_code memory_store::deregister_node(const node_registration& r) {
  std::lock_guard lock{state_->mutex};
  auto it = state_->nodes.find(r.node);
  if (it != state_->nodes.end() && it->second.first.token == r.token) state_->nodes.erase(it);
  return {};
}

expected<std::vector<node_registration>> memory_store::live_nodes() {
  std::lock_guard lock{state_->mutex};
  const auto now = state::clock::now();
  std::vector<node_registration> out;
  // An expired registration is forgotten, as the RESP store forgets its id.
  for (auto it = state_->nodes.begin(); it != state_->nodes.end();) {
    if (it->second.second <= now) {
      it = state_->nodes.erase(it);
      continue;
    }
    out.push_back(it->second.first);
    ++it;
  }
  return out;
}

expected<std::vector<lease_holder>> memory_store::lease_round(const lease_holder& me,
                                                              std::chrono::milliseconds ttl,
                                                              std::span<const lease_claim> claims) {
  std::lock_guard lock{state_->mutex};
  const auto now = state::clock::now();
  std::vector<lease_holder> out;
  out.reserve(claims.size());
  for (const auto& c : claims) {
    const auto* current = state_->live_lease(c.name, now);
    auto holder = current ? parse_lease_value(*current) : lease_holder{};
    const bool mine = holder.node == me.node && holder.token == me.token;
    if (mine && c.intent == lease_intent::want) {
      state_->leases[c.name].expires = now + ttl;
    } else if (mine && c.intent == lease_intent::drop) {
      state_->leases.erase(c.name);
      state_->lease_last.erase(c.name);
      holder = {};
    } else if (!holder.held() && c.intent == lease_intent::want) {
      const auto last = state_->lease_last.find(c.name);
      const bool taken_over = last != state_->lease_last.end() &&
                              !(last->second.node == me.node && last->second.token == me.token);
      holder = {me.node, ++state_->lease_epochs[c.name], me.token};
      state_->leases[c.name] = {lease_value(holder), now + ttl};
      state_->lease_last[c.name] = holder;
      holder.taken_over = taken_over;
    }
    out.push_back(std::move(holder));
  }
  return out;
}

std::error_code memory_store::put_credential(const user_credential& c) {
  std::lock_guard lock(state_->mutex);
  state_->credentials[{c.user, c.credential.mechanism}] = c.credential;
  return {};
}

expected<bool> memory_store::delete_credential(const std::string& user,
                                               protocol::security::scram_mechanism m) {
  std::lock_guard lock(state_->mutex);
  return state_->credentials.erase({user, m}) > 0;
}

expected<std::vector<user_credential>> memory_store::list_credentials() {
  std::lock_guard lock(state_->mutex);
  std::vector<user_credential> out;
  for (const auto& [key, c] : state_->credentials) out.push_back({key.first, c});
  return out;
}

std::error_code memory_store::put_acls(std::span<const protocol::security::acl_binding> bindings) {
  std::lock_guard lock(state_->mutex);
  state_->acls.insert(bindings.begin(), bindings.end());
  return {};
}

std::error_code memory_store::delete_acls(std::span<const protocol::security::acl_binding> bindings) {
  std::lock_guard lock(state_->mutex);
  for (const auto& b : bindings) state_->acls.erase(b);
  return {};
}

expected<std::vector<protocol::security::acl_binding>> memory_store::list_acls() {
  std::lock_guard lock(state_->mutex);
  return std::vector<protocol::security::acl_binding>(state_->acls.begin(), state_->acls.end());
}

}  // namespace portask::storage
