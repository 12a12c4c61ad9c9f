#include "actors/cluster/cluster_view.hpp"

#include <algorithm>

#include "actors/cluster/rendezvous.hpp"

namespace portask {

std::int32_t cluster_view::leader(const storage::topic_partition& tp) const {
  if (!clustered) return self;
  const auto* h = leading(tp);
  return h == nullptr ? -1 : h->node;
}

std::int32_t cluster_view::leader_epoch(const storage::topic_partition& tp) const {
  if (!clustered) return 0;
  const auto* h = holder(tp);
  return h == nullptr ? -1 : static_cast<std::int32_t>(h->epoch);
}

std::int32_t cluster_view::coordinator(const std::string& group) const {
  if (!clustered) return self;
  return rendezvous_owner(live, storage::group_lease(group));
}

std::shared_ptr<const cluster_view> single_node_view() {
  static const auto view = std::make_shared<const cluster_view>();
  return view;
}

std::shared_ptr<cluster_view> leaving_view(const cluster_view& v) {
  auto out = std::make_shared<cluster_view>(v);
  out->nodes.erase(v.self);
  out->tokens.erase(v.self);
  std::erase(out->live, v.self);
  std::erase_if(out->holders, [&](const auto& entry) { return entry.second.node == v.self; });
  std::erase_if(out->group_holders, [&](const auto& entry) { return entry.second.node == v.self; });
  return out;
}

}  // namespace portask
