// OffsetFetch (key 9): committed offsets of the named partitions (v2+: all of the group's
// when topics is null); v8 asks for many groups at once. -1 where nothing is committed.
// ACLs: DESCRIBE on the group, and DESCRIBE on each topic whose offsets are shown.
#include <map>
#include <string_view>

#include "actors/connections/kafka/handlers.hpp"

namespace portask::kafka {

namespace sec = protocol::security;
using namespace std::chrono_literals;

namespace {

struct group_query {
  std::string group;
  std::optional<std::vector<std::pair<std::string, std::vector<std::int32_t>>>> topics;
};

struct group_answer {
  std::int16_t error = 0;  ///< Kafka's error code for the group
  std::vector<storage::group_offset> offsets;
  /// Topics asked for that the principal may not DESCRIBE, with their partitions.
  std::vector<std::pair<std::string, std::vector<std::int32_t>>> refused;
};

// Offsets by topic, each topic once, in the order they were asked for (or stored, when all
// were asked for), then the refused topics, as Kafka lists them. A store need not keep a
// group's offsets grouped by topic (redis returns a hash's fields in insertion order or
// none): a topic's partitions are gathered wherever they come.
template <class Topic>
std::vector<Topic> by_topic(const group_answer& a) {
  std::vector<Topic> out;
  std::map<std::string_view, std::size_t> entry_of;  // topic -> its entry in `out`
  for (const auto& o : a.offsets) {
    auto [at, fresh] = entry_of.try_emplace(o.tp.topic, out.size());
    if (fresh) {
      out.emplace_back();
      out.back().name = o.tp.topic;
    }
    auto& topic = out[at->second];
    typename decltype(topic.partitions)::value_type p;
    p.partitionIndex = o.tp.partition;
    p.committedOffset = o.offset.offset;
    p.committedLeaderEpoch = o.offset.leader_epoch;
    p.metadata = o.offset.metadata;
    p.errorCode = a.error;
    topic.partitions.push_back(std::move(p));
  }
  for (const auto& [name, partitions] : a.refused) {
    out.emplace_back();
    out.back().name = name;
    for (auto partition : partitions) {
      typename decltype(out.back().partitions)::value_type p;
      p.partitionIndex = partition;
      p.committedOffset = -1;
      p.committedLeaderEpoch = -1;
      p.metadata = "";
      p.errorCode = static_cast<std::int16_t>(error_code::topic_authorization_failed);
      out.back().partitions.push_back(std::move(p));
    }
  }
  return out;
}

}  // namespace

void handle_offset_fetch(self_ptr self, const request& r, protocol::byte_view body) {
  msg::OffsetFetchRequest req;
  if (!PORTASK_KAFKA_DECODE(OffsetFetch, body, req)) return;
  const bool flexible = msg::OffsetFetchRequest_is_flexible(r.api_version);
  std::vector<group_query> queries;
  if (r.api_version >= 8) {
    for (const auto& g : req.groups) {
      group_query q{g.groupId, std::nullopt};
      if (g.topics) {
        q.topics.emplace();
        for (const auto& t : *g.topics) q.topics->emplace_back(t.name, t.partitionIndexes);
      }
      queries.push_back(std::move(q));
    }
  } else {
    group_query q{req.groupId, std::nullopt};
    if (req.topics) {
      q.topics.emplace();
      for (const auto& t : *req.topics) q.topics->emplace_back(t.name, t.partitionIndexes);
    }
    queries.push_back(std::move(q));
  }
  auto answers = std::make_shared<std::vector<group_answer>>(queries.size());
  auto pending = std::make_shared<std::size_t>(queries.size() + 1);
  auto done = [=] {
    if (--*pending > 0) return;
    msg::OffsetFetchResponse res;
    if (r.api_version >= 8) {
      for (std::size_t i = 0; i < queries.size(); ++i) {
        msg::OffsetFetchResponse::OffsetFetchResponseGroup g;
        g.groupId = queries[i].group;
        g.errorCode = (*answers)[i].error;
        if ((*answers)[i].error == 0)
          g.topics = by_topic<msg::OffsetFetchResponse::OffsetFetchResponseGroup::OffsetFetchResponseTopics>((*answers)[i]);
        res.groups.push_back(std::move(g));
      }
    } else {
      const auto& a = answers->front();
      res.topics = by_topic<msg::OffsetFetchResponse::OffsetFetchResponseTopic>(a);
      res.errorCode = a.error;
    }
    respond(self, r, res, flexible);
  };
  for (std::size_t i = 0; i < queries.size(); ++i) {
    std::vector<topic_partition> asked;
    if (queries[i].topics)
      for (const auto& [name, parts] : *queries[i].topics)
        for (auto p : parts) asked.push_back({name, p});
    // Without DESCRIBE on the group nothing is looked up. Kafka reports it on the group and,
    // before v2 (no group error code), on each partition asked for.
    if (!allowed(self, sec::acl_operation::describe, sec::resource_type::group, queries[i].group)) {
      (*answers)[i].error = static_cast<std::int16_t>(error_code::group_authorization_failed);
      if (r.api_version < 2)
        for (const auto& tp : asked) (*answers)[i].offsets.push_back({tp, {}});
      done();
      continue;
    }
    // Topics the principal may not DESCRIBE are not looked up (see by_topic).
    std::vector<topic_partition> tps;
    if (queries[i].topics)
      for (const auto& [name, parts] : *queries[i].topics) {
        if (!allowed(self, sec::acl_operation::describe, sec::resource_type::topic, name)) {
          (*answers)[i].refused.emplace_back(name, parts);
          continue;
        }
        for (auto p : parts) tps.push_back({name, p});
      }
    // Asked for nothing (an empty list, not null) or only for refused topics: nothing to
    // look up.
    if (queries[i].topics && tps.empty()) {
      done();
      continue;
    }
    auto fail = [=](errc e) {
      (*answers)[i].error = to_kafka_group(e);
      // Pre-v2 clients only read per-partition errors: report it on each partition asked for
      // (refused topics' too, as Kafka does).
      (*answers)[i].refused.clear();
      for (const auto& tp : asked) (*answers)[i].offsets.push_back({tp, {}});
      done();
    };
    const bool all_offsets = !queries[i].topics;
    with_group(
        self, queries[i].group,
        [=](group_coordinator_actor& g) {
          self->request(g, 10s, offset_atom::value, tps)
              .then(
                  [=](std::vector<storage::group_offset>& offs) {
                    // All of the group's offsets: topics the principal may not DESCRIBE are
                    // left out, as if nothing were committed for them.
                    if (all_offsets)
                      std::erase_if(offs, [&](const storage::group_offset& o) {
                        return !allowed(self, sec::acl_operation::describe,
                                        sec::resource_type::topic, o.tp.topic, denial_log::quiet);
                      });
                    (*answers)[i].offsets = std::move(offs);
                    done();
                  },
                  [=](caf::error& e) { fail(to_errc(e)); });
        },
        fail);
  }
  done();
}

}  // namespace portask::kafka
