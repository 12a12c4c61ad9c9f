// Fetch (key 1): reads each partition through the ProtocolBridge and turns the stored
// Portask frames back into Kafka RecordBatches. A stored frame's CRC32 is verified first; a
// corrupt one is CORRUPT_MESSAGE for that partition and is never served. If nothing is
// available the request long-polls (max_wait) and answers as soon as any partition has data.
#include <spdlog/spdlog.h>

#include "actors/kafka/handlers.hpp"
#include "protocol/kafka/message_set.hpp"
#include "protocol/kafka/record_batch.hpp"

namespace portask::kafka {

namespace {

using partition_data = msg::FetchResponse::FetchableTopicResponse::PartitionData;

struct fetch_state {
  msg::FetchResponse response;
  std::size_t pending = 0;
  bool answered = false;
  bool any_data = false;
};

// Converts stored frames to RecordBatches (uncompressed), within the partition's byte limit;
// Fetch v0-3 get message sets of the magic their version reads (down-conversion: no headers,
// and no timestamps at magic 0).
void fill(const broker_context& ctx, partition_data& out, const fetch_result& res,
          std::int32_t max_bytes, std::int16_t version) {
  out.highWatermark = res.high_watermark;
  out.lastStableOffset = res.high_watermark;
  out.logStartOffset = res.log_start;
  std::string records;
  for (const auto& b : res.batches) {
    auto frame = protocol::decode_frame(b.frame, protocol::frame_limits{UINT32_MAX});
    if (!frame) {
      out.errorCode = static_cast<std::int16_t>(error_code::corrupt_message);
      spdlog::error("kafka fetch: stored frame at offset {} failed its check", b.base_offset);
      return;
    }
    auto msgs = ctx.codecs.decode(frame->header.flags, frame->payload);
    if (!msgs) {
      out.errorCode = static_cast<std::int16_t>(error_code::corrupt_message);
      return;
    }
    protocol::buffer bytes;
    if (version < 4) {
      protocol::kafka::encode_message_set(*msgs, b.base_offset,
                                          protocol::kafka::message_set_magic(version), bytes);
      if (!records.empty() && records.size() + bytes.size() > static_cast<std::size_t>(max_bytes))
        break;
      records.append(protocol::as_chars(bytes));
      continue;
    }
    auto batch = protocol::kafka::from_messages(*msgs, b.base_offset);
    batch.partition_leader_epoch = 0;  // the epoch Metadata and OffsetForLeaderEpoch report
    // The producer's header as it sent it: consumers and tools see who wrote the batch.
    if (b.producer.present()) {
      batch.producer_id = b.producer.id;
      batch.producer_epoch = b.producer.epoch;
      batch.base_sequence = b.producer.base_sequence;
    }
    if (protocol::kafka::encode_record_batch(batch, bytes)) continue;
    if (!records.empty() && records.size() + bytes.size() > static_cast<std::size_t>(max_bytes))
      break;
    records.append(protocol::as_chars(bytes));
  }
  out.records = std::move(records);
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
    self->request(self->state.ctx->registry(), 10s, topic_atom::value, t.topicId)
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
  const auto& req = *req_ptr;
  auto st = std::make_shared<fetch_state>();
  const bool flexible = msg::FetchRequest_is_flexible(r.api_version);
  auto finish = [=] {
    if (st->answered) return;
    st->answered = true;
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
    st->response.responses.resize(req.topics.size());
    for (std::size_t ti = 0; ti < req.topics.size(); ++ti) {
      const auto& topic = req.topics[ti];
      st->response.responses[ti].topic = topic.topic;
      st->response.responses[ti].topicId = topic.topicId;
      st->response.responses[ti].partitions.resize(topic.partitions.size());
      for (std::size_t pi = 0; pi < topic.partitions.size(); ++pi) {
        const auto& p = topic.partitions[pi];
        if (r.api_version >= 13 && topic.topic.empty()) {  // an id no topic has
          auto& out = st->response.responses[ti].partitions[pi];
          out.partitionIndex = p.partition;
          out.errorCode = static_cast<std::int16_t>(error_code::unknown_topic_id);
          out.highWatermark = -1;
          if (--st->pending == 0) finish();
          continue;
        }
        fetch_request f{{topic.topic, p.partition}, p.fetchOffset,
                        static_cast<std::uint32_t>(std::max(1, p.partitionMaxBytes)), wait_ms,
                        protocol_kind::kafka};
        auto bridge = self->state.ctx->bridge_for(f.tp);
        self->request(bridge, caf::infinite, fetch_atom::value, f)
            .then(
                [=](fetch_result& res) {
                  if (st->answered) return;
                  auto& out = st->response.responses[ti].partitions[pi];
                  out.partitionIndex = p.partition;
                  out.errorCode = 0;
                  fill(*self->state.ctx, out, res, p.partitionMaxBytes, r.api_version);
                  if (out.records && !out.records->empty()) st->any_data = true;
                  if (wait_ms > 0 && st->any_data) return finish();
                  if (--st->pending == 0) {
                    if (st->any_data || wait_ms > 0 || req.maxWaitMs <= 0) return finish();
                    (*again)(static_cast<std::uint32_t>(std::min(req.maxWaitMs, 60'000)));
                  }
                },
                [=](caf::error& e) {
                  if (st->answered) return;
                  auto& out = st->response.responses[ti].partitions[pi];
                  out.partitionIndex = p.partition;
                  out.errorCode = to_kafka(to_errc(e));
                  out.highWatermark = -1;
                  if (r.api_version >= 13 && to_errc(e) == errc::unknown_topic) {
                    // The topic behind this id is gone: forget the id, say so as Kafka does.
                    self->state.topic_names.erase(topic.topicId);
                    out.errorCode = static_cast<std::int16_t>(error_code::unknown_topic_id);
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
