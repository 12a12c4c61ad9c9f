// Produce (key 0): every partition's record batch becomes one Portask publish_batch and goes
// through the ProtocolBridge like a native publish (framing, CRC32, codec, metrics, hooks,
// partition, writer), the request's batches as one group per bridge. acks=0 gets no
// response. ACLs: WRITE on the topic; auto-creating it also needs CREATE (cluster or topic).

#include <map>
#include <optional>
#include <string_view>
#include <utility>

#include "actors/connections/kafka/handlers.hpp"
#include "actors/connections/transport/publish_bursts.hpp"
#include "actors/pipeline/wall_clock.hpp"
#include "protocol/kafka/binary_transcode.hpp"
#include "protocol/kafka/message_set.hpp"
#include "protocol/topic_name.hpp"
#include "protocol/kafka/record_batch.hpp"
#include "protocol/wire.hpp"

#include "logging/loggers.hpp"

namespace portask::kafka {

namespace {

// Why a partition's batch is refused for what it is (INVALID_RECORD), or nothing when it is
// taken: a control batch, which only a broker writes, in the words of Kafka's exception
// (LogValidator.validateBatch, naming the partition as Kafka's TopicPartition does; Kafka's
// broker sends no message with it, as for invalid_batch_header: Portask's addition, v8+); a
// transactional batch, which needs the transaction coordinator Portask lacks (Portask's own
// words: Kafka has one). A control batch is transactional too: it is named for the first.
std::optional<std::string> refused_batch_kind(const protocol::kafka::record_batch& b,
                                              const std::string& topic, std::int32_t partition) {
  if (b.is_control())
    return "Clients are not allowed to write control records in topic partition " + topic + "-" +
           std::to_string(partition);
  if (b.is_transactional())
    return "transactional batches are not supported: Portask has no transaction coordinator; "
           "unset transactional.id (an idempotent producer needs none)";
  return std::nullopt;
}

// The idempotent-producer claim of a partition's batch (Kafka takes one per partition, see
// more_than_one_batch), one refused_batch_kind takes.
producer_sequence producer_claim(const protocol::kafka::record_batch& b) {
  if (b.producer_id < 0) return producer_sequence{};
  const auto last = static_cast<std::int32_t>(
      (static_cast<std::int64_t>(b.base_sequence) + b.last_offset_delta) % (std::int64_t{1} << 31));
  return producer_sequence{b.producer_id, b.producer_epoch, b.base_sequence, last};
}

// Whether a partition's records start with a RecordBatch (magic 2), by its magic byte.
bool starts_with_v2_batch(protocol::byte_view records) {
  constexpr std::size_t magic_at = 16;
  return records.size() > magic_at && records[magic_at] == 2;
}

// Whether a partition's records are RecordBatches rather than a message set of magic 0/1:
// always from Produce v3 on; below, when the first is one. Kafka appends a v2 batch a Produce
// v0-2 brings as it appends one of v3+ (ProduceRequest checks no magic below v3, for
// "compatibility with clients which send the wrong magic version").
bool record_batches(std::int16_t version, protocol::byte_view records) {
  return version >= 3 || starts_with_v2_batch(records);
}

// How many of a partition's frames Kafka's broker reads before it takes or refuses them for
// their framing: from v3 on the first and, when that one is a RecordBatch, the next, to see
// whether there is one (ProduceRequest.validateRecords); below v3 every one
// (UnifiedLog.analyzeAndValidateRecords).
std::size_t frames_kafka_reads(std::int16_t version, protocol::byte_view records) {
  if (version < 3) return SIZE_MAX;
  return starts_with_v2_batch(records) ? 2 : 1;
}

// Why Kafka's broker finds a partition's records corrupt as it reads their frames, in its
// exception's words (ByteBufferLogInputStream.nextBatchSize, a CorruptRecordException:
// CORRUPT_MESSAGE): a length under a magic-0 message's overhead, or a magic no format has,
// each as soon as the bytes reach it, however little of the frame follows; nothing when the
// first `frames` frames are sound (Kafka's reading stops at one that is not whole). Checked
// before anything else of the records, as Kafka reads the frames first. Kafka's broker sends
// no message with this refusal (KafkaApis answers PartitionResponse(Errors.forException(e))
// at v3+, ReplicaManager keeps none from a CorruptRecordException below): Portask's addition
// (v8+), as for more_than_one_batch.
std::optional<std::string> corrupt_framing(protocol::byte_view records, std::size_t frames) {
  constexpr std::size_t length_end = 12, magic_at = 16;
  constexpr std::int32_t least_length = 14;  // LegacyRecord.RECORD_OVERHEAD_V0
  for (std::size_t at = 0; frames > 0 && records.size() - at >= length_end; --frames) {
    const auto length = static_cast<std::int32_t>(protocol::load_be32(records.data() + at + 8));
    if (length < least_length)
      return "Record size " + std::to_string(length) +
             " is less than the minimum record overhead (" + std::to_string(least_length) + ")";
    if (records.size() - at <= magic_at) break;
    const auto magic = static_cast<std::int8_t>(records[at + magic_at]);
    if (magic < 0 || magic > 2) return "Invalid magic found in record: " + std::to_string(magic);
    if (static_cast<std::size_t>(length) > records.size() - at - length_end) break;
    at += length_end + static_cast<std::size_t>(length);
  }
  return std::nullopt;
}

// Why Kafka refuses a producer's RecordBatch for its base offset, which must be 0: the broker
// assigns offsets (UnifiedLog.analyzeAndValidateRecords, INVALID_RECORD, before it checks the
// batch's CRC), in its exception's words, naming the partition as Kafka's TopicPartition
// does. Kafka's broker sends no message with this refusal (ReplicaManager keeps one only from
// a RecordValidationException): Portask's addition (v8+), as for more_than_one_batch. Walked
// from the headers of the whole frames, as Kafka reads them.
std::optional<std::string> nonzero_base_offset(protocol::byte_view records, const std::string& topic,
                                               std::int32_t partition) {
  constexpr std::size_t magic_at = 16;
  for (std::size_t at = 0; records.size() - at > magic_at;) {
    const std::size_t size = 12 + std::size_t{protocol::load_be32(records.data() + at + 8)};
    if (size > records.size() - at) break;  // not whole: Kafka reads no batch there
    const auto base = static_cast<std::int64_t>(protocol::load_be64(records.data() + at));
    if (records[at + magic_at] == 2 && base != 0)
      return "The baseOffset of the record batch in the append to " + topic + "-" +
             std::to_string(partition) + " should be 0, but it is " + std::to_string(base);
    at += size;
  }
  return std::nullopt;
}

// Why a partition's records, the first a RecordBatch (`first_v2`), are more batches than
// Kafka appends at once (exactly one: ProduceRequest.validateRecords from v3 on, once the
// first's magic is 2; below, LogValidator's rule for a v2 batch), or nothing when they are
// not. Stored together, an idempotent producer's second batch could not be recognised as a
// duplicate when it came again alone. `whole_batches` as mark_create_time counted them, from
// their headers: as Kafka counts them at v3+, before anything is read, so a damaged batch
// beside another is refused for being there (INVALID_RECORD), not for its damage, and
// nothing of them is inflated (below v3 Kafka checks their CRCs first: refused so too). The
// text is Kafka's exception's, but Kafka's broker sends no message with this refusal
// (KafkaApis answers PartitionResponse(Errors.forException(e))): Portask's addition (v8+).
std::optional<std::string> more_than_one_batch(std::int16_t version, bool first_v2, std::size_t whole_batches) {
  if (!first_v2 || whole_batches <= 1) return std::nullopt;
  if (version < 3) return "Compressed outer record has more than one batch";
  return "Produce requests with version " + std::to_string(version) +
         " are only allowed to contain exactly one record batch per partition";
}

// Why Kafka refuses a message set mixing magics (LogValidator.validateBatch), in its
// exception's words, naming the partition as Kafka's TopicPartition does: for the log, since
// Produce v0-2 answers carry no message.
std::optional<std::string> mixed_magic(protocol::byte_view records, const std::string& topic,
                                       std::int32_t partition) {
  const auto mix = protocol::kafka::mixed_magics(records);
  if (!mix) return std::nullopt;
  return "Batch magic " + std::to_string(mix->other) + " is not the same as the first batch's magic byte " +
         std::to_string(mix->first) + " in topic partition " + topic + "-" + std::to_string(partition);
}

// The same for a Produce v0-2 message set, in LogValidator's order: it holds a compressed
// wrapper only alone, though uncompressed messages may be many, and all of one magic. Kafka
// checks every message's CRC-32 before (UnifiedLog.analyzeAndValidateRecords): asked once
// `records` are read. The texts are Kafka's exceptions', for the log (Produce v0-2 answers
// carry no message).
std::optional<std::string> message_set_refused(protocol::byte_view records, const std::string& topic,
                                               std::int32_t partition) {
  if (protocol::kafka::compressed_beside_others(records)) return "Compressed outer record has more than one batch";
  return mixed_magic(records, topic, partition);
}

// A partition's records refused, as Kafka's broker answers them: damaged bytes (a CRC that
// does not match, a truncated batch, a body that does not inflate) are CORRUPT_MESSAGE,
// which producers retry; bytes intact but not what Kafka allows (a bad attribute or record,
// an unknown codec, magic 0/1 in v3+, no batch at all, a control or transactional batch; more
// than one batch, or mixed magics, see more_than_one_batch and message_set_refused) INVALID_RECORD, which
// they do not: retrying cannot help.
std::int16_t produce_error(errc e) {
  switch (e) {
    case errc::malformed_payload:
    case errc::unsupported_version:
    case errc::unknown_compression:
    case errc::invalid_request:
      return static_cast<std::int16_t>(error_code::invalid_record);
    default:
      return to_kafka(e);
  }
}

// Why Kafka refuses a v2 batch of `records` INVALID_RECORD for its header, in the words of
// its broker's exception (LogValidator.validateBatch, naming the partition as Kafka's
// TopicPartition does): the first batch whose offset range is empty (a negative
// lastOffsetDelta), whose record count is not positive or disagrees with its offset range, or
// that has a producer and no sequence, checked in Kafka's order. Kafka's broker sends no
// message with this refusal (ReplicaManager keeps one only from a RecordValidationException):
// sending it is Portask's addition (v8+), as for more_than_one_batch. Nothing when no batch is
// refused so (the decoder refused it for another reason: the errc's own message then says
// why). Walked from the headers the decoder checked.
std::optional<std::string> invalid_batch_header(protocol::byte_view records, const std::string& topic,
                                                std::int32_t partition) {
  constexpr std::size_t last_offset_delta_at = 23, producer_id_at = 43, base_sequence_at = 53,
                        count_at = 57, magic_at = 16;
  const auto where = " in topic partition " + topic + "-" + std::to_string(partition);
  for (std::size_t at = 0; at + protocol::kafka::record_batch_overhead <= records.size();
       at += 12 + protocol::load_be32(records.data() + at + 8)) {
    const auto* b = records.data() + at;
    if (b[magic_at] != 2) return std::nullopt;
    const auto base = static_cast<std::int64_t>(protocol::load_be64(b));
    const auto delta = static_cast<std::int32_t>(protocol::load_be32(b + last_offset_delta_at));
    // Kafka's lastOffset, a Java long: base + delta wraps past the largest offset as it does
    // there (the client chooses the base, 0 once nonzero_base_offset has passed it: a signed
    // sum of another could overflow).
    const auto range = "[" + std::to_string(base) + ", " +
                       std::to_string(protocol::wrapping_add(base, delta)) + "]";
    // Kafka's count from offsets (lastOffset - baseOffset + 1) is not positive.
    if (delta < 0) return "Batch has an invalid offset range: " + range + where;
    const auto count = static_cast<std::int32_t>(protocol::load_be32(b + count_at));
    if (count <= 0)
      return "Invalid reported count for record batch: " + std::to_string(count) + where;
    if (std::int64_t{delta} + 1 != count)
      return "Inconsistent batch offset range " + range + " and count of records " +
             std::to_string(count) + where;
    const auto producer_id = static_cast<std::int64_t>(protocol::load_be64(b + producer_id_at));
    const auto sequence = static_cast<std::int32_t>(protocol::load_be32(b + base_sequence_at));
    if (producer_id >= 0 && sequence < 0)
      return "Invalid sequence number " + std::to_string(sequence) +
             " in record batch with producerId " + std::to_string(producer_id) + where;
  }
  return std::nullopt;
}

// Whether the producer's bytes say exactly what is stored, so that the partition's tail can
// serve them to Kafka consumers as they came (publish_batch::kafka_view): every batch's
// records at consecutive offsets from its base and as many as its offset range (a reader
// places each batch after the previous one's last offset; an empty batch has none), and no
// zstd (a Fetch older than v10 may not receive it). Timestamps, 0 and -1 included, are
// stored as sent. `records` decoded without error into `batches` and `msgs`.
bool stored_as_sent(protocol::byte_view records,
                    const std::vector<protocol::kafka::record_batch>& batches,
                    const protocol::message_batch& msgs) {
  constexpr std::size_t last_offset_delta_at = 23, count_at = 57;
  for (std::size_t at = 0; at + protocol::kafka::record_batch_overhead <= records.size();
       at += 12 + protocol::load_be32(records.data() + at + 8)) {
    const auto count = protocol::load_be32(records.data() + at + count_at);
    if (count == 0 || count != protocol::load_be32(records.data() + at + last_offset_delta_at) + 1)
      return false;
  }
  std::size_t i = 0;
  for (const auto& b : batches) {
    if (b.compression() == protocol::kafka::compression_type::zstd) return false;
    const auto n = static_cast<std::int64_t>(b.last_offset_delta) + 1;
    for (std::int64_t k = 0; k < n; ++k, ++i) {
      if (i >= msgs.messages.size()) return false;
      const auto& m = msgs.messages[i];
      // The client's base offset, though 0 once Kafka's rule is checked (nonzero_base_offset),
      // added as Kafka's Java long would be: a signed sum could overflow.
      if (m.offset != protocol::wrapping_add(b.base_offset, k)) return false;
    }
  }
  return i == msgs.messages.size();
}

// A message set of magic 0/1 read into `out`; stands in the batch list as one batch header
// without a producer, so the rest of the produce path is the same for every version.
// Magic-1 timestamps are kept as Kafka appends them to a CreateTime topic, log append time
// marks included (decode_message_set_into); magic 0 (no timestamp) gets the broker's clock now.
expected<std::vector<protocol::kafka::record_batch>> legacy_message_set(
    protocol::byte_view records, const std::string& topic, std::int32_t partition,
    protocol::message_batch& out, protocol::kafka::decompression_budget& budget) {
  auto n = protocol::kafka::decode_message_set_into(records, topic, partition, wall_clock_ms(),
                                                    out, budget);
  if (!n) return n.error();
  if (*n == 0) return std::vector<protocol::kafka::record_batch>{};
  return std::vector<protocol::kafka::record_batch>(1);
}

// One partition's records read into `pb`, and their batches' headers (the idempotence
// claim) returned. Written straight in the binary encoding (no message built per record)
// when the store keeps that encoding and the batches allow it; parsed into messages
// otherwise, and always for the message sets of magic 0/1 (Produce v0-2, no producer claim).
// `as_sent`: the tail may serve the producer's bytes as they came (publish_batch::kafka_view).
expected<std::vector<protocol::kafka::record_batch>> read_records(
    const broker_context& ctx, std::int16_t version, protocol::byte_view records,
    publish_batch& pb, protocol::kafka::decompression_budget& budget, bool& as_sent) {
  as_sent = false;
  if (!record_batches(version, records))
    return legacy_message_set(records, pb.tp.topic, pb.tp.partition, pb.batch, budget);
  if (ctx.storage_encoding == protocol::encoding{}) {
    // Room for the stored frame's headers, written in place by the bridge for a remote store.
    const std::size_t room = protocol::frame_header_size + 32 + pb.tp.topic.size();
    protocol::buffer bytes;
    if (auto t = protocol::kafka::transcode_to_binary(records, room, bytes)) {
      pb.encoded = std::move(bytes);
      pb.encoded_at = t->payload_at;
      pb.encoded_scan = t->scan;
      as_sent = t->stored_as_sent;
      return std::move(t->batches);
    }
  }
  auto batches = protocol::kafka::decode_record_batches_into(records, pb.tp.topic,
                                                             pb.tp.partition, pb.batch, budget);
  as_sent = batches && stored_as_sent(records, *batches, pb.batch);
  return batches;
}

// Where a partition's answer goes: (topic, partition) indexes into the response.
using answer_slot = std::pair<std::size_t, std::size_t>;

// Kafka collects a request's partitions in maps keyed by topic and partition
// (KafkaApis.handleProduceRequest): a partition named twice is appended once, as named last,
// and answered once (Kafka keeps copies its validateRecords refuses in a map of their own, so
// when only one copy is refused it appends the other and may answer either; here the last
// copy decides both); a topic named twice has one entry in the answer. Fills `res` with the
// answer's entries (topics in the order first named, each one's partitions in the order of
// the copies kept, each with its index) and returns, per partition named, its slot there:
// none for a copy named again later in the request, which is neither stored nor answered.
std::vector<std::vector<std::optional<answer_slot>>> answer_slots(const msg::ProduceRequest& req,
                                                                  msg::ProduceResponse& res) {
  std::map<std::pair<std::string_view, std::int32_t>, answer_slot> last_named;
  for (std::size_t ti = 0; ti < req.topicData.size(); ++ti)
    for (std::size_t pi = 0; pi < req.topicData[ti].partitionData.size(); ++pi)
      last_named[{req.topicData[ti].name, req.topicData[ti].partitionData[pi].index}] = {ti, pi};
  std::map<std::string_view, std::size_t> topic_at;
  std::vector<std::vector<std::optional<answer_slot>>> slots(req.topicData.size());
  for (std::size_t ti = 0; ti < req.topicData.size(); ++ti) {
    const auto& topic = req.topicData[ti];
    slots[ti].resize(topic.partitionData.size());
    for (std::size_t pi = 0; pi < topic.partitionData.size(); ++pi) {
      const auto index = topic.partitionData[pi].index;
      if (last_named.at({topic.name, index}) != answer_slot{ti, pi}) continue;
      const auto [at, first] = topic_at.try_emplace(topic.name, res.responses.size());
      if (first) res.responses.emplace_back().name = topic.name;
      auto& partitions = res.responses[at->second].partitionResponses;
      partitions.emplace_back().index = index;
      slots[ti][pi] = answer_slot{at->second, partitions.size() - 1};
    }
  }
  return slots;
}

}  // namespace

void handle_produce(self_ptr self, const request& r, protocol::byte_view body) {
  msg::ProduceRequest req;
  if (!PORTASK_KAFKA_DECODE(Produce, body, req)) return;
  auto& ctx = *self->state.ctx;
  const bool acks = req.acks != 0;
  // Kafka takes -1 (all), 0 (none) and 1 (the leader); anything else is refused per partition.
  const bool valid_acks = req.acks == -1 || req.acks == 0 || req.acks == 1;
  auto res = std::make_shared<msg::ProduceResponse>();
  const auto slots = answer_slots(req, *res);
  std::size_t parts = 0;
  for (const auto& t : res->responses) parts += t.partitionResponses.size();
  auto pending = std::make_shared<std::size_t>(parts);
  auto done = [=] {
    if (--*pending > 0) return;
    if (acks)
      return respond(self, r, *res, msg::ProduceRequest_is_flexible(r.api_version));
    respond_nothing(self, r);
    // acks=0 has no answer to carry an error: as Kafka does, the connection is closed, which
    // makes the producer refresh its metadata and learn what changed.
    for (const auto& t : res->responses)
      for (const auto& p : t.partitionResponses)
        if (p.errorCode != 0) {
          logging::kafka().info("kafka {}: acks=0 produce to {}/{} failed (error {}); closing the connection",
                                self->state.session->peer(), t.name, p.index, p.errorCode);
          return close_after_answers(self);
        }
  };
  if (parts == 0) {
    ++*pending;
    done();
    return;
  }
  // What the whole request may inflate (every batch of every partition); once it is spent,
  // the rest of the request is refused without being inflated.
  protocol::kafka::decompression_budget budget{ctx.config.max_frame_bytes,
                                               ctx.config.max_decompressed_bytes_per_request};
  bool over_budget = false;
  // Only the first auto_create_topics_max_per_request topics named may be auto-created.
  std::uint32_t topics_named = 0;
  // Topics (by answer slot) only that cap kept from being created: counted in /metrics once
  // found missing.
  auto capped = std::make_shared<std::vector<bool>>(res->responses.size(), false);
  // The partitions' batches gathered per bridge, each with its answer slot.
  publish_bursts<answer_slot> bursts;
  for (std::size_t ti = 0; ti < req.topicData.size(); ++ti) {
    auto& topic = req.topicData[ti];
    namespace sec = protocol::security;
    const bool may_write = allowed(self, sec::acl_operation::write, sec::resource_type::topic, topic.name);
    // Asked before it is known whether the topic exists: a denial refuses nothing yet.
    const bool may_create_any =
        ctx.config.auto_create_topics &&
        (allowed_on_cluster(self, sec::acl_operation::create, denial_log::quiet) ||
         allowed(self, sec::acl_operation::create, sec::resource_type::topic, topic.name, denial_log::quiet));
    // A name no topic can have takes none of the request's creations (it is answered unknown).
    const bool may_create = may_create_any && protocol::is_valid_topic_name(topic.name) &&
                            topics_named++ < ctx.config.auto_create_topics_max_per_request;
    for (std::size_t pi = 0; pi < topic.partitionData.size(); ++pi) {
      const auto& slot = slots[ti][pi];
      if (!slot) continue;  // named again later in the request: that copy is the one
      auto& part = topic.partitionData[pi];
      auto& out = res->responses[slot->first].partitionResponses[slot->second];
      if (may_create_any && !may_create) (*capped)[slot->first] = true;
      if (!may_write) {
        out.errorCode = static_cast<std::int16_t>(error_code::topic_authorization_failed);
        out.baseOffset = -1;
        done();
        continue;
      }
      if (!valid_acks) {
        out.errorCode = static_cast<std::int16_t>(error_code::invalid_required_acks);
        out.baseOffset = -1;
        done();
        continue;
      }
      // A name no topic can have names no partition Kafka holds: UNKNOWN_TOPIC_OR_PARTITION,
      // as Kafka answers it (not a refused creation).
      if (!protocol::is_valid_topic_name(topic.name)) {
        out.errorCode = static_cast<std::int16_t>(error_code::unknown_topic_or_partition);
        out.baseOffset = -1;
        done();
        continue;
      }
      if (protocol::is_internal_topic(topic.name)) {  // Kafka: only the broker appends to it
        out.errorCode = static_cast<std::int16_t>(error_code::invalid_topic_exception);
        out.baseOffset = -1;
        done();
        continue;
      }
      if (part.index < 0) {  // Kafka clients choose the partition; -1 is the native protocol's "any"
        out.errorCode = static_cast<std::int16_t>(error_code::unknown_topic_or_partition);
        out.baseOffset = -1;
        done();
        continue;
      }
      // As decoded: all owned, no shared pieces. A batch its producer marked with log append
      // time is appended as create time, as Kafka appends it to a CreateTime topic: the mark
      // is cleared in the producer's bytes, which the tail may serve as they are (message
      // sets of magic 0/1: see legacy_message_set). The same walk counts the batches.
      const protocol::byte_view records =
          part.records ? protocol::byte_view{part.records->owned()} : protocol::byte_view{};
      const bool v2 = record_batches(r.api_version, records);
      std::size_t whole_batches = 0;
      if (part.records && v2) whole_batches = protocol::kafka::mark_create_time(part.records->owned());
      publish_batch pb;
      pb.tp = {topic.name, part.index};
      pb.source = protocol_kind::kafka;
      pb.auto_create = may_create;
      pb.wire_bytes = records.size();
      // A partition's records Kafka refuses whole, before anything of them is stored.
      auto refuse_records = [&](std::string why, error_code code = error_code::invalid_record) {
        logging::kafka().warn("kafka produce to {}/{}: {}", topic.name, part.index, why);
        out.errorCode = static_cast<std::int16_t>(code);
        out.errorMessage = std::move(why);
        out.baseOffset = -1;
        done();
      };
      // An empty message set (v0-2; v3+ must hold a batch) appends nothing, and Kafka answers
      // it as such: no error, no base offset (UnifiedLog.append returns before anything is
      // validated), once the partition is known to be there.
      if (r.api_version < 3 && part.records && records.empty()) {
        using namespace std::chrono_literals;
        const answer_slot where = *slot;  // the answer's place, not the request's
        ask_partition(
            self, self->state.dir, pb.tp, 10s,
            [=](storage::partition_bounds&) {
              res->responses[where.first].partitionResponses[where.second].baseOffset = -1;
              done();
            },
            [=](caf::error& e) {
              auto& o = res->responses[where.first].partitionResponses[where.second];
              o.errorCode = to_kafka(to_errc(e));
              o.baseOffset = -1;
              done();
            },
            bounds_atom::value);
        continue;
      }
      if (auto why = corrupt_framing(records, frames_kafka_reads(r.api_version, records))) {
        refuse_records(std::move(*why), error_code::corrupt_message);
        continue;
      }
      if (auto why = more_than_one_batch(r.api_version, starts_with_v2_batch(records), whole_batches)) {
        refuse_records(std::move(*why));
        continue;
      }
      // Past the first frame only when it is a batch (Kafka stops at an older first frame).
      if (auto why = v2 && starts_with_v2_batch(records) ? nonzero_base_offset(records, topic.name, part.index)
                                                          : std::nullopt) {
        refuse_records(std::move(*why));
        continue;
      }
      if (over_budget) {
        out.errorCode = static_cast<std::int16_t>(error_code::message_too_large);
        out.baseOffset = -1;
        done();
        continue;
      }
      bool as_sent = false;
      auto batches = read_records(ctx, r.api_version, records, pb, budget, as_sent);
      // What the request holds inflated and decoded so far counts against the connection's
      // budget until it is answered (held_requests).
      if (const auto now = ctx.config.max_decompressed_bytes_per_request - budget.left; now > 0) {
        auto& held = self->state.decoded_by_seq[r.seq];
        self->state.decoded_bytes += now - held;
        held = now;
      }
      if (!batches && budget.left == 0 &&
          batches.error() == make_error_code(errc::decompressed_too_large)) {
        over_budget = true;
        ctx.metrics.request_limited(request_limit::decompressed_bytes);
        logging::kafka().warn("kafka {}: produce request inflates past {} bytes; refusing the rest of it",
                     self->state.session->peer(), ctx.config.max_decompressed_bytes_per_request);
      }
      if (!batches || batches->empty()) {
        const auto e = batches ? errc::invalid_request : static_cast<errc>(batches.error().value());
        // INVALID_RECORD for a batch's header or a magic: why, in the words of Kafka's
        // exception, which its broker does not send (invalid_batch_header; magic 0 or 1 at
        // v3+, ProduceRequest.validateRecords; an intact magic-2 batch after messages of magic 0/1,
        // mixed_magic); the errc's message is about the topic's rules, or the native frame's
        // version, which this is not.
        std::optional<std::string> header_why;
        if (e == errc::invalid_record && v2)
          header_why = invalid_batch_header(records, topic.name, part.index);
        else if (e == errc::unsupported_version && r.api_version >= 3)
          header_why = "Produce requests with version " + std::to_string(r.api_version) +
                       " are only allowed to contain record batches with magic version 2";
        else if (e == errc::unsupported_version && !v2)
          header_why = mixed_magic(records, topic.name, part.index);
        auto why = header_why ? std::move(*header_why) : make_error_code(e).message();
        logging::kafka().warn("kafka produce to {}/{}: {}", topic.name, part.index, why);
        out.errorCode = produce_error(e);
        out.errorMessage = std::move(why);  // v8+: why
        out.baseOffset = -1;
        done();
        continue;
      }
      if (auto why = v2 ? std::optional<std::string>{} : message_set_refused(records, topic.name, part.index)) {
        refuse_records(std::move(*why));
        continue;
      }
      // zstd in Produce v3-6 is taken, though Kafka (KIP-110) answers it
      // UNSUPPORTED_COMPRESSION_TYPE: Sarama configured as Kafka 2.1 sends it so, and a
      // consumer too old for zstd is sent the batch re-encoded from the stored frame.
      if (auto why = refused_batch_kind(batches->front(), topic.name, part.index)) {
        refuse_records(std::move(*why));
        continue;
      }
      pb.producer = producer_claim(batches->front());
      // The request's own buffer, taken over (nothing reads the records after this), not
      // slab memory (copy_of): a view leaves with the tail, and a slab lives as long as any
      // stored frame in it.
      if (as_sent)
        pb.kafka_view = protocol::shared_bytes::adopt(std::move(part.records->owned()));
      bursts.add(self->state.dir.bridge_for(pb.tp), std::move(pb), *slot);
    }
  }
  // One message per bridge for the whole request.
  bursts.send(self, [=](answer_slot where, errc e, const publish_result& pr) {
    auto& o = res->responses[where.first].partitionResponses[where.second];
    if (e == errc::ok) {
      o.baseOffset = pr.base_offset;
      o.logStartOffset = pr.log_start;
    } else {
      o.errorCode = to_kafka(e);
      o.baseOffset = -1;
      if (e == errc::unknown_topic && (*capped)[where.first]) {
        (*capped)[where.first] = false;
        self->state.ctx->metrics.request_limited(request_limit::auto_create_topics);
      }
      // INVALID_RECORD says little by itself; Kafka's broker says why (Produce v8+).
      if (e == errc::invalid_record)
        o.errorMessage = "compacted topic: every record needs a key (cleanup.policy=compact)";
      if (e == errc::not_leader) note_current_leader(self, *res, o, {res->responses[where.first].name, o.index});
      // UNKNOWN_PRODUCER_ID carries the log start, as Kafka's: the Java producer retries one
      // without it (-1) until its delivery timeout, and with it bumps its epoch and starts
      // its sequences again (KIP-360).
      if (e == errc::unknown_producer_id && r.api_version >= 5) {  // the field is v5+
        using namespace std::chrono_literals;
        return ask_partition(
            self, self->state.dir, {res->responses[where.first].name, o.index}, 10s,
            [=](storage::partition_bounds& b) {
              res->responses[where.first].partitionResponses[where.second].logStartOffset = b.log_start;
              done();
            },
            [=](caf::error&) { done(); }, bounds_atom::value);
      }
    }
    done();
  });
}

}  // namespace portask::kafka
