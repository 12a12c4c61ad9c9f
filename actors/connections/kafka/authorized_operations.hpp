#pragma once
/// Kafka's authorized-operations bit fields (KIP-430), which Metadata, DescribeGroups and
/// DescribeCluster return when a client asks: a bit (1 << operation code) for each operation
/// Kafka defines on that kind of resource that this connection's principal may do on it
/// (all of them with authorization off, as Kafka without an authorizer).

#include <array>
#include <string_view>

#include "actors/connections/kafka/handlers.hpp"

namespace portask::kafka {

namespace ops {
using op = protocol::security::acl_operation;
inline constexpr std::array topic{op::read,   op::write, op::create, op::describe,
                                  op::remove, op::alter, op::describe_configs, op::alter_configs};
inline constexpr std::array group{op::read, op::describe, op::remove};
inline constexpr std::array cluster{op::create,        op::cluster_action,   op::describe_configs,
                                    op::alter_configs, op::idempotent_write, op::alter,
                                    op::describe};
}  // namespace ops

template <std::size_t N>
std::int32_t authorized_operations(self_ptr self, protocol::security::resource_type type,
                                   std::string_view name,
                                   const std::array<protocol::security::acl_operation, N>& defined) {
  std::int32_t bits = 0;
  for (auto op : defined)
    if (allowed(self, op, type, name, denial_log::quiet)) bits |= std::int32_t{1} << static_cast<int>(op);
  return bits;
}

/// The cluster's: none at all without DESCRIBE on it, as Kafka answers.
inline std::int32_t cluster_authorized_operations(self_ptr self) {
  if (!allowed_on_cluster(self, protocol::security::acl_operation::describe, denial_log::quiet)) return 0;
  return authorized_operations(self, protocol::security::resource_type::cluster,
                               protocol::security::cluster_resource_name, ops::cluster);
}

}  // namespace portask::kafka
