#pragma once
/// How many topics one request may have looked up at the topic registry one by one. Past it,
/// the names are looked up together in one list of every topic the registry holds: a request
/// naming thousands of made-up topics would otherwise flood the one registry every connection
/// waits on, and stall them all. Kafka Metadata (names in one request) and the protocol
/// bridge (lookups waiting at once) share it.

#include <cstddef>

namespace portask {

inline constexpr std::size_t registry_lookups_one_by_one = 256;

}  // namespace portask
