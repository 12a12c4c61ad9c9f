// ListGroups (key 16): live groups and groups known by their committed offsets; v4 filters
// by state, v5 by type (only "classic" groups exist here).
// ACLs: DESCRIBE on the cluster lists every group; otherwise those the principal may DESCRIBE.
#include <algorithm>

#include "actors/connections/kafka/handlers.hpp"

namespace portask::kafka {

namespace sec = protocol::security;
using namespace std::chrono_literals;

void handle_list_groups(self_ptr self, const request& r, protocol::byte_view body) {
  msg::ListGroupsRequest req;
  if (!PORTASK_KAFKA_DECODE(ListGroups, body, req)) return;
  const bool flexible = msg::ListGroupsRequest_is_flexible(r.api_version);
  // Decided when the request comes, as Kafka does; groups are checked one by one in the answer.
  const bool lists_all = allowed_on_cluster(self, sec::acl_operation::describe, denial_log::quiet);
  auto groups = self->state.dir.groups;
  auto fail = [=](caf::error& e) {
    msg::ListGroupsResponse res;
    res.errorCode = to_kafka_group(to_errc(e));
    respond(self, r, res, flexible, true);
  };
  if (!groups) {
    auto e = make_caf_error(errc::not_ready);
    return fail(e);
  }
  self->request(groups, 10s, list_atom::value)
      .then(
          [=](std::vector<group_description>& all) {
            msg::ListGroupsResponse res;
            auto wanted = [](const std::vector<std::string>& filter, const std::string& v) {
              if (filter.empty()) return true;
              return std::any_of(filter.begin(), filter.end(), [&](const std::string& f) {
                return std::equal(f.begin(), f.end(), v.begin(), v.end(),
                                  [](char a, char b) { return std::tolower(a) == std::tolower(b); });
              });
            };
            for (auto& g : all) {
              if (g.state == "Dead") continue;  // Kafka lists only groups that exist
              if (!wanted(req.statesFilter, g.state) || !wanted(req.typesFilter, "classic")) continue;
              if (!lists_all &&
                  !allowed(self, sec::acl_operation::describe, sec::resource_type::group, g.group_id,
                           denial_log::quiet))
                continue;
              res.groups.push_back({std::move(g.group_id), std::move(g.protocol_type),
                                    std::move(g.state), "classic"});
            }
            respond(self, r, res, flexible);
          },
          fail);
}

}  // namespace portask::kafka
