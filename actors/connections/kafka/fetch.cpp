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
// request's limit further, so pipelined fetches cannot pile answers up. Partitions are read
// in request order, a window at a time (fetch_read_window.hpp: as many reads out as their
// shares of the answer fill it, at least 8), and once the reads hold all the answer can
// carry, the partitions not read yet are only asked for their bounds (their high watermark
// and log start, which the answer reports, and their errors), as Kafka answers the
// partitions it has no room for. A share only bounds the reads out together: once the reads
// are back (at the end of the first pass, before minBytes is weighed, and when a long poll's
// answer is being completed), the room partitions with less than their share left goes, in
// request order, to the partitions their share cut short (records past what they brought,
// and their own limit not reached): each is read again from where it stopped, one read at a
// time, up to its own limit and what the answer has left (the refill), so a partition with
// data among idle ones fills the answer as in Kafka. What the reads out meanwhile bring past
// that limit is given back as it comes, and an answer that holds all it can carry goes
// without waiting for minBytes: a request over many partitions holds about its limit, not a
// share of each partition, also through a long poll. A long poll of no more partitions than
// the window holds reads as it polls: each poll may bring its share, so a woken partition's
// data comes in the poll's answer (one round trip); a wider one polls for word of data only
// and reads its woken partitions through the window, in request order. A partition named
// twice is served once, with the last mention's offset and limit (Kafka keeps one entry per
// partition). A long poll's answer is made as Kafka's DelayedFetch makes it when its wait
// ends (it reads the partitions again): a partition whose log start has passed its fetch
// offset meanwhile (DeleteRecords, retention) answers OFFSET_OUT_OF_RANGE, not the records
// read before they were deleted. ACLs: READ on the topic, else TOPIC_AUTHORIZATION_FAILED for
// its partitions.

#include <chrono>
#include <functional>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "actors/connections/kafka/fetch_read_window.hpp"
#include "actors/connections/kafka/handlers.hpp"
#include "actors/connections/kafka/leader_epochs.hpp"
#include "logging/loggers.hpp"
#include "protocol/kafka/binary_transcode.hpp"
#include "protocol/kafka/message_set.hpp"
#include "protocol/kafka/record_batch.hpp"

namespace portask::kafka {

namespace {

using partition_data = msg::FetchResponse::FetchableTopicResponse::PartitionData;
using slot = fetch_read_window::slot;

// The refill reads one partition at a time, a round trip each: a default consumer's answer
// (50 MiB at 1 MiB a partition, cut to a connection's 16 MiB output budget) fills from 16
// partitions; twice that bounds the round trips one request can make in its refills (the
// first pass's and the long poll's) however wide it is.
constexpr std::size_t max_refill_reads = 32;
// Room below this is not refilled: a read for less would mostly bring nothing (a next batch
// that does not fit), a store round trip for no record.
constexpr std::uint64_t min_refill_room = 64 * 1024;
// A refill's reads, all together from the first one out, take at most this long: past it, or
// at a read that fails, the request is refilled no more and goes on with what it has, rather
// than wait on a store that stalls (the client's own request timeout is near). No read goes
// out with less than min_refill_read_time left (it would only time out).
constexpr auto refill_time = std::chrono::seconds(5);
constexpr auto min_refill_read_time = std::chrono::milliseconds(50);
// Refill reads in a row that bring nothing end the refill: the room left is likely too small
// for any next batch.
constexpr std::size_t max_empty_refill_reads = 2;

// The bytes a read brings, as counted against minBytes (fetch_state::bytes) and the limits
// (the partition cuts a Kafka read so too): a batch served as its producer sent it counts
// its Kafka size, a compressed one its compressed size as in Kafka's log, not the larger
// stored frame; any other batch its stored frame.
std::uint64_t read_bytes(const fetch_result& res) {
  std::uint64_t n = 0;
  for (std::size_t i = 0; i < res.batches.size(); ++i)
    n += i < res.kafka_views.size() && res.kafka_views[i] ? res.kafka_views[i].size()
                                                          : res.batches[i].frame.size();
  return n;
}

struct fetch_state {
  msg::FetchResponse response;
  /// Each partition's reads, kept until the answer is built in request order (a partition
  /// past the answer's limit: its bounds, with no batches).
  std::vector<std::vector<std::optional<fetch_result>>> results;
  /// What each partition's reads hold, as counted against its limits (read_bytes of its
  /// result): counted as batches come and go rather than summed again at each read of it,
  /// which after every wake of a long poll would add up all the partition holds once more.
  std::vector<std::vector<std::uint64_t>> held;
  /// The leader epoch each partition's batches are served under (its lease's when it was read).
  std::vector<std::vector<std::int32_t>> epochs;
  /// The read and poll answers taken so far, and for each partition the count when its
  /// bounds (its log start) were last learned from one of them (keep_read): a long poll's
  /// answer asks again for the bounds of the partitions holding records whose bounds an
  /// earlier answer brought (recheck_begin), as the request waited since.
  std::uint64_t answers = 0;
  std::vector<std::vector<std::uint64_t>> learned_at;
  /// The long poll's answer waits for those bounds: how many are still out. Meanwhile the
  /// reads and polls of the pass start nothing, as while refilling.
  bool rechecking = false;
  std::size_t rechecks = 0;
  /// The partitions not done with the pass they are in: being read, waiting to be, or (in
  /// the long poll) waiting for data.
  std::size_t pending = 0;
  bool answered = false;
  /// What the reads so far hold, counted as they will be sent where the tail keeps the
  /// producer's bytes, else as stored (close to the Kafka size): compared with minBytes.
  std::uint64_t bytes = 0;
  std::uint64_t min_bytes = 0;  ///< the request's minBytes (0: answer after the first pass)
  /// When the long polls give up (maxWait after the first pass).
  std::chrono::steady_clock::time_point deadline;
  std::uint64_t share = 0;      ///< what each read may bring (see fetch_topics)
  /// A partition could not be read (out of range, unknown, not its leader): Kafka answers at
  /// once rather than wait for data on the others, so the client learns of it now.
  bool any_error = false;
  std::uint64_t promised = 0;  ///< output budget this answer may use
  bool alone = false;          ///< nothing else pending: the first batch may exceed it
  /// Nothing at all was pending, not even a promise set aside: only then may the promise be
  /// set aside (response_queue::promise_output).
  bool idle = false;
  /// The promise is set aside (response_queue::set_aside): a long poll that holds nothing
  /// yet, which a request pipelined behind it should not find in its way.
  bool aside = false;
  /// The first pass is over: the partitions long-poll, and bring data as their polls wake
  /// (polls_read) or are read again once their polls find some.
  bool polling = false;
  /// The long polls bring data, each its partition's share (no more partitions are polled
  /// than the window has reads out): a woken poll's answer is its partition's read.
  bool polls_read = false;
  /// The reads out, and the partitions waiting to be read, in request order.
  fetch_read_window window;
  /// KIP-74: the first partition, in request order, with data may bring its next batch
  /// whole. The first pass reads the first partition so; when it had nothing, the first one
  /// after it whose next batch did not fit is read again so. `exceeding` while such a read is
  /// out (one at a time), `exceeded` once the second has been made.
  bool exceeding = false, exceeded = false;
  std::vector<std::uint64_t> polls;  ///< the long-poll pass's poll ids, cancelled on answer
  /// The partitions whose reads hold batches, in request order: the last of them give back
  /// what the answer cannot carry (trim_to_promise).
  std::set<slot> holding;
  /// Batches read were given back for want of room: the answer is as full as it can be.
  bool dropped = false;
  /// The answer is being refilled (refill_next): the partitions their shares cut short are
  /// read again, one at a time, once no read of the pass is out; meanwhile the reads and polls
  /// of the pass start nothing (the polls have been cancelled).
  bool refilling = false;
  bool refill_out = false;           ///< a refill read is out
  bool first_pass_refilled = false;  ///< the first pass's refill has been made
  std::size_t refill_reads = 0;      ///< made so far, all refills together (max_refill_reads)
  slot refill_at{0, 0};              ///< where the refill is, in request order
  /// Partitions a refill read brought nothing from (their next batch does not fit, or
  /// nothing readable lies past their reads): not read again by a later refill.
  std::set<slot> refill_spent;
  std::size_t empty_refill_reads = 0;  ///< in a row, this refill
  bool refill_stopped = false;         ///< a refill read failed or the refill ran out of time
  std::chrono::steady_clock::time_point refill_deadline{};

  /// What the answer may still take: none once reads gave batches back for want of room.
  std::uint64_t room() const noexcept {
    return dropped || bytes >= promised ? 0 : promised - bytes;
  }

  /// The reads hold all the answer can carry: waiting for minBytes would only hold reads
  /// that cannot be sent (nor read more that could not be).
  bool full() const noexcept { return dropped || (bytes > 0 && bytes >= promised); }
  /// A read could still add to the answer: it is not full, and it has room or may take a
  /// first batch past its limit (an answer made alone).
  bool has_room() const noexcept { return !full() && (promised > 0 || alone); }

  /// A partition's read limit: its own, within its share of the answer.
  std::uint64_t limit_of(const msg::FetchRequest& q, slot s) const {
    return std::min<std::uint64_t>(
        {static_cast<std::uint64_t>(std::max(0, q.topics[s.first].partitions[s.second].partitionMaxBytes)),
         share, UINT32_MAX});
  }
  /// What a partition may still read: its limit, less what its reads hold (limits count
  /// bytes as read_bytes does, as the partition cuts a Kafka read).
  std::uint64_t left_of(const msg::FetchRequest& q, slot s) const {
    const auto limit = limit_of(q, s);
    // The count follows every change of the partition's reads (add_read, trim_to_promise,
    // forget_reads, ask_bounds): checked against the reads themselves in debug builds.
    assert(held[s.first][s.second] ==
           (results[s.first][s.second] ? read_bytes(*results[s.first][s.second]) : 0));
    return limit - std::min(limit, held[s.first][s.second]);
  }
  /// Where a partition's next read starts: after the batches its reads hold, else at the
  /// request's offset.
  std::int64_t next_offset_of(const msg::FetchRequest& q, slot s) const {
    const auto& got = results[s.first][s.second];
    if (got && !got->batches.empty()) return got->batches.back().next_offset();
    return q.topics[s.first].partitions[s.second].fetchOffset;
  }
};

// What an answer serves, for messages_out.
struct served_count {
  std::uint64_t messages = 0;
  std::uint64_t stored_bytes = 0;
};

// The answer carries at most what was promised, filled in request order (KIP-74 aside: its
// first batch comes whole): reads that hold more give it back as they come, the partitions
// last in request order their last batches first, rather than hold what cannot be sent (the
// reads out meanwhile bring up to their share each), through a long poll too.
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
    st.held[last->first][last->second] -= size;
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

// One Fetch as its steps see it: the callbacks share the state and the request rather than
// copy them (a copy each would grow with the square of the partitions named).
struct fetch_op {
  self_ptr self;
  request r;
  std::shared_ptr<fetch_state> st;
  std::shared_ptr<const msg::FetchRequest> rq;

  const msg::FetchRequest::FetchTopic::FetchPartition& asked(slot s) const {
    return rq->topics[s.first].partitions[s.second];
  }
  partition_data& out(slot s) const { return st->response.responses[s.first].partitions[s.second]; }
  topic_partition tp(slot s) const { return {rq->topics[s.first].topic, asked(s).partition}; }
};

// The steps of a Fetch. The first pass reads every partition without waiting (pump), in
// request order through the window; if together they hold less than minBytes, the second
// pass long-polls each from where its reads end (first_pass_done), takes a woken poll's
// answer as its read when the polls are few (polls_read), else reads the partitions whose
// polls find data through the same window, and polls again those that bring too little.
// Either pass ends with a refill (refill_begin) of the partitions their shares cut short.
void finish(const fetch_op& op);
void complete(const fetch_op& op);
bool recheck_begin(const fetch_op& op);
void first_pass_done(const fetch_op& op);
bool refill_begin(const fetch_op& op);
void refill_when_idle(const fetch_op& op);
void pump(const fetch_op& op);
void read_partition(const fetch_op& op, slot s, bool exceed);
void ask_bounds(const fetch_op& op, slot s);
void poll_partition(const fetch_op& op, slot s, std::uint32_t wait_ms);
void answer_error(fetch_state& st, slot s, std::int16_t code);
void deleted_under(const fetch_op& op, slot s);

// The answer's promise counts against the answers made after it again (it was set aside while
// its long poll held nothing).
void promise_in_use(const fetch_op& op) {
  if (!op.st->aside) return;
  op.st->aside = false;
  op.self->state.responses->set_aside(op.st->promised, false);
}

// Long polls of partitions that had nothing are not waited for any more.
void cancel_polls(const fetch_op& op) {
  for (auto id : op.st->polls) op.self->state.polls->cancel(id);
  op.st->polls.clear();
}

// The answer, in request order, each partition within its own limit and what the request
// has left; sent once.
void finish(const fetch_op& op) {
  auto& st = *op.st;
  if (st.answered) return;
  st.answered = true;
  auto self = op.self;
  const auto& q = *op.rq;
  std::uint64_t left = st.promised;
  // KIP-74: the first batch comes whole even past max_bytes (0 included), so a client
  // whose limit is smaller than a batch is never stuck.
  bool first = st.alone;
  served_count served;
  for (std::size_t ti = 0; ti < q.topics.size(); ++ti)
    for (std::size_t pi = 0; pi < q.topics[ti].partitions.size(); ++pi) {
      auto& result = st.results[ti][pi];
      if (!result) continue;
      // Its log start passed its fetch offset after its first read: answered so where that
      // was found (deleted_under); a backstop here, so that none of the records read before
      // they were deleted goes out.
      if (q.topics[ti].partitions[pi].fetchOffset < result->log_start) {
        answer_error(st, {ti, pi}, to_kafka_fetch(errc::offset_out_of_range, op.r.api_version));
        continue;
      }
      const auto limit = std::min<std::uint64_t>(
          left, static_cast<std::uint64_t>(std::max(0, q.topics[ti].partitions[pi].partitionMaxBytes)));
      const auto used = fill(*self->state.ctx, op.out({ti, pi}), *result, limit, first,
                             op.r.api_version, st.epochs[ti][pi], served);
      if (used > 0) first = false;
      left -= std::min<std::uint64_t>(left, used);
      result.reset();
    }
  promise_in_use(op);
  self->state.responses->keep_promise(st.promised);
  cancel_polls(op);
  if (!self->state.peer_closed)  // messages_out counts what a client is sent
    self->state.ctx->metrics.messages_out(protocol_kind::kafka, served.messages, served.stored_bytes);
  respond(self, op.r, st.response, msg::FetchRequest_is_flexible(op.r.api_version));
}

// A partition is done with the pass it is in (read, refused, or its poll found nothing): the
// pass ends with the last one; until then, what waits to be read goes on.
void settled(const fetch_op& op) {
  auto& st = *op.st;
  if (--st.pending > 0) return pump(op);
  if (!st.polling) return first_pass_done(op);
  complete(op);
}

// The long poll is over (minBytes came, the answer is full, a partition failed, or the wait
// ran out): the polls still parked are cancelled, the log starts of the partitions holding
// records read before are checked again, the answer is refilled if it has room for what
// shares cut short, and sent.
void complete(const fetch_op& op) {
  auto& st = *op.st;
  if (st.answered || st.refilling || st.rechecking) return;
  cancel_polls(op);
  if (recheck_begin(op)) return;  // recheck_end goes on
  if (!refill_begin(op)) finish(op);
}

// The bounds asked again are all back: the answer is refilled, or sent.
void recheck_end(const fetch_op& op) {
  op.st->rechecking = false;
  if (!refill_begin(op)) finish(op);
}

// One partition's bounds asked again (kept by its actor: no read). A log start past the fetch
// offset answers OFFSET_OUT_OF_RANGE at once (deleted_under), before the refill; one that
// could not be asked leaves the partition as its reads left it.
void recheck_partition(const fetch_op& op, slot s) {
  auto self = op.self;
  const auto tp = op.tp(s);
  auto back = [op, s](std::optional<storage::partition_bounds> b) {
    auto& st = *op.st;
    if (st.answered) return;
    if (auto& got = st.results[s.first][s.second]; got && b) {
      if (op.asked(s).fetchOffset < b->log_start) {
        deleted_under(op, s);
      } else {
        got->log_start = std::max(got->log_start, b->log_start);
        got->high_watermark = std::max(got->high_watermark, b->next_offset);
      }
    }
    if (--st.rechecks == 0) recheck_end(op);
  };
  self->request(self->state.dir.bridge_for(tp), caf::infinite, bounds_atom::value, tp)
      .then([back](storage::partition_bounds& b) { back(b); },
            [back](caf::error&) { back(std::nullopt); });
}

// Kafka reads a long poll's partitions again when its wait ends (DelayedFetch.onComplete), so
// records deleted while it waited (DeleteRecords, retention) are not served: here the
// partitions holding records are asked for their bounds again, but for one whose bounds came
// with the answer that ended the wait (they are those of now: a consumer woken by its
// partition's data pays no round trip more). False when none is to be asked (nothing started).
bool recheck_begin(const fetch_op& op) {
  auto& st = *op.st;
  std::vector<slot> asked;
  for (const auto& s : st.holding)
    if (st.learned_at[s.first][s.second] != st.answers) asked.push_back(s);
  if (asked.empty()) return false;
  st.rechecking = true;
  st.rechecks = asked.size();
  for (const auto& s : asked) recheck_partition(op, s);
  return true;
}

// KIP-74: only an answer made alone may bring a first batch past its limits, and one read at
// a time may be allowed to (reads out together, each allowed over, would hold a whole batch
// of each): in the first pass the first partition's (and the held-back one's, first_pass_done);
// in the long poll a woken partition's, while nothing has been read for the answer yet: the
// first taken, which is the lowest in request order of those waiting (the window keeps them
// in request order). Long polls never have it: one would hold it for its whole wait; a woken
// partition whose next batch did not fit its poll is read through the window.
bool may_exceed(const fetch_state& st, slot s) {
  if (!st.alone || st.exceeding) return false;
  return st.polling ? st.bytes == 0 : s == slot{0, 0};
}

// Reads the partitions waiting, in request order, while fewer than the window's width are
// out and the answer has room for what they bring. Once it has none, the first pass asks
// those not read yet only for their bounds; partitions woken in the long poll are done
// unread (a full answer has gone already; one given no room at all, its connection's output
// budget being spent, goes when the last of its polls has ended).
void pump(const fetch_op& op) {
  auto& st = *op.st;
  if (st.answered || st.refilling || st.rechecking) return;
  if (!st.has_room()) {
    const auto rest = st.window.take_waiting();
    if (!st.polling) {
      for (const auto& s : rest) ask_bounds(op, s);
      return;
    }
    st.pending -= std::min(st.pending, rest.size());
    if (st.pending == 0) finish(op);
    return;
  }
  while (const auto s = st.window.take()) read_partition(op, *s, may_exceed(st, *s));
}

// What a partition's reads brought is not sent (it answers an error), so it counts no more.
void forget_reads(fetch_state& st, slot s) {
  auto& kept = st.results[s.first][s.second];
  if (kept) st.bytes -= std::min(st.bytes, read_bytes(*kept));
  kept.reset();
  st.held[s.first][s.second] = 0;
  st.holding.erase(s);
}

// A partition answers an error as Kafka 3.x answers one (FetchResponse.partitionResponse):
// its high watermark, last stable offset and log start unknown (-1), and no records, so what
// its reads brought is forgotten.
void answer_error(fetch_state& st, slot s, std::int16_t code) {
  auto& o = st.response.responses[s.first].partitions[s.second];
  o.errorCode = code;
  o.highWatermark = -1;
  o.lastStableOffset = -1;
  o.logStartOffset = -1;
  forget_reads(st, s);
}

// A partition whose log start passed its fetch offset after its first read (DeleteRecords,
// retention), as a later read of it or the long poll's recheck found: it answers as a read
// at that offset now would, OFFSET_OUT_OF_RANGE, as Kafka's long poll reads its partitions
// again when its wait ends. At once, not when the answer is built: what its reads hold then
// takes no room from the other partitions (the refill's), and it is neither polled nor
// refilled again. An error ends the wait, as a read's does (read_failed).
void deleted_under(const fetch_op& op, slot s) {
  answer_error(*op.st, s, to_kafka_fetch(errc::offset_out_of_range, op.r.api_version));
  op.st->any_error = true;
}

// KIP-951: a partition that answers FENCED_LEADER_EPOCH (the client is behind the leader's
// epoch), or NOT_LEADER_OR_FOLLOWER because another node leads it, names the current leader
// (v12+ carry it, v16 that node's endpoint too), so the client goes there without asking
// Metadata first. `led_elsewhere` rather than the code: a partition not ready here answers
// NOT_LEADER_OR_FOLLOWER too, and has no other leader to name.
void name_current_leader(const fetch_op& op, slot s, std::int16_t code, bool led_elsewhere) {
  if (led_elsewhere || code == static_cast<std::int16_t>(error_code::fenced_leader_epoch))
    note_current_leader(op.self, op.st->response, op.out(s), op.tp(s));
}

// A client behind or ahead of this node's leader epoch (v9+) is told so at once, as a read
// error, once the partition is known to be led here (first pass). True when it was.
bool refuse_epoch(const fetch_op& op, slot s) {
  const auto current = op.self->state.ctx->cluster()->leader_epoch(op.tp(s));
  const auto err = check_current_epoch(op.asked(s).currentLeaderEpoch, current);
  if (err == 0) return false;
  answer_error(*op.st, s, err);
  name_current_leader(op, s, err, /*led_elsewhere=*/false);
  op.st->any_error = true;
  return true;
}

// A read, a bounds question or a long poll refused: the partition answers the error.
void read_failed(const fetch_op& op, slot s, errc why) {
  auto& st = *op.st;
  auto self = op.self;
  const auto tp = op.tp(s);
  auto code = to_kafka_fetch(why, op.r.api_version);
  // On the leader, Kafka checks the client's leader epoch before the read: a stale client
  // hears FENCED_LEADER_EPOCH rather than OFFSET_OUT_OF_RANGE. Another node holds no replica
  // of it, and says NOT_LEADER_OR_FOLLOWER whatever the epoch.
  if (!st.polling && why != errc::unknown_topic && why != errc::unknown_partition &&
      why != errc::not_leader) {
    const auto current = self->state.ctx->cluster()->leader_epoch(tp);
    if (auto err = check_current_epoch(op.asked(s).currentLeaderEpoch, current); current >= 0 && err != 0)
      code = err;
  }
  if (op.r.api_version >= 13 && why == errc::unknown_topic) {
    // The topic behind this id is gone: forget the id, say so as Kafka does.
    self->state.topic_names.erase(op.rq->topics[s.first].topicId);
    code = static_cast<std::int16_t>(error_code::unknown_topic_id);
  }
  answer_error(st, s, code);
  name_current_leader(op, s, code, why == errc::not_leader);
  // A partition that could not be read answers the request now, as Kafka's read errors do;
  // an unknown topic or partition does not (Kafka sets those aside before reading, and a
  // client fetching a deleted topic with others would otherwise be answered in a tight loop).
  if (why != errc::unknown_topic && why != errc::unknown_partition) {
    st.any_error = true;
    if (st.polling) return complete(op);
  }
  settled(op);
}

// What a read brought follows what the partition's reads brought before (append_read replaces
// a result of no batches), counted, and what the answer cannot carry is given back; its
// batches are served under the partition's current leader epoch. False when the read found
// the log start past the fetch offset: the partition answers OFFSET_OUT_OF_RANGE instead.
bool keep_read(const fetch_op& op, slot s, fetch_result&& res) {
  auto& st = *op.st;
  if (op.asked(s).fetchOffset < res.log_start) {
    deleted_under(op, s);
    return false;
  }
  // It holds something to send: its promise counts again.
  if (!res.batches.empty()) promise_in_use(op);
  const auto brought = read_bytes(res);
  st.bytes += brought;
  st.held[s.first][s.second] += brought;
  auto& kept = st.results[s.first][s.second];
  append_read(kept, std::move(res));
  if (!kept->batches.empty()) st.holding.insert(s);
  st.learned_at[s.first][s.second] = st.answers;  // append_read took the read's bounds
  trim_to_promise(st);
  st.epochs[s.first][s.second] =
      std::max(0, op.self->state.ctx->cluster()->leader_epoch(op.tp(s)));
  return true;
}

// What a read brought (or a long poll that had room: that partition's read) follows what the
// partition's reads brought before. In the long poll the answer goes once it holds minBytes
// or all it can carry; a partition that brought too little waits again, for what follows, in
// the time left.
void add_read(const fetch_op& op, slot s, fetch_result&& res) {
  auto& st = *op.st;
  auto self = op.self;
  if (!st.polling && refuse_epoch(op, s)) return settled(op);
  op.out(s).errorCode = 0;
  const bool got_any = !res.batches.empty();
  if (!keep_read(op, s, std::move(res))) {
    if (st.polling) return complete(op);  // as a read error ends the wait (read_failed)
    return settled(op);
  }
  if (st.polling) {
    if (st.bytes >= st.min_bytes || st.full()) return complete(op);
    // Not once the answer is being refilled: it waits for the reads out, not for more data.
    if (got_any && st.left_of(*op.rq, s) > 0 && !self->state.closing && !st.refilling &&
        !st.rechecking) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(
          st.deadline - std::chrono::steady_clock::now());
      if (left.count() > 0) {
        poll_partition(op, s, static_cast<std::uint32_t>(left.count()));
        return pump(op);  // a read's place in the window may be free
      }
    }
  }
  settled(op);
}

// A read answered, with data or an error: its place in the window is free, and so is the
// allowance past max_bytes if it had it. Whether the request still wants what it brought.
bool read_back(fetch_state& st, const fetch_request& f) {
  ++st.answers;
  st.window.returned();
  if (f.at_least_one_batch) st.exceeding = false;
  return !st.answered;
}

// One read of a partition, without waiting, from where its reads so far end, for what it may
// still read: in the first pass, and in the long poll once its poll found data.
void read_partition(const fetch_op& op, slot s, bool exceed) {
  auto& st = *op.st;
  fetch_request f;
  f.tp = op.tp(s);
  f.offset = st.next_offset_of(*op.rq, s);
  f.max_bytes = static_cast<std::uint32_t>(st.left_of(*op.rq, s));
  f.max_wait_ms = 0;
  f.source = protocol_kind::kafka;
  f.at_least_one_batch = exceed;
  st.exceeding = st.exceeding || exceed;
  auto self = op.self;
  self->request(self->state.dir.bridge_for(f.tp), caf::infinite, fetch_atom::value, f)
      .then(
          [op, s, f](fetch_result& res) {
            if (read_back(*op.st, f)) add_read(op, s, std::move(res));
            refill_when_idle(op);  // the last read out of a pass being completed
          },
          [op, s, f](caf::error& e) {
            if (read_back(*op.st, f)) read_failed(op, s, to_errc(e));
            refill_when_idle(op);
          });
}

// A partition the answer has no room for: not read (what a read brought could not be sent),
// only asked for the bounds its actor keeps (no data is read), which the answer reports as
// Kafka reports a partition it had no room for: no records, its high watermark and log
// start. Its offset and the client's leader epoch are checked as a read checks them, so it
// answers the errors a read would.
void ask_bounds(const fetch_op& op, slot s) {
  auto self = op.self;
  const auto tp = op.tp(s);
  self->request(self->state.dir.bridge_for(tp), caf::infinite, bounds_atom::value, tp)
      .then(
          [op, s](storage::partition_bounds& b) {
            auto& st = *op.st;
            if (st.answered) return;
            // The partition's check of a read's offset (Kafka has no symbolic fetch offsets:
            // a negative one is below the log start).
            const auto offset = op.asked(s).fetchOffset;
            if (offset < b.log_start || offset > b.next_offset)
              return read_failed(op, s, errc::offset_out_of_range);
            if (refuse_epoch(op, s)) return settled(op);
            op.out(s).errorCode = 0;
            fetch_result none;
            none.partition = op.asked(s).partition;
            none.high_watermark = b.next_offset;
            none.log_start = b.log_start;
            st.results[s.first][s.second] = std::move(none);
            st.held[s.first][s.second] = 0;
            st.epochs[s.first][s.second] =
                std::max(0, op.self->state.ctx->cluster()->leader_epoch(op.tp(s)));
            settled(op);
          },
          [op, s](caf::error& e) {
            if (op.st->answered) return;
            read_failed(op, s, to_errc(e));
          });
}

// A long poll of a partition from where its reads end. When the polls are no more than the
// window's width (polls_read), it brings what a read in the window would (its share, never a
// first batch past it): its answer is the partition's read, so a consumer tailing a partition
// gets each batch in one round trip, and the polls out together hold no more than the
// window's reads would. A wider request's polls bring no records, only word that there are
// some (or that the wait ran out), and a woken partition is read through the window like any
// other, so that partitions woken together do not each bring their share at once; so is one
// whose next batch did not fit its poll.
void poll_partition(const fetch_op& op, slot s, std::uint32_t wait_ms) {
  auto& st = *op.st;
  auto self = op.self;
  fetch_request f;
  f.tp = op.tp(s);
  f.offset = st.next_offset_of(*op.rq, s);
  f.max_bytes = st.polls_read ? static_cast<std::uint32_t>(st.left_of(*op.rq, s)) : 0;
  f.max_wait_ms = wait_ms;
  f.source = protocol_kind::kafka;
  f.at_least_one_batch = false;
  f.poll_id = self->state.polls->open(f.tp);
  st.polls.push_back(f.poll_id);
  self->request(self->state.dir.bridge_for(f.tp), caf::infinite, fetch_atom::value, f)
      .then(
          [op, s, f](fetch_result& res) {
            op.self->state.polls->answered(f.poll_id);
            auto& state = *op.st;
            ++state.answers;
            // Cancelled: not waited for.
            if (state.answered || state.refilling || state.rechecking) return;
            if (!res.batches.empty()) return add_read(op, s, std::move(res));
            if (res.high_watermark > f.offset) {  // records past its offset: read them
              state.window.queue(s);
              return pump(op);
            }
            settled(op);  // the wait ran out
          },
          [op, s, f](caf::error& e) {
            op.self->state.polls->answered(f.poll_id);
            ++op.st->answers;
            if (op.st->answered || op.st->refilling || op.st->rechecking) return;
            read_failed(op, s, to_errc(e));
          });
}

// A partition its share cut short: it answers no error, its own limit is larger than its share
// (else that limit bound its reads, and a read would bring no more) and has room past what its
// reads hold, and its log holds records past them (a next batch that did not fit the share).
bool cut_short(const fetch_op& op, slot s) {
  const auto& st = *op.st;
  const auto& got = st.results[s.first][s.second];
  if (!got || op.out(s).errorCode != 0 || st.refill_spent.count(s) > 0) return false;
  const auto own = static_cast<std::uint64_t>(std::max(0, op.asked(s).partitionMaxBytes));
  if (own <= st.share || st.held[s.first][s.second] >= own) return false;
  const auto next = st.next_offset_of(*op.rq, s);
  return next >= got->log_start && got->high_watermark > next;
}

// Moves the refill to the first partition cut short from where it is, in request order; false
// when none is left.
bool next_cut_short(const fetch_op& op) {
  auto& st = *op.st;
  const auto& q = *op.rq;
  for (auto& at = st.refill_at; at.first < q.topics.size(); at = slot{at.first + 1, 0})
    for (; at.second < q.topics[at.first].partitions.size(); ++at.second)
      if (cut_short(op, at)) return true;
  return false;
}

// The refill is over: the first pass goes on to weigh minBytes, a long poll's answer goes.
void refill_end(const fetch_op& op) {
  auto& st = *op.st;
  st.refilling = false;
  if (st.polling) return finish(op);
  first_pass_done(op);
}

void refill_partition(const fetch_op& op, slot s);

// The next refill read, if the answer has room, the refill reads are not spent, and a
// partition cut short is left; else the refill is over.
void refill_next(const fetch_op& op) {
  auto& st = *op.st;
  // Out of time: this request is refilled no more (nor after its long poll).
  if (st.refill_deadline != std::chrono::steady_clock::time_point{} &&
      std::chrono::steady_clock::now() + min_refill_read_time >= st.refill_deadline)
    st.refill_stopped = true;
  if (st.room() >= min_refill_room && st.refill_reads < max_refill_reads && !op.self->state.closing &&
      !st.refill_stopped && st.empty_refill_reads < max_empty_refill_reads && next_cut_short(op))
    return refill_partition(op, st.refill_at);
  refill_end(op);
}

// Starts refilling the answer from its first partition, when it has room and a partition was
// cut short; false (nothing started) when not. The refill reads go once no read of the pass is
// out, so that they and the reads out do not hold more than the answer's limit together.
bool refill_begin(const fetch_op& op) {
  auto& st = *op.st;
  st.refill_at = slot{0, 0};
  // Message sets (v0-3) are written larger than the reads count the batches they come from
  // (read_bytes: the stored frame, or the producer's bytes, compressed or not, that only v4+
  // is sent): the room would be overfilled and the refill's reads cut off again.
  if (op.r.api_version < 4 || st.room() < min_refill_room || st.refill_reads >= max_refill_reads ||
      st.refill_stopped || op.self->state.closing || !next_cut_short(op))
    return false;
  st.refill_deadline = {};  // set when its first read goes out (not while reads of the pass are)
  st.empty_refill_reads = 0;
  st.refilling = true;
  refill_when_idle(op);
  return true;
}

// A refill waiting for the reads of its pass goes once the last of them is back.
void refill_when_idle(const fetch_op& op) {
  auto& st = *op.st;
  if (st.refilling && !st.answered && !st.refill_out && st.window.idle()) refill_next(op);
}

// One refill read: a partition cut short, from where its reads end, for up to its own limit
// less what they hold and what the answer has left (never a first batch past it). What it
// brings follows the partition's batches; a partition that brings nothing (its next batch does
// not fit) or cannot be read is left as its reads left it (a read error is heard at the next
// fetch), and the refill moves on. One that brings some is read again while it is still cut
// short: a read may bring less than it was allowed (records kept in the store, new records).
void refill_partition(const fetch_op& op, slot s) {
  auto& st = *op.st;
  const auto own = static_cast<std::uint64_t>(std::max(0, op.asked(s).partitionMaxBytes));
  fetch_request f;
  f.tp = op.tp(s);
  f.offset = st.next_offset_of(*op.rq, s);
  f.max_bytes = static_cast<std::uint32_t>(
      std::min<std::uint64_t>({own - st.held[s.first][s.second], st.room(), UINT32_MAX}));
  f.max_wait_ms = 0;
  f.source = protocol_kind::kafka;
  f.at_least_one_batch = false;
  ++st.refill_reads;
  st.refill_out = true;
  auto refilled = [op, s](std::optional<fetch_result> res) {
    auto& state = *op.st;
    state.refill_out = false;
    if (state.answered) return;
    // A read that failed or ran out of time: the request is refilled no more.
    if (!res) {
      state.refill_stopped = true;
      return refill_end(op);
    }
    const bool brought = !res->batches.empty();
    // One whose log start passed its fetch offset answers OFFSET_OUT_OF_RANGE, and leaves
    // its room to the next partition cut short.
    if (!keep_read(op, s, std::move(*res))) return refill_next(op);
    if (brought) {
      state.empty_refill_reads = 0;
      return refill_next(op);
    }
    state.refill_spent.insert(s);
    ++state.empty_refill_reads;
    ++state.refill_at.second;
    refill_next(op);
  };
  auto self = op.self;
  const auto now = std::chrono::steady_clock::now();
  if (st.refill_deadline == std::chrono::steady_clock::time_point{}) st.refill_deadline = now + refill_time;
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(st.refill_deadline - now);
  self->request(self->state.dir.bridge_for(f.tp), std::max(left, min_refill_read_time), fetch_atom::value, f)
      .then([refilled](fetch_result& res) { refilled(std::move(res)); },
            [refilled](caf::error&) { refilled(std::nullopt); });
}

// Every partition is done with the first pass: answer (enough bytes, an error, no wait
// allowed, or a closing connection, which should not start polls nobody waits for), or
// start the long poll.
void first_pass_done(const fetch_op& op) {
  auto& st = *op.st;
  const auto& q = *op.rq;
  auto self = op.self;
  // KIP-74: unless a partition before it brought data, the first partition whose next
  // batch did not fit its limit is read once more, allowed to bring that batch whole, so
  // a client whose limits are below a batch is never stuck (nor is a partition of large
  // batches behind partitions of small ones, which Java moves to the front of its next
  // request). The first partition had that allowance already.
  auto held_back = [&]() -> std::optional<slot> {
    bool first = true;
    for (std::size_t ti = 0; ti < q.topics.size(); ++ti)
      for (std::size_t pi = 0; pi < q.topics[ti].partitions.size(); ++pi, first = false) {
        const auto& got = st.results[ti][pi];
        if (st.response.responses[ti].partitions[pi].errorCode != 0 || !got) continue;
        if (!got->batches.empty()) return std::nullopt;  // first in the answer, may exceed
        const auto from = q.topics[ti].partitions[pi].fetchOffset;
        if (!first && got->high_watermark > from && from >= got->log_start) return slot{ti, pi};
      }
    return std::nullopt;
  };
  if (st.alone && !st.exceeded && !st.any_error && !self->state.closing) {
    if (const auto at = held_back()) {
      st.exceeded = true;
      st.pending = 1;
      // Read whatever the answer holds: this batch comes before what later partitions
      // brought, which gives way to it (trim_to_promise). The window is empty: the pass is over.
      st.window.queue(*at);
      if (const auto s = st.window.take()) return read_partition(op, *s, true);
    }
  }
  // What the shares left goes to the partitions they cut short, before minBytes is weighed:
  // a request whose data is all in one partition is answered, or waits, as Kafka's would.
  if (!st.first_pass_refilled) {
    st.first_pass_refilled = true;
    if (refill_begin(op)) return;  // back here when it is done
  }
  if (st.bytes >= st.min_bytes || st.full() || st.any_error || q.maxWaitMs <= 0 ||
      self->state.closing)
    return finish(op);
  const auto wait_ms = static_cast<std::uint32_t>(std::min(q.maxWaitMs, 60'000));
  st.deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
  st.polling = true;
  // Every partition that can still bring something waits for it: one that holds its limit
  // already cannot.
  std::vector<slot> polled;
  for (std::size_t ti = 0; ti < q.topics.size(); ++ti)
    for (std::size_t pi = 0; pi < q.topics[ti].partitions.size(); ++pi) {
      if (st.response.responses[ti].partitions[pi].errorCode != 0) continue;  // said already
      const auto& got = st.results[ti][pi];
      if (got && !got->batches.empty() && st.left_of(q, {ti, pi}) == 0) continue;
      polled.emplace_back(ti, pi);
    }
  st.pending = polled.size();
  if (polled.empty()) return finish(op);
  // Parked with nothing to send, its promise does not keep a Fetch pipelined behind it from
  // its first batch: Kafka, which reads a connection's next request once this one is
  // answered, would answer that one with its data. A poll that brings some takes it back
  // (keep_read), within the room it was promised. Only an answer made on an idle connection
  // sets its promise aside: one made beside it (alone or not) parks holding its own, so that
  // the Fetches pipelined after it are not made alone in turn, each with a first batch past
  // the budget.
  if (st.bytes == 0 && st.idle) {
    st.aside = true;
    self->state.responses->set_aside(st.promised, true);
  }
  // No more polls than the window's reads: each may bring its share, as a read would.
  st.polls_read = polled.size() <= st.window.width();
  for (const auto& s : polled) poll_partition(op, s, wait_ms);
}

void fetch_topics(self_ptr self, const request& r, std::shared_ptr<msg::FetchRequest> req_ptr) {
  merge_repeated_partitions(*req_ptr);
  const fetch_op op{self, r, std::make_shared<fetch_state>(), std::move(req_ptr)};
  auto& st = *op.st;
  const auto& q = *op.rq;
  // The request's limit (v3+; older versions have none), cut to the connection's budget.
  const std::uint64_t wanted =
      r.api_version >= 3 ? static_cast<std::uint64_t>(std::max(0, q.maxBytes)) : UINT32_MAX;
  st.promised = self->state.responses->promise_output(wanted, st.alone, st.idle);
  st.min_bytes = static_cast<std::uint64_t>(std::max(0, q.minBytes));
  st.response.responses.resize(q.topics.size());
  st.results.resize(q.topics.size());
  st.held.resize(q.topics.size());
  st.epochs.resize(q.topics.size());
  st.learned_at.resize(q.topics.size());
  std::size_t partition_count = 0;
  for (std::size_t ti = 0; ti < q.topics.size(); ++ti) {
    st.response.responses[ti].topic = q.topics[ti].topic;
    st.response.responses[ti].topicId = q.topics[ti].topicId;
    st.response.responses[ti].partitions.resize(q.topics[ti].partitions.size());
    st.results[ti].resize(q.topics[ti].partitions.size());
    st.held[ti].resize(q.topics[ti].partitions.size(), 0);
    st.epochs[ti].resize(q.topics[ti].partitions.size(), 0);
    st.learned_at[ti].resize(q.topics[ti].partitions.size(), 0);
    partition_count += q.topics[ti].partitions.size();
  }
  // Each read brings at most its share of what the answer may hold, so the reads out
  // together (the window's width) hold about the answer's budget, not a partition limit each;
  // what the reads bring past the budget is given back as it comes (trim_to_promise).
  constexpr std::uint64_t min_share = 64 * 1024;
  if (partition_count > 0)
    st.share = std::max(st.promised / partition_count, std::min(st.promised, min_share));
  st.window = fetch_read_window{fetch_read_window::width_for(st.promised, st.share)};
  // The partitions a read would not be made for are answered now (ACLs are decided once per
  // request: a change applies from the next fetch); the others wait their turn to be read.
  for (std::size_t ti = 0; ti < q.topics.size(); ++ti) {
    const auto& topic = q.topics[ti];
    const bool readable =
        topic.topic.empty() || allowed(self, protocol::security::acl_operation::read,
                                       protocol::security::resource_type::topic, topic.topic);
    for (std::size_t pi = 0; pi < topic.partitions.size(); ++pi) {
      st.response.responses[ti].partitions[pi].partitionIndex = topic.partitions[pi].partition;
      if (r.api_version >= 13 && topic.topic.empty()) {  // an id no topic has
        answer_error(st, {ti, pi}, static_cast<std::int16_t>(error_code::unknown_topic_id));
      } else if (!readable) {
        answer_error(st, {ti, pi}, static_cast<std::int16_t>(error_code::topic_authorization_failed));
      } else {
        st.window.queue({ti, pi});
        ++st.pending;
      }
    }
  }
  if (st.pending == 0) return first_pass_done(op);
  pump(op);
}

}  // namespace

}  // namespace portask::kafka
