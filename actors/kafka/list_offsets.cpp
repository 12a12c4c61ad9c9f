// ListOffsets (key 2): earliest (-2) and latest (-1) from the partition's bounds.
// Lookups by timestamp are not implemented yet (answered with UNKNOWN_SERVER_ERROR).
#include <spdlog/spdlog.h>

#include "actors/kafka/handlers.hpp"

namespace portask::kafka {

using namespace std::chrono_literals;

void handle_list_offsets(self_ptr self, const request& r, protocol::byte_view body) {
  msg::ListOffsetsRequest req;
  if (!decode_body(body, r, req)) {
    spdlog::warn("kafka: malformed ListOffsets v{} request; closing", r.api_version);
    self->quit();
    return;
  }
  auto res = std::make_shared<msg::ListOffsetsResponse>();
  auto pending = std::make_shared<std::size_t>(0);
  for (const auto& t : req.topics) *pending += t.partitions.size();
  const bool flexible = msg::ListOffsetsRequest_is_flexible(r.api_version);
  auto done = [=] {
    if (--*pending == 0) respond(self, r, *res, flexible);
  };
  if (*pending == 0) return respond(self, r, *res, flexible);
  res->topics.resize(req.topics.size());
  auto registry = self->state.ctx->registry();
  for (std::size_t ti = 0; ti < req.topics.size(); ++ti) {
    res->topics[ti].name = req.topics[ti].name;
    res->topics[ti].partitions.resize(req.topics[ti].partitions.size());
    for (std::size_t pi = 0; pi < req.topics[ti].partitions.size(); ++pi) {
      const auto p = req.topics[ti].partitions[pi];
      auto& out = res->topics[ti].partitions[pi];
      out.partitionIndex = p.partitionIndex;
      if (p.timestamp != -1 && p.timestamp != -2) {
        out.errorCode = static_cast<std::int16_t>(error_code::unknown_server_error);
        done();
        continue;
      }
      self->request(registry, 10s, partition_atom::value,
                    topic_partition{req.topics[ti].name, p.partitionIndex}, false)
          .then(
              [=](partition_actor& part) {
                self->request(part, 10s, bounds_atom::value)
                    .then(
                        [=](storage::partition_bounds& b) {
                          auto& o = res->topics[ti].partitions[pi];
                          o.offset = p.timestamp == -2 ? b.log_start : b.next_offset;
                          o.oldStyleOffsets = {o.offset};
                          o.timestamp = -1;
                          done();
                        },
                        [=](caf::error& e) {
                          res->topics[ti].partitions[pi].errorCode = to_kafka(to_errc(e));
                          done();
                        });
              },
              [=](caf::error& e) {
                res->topics[ti].partitions[pi].errorCode = to_kafka(to_errc(e));
                done();
              });
    }
  }
}

}  // namespace portask::kafka
