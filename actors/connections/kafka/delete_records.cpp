// DeleteRecords (key 21): moves a partition's log start offset up (-1: to the high
// watermark); the batches wholly below it leave the store, and reads below it are
// OFFSET_OUT_OF_RANGE from then on. Each partition answers with its new low watermark; an
// offset past the high watermark is OFFSET_OUT_OF_RANGE, as in Kafka.
// ACLs: DELETE on the topic, else each of its partitions is TOPIC_AUTHORIZATION_FAILED.
#include "actors/connections/kafka/handlers.hpp"
#include "actors/pipeline/partition.hpp"

namespace portask::kafka {

namespace sec = protocol::security;
using namespace std::chrono_literals;

void handle_delete_records(self_ptr self, const request& r, protocol::byte_view body) {
  msg::DeleteRecordsRequest req;
  if (!PORTASK_KAFKA_DECODE(DeleteRecords, body, req)) return;
  auto res = std::make_shared<msg::DeleteRecordsResponse>();
  auto pending = std::make_shared<std::size_t>(1);
  const bool flexible = msg::DeleteRecordsRequest_is_flexible(r.api_version);
  auto done = [=] {
    if (--*pending == 0) respond(self, r, *res, flexible);
  };
  // The client's timeout bounds the wait for the store, as for the other admin requests
  // (REQUEST_TIMED_OUT after it; the deletion goes on). Zero or less waits for the deletion
  // itself: it is asked for either way, and a client is not told of a timeout that did not
  // happen.
  const admin_deadline deadline{r, req.timeoutMs, self->state.ctx->config};
  res->topics.resize(req.topics.size());
  for (std::size_t ti = 0; ti < req.topics.size(); ++ti) {
    const auto& t = req.topics[ti];
    res->topics[ti].name = t.name;
    res->topics[ti].partitions.resize(t.partitions.size());
    // As Kafka: authorized before anything about the partitions is looked at.
    const bool authorized =
        allowed(self, sec::acl_operation::remove, sec::resource_type::topic, t.name);
    for (std::size_t pi = 0; pi < t.partitions.size(); ++pi) {
      const auto& p = t.partitions[pi];
      auto& out = res->topics[ti].partitions[pi];
      out.partitionIndex = p.partitionIndex;
      out.lowWatermark = -1;
      if (!authorized) {
        out.errorCode = static_cast<std::int16_t>(error_code::topic_authorization_failed);
        continue;
      }
      if (p.offset < -1) {
        out.errorCode = static_cast<std::int16_t>(error_code::offset_out_of_range);
        continue;
      }
      ++*pending;
      ask_partition(
          self, self->state.dir, topic_partition{t.name, p.partitionIndex}, deadline.left(),
          [=](storage::partition_bounds& b) {
            res->topics[ti].partitions[pi].lowWatermark = b.log_start;
            done();
          },
          [=](caf::error& e) {
            res->topics[ti].partitions[pi].errorCode = to_kafka(to_errc(e));
            done();
          },
          delete_atom::value, p.offset);
    }
  }
  done();
}

}  // namespace portask::kafka
