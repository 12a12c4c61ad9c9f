// Fetch (key 1): reads each partition through the ProtocolBridge and turns the stored
// Portask frames back into Kafka RecordBatches (a binary frame, the usual one, transcoded
// without building messages). A stored frame's CRC32 is verified first; a
// corrupt one is CORRUPT_MESSAGE for that partition and is never served. If nothing is
// available the request long-polls (max_wait) and answers as soon as any partition has data.
//
// Bounded as Kafka bounds it (KIP-74): partitions are filled in request order within each
// partition's max bytes and the request's max_bytes, the first batch of the response coming
// whole even when it is larger. The connection's output budget (response_queue) cuts the
// request's limit further, so pipelined fetches cannot pile answers up. A partition named
// twice is served once, with the last mention's offset and limit (Kafka keeps one entry per
// partition). ACLs: READ on the topic, else TOPIC_AUTHORIZATION_FAILED for its partitions.

#include <map>
#include <optional>

#include "actors/connections/kafka/handlers.hpp"
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
  std::size_t pending = 0;
  bool answered = false;
  bool any_data = false;
  /// A partition could not be read (out of range, unknown, not its leader): Kafka answers at
  /// once rather than wait for data on the others, so the client learns of it now.
  bool any_error = false;
  std::uint64_t promised = 0;  ///< output budget this answer may use
  bool alone = false;          ///< nothing else pending: the first batch may exceed it
  std::vector<std::uint64_t> polls;  ///< the long-poll pass's poll ids, cancelled on answer
};

// What an answer serves, for messages_out.
struct served_count {
  std::uint64_t messages = 0;
  std::uint64_t stored_bytes = 0;
};

// One stored batch in the form `version` reads, appended to `bytes`; the messages it holds,
// or nullopt when the stored frame fails its check (or does not decode).
std::optional<std::size_t> encode_stored(const broker_context& ctx,
                                         const storage::stored_batch& b, std::int16_t version,
                                         protocol::buffer& bytes) {
  auto frame = protocol::decode_frame(b.frame, protocol::frame_limits{UINT32_MAX});
  if (!frame) {
    logging::kafka().error("kafka fetch: stored frame at offset {} failed its check", b.base_offset);
    return std::nullopt;
  }
  // Batches do not record the lease epoch they were written under: 0 is the oldest, and
  // OffsetForLeaderEpoch ends every epoch at the log end (the log is never truncated). The
  // producer's header as it sent it: consumers and tools see who wrote the batch.
  protocol::kafka::record_batch header;
  header.partition_leader_epoch = 0;
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
                 served_count& served) {
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
      if (protocol::kafka::append_rebased(view, b.base_offset, 0, records)) {
        served.messages += b.record_count;
        served.stored_bytes += b.frame.size();
        continue;
      }
    }
    protocol::buffer bytes;
    const auto messages = encode_stored(ctx, b, version, bytes);
    if (!messages) {
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
// mention's offset and limits, in the earlier mention's place.
void merge_repeated_partitions(msg::FetchRequest& req) {
  std::map<std::pair<std::string, std::int32_t>, std::pair<std::size_t, std::size_t>> seen;
  for (std::size_t ti = 0; ti < req.topics.size(); ++ti) {
    auto& parts = req.topics[ti].partitions;
    for (std::size_t pi = 0; pi < parts.size();) {
      const auto key = std::pair{req.topics[ti].topic, parts[pi].partition};
      auto [it, fresh] = seen.emplace(key, std::pair{ti, pi});
      if (fresh || req.topics[ti].topic.empty()) {  // unresolved ids are answered each
        ++pi;
        continue;
      }
      req.topics[it->second.first].partitions[it->second.second] = parts[pi];
      parts.erase(parts.begin() + static_cast<std::ptrdiff_t>(pi));
    }
  }
  std::erase_if(req.topics, [](const auto& t) { return t.partitions.empty(); });
}

// Fetch v13+ names topics by id: each id is looked up in the registry (once per connection;
// a topic's id never changes) and the name written into the request. Ids no topic has are
// left unnamed and answered UNKNOWN_TOPIC_ID.
template <class Then>
void resolve_topic_ids(self_ptr self, std::shared_ptr<msg::FetchRequest> req, Then then) {
  using namespace std::chrono_literals;
  auto& names = topic_caches(self).topic_names;
  auto pending = std::make_shared<std::size_t>(1);
  auto done = [=] {
    if (--*pending == 0) then(req);
  };
  for (auto& t : req->topics) {
    t.topic.clear();
    if (auto it = names.find(t.topicId); it != names.end()) {
      t.topic = it->second;
      continue;
    }
    ++*pending;
    self->request(self->state.dir.registry, 10s, topic_atom::value, t.topicId)
        .then(
            [=, &t](storage::topic_info& info) {
              self->state.topic_names[info.id] = info.name;
              t.topic = info.name;
              done();
            },
            [=](caf::error&) { done(); });
  }
  done();
}

void fetch_topics(self_ptr self, const request& r, std::shared_ptr<msg::FetchRequest> req_ptr);

}  // namespace

void handle_fetch(self_ptr self, const request& r, protocol::byte_view body) {
  auto req = std::make_shared<msg::FetchRequest>();
  if (!PORTASK_KAFKA_DECODE(Fetch, body, *req)) return;
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
  const auto& req = *req_ptr;
  auto st = std::make_shared<fetch_state>();
  const bool flexible = msg::FetchRequest_is_flexible(r.api_version);
  // The request's limit (v3+; older versions have none), cut to the connection's budget.
  const std::uint64_t wanted =
      r.api_version >= 3 ? static_cast<std::uint64_t>(std::max(0, req.maxBytes)) : UINT32_MAX;
  st->promised = self->state.responses->promise_output(wanted, st->alone);
  st->response.responses.resize(req.topics.size());
  st->results.resize(req.topics.size());
  for (std::size_t ti = 0; ti < req.topics.size(); ++ti) {
    st->response.responses[ti].topic = req.topics[ti].topic;
    st->response.responses[ti].topicId = req.topics[ti].topicId;
    st->response.responses[ti].partitions.resize(req.topics[ti].partitions.size());
    st->results[ti].resize(req.topics[ti].partitions.size());
  }
  // Decided once per request: a change of the ACLs applies from the next fetch.
  std::vector<bool> readable(req.topics.size());
  for (std::size_t ti = 0; ti < req.topics.size(); ++ti)
    readable[ti] = req.topics[ti].topic.empty() ||
                   allowed(self, protocol::security::acl_operation::read, protocol::security::resource_type::topic,
                           req.topics[ti].topic);
  auto finish = [=] {
    if (st->answered) return;
    st->answered = true;
    // Partitions in request order, each within its own limit and what the request has left.
    std::uint64_t left = st->promised;
    // KIP-74: the first batch comes whole even past max_bytes (0 included), so a client
    // whose limit is smaller than a batch is never stuck.
    bool first = st->alone;
    served_count served;
    for (std::size_t ti = 0; ti < req.topics.size(); ++ti)
      for (std::size_t pi = 0; pi < req.topics[ti].partitions.size(); ++pi) {
        auto& result = st->results[ti][pi];
        if (!result) continue;
        auto& out = st->response.responses[ti].partitions[pi];
        const auto limit = std::min<std::uint64_t>(
            left, static_cast<std::uint64_t>(std::max(0, req.topics[ti].partitions[pi].partitionMaxBytes)));
        const auto used =
            fill(*self->state.ctx, out, *result, limit, first, r.api_version, served);
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
  // One pass per partition without waiting; if none has data, a second pass long-polls and
  // the first partition that gets data answers the request.
  auto pass = std::make_shared<std::function<void(std::uint32_t)>>();
  // The function refers to itself weakly (a strong self-capture would be a leak); the pending
  // callbacks of a pass hold the strong reference while they are outstanding.
  std::weak_ptr<std::function<void(std::uint32_t)>> weak_pass = pass;
  *pass = [=](std::uint32_t wait_ms) {
    auto again = weak_pass.lock();
    st->pending = 0;
    for (const auto& t : req.topics) st->pending += t.partitions.size();
    if (st->pending == 0) return finish();
    constexpr std::uint64_t min_share = 64 * 1024;
    const std::uint64_t share =
        std::max(st->promised / st->pending, std::min(st->promised, min_share));
    for (std::size_t ti = 0; ti < req.topics.size(); ++ti) {
      const auto& topic = req.topics[ti];
      for (std::size_t pi = 0; pi < topic.partitions.size(); ++pi) {
        const auto& p = topic.partitions[pi];
        auto& out = st->response.responses[ti].partitions[pi];
        out.partitionIndex = p.partition;
        if (r.api_version >= 13 && topic.topic.empty()) {  // an id no topic has
          out.errorCode = static_cast<std::int16_t>(error_code::unknown_topic_id);
          out.highWatermark = -1;
          if (--st->pending == 0) finish();
          continue;
        }
        if (!readable[ti]) {
          out.errorCode = static_cast<std::int16_t>(error_code::topic_authorization_failed);
          out.highWatermark = -1;
          if (--st->pending == 0) finish();
          continue;
        }
        // Each partition reads at most its share of what the answer may hold, so a request
        // naming many partitions does not read many times its budget before trimming.
        const auto limit = std::min<std::uint64_t>(
            {static_cast<std::uint64_t>(std::max(0, p.partitionMaxBytes)), share, UINT32_MAX});
        // Only an answer made alone may bring a first batch over its limit.
        fetch_request f{{topic.topic, p.partition}, p.fetchOffset,
                        static_cast<std::uint32_t>(limit), wait_ms, protocol_kind::kafka,
                        st->alone};
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
                  st->response.responses[ti].partitions[pi].errorCode = 0;
                  if (!res.batches.empty()) st->any_data = true;
                  st->results[ti][pi] = std::move(res);
                  if (wait_ms > 0 && st->any_data) return finish();
                  if (--st->pending == 0) {
                    // A closing connection answers now rather than start polls nobody waits for.
                    if (st->any_data || st->any_error || wait_ms > 0 || req.maxWaitMs <= 0 ||
                        self->state.closing)
                      return finish();
                    (*again)(static_cast<std::uint32_t>(std::min(req.maxWaitMs, 60'000)));
                  }
                },
                [=](caf::error& e) {
                  if (f.poll_id != 0) self->state.polls->answered(f.poll_id);
                  if (st->answered) return;
                  auto& o = st->response.responses[ti].partitions[pi];
                  o.errorCode = to_kafka(to_errc(e));
                  o.highWatermark = -1;
                  st->results[ti][pi].reset();
                  if (to_errc(e) == errc::not_leader) note_current_leader(self, st->response, o, f.tp);
                  if (r.api_version >= 13 && to_errc(e) == errc::unknown_topic) {
                    // The topic behind this id is gone: forget the id, say so as Kafka does.
                    self->state.topic_names.erase(topic.topicId);
                    o.errorCode = static_cast<std::int16_t>(error_code::unknown_topic_id);
                  }
                  // A partition that could not be read answers the request now, as Kafka's
                  // read errors do; an unknown topic or partition does not (Kafka sets those
                  // aside before reading, and a client fetching a deleted topic with others
                  // would otherwise be answered in a tight loop).
                  const auto why = to_errc(e);
                  if (why != errc::unknown_topic && why != errc::unknown_partition) {
                    st->any_error = true;
                    if (wait_ms > 0) return finish();
                  }
                  if (--st->pending == 0) finish();
                });
      }
    }
  };
  (*pass)(0);
}

}  // namespace

}  // namespace portask::kafka
