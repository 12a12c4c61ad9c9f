#include "client/cluster_client.hpp"

#include <poll.h>

#include <algorithm>
#include <thread>

namespace portask::client {

namespace native = protocol::native;
using clock_type = std::chrono::steady_clock;

namespace {

failure no_leader(const std::string& topic, std::int32_t partition) {
  return failure{errc::not_leader,
                 "partition " + topic + "/" + std::to_string(partition) + " has no leader at the moment", true};
}

// A node that could not be reached may be gone (the next Metadata will say): retriable. A
// certificate or credential it refused stays refused, and is not retried until the timeout.
failure unreachable(failure f) {
  if (f.code != errc::authentication_failed) f.retriable = true;
  return f;
}

}  // namespace

result<cluster_client> cluster_client::open(const options& o) {
  cluster_client c{o};
  auto first = c.open_to(o.host, o.port);
  if (!ok(first)) return error_of(first);
  auto conn = std::make_unique<connection>(std::move(std::get<0>(first)));
  auto m = conn->metadata();
  if (!ok(m)) return error_of(m);
  c.take(std::move(std::get<0>(m)), std::move(conn));
  return c;
}

result<connection> cluster_client::open_to(const std::string& host, std::uint16_t port) const {
  auto o = opts_;
  o.host = host;
  o.port = port;
  // A tls_server_name set in the options is every node's (one certificate name shared by
  // all, nodes advertising addresses); left empty, each node's certificate must name the
  // host it advertises.
  auto c = connection::open(o);
  if (ok(c)) ++opened_;
  return c;
}

void cluster_client::take(native::metadata_response m, std::unique_ptr<connection> answered_on) {
  const std::int32_t answered_by = m.node_id >= 0 ? m.node_id : -1;
  if (answered_on) {
    auto it = nodes_.find(answered_by);
    if (it == nodes_.end() || !it->second->usable()) install(answered_by, std::move(answered_on));
  }
  partition_counts_.clear();
  for (const auto& t : m.topics) partition_counts_[t.topic] = t.partitions;
  // A node that has not yet seen a lease change must not send us back to the old leader:
  // per partition, the higher lease epoch wins. Unless the leader known has since said it
  // is not, or is no longer listed: then the epochs went back (the store was wiped or
  // restored), and the lower one is the leader to follow.
  auto listed = [&m](std::int32_t node) {
    return std::any_of(m.nodes.begin(), m.nodes.end(), [&](const auto& n) { return n.id == node; });
  };
  std::map<std::pair<std::string, std::int32_t>, leader_at> leaders;
  for (const auto& o : m.owners) {
    const std::pair key{o.topic, o.partition};
    auto known = leaders_.find(key);
    const bool keep = known != leaders_.end() && known->second.epoch > o.leader_epoch && !known->second.refused &&
                      listed(known->second.node);
    leaders[key] = keep ? known->second : leader_at{o.leader, o.leader_epoch, false};
  }
  leaders_ = std::move(leaders);
  for (const auto& g : m.coordinators) coordinators_[g.group] = g.node;
  meta_ = std::move(m);
}

result<bool> cluster_client::refresh(const std::vector<std::string>& groups) {
  std::vector<std::string> wanted = groups;
  for (const auto& [g, node] : coordinators_)
    if (std::find(wanted.begin(), wanted.end(), g) == wanted.end()) wanted.push_back(g);
  drop_broken();
  failure last{errc::storage_unavailable, "no node answered", true};
  // Nodes already connected first, then the bootstrap address, then every node last listed.
  for (auto& [id, c] : nodes_) {
    if (busy(id)) continue;  // its next answers belong to pipelined publishes
    auto m = c->metadata(wanted);
    if (ok(m)) {
      take(std::move(std::get<0>(m)), nullptr);
      return true;
    }
    last = error_of(m);
  }
  std::vector<std::pair<std::string, std::uint16_t>> addresses{{opts_.host, opts_.port}};
  for (const auto& n : meta_.nodes)
    if (!nodes_.contains(n.id)) addresses.emplace_back(n.host, n.port);
  for (const auto& [host, port] : addresses) {
    auto c = open_to(host, port);
    if (!ok(c)) {
      last = error_of(c);
      continue;
    }
    auto conn = std::make_unique<connection>(std::move(std::get<0>(c)));
    auto m = conn->metadata(wanted);
    if (ok(m)) {
      take(std::move(std::get<0>(m)), std::move(conn));
      return true;
    }
    last = error_of(m);
  }
  return last;
}

void cluster_client::drop_broken() {
  std::vector<std::int32_t> broken;
  for (const auto& [id, c] : nodes_)
    if (!c->usable()) broken.push_back(id);
  for (auto id : broken) forget(id);
}

void cluster_client::forget(std::int32_t node) {
  if (auto it = nodes_.find(node); it != nodes_.end()) {
    // Answers to publishes in flight on it that arrived before it failed are still theirs
    // (receive_publish): it is kept until they are taken.
    const auto serial = serials_[node];
    if (in_flight_on(serial)) retired_[serial] = std::move(it->second);
    nodes_.erase(it);
  }
  // Its subscriptions went with it: they are made again where their partitions are led.
  for (auto& [id, s] : subscriptions_)
    if (s.node == node) s.node = -2;
}

bool cluster_client::back_off(std::chrono::milliseconds& pause, clock_type::time_point deadline,
                              const std::vector<std::string>& groups) {
  if (clock_type::now() + pause > deadline) return false;
  std::this_thread::sleep_for(pause);
  pause = std::min(pause * 2, std::chrono::milliseconds(500));
  refresh(groups);  // when nobody answers, the next attempt says so
  return true;
}

std::int32_t cluster_client::partitions_of(const std::string& topic) const {
  auto it = partition_counts_.find(topic);
  return it == partition_counts_.end() ? 0 : it->second;
}

result<std::int32_t> cluster_client::leader_id(const std::string& topic, std::int32_t partition) {
  if (!clustered()) return -1;
  if (auto it = leaders_.find({topic, partition}); it != leaders_.end()) {
    if (it->second.node < 0) return no_leader(topic, partition);
    return it->second.node;
  }
  // A topic (or partition) the Metadata did not list, or partition -1 of a topic it did not
  // list: any node answers for it (creating the topic where brokers do, picking the
  // partition for -1; the next Metadata then names its leaders).
  for (const auto& [id, c] : nodes_)
    if (c->usable()) return id;
  if (!meta_.nodes.empty()) return meta_.nodes.front().id;
  return no_leader(topic, partition);
}

result<connection*> cluster_client::node(std::int32_t id) {
  if (!clustered()) id = -1;
  if (auto it = nodes_.find(id); it != nodes_.end()) {
    if (it->second->usable()) return it->second.get();
    forget(id);
  }
  std::optional<result<connection>> c;
  if (id == -1) {
    c = open_to(opts_.host, opts_.port);
  } else {
    auto n = std::find_if(meta_.nodes.begin(), meta_.nodes.end(), [&](const auto& e) { return e.id == id; });
    if (n == meta_.nodes.end())
      return failure{errc::not_leader, "node " + std::to_string(id) + " is not live", true};
    c = open_to(n->host, n->port);
  }
  if (!ok(*c)) return unreachable(error_of(*c));
  return install(id, std::make_unique<connection>(std::move(std::get<0>(*c))));
}

connection* cluster_client::install(std::int32_t node, std::unique_ptr<connection> c) {
  if (nodes_.contains(node)) forget(node);
  auto& slot = nodes_[node];
  slot = std::move(c);
  serials_[node] = opened_;
  return slot.get();
}

std::int32_t cluster_client::node_of(const connection& c) const {
  for (const auto& [id, n] : nodes_)
    if (n.get() == &c) return id;
  return -2;  // a connection no longer in use
}

void cluster_client::note_refusal(std::int32_t node, const failure& f, const std::string& topic,
                                  std::int32_t partition) {
  if (f.code != errc::not_leader) return;
  if (auto it = leaders_.find({topic, partition}); it != leaders_.end() && it->second.node == node)
    it->second.refused = true;
}

connection* cluster_client::sent_on(std::int32_t node, std::uint64_t serial) {
  if (auto it = nodes_.find(node); it != nodes_.end() && serials_[node] == serial) return it->second.get();
  if (auto it = retired_.find(serial); it != retired_.end()) return it->second.get();
  return nullptr;
}

void cluster_client::release_retired() {
  std::erase_if(retired_, [&](const auto& r) { return !in_flight_on(r.first); });
}

bool cluster_client::in_flight_on(std::uint64_t serial) const {
  return std::any_of(in_flight_.begin(), in_flight_.end(), [&](const auto& p) { return p.serial == serial; });
}

bool cluster_client::busy(std::int32_t node) const {
  return std::any_of(in_flight_.begin(), in_flight_.end(), [&](const auto& p) { return p.node == node; });
}

result<connection*> cluster_client::leader(const std::string& topic, std::int32_t partition) {
  auto id = leader_id(topic, partition);
  if (!ok(id)) return error_of(id);
  return node(std::get<0>(id));
}

result<connection*> cluster_client::coordinator(const std::string& group) {
  if (!clustered()) return node(-1);
  if (!coordinators_.contains(group)) {
    auto r = refresh({group});
    if (!ok(r)) return error_of(r);
  }
  auto it = coordinators_.find(group);
  if (it == coordinators_.end() || it->second < 0)
    return failure{errc::not_coordinator, "group " + group + " has no coordinator at the moment", true};
  return node(it->second);
}

result<connection> cluster_client::open_to_coordinator(const std::string& group) {
  if (!clustered()) return open_to(opts_.host, opts_.port);
  auto r = refresh({group});
  if (!ok(r)) return error_of(r);
  auto it = coordinators_.find(group);
  const auto id = it == coordinators_.end() ? -1 : it->second;
  auto n = std::find_if(meta_.nodes.begin(), meta_.nodes.end(), [&](const auto& e) { return e.id == id; });
  if (n == meta_.nodes.end())
    return failure{errc::not_coordinator, "group " + group + " has no coordinator at the moment", true};
  auto c = open_to(n->host, n->port);
  if (!ok(c)) return unreachable(error_of(c));
  return c;
}

result<connection*> cluster_client::any() {
  for (auto& [id, c] : nodes_)
    if (c->usable()) return c.get();
  if (!clustered()) return node(-1);
  for (const auto& n : meta_.nodes) {
    auto c = node(n.id);
    if (ok(c)) return c;
  }
  auto r = refresh();
  if (!ok(r)) return error_of(r);
  return any();
}

// -- partition calls --------------------------------------------------------------------------

result<native::publish_response> cluster_client::publish(const std::string& topic, std::int32_t partition,
                                                         const protocol::message_batch& batch,
                                                         const native::publish_producer& producer) {
  std::int32_t chosen = partition;
  // For partition -1 each attempt picks again.
  auto pick = [&]() -> result<connection*> {
    if (partition < 0) chosen = pick_partition(topic);
    return leader(topic, chosen);
  };
  // Its own answer: publishes pipelined to the same node (send_publish) keep theirs.
  return follow<native::publish_response>(
      pick, [&](connection& c) { return led_answer(c, topic, chosen, c.publish(topic, chosen, batch, producer)); },
      effect::changes);
}

std::int32_t cluster_client::pick_partition(const std::string& topic) {
  const auto n = clustered() ? partitions_of(topic) : 0;
  if (n == 0) return -1;
  std::int32_t chosen = 0;
  for (std::int32_t tries = 0; tries < n; ++tries) {
    chosen = static_cast<std::int32_t>(round_robin_++ % static_cast<std::uint32_t>(n));
    if (auto it = leaders_.find({topic, chosen}); it != leaders_.end() && it->second.node >= 0) break;
  }
  return chosen;
}

result<bool> cluster_client::send_pending(pending_publish& p) {
  const auto target = p.partition >= 0 ? p.partition : pick_partition(p.topic);
  auto id = leader_id(p.topic, target);
  if (!ok(id)) return error_of(id);
  auto c = node(std::get<0>(id));
  if (!ok(c)) return error_of(c);
  auto sent = std::get<0>(c)->send_publish(p.topic, target, p.batch, true, p.producer);
  if (!ok(sent)) return error_of(sent);
  p.target = target;
  p.node = std::get<0>(id);
  p.serial = serials_[p.node];
  p.request_id = std::get<0>(sent);
  return true;
}

result<bool> cluster_client::send_publish(const std::string& topic, std::int32_t partition,
                                          protocol::message_batch batch,
                                          const native::publish_producer& producer) {
  pending_publish p{topic, partition, std::move(batch), producer, deadline_after(opts_.timeout), -1, -1, 0, 0};
  auto pause = std::chrono::milliseconds(20);
  for (;;) {
    auto sent = send_pending(p);
    if (ok(sent)) break;
    if (!error_of(sent).retriable || !back_off(pause, p.deadline, {})) return sent;
  }
  in_flight_.push_back(std::move(p));
  return true;
}

// Before this client waits on one node's connection, or sleeps, what the others hold goes:
// pipelines to several leaders run side by side.
void cluster_client::flush() {
  for (auto& [id, c] : nodes_)
    if (c->usable()) c->flush();
}

result<native::publish_response> cluster_client::receive_publish() {
  while (!in_flight_.empty()) {
    release_retired();
    flush();
    auto p = std::move(in_flight_.front());
    in_flight_.pop_front();
    failure f{errc::storage_unavailable, "the connection was lost before the answer came", true};
    bool answered = false;
    // Its own answer, on the connection it went out on, even one that has failed since: an
    // answer that had arrived before is taken, not the batch sent again.
    if (auto* c = sent_on(p.node, p.serial)) {
      const bool failed_before = !c->usable();
      auto r = c->receive_publish(p.request_id);
      if (ok(r)) return r;
      f = error_of(r);
      note_refusal(p.node, f, p.topic, p.target);
      // A refusal from the broker is the answer; a connection that failed while this
      // waited leaves the outcome unknown, unless it ended over a frame too large or a
      // refusal of this client. (From one that had failed before, only an answer that had
      // arrived comes, the broker's refusal of a frame too large, or a retriable failure.)
      // A frame over our own limit is no answer: the outcome is unknown and said so, but the
      // batch is not sent again, as that frame would come again.
      if (!f.retriable && (c->usable() || failed_before || refused_for_good(f))) {
        if (over_client_frame_limit(f)) return outcome_unknown(std::move(f), "publish", "it may have been stored");
        return r;
      }
      answered = c->usable();
    }
    // Not stored there: sent again to where the partition is led now, behind the others. A
    // node that answered (NOT_LEADER, a full store) is asked again only after a pause and a
    // fresh look at the Metadata, or the batch would go straight back to it.
    auto pause = std::chrono::milliseconds(20);
    if (answered && !back_off(pause, p.deadline, {})) return f;
    for (;;) {
      if (clock_type::now() >= p.deadline) return f;
      auto sent = send_pending(p);
      if (ok(sent)) break;
      f = error_of(sent);
      if (!f.retriable || !back_off(pause, p.deadline, {})) return f;
    }
    ++retries_;
    in_flight_.push_back(std::move(p));
  }
  release_retired();
  return failure{errc::invalid_request, "no publish in flight", false};
}

result<fetched> cluster_client::fetch(const std::string& topic, std::int32_t partition, std::int64_t offset,
                                      std::uint32_t max_bytes, std::uint32_t max_wait_ms) {
  return follow<fetched>(
      [&] { return leader(topic, partition); },
      [&](connection& c) {
        return led_answer(c, topic, partition, c.fetch(topic, partition, offset, max_bytes, max_wait_ms));
      },
      effect::reads);
}

result<native::list_offsets_response> cluster_client::list_offsets(const std::string& topic,
                                                                   std::int32_t partition) {
  return follow<native::list_offsets_response>(
      [&] { return leader(topic, partition); },
      [&](connection& c) { return led_answer(c, topic, partition, c.list_offsets(topic, partition)); }, effect::reads);
}

result<native::list_offsets_response> cluster_client::offset_for_time(const std::string& topic,
                                                                      std::int32_t partition,
                                                                      std::int64_t timestamp_ms) {
  return follow<native::list_offsets_response>(
      [&] { return leader(topic, partition); },
      [&](connection& c) { return led_answer(c, topic, partition, c.offset_for_time(topic, partition, timestamp_ms)); },
      effect::reads);
}

result<native::list_offsets_response> cluster_client::delete_records(const std::string& topic,
                                                                     std::int32_t partition,
                                                                     std::int64_t offset) {
  return follow<native::list_offsets_response>(
      [&] { return leader(topic, partition); },
      [&](connection& c) { return led_answer(c, topic, partition, c.delete_records(topic, partition, offset)); },
      effect::changes);
}

// -- group calls ----------------------------------------------------------------------------

result<bool> cluster_client::commit(const std::string& group, const std::string& topic, std::int32_t partition,
                                    std::int64_t offset, const std::string& metadata,
                                    const std::string& member_id, std::int32_t generation) {
  return follow<bool>(
      [&] { return coordinator(group); },
      [&](connection& c) { return c.commit(group, topic, partition, offset, metadata, member_id, generation); },
      effect::changes, {group});
}

result<native::offset_fetch_response> cluster_client::committed(const std::string& group,
                                                                const std::string& topic,
                                                                std::int32_t partition) {
  return follow<native::offset_fetch_response>([&] { return coordinator(group); },
                                               [&](connection& c) { return c.committed(group, topic, partition); },
                                               effect::reads, {group});
}

result<native::group_detail> cluster_client::describe_group(const std::string& group) {
  return follow<native::group_detail>([&] { return coordinator(group); },
                                      [&](connection& c) { return c.describe_group(group); }, effect::reads,
                                      {group});
}

result<bool> cluster_client::delete_group(const std::string& group) {
  return follow<bool>([&] { return coordinator(group); }, [&](connection& c) { return c.delete_group(group); },
                      effect::changes, {group});
}

// -- subscriptions ----------------------------------------------------------------------------

result<bool> cluster_client::place(subscription& s) {
  auto id = leader_id(s.topic, s.partition);
  if (!ok(id)) return error_of(id);
  auto c = node(std::get<0>(id));
  if (!ok(c)) return error_of(c);
  // From the end (or the start): resolved to an offset here, so that when the subscription
  // is made again elsewhere (the leader moved before a delivery) it resumes there, not at
  // the new leader's end past what was acknowledged meanwhile.
  if (s.next_offset < 0) {
    auto bounds = led_answer(*std::get<0>(c), s.topic, s.partition, std::get<0>(c)->list_offsets(s.topic, s.partition));
    if (!ok(bounds)) return error_of(bounds);
    s.next_offset = s.next_offset == -1 ? std::get<0>(bounds).high_watermark : std::get<0>(bounds).log_start;
  }
  auto made = led_answer(*std::get<0>(c), s.topic, s.partition,
                         std::get<0>(c)->subscribe(s.topic, s.partition, s.next_offset, std::max<std::uint32_t>(s.credit, 1)));
  if (!ok(made)) return error_of(made);
  s.node = clustered() ? std::get<0>(id) : -1;
  s.node_id = std::get<0>(made);
  return true;
}

result<std::uint32_t> cluster_client::subscribe(const std::string& topic, std::int32_t partition,
                                                std::int64_t offset, std::uint32_t credit_bytes) {
  subscription s{topic, partition, offset, credit_bytes, -2, 0, std::nullopt};
  // A subscription made on a connection that then broke ended with it: nothing to be unsure of.
  auto made =
      follow<bool>([&] { return leader(topic, partition); }, [&](connection&) { return place(s); }, effect::reads);
  if (!ok(made)) return error_of(made);
  subscriptions_[++last_subscription_] = std::move(s);
  return last_subscription_;
}

result<bool> cluster_client::grant_credit(std::uint32_t subscription_id, std::uint32_t bytes) {
  auto it = subscriptions_.find(subscription_id);
  if (it == subscriptions_.end()) return failure{errc::invalid_request, "no such subscription", false};
  auto& s = it->second;
  // Saturated: the sum of grants (after one of UINT32_MAX, say) must not wrap to a little,
  // which a subscription made again elsewhere would then ask for.
  s.credit = bytes > UINT32_MAX - s.credit ? UINT32_MAX : s.credit + bytes;
  if (s.node == -2) return true;  // carried to where it is made again
  auto c = nodes_.find(s.node);
  if (c == nodes_.end()) {
    s.node = -2;
    return true;
  }
  auto r = c->second->grant_credit(s.node_id, bytes);
  if (ok(r)) return true;
  // Cut off by what every connection would meet again (a delivery over our frame limit
  // ahead of the answer): made again, it would meet it again.
  if (!c->second->usable() && refused_for_good(error_of(r))) return end_subscriptions_on(s.node, error_of(r));
  if (!c->second->usable()) {  // cut off: made again elsewhere, with this credit
    s.node = -2;
    return true;
  }
  // Ended there meanwhile: its end was read before this answer, and next_delivery makes it
  // again (with the credit) or reports it. Not made again here, or an end for good would be
  // lost with the ended subscription.
  if (!c->second->subscribed(s.node_id)) return true;
  return r;
}

result<bool> cluster_client::unsubscribe(std::uint32_t subscription_id) {
  auto it = subscriptions_.find(subscription_id);
  if (it == subscriptions_.end()) return failure{errc::invalid_request, "no such subscription", false};
  const auto s = std::move(it->second);
  subscriptions_.erase(it);
  if (s.node == -2) return true;
  auto c = nodes_.find(s.node);
  if (c == nodes_.end() || !c->second->usable()) return true;
  auto r = c->second->unsubscribe(s.node_id);
  if (!ok(r) && !c->second->usable()) return true;  // gone with its connection
  return r;
}

failure cluster_client::end_subscriptions_on(std::int32_t node, failure f) {
  std::string ended;
  std::erase_if(subscriptions_, [&](const auto& e) {
    if (e.second.node != node) return false;
    ended += (ended.empty() ? "" : ", ") + std::to_string(e.first);
    return true;
  });
  if (!ended.empty()) f.message = "subscriptions ended: " + ended + ": " + f.message;
  return f;
}

result<std::optional<delivery>> cluster_client::next_delivery(std::chrono::milliseconds wait) {
  const auto deadline = deadline_after(wait);
  auto last_refresh = clock_type::time_point{};
  // What one connection had for us: a delivery, nothing, or a subscription ended for good.
  auto read_one = [&](std::int32_t node_key, connection& c,
                      std::chrono::milliseconds w) -> std::optional<result<std::optional<delivery>>> {
    auto r = c.next_delivery(w);
    auto mine = [&](std::uint32_t on_node) {
      return std::find_if(subscriptions_.begin(), subscriptions_.end(), [&](const auto& e) {
        return e.second.node == node_key && e.second.node_id == on_node;
      });
    };
    if (ok(r)) {
      auto& d = std::get<0>(r);
      if (!d) return std::nullopt;
      auto it = mine(d->subscription_id);
      if (it == subscriptions_.end()) return std::nullopt;  // one given up meanwhile
      auto& s = it->second;
      s.next_offset = std::max(s.next_offset, d->data.next_offset);
      s.credit -= std::min<std::uint32_t>(s.credit, static_cast<std::uint32_t>(d->wire_bytes));
      d->subscription_id = it->first;
      return r;
    }
    auto f = error_of(r);
    if (f.subscription_id != 0) {
      auto it = mine(f.subscription_id);
      if (it == subscriptions_.end()) return std::nullopt;
      if (f.retriable) {  // e.g. the leader moved: made again where it is now
        note_refusal(node_key, f, it->second.topic, it->second.partition);
        it->second.node = -2;
        return std::nullopt;
      }
      f.subscription_id = it->first;
      subscriptions_.erase(it);
      return result<std::optional<delivery>>{f};
    }
    if (c.usable()) return result<std::optional<delivery>>{f};  // e.g. a delivery that does not decode
    // No connection would do better (a delivery over this client's frame limit, this client
    // refused): made again, its subscriptions would meet it again, without end. They end
    // here, and the caller hears which (it subscribes again once it raised the limit, say).
    if (refused_for_good(f)) return result<std::optional<delivery>>{end_subscriptions_on(node_key, std::move(f))};
    // The node went away: its subscriptions are made again elsewhere.
    for (auto& [id, s] : subscriptions_)
      if (s.node == node_key) s.node = -2;
    return std::nullopt;
  };
  for (;;) {
    // Subscriptions without a home are made again on their partition's leader; one that
    // cannot be made any more (its topic was deleted) is reported and forgotten.
    bool homeless = false;
    for (auto it = subscriptions_.begin(); it != subscriptions_.end(); ++it) {
      auto& s = it->second;
      if (s.node != -2) continue;
      auto placed = place(s);
      if (ok(placed)) {
        s.homeless_since.reset();
        continue;
      }
      auto f = error_of(placed);
      const auto now = clock_type::now();
      if (!s.homeless_since) s.homeless_since = now;
      // Retried for as long as a request is waited for; then the caller hears of it (a
      // broker gone for good would otherwise be waited for forever).
      // In milliseconds: the clock's nanoseconds cannot hold a timeout of milliseconds::max().
      if (f.retriable && std::chrono::duration_cast<std::chrono::milliseconds>(now - *s.homeless_since) < opts_.timeout) {
        homeless = true;
        continue;
      }
      if (f.retriable)
        f.message = s.topic + "/" + std::to_string(s.partition) + ": no leader reachable for " +
                    std::to_string(opts_.timeout.count()) + " ms: " + f.message;
      f.retriable = false;
      f.subscription_id = it->first;
      subscriptions_.erase(it);
      return f;
    }
    if (homeless && clock_type::now() - last_refresh > std::chrono::milliseconds(200)) {
      drop_broken();
      refresh();
      last_refresh = clock_type::now();
    }
    std::vector<std::pair<std::int32_t, connection*>> live;
    for (auto& [id, c] : nodes_)
      if (c->usable()) live.emplace_back(id, c.get());
    for (auto& [id, c] : live)
      if (c->has_pending_deliveries())
        if (auto r = read_one(id, *c, std::chrono::milliseconds(1)); r && (!ok(*r) || std::get<0>(*r))) return *r;
    if (clock_type::now() >= deadline) return std::optional<delivery>{};
    auto left = time_left(deadline);
    if (homeless) left = std::min(left, std::chrono::milliseconds(100));
    flush();
    // A flush that waited for room read what came meanwhile: deliveries may be here that
    // the sockets no longer show. Then nothing is waited for.
    std::vector<pollfd> fds;
    bool here = false;
    for (auto& [id, c] : live) {
      fds.push_back(pollfd{c->native_handle(), POLLIN, 0});
      here = here || c->has_pending_deliveries();
    }
    if (fds.empty()) {
      std::this_thread::sleep_for(std::max(left, std::chrono::milliseconds(1)));
      continue;
    }
    const int wait_ms = here ? 0 : std::max(poll_timeout(left), 1);
    if (::poll(fds.data(), fds.size(), wait_ms) < 0) continue;
    for (std::size_t i = 0; i < fds.size(); ++i)
      if (fds[i].revents != 0 || live[i].second->has_pending_deliveries())
        if (auto r = read_one(live[i].first, *live[i].second, std::chrono::milliseconds(1));
            r && (!ok(*r) || std::get<0>(*r)))
          return *r;
  }
}

}  // namespace portask::client
