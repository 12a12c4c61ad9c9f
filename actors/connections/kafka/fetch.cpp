// Fetch (key 1): reads each partition through the ProtocolBridge and turns the stored
// Portask frames back into Kafka RecordBatches (a binary frame, the usual one, transcoded
// without building messages). A stored frame's CRC32 is verified first; a
// corrupt one is CORRUPT_MESSAGE for that partition and is never served. If nothing is
// available the request long-polls (max_wait) and answers as soon as the partitions have
// `minBytes` between them (Kafka's DelayedFetch): a partition that brings too little waits
// again, for what comes after, in the time left; at max_wait the answer holds what came.
//
// Bounded as Kafka bounds it (KIP-74): partitions are filled in request order within each
// partition's max bytes and the request's max_bytes, the first batch of the response coming
// whole even when it is larger. The connection's output budget (response_queue) cuts the
// request's limit further, so pipelined fetches cannot pile answers up. What the reads bring
// past that limit is given back as it comes, and an answer that holds all it can carry goes
// without waiting for minBytes: a request over many partitions holds about its limit, not a
// share of each partition, also through a long poll. A partition named twice is served once,
// with the last mention's offset and limit (Kafka keeps one entry per partition). ACLs: READ
// on the topic, else TOPIC_AUTHORIZATION_FAILED for its partitions.

#include <chrono>
#include <functional>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <utility>

#include "actors/connections/kafka/handlers.hpp"
#include "actors/connections/kafka/leader_epochs.hpp"
#include "logging/loggers.hpp"
#include "protocol/kafka/binary_transcode.hpp"
#include "protocol/kafka/message_set.hpp"
#include "protocol/kafka/record_batch.hpp"

namespace portask::kafka {

namespace {

using partition_data = msg::FetchResponse::FetchableTopicResponse::PartitionData;

struct fetch_state {
  msg::FetchResponse response;
  /// Each partition's read, kept until the answer is built in request order.
  std::vector<std::vector<std::optional<fetch_result>>> results;
  /// The leader epoch each partition's batches are served under (its lease's when it was read).
  std::vector<std::vector<std::int32_t>> epochs;
  std::size_t pending = 0;
  bool answered = false;
  /// What the reads so far hold, counted as they will be sent where the tail keeps the
  /// producer's bytes, else as stored (close to the Kafka size): compared with minBytes.
  std::uint64_t bytes = 0;
  std::uint64_t min_bytes = 0;  ///< the request's minBytes (0: answer after the first pass)
  /// When the long polls give up (maxWait after the first pass).
  std::chrono::steady_clock::time_point deadline;
  std::uint64_t share = 0;      ///< what each partition may read (see fetch_topics)
  std::vector<bool> readable;   ///< per topic: READ allowed
  /// A partition could not be read (out of range, unknown, not its leader): Kafka answers at
  /// once rather than wait for data on the others, so the client learns of it now.
  bool any_error = false;
  std::uint64_t promised = 0;  ///< output budget this answer may use
  bool alone = false;          ///< nothing else pending: the first batch may exceed it
  /// KIP-74: the first partition, in request order, with data may bring its next batch
  /// whole. The first pass reads the first partition so; when it had nothing, the first one
  /// after it whose next batch did not fit is read again so. `exceeding` while such a read
  /// is made, `exceeded` once the second is.
  bool exceeding = false, exceeded = false;
  std::vector<std::uint64_t> polls;  ///< the long-poll pass's poll ids, cancelled on answer
  /// The partitions whose reads hold batches, in request order: the last of them give back
  /// what the answer cannot carry (trim_to_promise).
  std::set<std::pair<std::size_t, std::size_t>> holding;
  /// Batches read were given back for want of room: the answer is as full as it can be.
  bool dropped = false;

  /// The reads hold all the answer can carry: waiting for minBytes would only hold reads
  /// that cannot be sent (nor read more that could not be).
  bool full() const noexcept { return dropped || (bytes > 0 && bytes >= promised); }

  /// A partition's read limit: its own, within its share of the answer.
  std::uint64_t limit_of(const msg::FetchRequest& q, std::size_t ti, std::size_t pi) const {
    return std::min<std::uint64_t>(
        {static_cast<std::uint64_t>(std::max(0, q.topics[ti].partitions[pi].partitionMaxBytes)),
         share, UINT32_MAX});
  }
};

// What an answer serves, for messages_out.
struct served_count {
  std::uint64_t messages = 0;
  std::uint64_t stored_bytes = 0;
};

// The stored bytes a read brings, as the partition counts them against a read's limit.
std::uint64_t stored_bytes(const fetch_result& res) {
  std::uint64_t n = 0;
  for (const auto& b : res.batches) n += b.frame.size();
  return n;
}

// The bytes a read brings, as counted against minBytes (fetch_state::bytes).
std::uint64_t read_bytes(const fetch_result& res) {
  std::uint64_t n = 0;
  for (std::size_t i = 0; i < res.batches.size(); ++i)
    n += i < res.kafka_views.size() && res.kafka_views[i] ? res.kafka_views[i].size()
                                                          : res.batches[i].frame.size();
  return n;
}

// The answer carries at most what was promised, filled in request order (KIP-74 aside: its
// first batch comes whole): reads that hold more give it back as they come, the partitions
// last in request order their last batches first, rather than hold what cannot be sent (each
// partition reads up to its share, and a request may name thousands), through a long poll too.
void trim_to_promise(fetch_state& st) {
  while (st.bytes > st.promised && !st.holding.empty()) {
    const auto last = std::prev(st.holding.end());
    auto& res = *st.results[last->first][last->second];
    if (st.holding.size() == 1 && res.batches.size() == 1) return;  // the first batch, whole
    const auto i = res.batches.size() - 1;
    const bool viewed = i < res.kafka_views.size();  // views never outnumber the batches
    const auto size =
        viewed && res.kafka_views[i] ? res.kafka_views[i].size() : res.batches[i].frame.size();
    st.bytes -= std::min<std::uint64_t>(st.bytes, size);  // as read_bytes counted it
    res.batches.pop_back();
    if (viewed) res.kafka_views.pop_back();
    st.dropped = true;
    if (res.batches.empty()) st.holding.erase(last);
  }
}

// A partition read again for minBytes continues its first read: the batches follow on, the
// bounds are the newest.
void append_read(std::optional<fetch_result>& into, fetch_result&& more) {
  if (!into || into->batches.empty()) {
    into = std::move(more);
    return;
  }
  into->kafka_views.resize(into->batches.size());  // keep each view next to its batch
  into->batches.insert(into->batches.end(), std::make_move_iterator(more.batches.begin()),
                       std::make_move_iterator(more.batches.end()));
  into->kafka_views.insert(into->kafka_views.end(),
                           std::make_move_iterator(more.kafka_views.begin()),
                           std::make_move_iterator(more.kafka_views.end()));
  into->high_watermark = more.high_watermark;
  into->log_start = more.log_start;
}

// One stored batch in the form `version` reads, appended to `bytes`; the messages it holds,
// or nullopt when the stored frame fails its check (or does not decode).
std::optional<std::size_t> encode_stored(const broker_context& ctx,
                                         const storage::stored_batch& b, std::int16_t version,
                                         std::int32_t leader_epoch, protocol::buffer& bytes) {
  auto frame = protocol::decode_frame(b.frame, protocol::frame_limits{UINT32_MAX});
  if (!frame) {
    logging::kafka().error("kafka fetch: stored frame at offset {} failed its check", b.base_offset);
    return std::nullopt;
  }
  // Batches do not record the lease epoch they were written under: they are served under the
  // current one, which Metadata and ListOffsets report too, and OffsetForLeaderEpoch ends
  // every epoch at the log end (the log is never truncated). The producer's header as it sent
  // it: consumers and tools see who wrote the batch.
  protocol::kafka::record_batch header;
  header.partition_leader_epoch = leader_epoch;
  if (b.producer.present()) {
    header.producer_id = b.producer.id;
    header.producer_epoch = b.producer.epoch;
    header.base_sequence = b.producer.base_sequence;
  }
  // The usual stored frame (binary, not compressed) goes straight into a RecordBatch, with no
  // message built in between; anything else, or a payload that does not decode, below.
  if (const auto e = protocol::encoding_of(frame->header.flags);
      version >= 4 && e && e->codec == protocol::codec_id::binary &&
      e->compression == protocol::compression_id::none)
    if (auto n = protocol::kafka::transcode_from_binary(frame->payload, b.base_offset, header, bytes))
      return n;
  auto msgs = ctx.codecs.decode(frame->header.flags, frame->payload);
  if (!msgs) return std::nullopt;
  if (version < 4) {
    protocol::kafka::encode_message_set(*msgs, b.base_offset,
                                        protocol::kafka::message_set_magic(version), bytes);
  } else {
    auto batch = protocol::kafka::from_messages(*msgs, b.base_offset);
    batch.partition_leader_epoch = header.partition_leader_epoch;
    batch.producer_id = header.producer_id;
    batch.producer_epoch = header.producer_epoch;
    batch.base_sequence = header.base_sequence;
    if (protocol::kafka::encode_record_batch(batch, bytes)) bytes.clear();  // left out
  }
  return msgs->messages.size();
}

// Converts stored frames to RecordBatches into `out`, stopping before the
// batch that would take `records` past `max_bytes` unless it is the first batch and
// `first_may_exceed`. Fetch v0-3 get message sets of the magic their version reads
// (down-conversion: no headers, and no timestamps at magic 0). Returns the bytes added.
// `served` adds up the messages and stored bytes that go into the answer (messages_out).
std::size_t fill(const broker_context& ctx, partition_data& out, const fetch_result& res,
                 std::size_t max_bytes, bool first_may_exceed, std::int16_t version,
                 std::int32_t leader_epoch, served_count& served) {
  out.highWatermark = res.high_watermark;
  out.lastStableOffset = res.high_watermark;
  out.logStartOffset = res.log_start;
  protocol::gather_bytes records;
  for (std::size_t i = 0; i < res.batches.size(); ++i) {
    const auto& b = res.batches[i];
    const bool may_exceed = records.empty() && first_may_exceed;
    // A batch produced by a Kafka client and still in the tail goes out as it came in, with
    // only its offsets set (fields outside its CRC): no decode, no re-encode, and no copy
    // (the answer refers to the tail's bytes until the socket has them).
    if (version >= 4 && i < res.kafka_views.size() && res.kafka_views[i]) {
      const auto& view = res.kafka_views[i];
      if (!may_exceed && records.size() + view.size() > max_bytes) break;
      if (protocol::kafka::append_rebased(view, b.base_offset, leader_epoch, records)) {
        served.messages += b.record_count;
        served.stored_bytes += b.frame.size();
        continue;
      }
    }
    protocol::buffer bytes;
    const auto messages = encode_stored(ctx, b, version, leader_epoch, bytes);
    if (!messages) {
      // The batches before it are served; the client's next fetch starts at this one and
      // hears CORRUPT_MESSAGE there, naming its offset (as Kafka's client fails at the bad
      // batch after handing back the good ones).
      if (!records.empty()) break;
      out.errorCode = static_cast<std::int16_t>(error_code::corrupt_message);
      return 0;
    }
    if (bytes.empty()) continue;
    if (!may_exceed && records.size() + bytes.size() > max_bytes) break;
    records.append(bytes);
    served.messages += *messages;
    served.stored_bytes += b.frame.size();
  }
  const auto added = records.size();
  out.records = std::move(records);
  return added;
}

// Kafka keeps one entry per partition: a partition named again replaces the earlier
// mention's offset and limits, in the earlier mention's place. One pass that moves each entry
// at most once: a request may name one partition a million times.
void merge_repeated_partitions(msg::FetchRequest& req) {
  using partition_key = std::pair<std::string_view, std::int32_t>;  // names stay put meanwhile
  struct key_hash {
    std::size_t operator()(const partition_key& k) const noexcept {
      return std::hash<std::string_view>{}(k.first) * 31 + static_cast<std::size_t>(k.second);
    }
  };
  // Where each partition's entry is kept: its topic entry and its place there.
  std::unordered_map<partition_key, std::pair<std::size_t, std::size_t>, key_hash> kept_at;
  for (std::size_t ti = 0; ti < req.topics.size(); ++ti) {
    auto& parts = req.topics[ti].partitions;
    const std::string_view topic = req.topics[ti].topic;
    std::size_t kept = 0;
    for (std::size_t pi = 0; pi < parts.size(); ++pi) {
      if (!topic.empty()) {  // unresolved ids are answered each
        const partition_key key{topic, parts[pi].partition};
        const auto [at, fresh] = kept_at.try_emplace(key, ti, kept);
        if (!fresh) {
          // Kept earlier in this topic entry or in one before it: either way in a place the
          // compaction below no longer writes.
          req.topics[at->second.first].partitions[at->second.second] = std::move(parts[pi]);
          continue;
        }
      }
      if (kept != pi) parts[kept] = std::move(parts[pi]);
      ++kept;
    }
    parts.erase(parts.begin() + static_cast<std::ptrdiff_t>(kept), parts.end());
  }
  std::erase_if(req.topics, [](const auto& t) { return t.partitions.empty(); });
}

// Fetch v13+ names topics by id: each id is looked up in the registry (once per connection;
// a topic's id never changes) and the name written into the request. Ids no topic has are
// left unnamed and answered UNKNOWN_TOPIC_ID. An id named by many entries is asked once.
template <class Then>
void resolve_topic_ids(self_ptr self, std::shared_ptr<msg::FetchRequest> req, Then then) {
  using namespace std::chrono_literals;
  auto& names = topic_caches(self).topic_names;
  // The entries of each id not known yet.
  std::map<storage::topic_id, std::vector<std::size_t>> unknown;
  for (std::size_t ti = 0; ti < req->topics.size(); ++ti) {
    auto& t = req->topics[ti];
    t.topic.clear();
    if (auto it = names.find(t.topicId); it != names.end())
      t.topic = it->second;
    else
      unknown[t.topicId].push_back(ti);
  }
  auto pending = std::make_shared<std::size_t>(unknown.size() + 1);
  auto done = [=] {
    if (--*pending == 0) then(req);
  };
  for (auto& id_entries : unknown)
    self->request(self->state.dir.registry, 10s, topic_atom::value, id_entries.first)
        .then(
            [=, entries = std::move(id_entries.second)](storage::topic_info& info) {
              self->state.topic_names[info.id] = info.name;
              for (const auto ti : entries) req->topics[ti].topic = info.name;
              done();
            },
            [=](caf::error&) { done(); });
  done();
}

void fetch_topics(self_ptr self, const request& r, std::shared_ptr<msg::FetchRequest> req_ptr);

}  // namespace

void handle_fetch(self_ptr self, const request& r, protocol::byte_view body) {
  auto req = std::make_shared<msg::FetchRequest>();
  if (!PORTASK_KAFKA_DECODE(Fetch, body, *req)) return;
  // No fetch sessions (KIP-227) are made here, so an incremental fetch (any epoch but 0, a
  // new full fetch, and -1, a sessionless one) names a session this broker does not have: as
  // Kafka, FETCH_SESSION_ID_NOT_FOUND, and the client starts over with a full fetch. Served
  // as one, it would take the partitions it left out as having nothing new.
  if (r.api_version >= 7 && req->sessionEpoch != 0 && req->sessionEpoch != -1) {
    msg::FetchResponse res;
    res.errorCode = static_cast<std::int16_t>(error_code::fetch_session_id_not_found);
    res.sessionId = 0;
    return respond(self, r, res, msg::FetchRequest_is_flexible(r.api_version), true);
  }
  if (r.api_version >= 13)
    resolve_topic_ids(self, req, [=](std::shared_ptr<msg::FetchRequest> named) {
      fetch_topics(self, r, std::move(named));
    });
  else
    fetch_topics(self, r, std::move(req));
}

namespace {

void fetch_topics(self_ptr self, const request& r, std::shared_ptr<msg::FetchRequest> req_ptr) {
  merge_repeated_partitions(*req_ptr);
  // The callbacks share the request rather than copy it (a copy each would grow with the
  // square of the partitions named).
  std::shared_ptr<const msg::FetchRequest> rq = std::move(req_ptr);
  auto st = std::make_shared<fetch_state>();
  const bool flexible = msg::FetchRequest_is_flexible(r.api_version);
  // The request's limit (v3+; older versions have none), cut to the connection's budget.
  const std::uint64_t wanted =
      r.api_version >= 3 ? static_cast<std::uint64_t>(std::max(0, rq->maxBytes)) : UINT32_MAX;
  st->promised = self->state.responses->promise_output(wanted, st->alone);
  st->min_bytes = static_cast<std::uint64_t>(std::max(0, rq->minBytes));
  st->response.responses.resize(rq->topics.size());
  st->results.resize(rq->topics.size());
  st->epochs.resize(rq->topics.size());
  std::size_t partition_count = 0;
  for (std::size_t ti = 0; ti < rq->topics.size(); ++ti) {
    st->response.responses[ti].topic = rq->topics[ti].topic;
    st->response.responses[ti].topicId = rq->topics[ti].topicId;
    st->response.responses[ti].partitions.resize(rq->topics[ti].partitions.size());
    st->results[ti].resize(rq->topics[ti].partitions.size());
    st->epochs[ti].resize(rq->topics[ti].partitions.size(), 0);
    partition_count += rq->topics[ti].partitions.size();
  }
  // Each partition reads at most its share of what the answer may hold, so a request naming
  // many partitions does not read many times its budget; past the budget, what the reads
  // bring is given back as it comes (trim_to_promise).
  constexpr std::uint64_t min_share = 64 * 1024;
  if (partition_count > 0)
    st->share = std::max(st->promised / partition_count, std::min(st->promised, min_share));
  // Decided once per request: a change of the ACLs applies from the next fetch.
  st->readable.resize(rq->topics.size());
  for (std::size_t ti = 0; ti < rq->topics.size(); ++ti)
    st->readable[ti] = rq->topics[ti].topic.empty() ||
                       allowed(self, protocol::security::acl_operation::read,
                               protocol::security::resource_type::topic, rq->topics[ti].topic);
  auto finish = [self, r, st, rq, flexible] {
    if (st->answered) return;
    st->answered = true;
    const auto& q = *rq;
    // Partitions in request order, each within its own limit and what the request has left.
    std::uint64_t left = st->promised;
    // KIP-74: the first batch comes whole even past max_bytes (0 included), so a client
    // whose limit is smaller than a batch is never stuck.
    bool first = st->alone;
    served_count served;
    for (std::size_t ti = 0; ti < q.topics.size(); ++ti)
      for (std::size_t pi = 0; pi < q.topics[ti].partitions.size(); ++pi) {
        auto& result = st->results[ti][pi];
        if (!result) continue;
        auto& out = st->response.responses[ti].partitions[pi];
        const auto limit = std::min<std::uint64_t>(
            left, static_cast<std::uint64_t>(std::max(0, q.topics[ti].partitions[pi].partitionMaxBytes)));
        const auto used =
            fill(*self->state.ctx, out, *result, limit, first, r.api_version, st->epochs[ti][pi], served);
        if (used > 0) first = false;
        left -= std::min<std::uint64_t>(left, used);
        result.reset();
      }
    self->state.responses->keep_promise(st->promised);
    // Long polls of partitions that had nothing are not waited for any more.
    for (auto id : st->polls) self->state.polls->cancel(id);
    st->polls.clear();
    if (!self->state.peer_closed)  // messages_out counts what a client is sent
      self->state.ctx->metrics.messages_out(protocol_kind::kafka, served.messages, served.stored_bytes);
    respond(self, r, st->response, flexible);
  };
  // One read of a partition: the first pass reads every partition without waiting (wait_ms
  // 0); if together they hold less than minBytes, the second pass long-polls each from where
  // its first read ended, and a partition whose poll brings too little polls again.
  using read_fn = std::function<void(std::size_t, std::size_t, std::int64_t, std::uint64_t,
                                     std::uint32_t)>;
  auto read = std::make_shared<read_fn>();
  // The function refers to itself weakly (a strong self-capture would be a leak); the pending
  // callbacks hold the strong reference while they are outstanding.
  std::weak_ptr<read_fn> weak_read = read;
  // Every partition has answered the first pass: answer (enough bytes, an error, no wait
  // allowed, or a closing connection, which should not start polls nobody waits for), or
  // start the second.
  auto first_pass_done = [self, st, rq, finish](const std::shared_ptr<read_fn>& again) {
    const auto& q = *rq;
    // KIP-74: unless a partition before it brought data, the first partition whose next
    // batch did not fit its limit is read once more, allowed to bring that batch whole, so
    // a client whose limits are below a batch is never stuck (nor is a partition of large
    // batches behind partitions of small ones, which Java moves to the front of its next
    // request). The first partition had that allowance already.
    auto held_back = [&]() -> std::optional<std::pair<std::size_t, std::size_t>> {
      bool first = true;
      for (std::size_t ti = 0; ti < q.topics.size(); ++ti)
        for (std::size_t pi = 0; pi < q.topics[ti].partitions.size(); ++pi, first = false) {
          const auto& got = st->results[ti][pi];
          if (st->response.responses[ti].partitions[pi].errorCode != 0 || !got) continue;
          if (!got->batches.empty()) return std::nullopt;  // first in the answer, may exceed
          const auto from = q.topics[ti].partitions[pi].fetchOffset;
          if (!first && got->high_watermark > from && from >= got->log_start) return std::pair{ti, pi};
        }
      return std::nullopt;
    };
    if (st->alone && !st->exceeded && !st->any_error && !self->state.closing) {
      if (const auto at = held_back()) {
        const auto [ti, pi] = *at;
        st->exceeded = st->exceeding = true;
        st->pending = 1;
        (*again)(ti, pi, q.topics[ti].partitions[pi].fetchOffset, st->limit_of(q, ti, pi), 0);
        st->exceeding = false;
        return;
      }
    }
    if (st->bytes >= st->min_bytes || st->full() || st->any_error || q.maxWaitMs <= 0 ||
        self->state.closing)
      return finish();
    const auto wait_ms = static_cast<std::uint32_t>(std::min(q.maxWaitMs, 60'000));
    st->deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
    std::vector<std::tuple<std::size_t, std::size_t, std::int64_t, std::uint64_t>> polls;
    for (std::size_t ti = 0; ti < q.topics.size(); ++ti)
      for (std::size_t pi = 0; pi < q.topics[ti].partitions.size(); ++pi) {
        if (st->response.responses[ti].partitions[pi].errorCode != 0) continue;  // said already
        const auto& got = st->results[ti][pi];
        const auto limit = st->limit_of(q, ti, pi);
        if (got && !got->batches.empty()) {
          // Limits count stored bytes, as the partition reads them.
          const auto had = stored_bytes(*got);
          if (had < limit) polls.emplace_back(ti, pi, got->batches.back().next_offset(), limit - had);
        } else {
          polls.emplace_back(ti, pi, q.topics[ti].partitions[pi].fetchOffset, limit);
        }
      }
    st->pending = polls.size();
    if (polls.empty()) return finish();
    for (const auto& [ti, pi, from, limit] : polls) (*again)(ti, pi, from, limit, wait_ms);
  };
  // One read answered or refused: the pass it belongs to goes on when it was the last.
  auto settle = [st, finish, first_pass_done](std::uint32_t wait_ms, const std::shared_ptr<read_fn>& again) {
    if (--st->pending > 0) return;
    if (wait_ms == 0) return first_pass_done(again);
    finish();
  };
  *read = [self, r, st, rq, finish, settle, weak_read](std::size_t ti, std::size_t pi,
                                                       std::int64_t offset, std::uint64_t limit,
                                                       std::uint32_t wait_ms) {
    auto again = weak_read.lock();
    const auto& topic = rq->topics[ti];
    const auto& p = topic.partitions[pi];
    auto& out = st->response.responses[ti].partitions[pi];
    out.partitionIndex = p.partition;
    if (r.api_version >= 13 && topic.topic.empty()) {  // an id no topic has
      out.errorCode = static_cast<std::int16_t>(error_code::unknown_topic_id);
      out.highWatermark = -1;
      return settle(wait_ms, again);
    }
    if (!st->readable[ti]) {
      out.errorCode = static_cast<std::int16_t>(error_code::topic_authorization_failed);
      out.highWatermark = -1;
      return settle(wait_ms, again);
    }
    // Only an answer made alone may bring a first batch over its limit: in the first pass
    // one partition's, read again when nothing fit (reads in parallel, each allowed over,
    // would hold a whole batch of every partition at once); a long poll's while nothing has
    // been read for the answer yet.
    fetch_request f{{topic.topic, p.partition}, offset, static_cast<std::uint32_t>(limit),
                    wait_ms, protocol_kind::kafka, st->alone && (wait_ms == 0 ? st->exceeding : st->bytes == 0)};
    if (wait_ms > 0) {
      f.poll_id = self->state.polls->open(f.tp);
      st->polls.push_back(f.poll_id);
    }
    auto bridge = self->state.dir.bridge_for(f.tp);
    self->request(bridge, caf::infinite, fetch_atom::value, f)
        .then(
            [=](fetch_result& res) {
              if (f.poll_id != 0) self->state.polls->answered(f.poll_id);
              if (st->answered) return;
              auto& o = st->response.responses[ti].partitions[pi];
              // A client behind or ahead of this node's leader epoch (v9+) is told so at
              // once, as a read error, once the partition is known to be led here.
              if (wait_ms == 0) {
                const auto current = self->state.ctx->cluster()->leader_epoch(f.tp);
                if (auto err = check_current_epoch(rq->topics[ti].partitions[pi].currentLeaderEpoch, current);
                    err != 0) {
                  o.errorCode = err;
                  o.highWatermark = -1;
                  st->any_error = true;
                  return settle(wait_ms, again);
                }
              }
              o.errorCode = 0;
              const bool got_any = !res.batches.empty();
              const auto got_stored = stored_bytes(res);
              const auto next = got_any ? res.batches.back().next_offset() : offset;
              st->bytes += read_bytes(res);
              append_read(st->results[ti][pi], std::move(res));
              if (!st->results[ti][pi]->batches.empty()) st->holding.emplace(ti, pi);
              trim_to_promise(*st);
              st->epochs[ti][pi] = std::max(0, self->state.ctx->cluster()->leader_epoch(f.tp));
              if (wait_ms > 0) {
                if (st->bytes >= st->min_bytes || st->full()) return finish();
                // Too little yet: this partition waits again, for what follows, in the time left.
                if (got_any && got_stored < limit && !self->state.closing) {
                  const auto left = std::chrono::ceil<std::chrono::milliseconds>(
                      st->deadline - std::chrono::steady_clock::now());
                  if (left.count() > 0)
                    return (*again)(ti, pi, next, limit - got_stored,
                                    static_cast<std::uint32_t>(left.count()));
                }
              }
              settle(wait_ms, again);
            },
            [=](caf::error& e) {
              if (f.poll_id != 0) self->state.polls->answered(f.poll_id);
              if (st->answered) return;
              const auto why = to_errc(e);
              auto& o = st->response.responses[ti].partitions[pi];
              o.errorCode = to_kafka_fetch(why, r.api_version);
              o.highWatermark = -1;
              // On the leader, Kafka checks the client's leader epoch before the read: a stale
              // client hears FENCED_LEADER_EPOCH rather than OFFSET_OUT_OF_RANGE. Another node
              // holds no replica of it, and says NOT_LEADER_OR_FOLLOWER whatever the epoch.
              if (wait_ms == 0 && why != errc::unknown_topic && why != errc::unknown_partition &&
                  why != errc::not_leader) {
                const auto current = self->state.ctx->cluster()->leader_epoch(f.tp);
                const auto theirs = rq->topics[ti].partitions[pi].currentLeaderEpoch;
                if (auto err = check_current_epoch(theirs, current); current >= 0 && err != 0) o.errorCode = err;
              }
              // What an earlier read of it brought is not sent, so it counts no more.
              if (const auto& kept = st->results[ti][pi])
                st->bytes -= std::min(st->bytes, read_bytes(*kept));
              st->results[ti][pi].reset();
              st->holding.erase(std::pair{ti, pi});
              if (why == errc::not_leader) note_current_leader(self, st->response, o, f.tp);
              if (r.api_version >= 13 && why == errc::unknown_topic) {
                // The topic behind this id is gone: forget the id, say so as Kafka does.
                self->state.topic_names.erase(rq->topics[ti].topicId);
                o.errorCode = static_cast<std::int16_t>(error_code::unknown_topic_id);
              }
              // A partition that could not be read answers the request now, as Kafka's
              // read errors do; an unknown topic or partition does not (Kafka sets those
              // aside before reading, and a client fetching a deleted topic with others
              // would otherwise be answered in a tight loop).
              if (why != errc::unknown_topic && why != errc::unknown_partition) {
                st->any_error = true;
                if (wait_ms > 0) return finish();
              }
              settle(wait_ms, again);
            });
  };
  st->pending = partition_count;
  if (st->pending == 0) return finish();
  for (std::size_t ti = 0; ti < rq->topics.size(); ++ti)
    for (std::size_t pi = 0; pi < rq->topics[ti].partitions.size(); ++pi) {
      st->exceeding = ti == 0 && pi == 0;  // the first partition in request order (KIP-74)
      (*read)(ti, pi, rq->topics[ti].partitions[pi].fetchOffset, st->limit_of(*rq, ti, pi), 0);
    }
  st->exceeding = false;
}

}  // namespace

}  // namespace portask::kafka
