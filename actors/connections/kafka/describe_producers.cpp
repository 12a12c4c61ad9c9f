// DescribeProducers (key 61): the idempotent producers a partition's idempotence window holds,
// each with its epoch and the last sequence it stored. Portask has no transactions, so no
// producer has a coordinator epoch or an open transaction (-1 both). lastTimestamp is when
// the producer last wrote here (broker clock), not the max timestamp of its last batch.
// ACLs: READ on the topic, else each of its partitions is TOPIC_AUTHORIZATION_FAILED.
#include "actors/connections/kafka/handlers.hpp"
#include "actors/pipeline/partition.hpp"

namespace portask::kafka {

namespace sec = protocol::security;
using namespace std::chrono_literals;

void handle_describe_producers(self_ptr self, const request& r, protocol::byte_view body) {
  msg::DescribeProducersRequest req;
  if (!PORTASK_KAFKA_DECODE(DescribeProducers, body, req)) return;
  using partition_t = msg::DescribeProducersResponse::TopicResponse::PartitionResponse;
  auto res = std::make_shared<msg::DescribeProducersResponse>();
  auto pending = std::make_shared<std::size_t>(1);
  auto done = [=] {
    if (--*pending == 0) respond(self, r, *res, true);  // flexible at every version
  };
  res->topics.resize(req.topics.size());
  for (std::size_t ti = 0; ti < req.topics.size(); ++ti) {
    const auto& t = req.topics[ti];
    res->topics[ti].name = t.name;
    res->topics[ti].partitions.resize(t.partitionIndexes.size());
    // As Kafka: authorized before the partitions are asked about.
    const bool authorized =
        allowed(self, sec::acl_operation::read, sec::resource_type::topic, t.name);
    for (std::size_t pi = 0; pi < t.partitionIndexes.size(); ++pi) {
      const auto p = t.partitionIndexes[pi];
      res->topics[ti].partitions[pi].partitionIndex = p;
      if (!authorized) {
        auto& out = res->topics[ti].partitions[pi];
        out.errorCode = static_cast<std::int16_t>(error_code::topic_authorization_failed);
        out.errorMessage = "Topic authorization failed.";  // Kafka's
        continue;
      }
      auto fail = [=](caf::error& e) {
        auto& out = res->topics[ti].partitions[pi];
        const auto err = to_errc(e);
        out.errorCode = to_kafka(err);
        if (err == errc::unknown_topic || err == errc::unknown_partition)
          out.errorMessage = "This server does not host this topic-partition.";  // Kafka's
        done();
      };
      ++*pending;
      ask_partition(
          self, self->state.dir, topic_partition{t.name, p}, 10s,
          [=](std::vector<producer_summary>& producers) {
            auto& out = res->topics[ti].partitions[pi];
            for (const auto& s : producers) {
              partition_t::ProducerState ps;
              ps.producerId = s.id;
              ps.producerEpoch = s.epoch;
              ps.lastSequence = s.last_sequence;
              ps.lastTimestamp = s.last_timestamp;
              ps.coordinatorEpoch = -1;
              ps.currentTxnStartOffset = -1;
              out.activeProducers.push_back(ps);
            }
            done();
          },
          fail, producer_atom::value);
    }
  }
  done();
}

}  // namespace portask::kafka
