#include "actors/pipeline/protocol_bridge.hpp"

#include <algorithm>
#include <array>
#include <functional>
#include <limits>
#include <unordered_map>
#include <vector>

#include "protocol/topic_name.hpp"
#include "actors/pipeline/owed_answer.hpp"
#include "actors/pipeline/partition.hpp"
#include "actors/pipeline/publish_answer.hpp"
#include "actors/pipeline/registry_lookups.hpp"
#include "actors/pipeline/wall_clock.hpp"
#include "logging/loggers.hpp"

namespace portask {
namespace {

using namespace std::chrono_literals;

// A thread keeps a framing buffer up to this size between batches; larger ones are freed.
constexpr std::size_t max_kept_scratch = std::size_t{32} << 20;

// Partitions a bridge looks up at the registry one by one at a time. While that many lookups
// are out, further ones wait for the registry's list of every topic, asked for once for all
// of them (bridge_state::to_list): a request naming thousands of partitions of unknown topics
// (a Produce of 50,000 made-up names) would otherwise flood the one registry every
// connection waits on, and stall them all. A topic missing from the list is not read again
// from the store as a lookup's miss is in a cluster: one another node created shows from the
// registry's next read (the next lease round), and the client asks again meanwhile.
constexpr std::size_t lookups_one_by_one = registry_lookups_one_by_one;

// A request waiting for its partition's handle: called with it, or with the lookup's error
// and whether that lookup would have created the topic.
using waiting_for_partition =
    std::function<void(const partition_actor*, const caf::error*, bool lookup_created)>;

// A publish held back while its partition's stopped actor still owes answers: resumed with
// nullptr to go on, or failed with an error.
struct held_publish {
  std::uint64_t arrival;  ///< the order in which the bridge took the publishes up
  std::function<void(const caf::error*)> resume;
};

struct bridge_state {
  std::shared_ptr<broker_context> ctx;
  actor_directory dir;
  std::unordered_map<topic_partition, partition_actor, storage::topic_partition_hash> partitions;
  /// The same, by actor: a stopped partition's down message finds its entry without a scan.
  std::unordered_map<caf::actor_addr, topic_partition> partition_of;
  /// Requests for partitions whose handle is being looked up (the registry may be creating
  /// the topic, a store write): parked per partition, in arrival order, while every other
  /// partition's traffic goes on.
  std::unordered_map<topic_partition, std::vector<waiting_for_partition>,
                     storage::topic_partition_hash>
      resolving;
  /// Lookups beyond lookups_one_by_one, each with whether it may create the topic: those
  /// named while a topic list is out (`list_out`) wait for the next one, which may show what
  /// the one out was read too early to show. Their requests wait in `resolving` meanwhile.
  std::vector<std::pair<topic_partition, bool>> to_list;
  bool list_out = false;
  /// Publishes sent to each partition's actor and not answered yet.
  std::unordered_map<topic_partition, std::size_t, storage::topic_partition_hash> appends_out;
  /// Partitions whose actor stopped while publishes were out to it. CAF bounces those one by
  /// one, and the bridge may take up newer publishes for the partition before the last
  /// bounce reaches it: every publish for the partition waits here, in arrival order, until
  /// all that were out have come back, so a later one never overtakes one sent again.
  std::unordered_map<topic_partition, std::vector<held_publish>, storage::topic_partition_hash>
      draining;
  std::uint64_t arrivals = 0;  ///< publishes taken up so far (held_publish::arrival)
  /// A bridge that fails answers what it holds (retriable), as a mailbox it dies with would
  /// be bounced: nobody waits forever for a lookup that will never come back. What is out
  /// at a partition when it ends (its `.then` handlers, which CAF drops without a word) is
  /// answered the same way by the owed answers those handlers hold (owed_answer.hpp).
  ~bridge_state() {
    const auto gone = make_caf_error(errc::not_ready);
    auto waiting = std::move(resolving);
    for (auto& [tp, ws] : waiting)
      for (auto& w : ws) w(nullptr, &gone, true);
    auto held = std::move(draining);
    for (auto& [tp, hs] : held)
      for (auto& h : hs) h.resume(&gone);
  }
  static inline const char* name = "portask.protocol_bridge";
};

using self_ptr = protocol_bridge_actor::stateful_pointer<bridge_state>;

// Hands the lookup's outcome for `tp` to every request waiting for it: the partition's actor,
// or the error and whether the lookup would have created the topic.
void release(self_ptr self, const topic_partition& tp, const partition_actor* p,
             const caf::error* err, bool lookup_created) {
  auto node = self->state.resolving.extract(tp);
  if (node.empty()) return;
  for (auto& w : node.mapped()) w(p, err, lookup_created);
}

// Asks the registry for the actor of `tp`, for the requests waiting in `resolving`.
void look_up(self_ptr self, const topic_partition& tp, bool auto_create) {
  auto& st = self->state;
  auto registry = st.dir.registry;
  if (!registry) {
    const auto gone = make_caf_error(errc::not_ready);
    return release(self, tp, nullptr, &gone, true);
  }
  self->request(registry, registry_wait(st.ctx->config), partition_atom::value, tp, auto_create)
      .then(
          [=](partition_actor& p) {
            // Watched, so that a partition that stops (its topic deleted, or a failure) is
            // forgotten at once instead of failing the next request sent to it.
            self->monitor(p);
            auto& known = self->state.partitions[tp];
            if (known) self->state.partition_of.erase(known.address());
            known = p;
            self->state.partition_of[p.address()] = tp;
            release(self, tp, &p, nullptr, auto_create);
          },
          [=](caf::error& err) { release(self, tp, nullptr, &err, auto_create); });
}

void ask_list(self_ptr self);

// The registry's topic list has come back (or why not) for the partitions `listed` looked up
// in it: a missing topic or partition is answered here, as the registry would answer it; an
// existing partition (or a topic to create) is asked for one by one (the registry starts its
// actor). Those named while the list was out are looked up in the next one.
void take_list(self_ptr self, const std::vector<std::pair<topic_partition, bool>>& listed,
               const std::vector<storage::topic_info>* topics, const caf::error* err) {
  std::unordered_map<std::string, std::int32_t> partitions;  // of each topic
  if (topics != nullptr)
    for (const auto& t : *topics) partitions.emplace(t.name, t.partitions);
  for (const auto& [tp, auto_create] : listed) {
    if (err != nullptr) {
      release(self, tp, nullptr, err, auto_create);
      continue;
    }
    auto topic = partitions.find(tp.topic);
    if (topic == partitions.end() && !auto_create) {
      const auto unknown = make_caf_error(errc::unknown_topic);
      release(self, tp, nullptr, &unknown, false);
    } else if (topic != partitions.end() && (tp.partition < 0 || tp.partition >= topic->second)) {
      const auto unknown = make_caf_error(errc::unknown_partition);
      release(self, tp, nullptr, &unknown, true);
    } else {
      look_up(self, tp, auto_create);
    }
  }
  self->state.list_out = false;
  if (!self->state.to_list.empty()) ask_list(self);
}

void ask_list(self_ptr self) {
  auto& st = self->state;
  auto listed = std::make_shared<std::vector<std::pair<topic_partition, bool>>>(std::move(st.to_list));
  st.to_list.clear();
  auto registry = st.dir.registry;
  if (!registry) {
    const auto gone = make_caf_error(errc::not_ready);
    for (const auto& entry : *listed) release(self, entry.first, nullptr, &gone, true);
    return;
  }
  st.list_out = true;
  self->request(registry, registry_wait(st.ctx->config), list_atom::value)
      .then([=](std::vector<storage::topic_info>& topics) { take_list(self, *listed, &topics, nullptr); },
            [=](caf::error& err) { take_list(self, *listed, nullptr, &err); });
}

// Runs `f` with the partition's actor, or `on_error`. On a cache miss the request waits for
// the registry's answer (to a lookup of its own, or to the topic list: lookups_one_by_one)
// together with any later ones for the same partition (so batches for one partition reach it
// in the order they reached the bridge); requests for partitions the bridge knows never wait.
template <class F, class G>
void with_partition(self_ptr self, const topic_partition& tp, bool auto_create, F f, G on_error) {
  auto& st = self->state;
  if (auto it = st.partitions.find(tp); it != st.partitions.end()) {
    f(it->second);
    return;
  }
  auto waiter = [self, tp, auto_create, f, on_error](const partition_actor* p,
                                                     const caf::error* err,
                                                     bool lookup_created) mutable {
    if (p != nullptr)
      f(*p);
    else if (auto_create && !lookup_created)
      with_partition(self, tp, true, f, on_error);  // it joined a fetch's lookup: ask again
    else
      on_error(*err);
  };
  if (auto it = st.resolving.find(tp); it != st.resolving.end()) {
    it->second.emplace_back(std::move(waiter));
    return;
  }
  if (!st.dir.registry) {
    on_error(make_caf_error(errc::not_ready));
    return;
  }
  st.resolving[tp].emplace_back(std::move(waiter));
  if (st.resolving.size() <= lookups_one_by_one) return look_up(self, tp, auto_create);
  st.to_list.emplace_back(tp, auto_create);
  if (!st.list_out) ask_list(self);
}

// Drops the bridge's handle of `tp` if it is still `p` (not a successor's): the next request
// asks the registry again. Publishes still out to `p` may come back bounced, to be sent
// again: until they are all back, later ones wait behind them (bridge_state::draining).
void forget_partition(self_ptr self, const topic_partition& tp, const partition_actor& p) {
  auto& st = self->state;
  auto it = st.partitions.find(tp);
  if (it == st.partitions.end() || it->second != p) return;
  st.partition_of.erase(p.address());
  st.partitions.erase(it);
  if (st.appends_out.count(tp) > 0) st.draining.try_emplace(tp);
}

// A partition that failed with not_ready may have been replaced, and one that answers
// not_leader or unknown_topic is retiring: the bridge forgets its handle.
void forget_on_failure(self_ptr self, const topic_partition& tp, const partition_actor& p,
                       const caf::error& err) {
  const auto e = to_errc(err);
  if (e != errc::not_ready && e != errc::not_leader && e != errc::unknown_topic) return;
  forget_partition(self, tp, p);
}

protocol::buffer& frame_scratch() {
  thread_local protocol::buffer scratch;  // one per thread, whatever builds the frame
  return scratch;
}

// Frames a batch with `append` (which appends one frame to the buffer it is given). A frame
// the store keeps is built in this thread's reused buffer and copied once into slab memory;
// one that passes through to a remote store is built in its own buffer.
template <class Append>
expected<protocol::shared_bytes> build_frame(const broker_context& ctx, std::size_t estimate,
                                             Append append) {
  auto& scratch = frame_scratch();
  protocol::buffer own;
  auto& out = ctx.frames_stay_in_process ? scratch : own;
  out.clear();
  out.reserve(estimate);
  auto ec = append(out);
  protocol::shared_bytes frame;
  if (!ec)
    frame = ctx.frames_stay_in_process ? protocol::shared_bytes::copy_of(scratch)
                                       : protocol::shared_bytes::adopt(std::move(own));
  if (scratch.capacity() > max_kept_scratch) protocol::buffer{}.swap(scratch);
  if (ec) return ec;
  return frame;
}

// A batch kept as its client encoded it: its messages' bytes under the broker's header (the
// partition's topic and number, no offsets yet, a native batch's unset timestamps set to
// now). A frame that passes through to a remote store is built where the request's own
// headers were (no copy); one the store keeps in process is copied into slab memory as usual.
expected<framed_batch> frame_encoded(const broker_context& ctx, publish_batch& pb,
                                     std::int64_t now) {
  const auto& s = pb.encoded_scan;
  if (s.count == 0 || !s.rebasable || pb.encoded_at > pb.encoded.size() ||
      s.messages_at > pb.encoded.size() - pb.encoded_at)
    return errc::invalid_request;
  const auto base_ts = s.timestamps_unset ? now : s.base_timestamp_ms;
  // Records without a timestamp (negative: Kafka's -1) are kept for retention.ms from their
  // append, as Kafka keeps a segment of them by its file's time; a Kafka record stamped 0
  // counts by its 0, as in Kafka (a transcoded Kafka batch has no unset timestamps).
  const auto max_ts = s.timestamps_unset || s.max_timestamp_ms < 0 ? std::max<std::int64_t>(now, 0)
                                                                   : s.max_timestamp_ms;
  const auto type = protocol::message_type::publish;
  if (!ctx.frames_stay_in_process) {
    auto at = ctx.codecs.rebase_frame_in_place(pb.encoded, pb.encoded_at, s, pb.tp.topic,
                                               pb.tp.partition, protocol::no_offset, base_ts,
                                               type);
    if (!at) return at.error();
    if (*at) {
      const auto start = **at;
      auto whole = protocol::shared_bytes::adopt(std::move(pb.encoded));
      pb.encoded = {};
      return framed_batch{whole.slice(start, whole.size() - start), s.count, max_ts,
                          pb.producer, pb.kafka_view, s.keyless};
    }
  }
  const protocol::byte_view payload = protocol::byte_view{pb.encoded}.subspan(pb.encoded_at);
  auto frame = build_frame(
      ctx, protocol::frame_header_size + 32 + pb.tp.topic.size() + payload.size(),
      [&](protocol::buffer& out) {
        return ctx.codecs.append_rebased_frame(payload, s, pb.tp.topic, pb.tp.partition,
                                               protocol::no_offset, base_ts, type, out);
      });
  if (!frame) return frame.error();
  return framed_batch{std::move(*frame), s.count, max_ts, pb.producer, pb.kafka_view, s.keyless};
}

}  // namespace

expected<framed_batch> frame_batch(const broker_context& ctx, publish_batch& pb,
                                   std::int64_t now) {
  if (pb.kept_encoded()) {
    // Kept as sent, it is decoded later (a Kafka fetch, compaction, hooks): one that would
    // build more than a received batch may is refused as that one would be.
    if (protocol::binary_codec::decoded_structures(pb.encoded_scan) > ctx.codecs.max_decoded_bytes())
      return errc::decompressed_too_large;
    if (ctx.storage_encoding == protocol::encoding{}) return frame_encoded(ctx, pb, now);
    // Kept for a store of another encoding (connections check; this is the safety net).
    auto decoded = ctx.codecs.decode(protocol::flags_for(protocol::encoding{}),
                                     protocol::byte_view{pb.encoded}.subspan(
                                         std::min(pb.encoded_at, pb.encoded.size())));
    if (!decoded) return decoded.error();
    pb.batch = std::move(*decoded);
    pb.encoded = {};
  }
  if (pb.batch.messages.empty()) return errc::invalid_request;
  // A timestamp of 0 is the native protocol's "unset": the receive time stands for it. A
  // Kafka record's 0 is a timestamp like any other (Kafka's "none" is -1), kept as sent.
  const bool stamp_unset = pb.source != protocol_kind::kafka;
  std::int64_t max_ts = std::numeric_limits<std::int64_t>::min();
  bool keyless = false;
  std::size_t estimate = protocol::frame_header_size + 64;
  // Every message goes to pb.tp: the first names the topic, the others inherit it (empty).
  if (auto& first = pb.batch.messages.front(); first.topic != pb.tp.topic) first.topic = pb.tp.topic;
  for (auto& m : pb.batch.messages) {
    estimate += 24 + (m.key ? m.key->size() : 0) + (m.value ? m.value->size() : 0);
    for (const auto& h : m.headers) estimate += 8 + h.key.size() + (h.value ? h.value->size() : 0);
    if (!m.topic.empty() && m.topic != pb.tp.topic) m.topic.clear();
    m.partition = pb.tp.partition;
    m.offset = protocol::no_offset;  // offsets are the partition's: base offset + index
    if (m.timestamp_ms == 0 && stamp_unset) m.timestamp_ms = now;
    max_ts = std::max(max_ts, m.timestamp_ms);
    keyless = keyless || !m.key;
  }
  // Every record without a timestamp (negative: Kafka's -1): kept for retention.ms from now.
  if (max_ts < 0) max_ts = now;
  // Compressed frames grow as they are compressed: no estimate then.
  if (ctx.storage_encoding.compression != protocol::compression_id::none) estimate = 0;
  auto frame = build_frame(ctx, estimate, [&](protocol::buffer& out) {
    return ctx.codecs.append_batch_frame(pb.batch, ctx.storage_encoding,
                                         protocol::message_type::publish, out);
  });
  if (!frame) return frame.error();
  return framed_batch{std::move(*frame), static_cast<std::uint32_t>(pb.batch.messages.size()),
                      max_ts, pb.producer, pb.kafka_view, keyless};
}

namespace {

// How often a request is sent again to a fresh handle when the partition had stopped (idle)
// before it arrived: a bounced request was never processed, so resending it is safe.
constexpr int partition_attempts = 3;

struct publish_context {
  protocol_kind source;
  std::uint64_t wire_bytes;
  bool internal;
  std::shared_ptr<const protocol::message_batch> for_hooks;
};

/// One framed publish on its way to its partition, and where its answer goes (owed: a
/// publish dropped unanswered, by a bridge that ends with it out, answers not_ready).
struct pending_append {
  framed_batch batch;
  publish_context pc;
  owed_publish_answer answer;
};

// Holds a publish for `tp` until the publishes out to its stopped actor are all back.
void hold(self_ptr self, const topic_partition& tp, std::uint64_t arrival,
          std::function<void(const caf::error*)> resume) {
  auto& held = self->state.draining[tp];
  auto at = std::upper_bound(held.begin(), held.end(), arrival,
                             [](std::uint64_t a, const held_publish& h) { return a < h.arrival; });
  held.insert(at, {arrival, std::move(resume)});
}

// Sends on, in arrival order, what waits for `tp` once nothing is out to its actor.
void release_if_drained(self_ptr self, const topic_partition& tp) {
  auto& st = self->state;
  // Nearly always nothing is held: no lookups on the publish path then.
  if (st.draining.empty() || st.appends_out.count(tp) > 0) return;
  auto held = st.draining.extract(tp);
  if (held.empty()) return;
  for (auto& h : held.mapped()) h.resume(nullptr);
}

// One publish (or group) sent to the actor of `tp` has come back, answered or bounced.
void append_returned(self_ptr self, const topic_partition& tp) {
  auto& out = self->state.appends_out;
  if (auto it = out.find(tp); it != out.end() && --it->second == 0) out.erase(it);
  release_if_drained(self, tp);
}

// A stored batch counts as client traffic (unless it was a resend or the broker's own) and
// goes to the OnMessage hooks; then its publisher hears the result.
void stored(self_ptr self, const topic_partition& tp, pending_append& a, const publish_result& r) {
  if (!r.duplicate && !a.pc.internal) {
    auto& c = *self->state.ctx;
    c.metrics.messages_in(a.pc.source, a.batch.record_count, a.pc.wire_bytes);
    if (a.pc.for_hooks)
      if (auto hooks = self->state.dir.hooks)
        caf::anon_send(hooks, message_event{a.pc.source, tp, r.base_offset, a.pc.for_hooks});
  }
  a.answer.deliver(r);
}

// Sends the publishes for one partition, in order, as one message: a lone batch as itself,
// a burst as a group with one reply each. `arrival` orders them against the partition's
// other publishes when its actor stops under them (bridge_state::draining).
void append_to_partition(self_ptr self, topic_partition tp, bool auto_create,
                         std::shared_ptr<std::vector<pending_append>> items, int attempts_left,
                         std::uint64_t arrival) {
  auto resume = [=](int attempts) {
    return [=](const caf::error* err) {
      if (err == nullptr)
        append_to_partition(self, tp, auto_create, items, attempts, arrival);
      else
        for (auto& a : *items) a.answer.deliver(to_errc(*err));
    };
  };
  if (const auto& draining = self->state.draining; !draining.empty() && draining.count(tp) > 0) {
    hold(self, tp, arrival, resume(attempts_left));
    return;
  }
  // `p`: the partition that answered the error (none: the registry did).
  auto failed = [=](const partition_actor& p, const caf::error& err) {
    if (receiver_gone(err) && attempts_left > 1) {
      // Never processed: sent again, to a fresh actor, once everything else that was out
      // to the stopped one is back.
      if (p) forget_partition(self, tp, p);
      hold(self, tp, arrival, resume(attempts_left - 1));
      if (!p) release_if_drained(self, tp);
      return;
    }
    forget_on_failure(self, tp, p, err);
    for (auto& a : *items) a.answer.deliver(to_errc(err));
  };
  with_partition(
      self, tp, auto_create,
      [=](const partition_actor& p) {
        ++self->state.appends_out[tp];
        auto partition_failed = [=](const caf::error& err) {
          failed(p, err);
          append_returned(self, tp);
        };
        if (items->size() == 1) {
          self->request(p, caf::infinite, append_atom::value, items->front().batch)
              .then(
                  [=](publish_result& r) {
                    append_returned(self, tp);
                    stored(self, tp, items->front(), r);
                  },
                  partition_failed);
          return;
        }
        std::vector<framed_batch> group;
        group.reserve(items->size());
        for (const auto& a : *items) group.push_back(a.batch);
        self->request(p, caf::infinite, append_atom::value, std::move(group))
            .then(
                [=](std::vector<publish_reply>& replies) {
                  append_returned(self, tp);
                  if (replies.size() != items->size()) {  // a partition never does this
                    for (auto& a : *items) a.answer.deliver(errc::not_ready);
                    return;
                  }
                  for (std::size_t i = 0; i < replies.size(); ++i) {
                    if (replies[i].error == errc::ok) {
                      stored(self, tp, (*items)[i], replies[i].result);
                    } else {
                      forget_on_failure(self, tp, p, make_caf_error(replies[i].error));
                      (*items)[i].answer.deliver(replies[i].error);
                    }
                  }
                },
                partition_failed);
      },
      [=](const caf::error& err) { failed(partition_actor{}, err); });
}

// Frames a publish for its partition, or says why it cannot be stored.
expected<pending_append> prepare(self_ptr self, publish_batch& pb, std::int64_t now,
                                 publish_answer answer) {
  auto& st = self->state;
  if (!pb.internal && protocol::is_internal_topic(pb.tp.topic))
    return errc::invalid_request;  // clients only read it
  auto framed = frame_batch(*st.ctx, pb, now);
  if (!framed) return framed.error();
  // OnMessage subscribers get the normalised batch; built only when someone listens.
  std::shared_ptr<const protocol::message_batch> for_hooks;
  if (st.ctx->message_hook_subscribers.load(std::memory_order_relaxed) > 0) {
    if (pb.batch.messages.empty()) {  // kept encoded: the messages as framed
      auto decoded = st.ctx->codecs.decode(
          protocol::flags_for(protocol::encoding{}) | protocol::frame_flags::batch,
          framed->frame.view().subspan(protocol::frame_header_size));
      if (decoded)
        pb.batch = std::move(*decoded);
      else  // never: the bridge framed these bytes a moment ago
        logging::pipeline().error("bridge: a framed batch for {}/{} does not decode ({}); hooks skip it",
                      pb.tp.topic, pb.tp.partition, decoded.error().message());
    }
    for (auto& m : pb.batch.messages)
      if (m.topic.empty()) m.topic = pb.tp.topic;  // subscribers see whole messages
    for_hooks = std::make_shared<const protocol::message_batch>(std::move(pb.batch));
  }
  return pending_append{std::move(*framed),
                        {pb.source, pb.wire_bytes, pb.internal, std::move(for_hooks)},
                        owed_publish_answer{std::move(answer)}};
}

// `rp` is owed (owed_answer.hpp): a bridge that ends with the fetch out still answers it.
void fetch_from_partition(self_ptr self, fetch_request req, owed_promise<fetch_result> rp,
                          int attempts_left) {
  const auto tp = req.tp;
  with_partition(
      self, tp, false,
      [=](const partition_actor& p) mutable {
        self->request(p, caf::infinite, fetch_atom::value, req)
            .then(
                [=](fetch_result& r) mutable {
                  // What goes out is counted by the connection that sends it (messages_out):
                  // a long poll answered after its request was, is never sent. A Kafka
                  // reader's batch with a view counts as it is sent, as the partition cut it.
                  const bool as_sent = req.source == protocol_kind::kafka;
                  std::uint64_t bytes = 0;
                  std::size_t keep = 0;
                  for (; keep < r.batches.size(); ++keep) {
                    const auto& b = r.batches[keep];
                    const auto size = as_sent && keep < r.kafka_views.size() && r.kafka_views[keep]
                                          ? r.kafka_views[keep].size()
                                          : b.frame.size();
                    if (!req.at_least_one_batch && bytes + size > req.max_bytes) break;
                    bytes += size;
                  }
                  r.batches.resize(keep);
                  if (r.kafka_views.size() > keep) r.kafka_views.resize(keep);
                  rp.deliver(std::move(r));
                },
                [=](caf::error& err) mutable {
                  if (receiver_gone(err) && attempts_left > 1) {
                    forget_partition(self, tp, p);
                    fetch_from_partition(self, std::move(req), rp, attempts_left - 1);
                    return;
                  }
                  forget_on_failure(self, tp, p, err);
                  rp.deliver(std::move(err));
                });
      },
      [=](caf::error err) mutable { rp.deliver(std::move(err)); });
}

// An admin question to a partition: (atom, args...) to the partition of `tp`, its answer to
// `rp` (owed, as a fetch's); resent to a fresh handle when the partition had stopped before
// it arrived.
template <class R, class... Ts>
void ask(self_ptr self, topic_partition tp, owed_promise<R> rp, int attempts_left, Ts... msg) {
  with_partition(
      self, tp, false,
      [=](const partition_actor& p) mutable {
        self->request(p, caf::infinite, msg...)
            .then([=](R& r) mutable { rp.deliver(std::move(r)); },
                  [=](caf::error& err) mutable {
                    if (receiver_gone(err) && attempts_left > 1) {
                      forget_partition(self, tp, p);
                      ask(self, tp, rp, attempts_left - 1, msg...);
                      return;
                    }
                    forget_on_failure(self, tp, p, err);
                    rp.deliver(std::move(err));
                  });
      },
      [=](caf::error err) mutable { rp.deliver(std::move(err)); });
}

protocol_bridge_actor::behavior_type bridge_impl(self_ptr self,
                                                 std::shared_ptr<broker_context> ctx,
                                                 actor_directory dir) {
  self->state.ctx = ctx;
  self->state.dir = std::move(dir);
  self->set_down_handler([=](caf::down_msg& down) {
    auto& st = self->state;
    auto it = st.partition_of.find(down.source);
    if (it == st.partition_of.end()) return;
    const auto tp = it->second;
    forget_partition(self, tp, st.partitions.at(tp));
  });
  return {
      [=](publish_atom, publish_batch& pb) -> caf::result<publish_result> {
        auto rp = self->make_response_promise<publish_result>();
        auto item = prepare(self, pb, wall_clock_ms(), rp);
        if (!item) {
          rp.deliver(make_caf_error(static_cast<errc>(item.error().value())));
          return rp;
        }
        auto items = std::make_shared<std::vector<pending_append>>();
        items->push_back(std::move(*item));
        append_to_partition(self, pb.tp, pb.auto_create, std::move(items), partition_attempts,
                            ++self->state.arrivals);
        return rp;
      },
      [=](publish_atom,
          std::vector<publish_batch>& burst) -> caf::result<std::vector<publish_reply>> {
        auto rp = self->make_response_promise<std::vector<publish_reply>>();
        auto answers = std::make_shared<group_answer>(rp, burst.size());
        const auto now = wall_clock_ms();
        // One group per partition (and auto_create), in arrival order. A burst mostly names
        // one partition or a few: the last group is tried first, then the others while they
        // are few; past that they are found through an index, built then, since a Produce may
        // name tens of thousands of partitions and a search for each would grow with their
        // square.
        std::vector<std::pair<std::size_t, std::shared_ptr<std::vector<pending_append>>>> groups;
        constexpr std::size_t searched_groups = 8;
        std::unordered_map<topic_partition, std::array<std::size_t, 2>, storage::topic_partition_hash>
            index;  // by auto_create: its place in `groups` + 1, 0 for none yet
        auto same = [&](std::size_t g, const publish_batch& pb) {
          const auto& first = burst[groups[g].first];
          return first.auto_create == pb.auto_create && first.tp == pb.tp;
        };
        auto group_of = [&](const publish_batch& pb) -> std::size_t {  // place + 1, or 0
          if (!groups.empty() && same(groups.size() - 1, pb)) return groups.size();
          if (groups.size() > searched_groups) {
            const auto it = index.find(pb.tp);
            return it == index.end() ? 0 : it->second[pb.auto_create ? 1 : 0];
          }
          for (std::size_t g = 0; g < groups.size(); ++g)
            if (same(g, pb)) return g + 1;
          return 0;
        };
        auto index_group = [&](std::size_t g) {
          const auto& first = burst[groups[g].first];
          index[first.tp][first.auto_create ? 1 : 0] = g + 1;
        };
        for (std::size_t i = 0; i < burst.size(); ++i) {
          auto& pb = burst[i];
          auto item = prepare(self, pb, now, {answers, i});
          if (!item) {
            answers->fill(i, {static_cast<errc>(item.error().value()), {}});
            continue;
          }
          auto at = group_of(pb);
          if (at == 0) {
            groups.emplace_back(i, std::make_shared<std::vector<pending_append>>());
            at = groups.size();
            if (groups.size() == searched_groups + 1)
              for (std::size_t g = 0; g < groups.size(); ++g) index_group(g);
            else if (groups.size() > searched_groups + 1)
              index_group(groups.size() - 1);
          }
          groups[at - 1].second->push_back(std::move(*item));
        }
        for (auto& [first, items] : groups)
          append_to_partition(self, burst[first].tp, burst[first].auto_create, std::move(items),
                              partition_attempts, ++self->state.arrivals);
        return rp;
      },
      [=](fetch_atom, fetch_request& req) -> caf::result<fetch_result> {
        auto rp = self->make_response_promise<fetch_result>();
        fetch_from_partition(self, std::move(req), owed_promise<fetch_result>{rp},
                             partition_attempts);
        return rp;
      },
      [=](bounds_atom a, const topic_partition& tp) -> caf::result<storage::partition_bounds> {
        auto rp = self->make_response_promise<storage::partition_bounds>();
        ask(self, tp, owed_promise<storage::partition_bounds>{rp}, partition_attempts, a);
        return rp;
      },
      [=](delete_atom a, const topic_partition& tp,
          std::int64_t offset) -> caf::result<storage::partition_bounds> {
        auto rp = self->make_response_promise<storage::partition_bounds>();
        ask(self, tp, owed_promise<storage::partition_bounds>{rp}, partition_attempts, a, offset);
        return rp;
      },
      [=](compact_atom a, const topic_partition& tp,
          const storage::log_compaction& c) -> caf::result<storage::partition_bounds> {
        auto rp = self->make_response_promise<storage::partition_bounds>();
        ask(self, tp, owed_promise<storage::partition_bounds>{rp}, partition_attempts, a, c);
        return rp;
      },
      [=](producer_atom a,
          const topic_partition& tp) -> caf::result<std::vector<producer_summary>> {
        auto rp = self->make_response_promise<std::vector<producer_summary>>();
        ask(self, tp, owed_promise<std::vector<producer_summary>>{rp}, partition_attempts, a);
        return rp;
      },
      [=](cancel_atom, const topic_partition& tp, std::uint64_t poll_id) {
        // The poll went through this shard: its partition is cached, or still being looked
        // up (then the cancel waits behind the fetch). Neither when this bridge is a restarted
        // one (its cache starts empty) or the partition stopped: the registry passes the
        // cancel to the partition's actor if one runs, without starting one.
        auto& st = self->state;
        if (auto it = st.partitions.find(tp); it != st.partitions.end()) {
          self->send(it->second, cancel_atom::value, poll_id);
        } else if (auto r = st.resolving.find(tp); r != st.resolving.end()) {
          r->second.emplace_back([=](const partition_actor* p, const caf::error*, bool) {
            if (p != nullptr) self->send(*p, cancel_atom::value, poll_id);
          });
        } else if (auto registry = st.dir.registry) {
          self->send(registry, cancel_atom::value, tp, poll_id);
        }
      },
      [=](directory_atom, actor_directory& next) { self->state.dir = std::move(next); },
  };
}

}  // namespace

protocol_bridge_actor spawn_protocol_bridge(caf::actor_system& sys,
                                            std::shared_ptr<broker_context> ctx,
                                            actor_directory dir) {
  return sys.spawn(bridge_impl, std::move(ctx), std::move(dir));
}

}  // namespace portask
