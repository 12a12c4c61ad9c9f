// OffsetCommit (key 8): the coordinator checks the member and generation (a zombie's commit
// is fenced) and stores every partition's offset in one store round trip. Kafka reports
// errors per partition; a group-level refusal applies to all of them.
#include "actors/kafka/handlers.hpp"

namespace portask::kafka {

using namespace std::chrono_literals;

void handle_offset_commit(self_ptr self, const request& r, protocol::byte_view body) {
  msg::OffsetCommitRequest req;
  if (!PORTASK_KAFKA_DECODE(OffsetCommit, body, req)) return;
  const bool flexible = msg::OffsetCommitRequest_is_flexible(r.api_version);
  commit_offsets_request c;
  c.member = {req.memberId, req.groupInstanceId, req.generationIdOrMemberEpoch};
  for (const auto& t : req.topics)
    for (const auto& p : t.partitions)
      c.offsets.push_back({{t.name, p.partitionIndex},
                           {p.committedOffset, p.committedMetadata.value_or("")}});
  auto topics = std::make_shared<std::vector<std::pair<std::string, std::vector<std::int32_t>>>>();
  for (const auto& t : req.topics) {
    std::vector<std::int32_t> parts;
    for (const auto& p : t.partitions) parts.push_back(p.partitionIndex);
    topics->emplace_back(t.name, std::move(parts));
  }
  auto answer = [=](errc e) {
    msg::OffsetCommitResponse res;
    const auto code = to_kafka_group(e);
    for (const auto& [name, parts] : *topics) {
      msg::OffsetCommitResponse::OffsetCommitResponseTopic t;
      t.name = name;
      for (auto p : parts) t.partitions.push_back({p, code});
      res.topics.push_back(std::move(t));
    }
    respond(self, r, res, flexible, e != errc::ok);
  };
  with_group(
      self, req.groupId,
      [=](group_coordinator_actor& g) {
        self->request(g, 10s, commit_atom::value, c)
            .then([=](bool) { answer(errc::ok); }, [=](caf::error& e) { answer(to_errc(e)); });
      },
      answer);
}

}  // namespace portask::kafka
