#pragma once
/// Which live node should own a resource (a partition, a group): highest random weight
/// (rendezvous) hashing. Every node computes the same answer from the same set of live
/// nodes, with no coordination; when a node joins or leaves, only the resources it gains or
/// held move.

#include <cstdint>
#include <span>
#include <string_view>

namespace portask {

/// A hash of (node, resource) that every build and platform computes alike (FNV-1a, then a
/// 64-bit finaliser so that nearby node ids do not score alike).
std::uint64_t rendezvous_score(std::int32_t node, std::string_view resource) noexcept;

/// The node with the highest score for `resource`; -1 when there is none.
std::int32_t rendezvous_owner(std::span<const std::int32_t> nodes, std::string_view resource) noexcept;

}  // namespace portask
