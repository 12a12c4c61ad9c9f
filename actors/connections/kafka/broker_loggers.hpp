#pragma once
/// Portask's module loggers as Kafka's BROKER_LOGGER config resource (KIP-412), so that
/// `kafka-configs --entity-type broker-loggers` and admin clients read and change them:
/// DescribeConfigs lists each with its level, IncrementalAlterConfigs SETs one or DELETEs
/// it back to the broker's level. They are the loggers GET/PUT /api/loggers reads and sets;
/// levels go by Kafka's (log4j's) names.

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "logging/loggers.hpp"

namespace portask::kafka {

/// Kafka's name for a level (spdlog's `critical` is log4j's FATAL).
inline std::string_view kafka_level_name(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace: return "TRACE";
    case spdlog::level::debug: return "DEBUG";
    case spdlog::level::info: return "INFO";
    case spdlog::level::warn: return "WARN";
    case spdlog::level::err: return "ERROR";
    case spdlog::level::critical: return "FATAL";
    default: return "OFF";
  }
}

/// The level a Kafka level name stands for, or nothing for one Kafka does not let a client
/// set (its valid levels are FATAL, ERROR, WARN, INFO, DEBUG and TRACE).
inline std::optional<spdlog::level::level_enum> level_of_kafka_name(std::string_view name) {
  for (auto l : {spdlog::level::trace, spdlog::level::debug, spdlog::level::info,
                 spdlog::level::warn, spdlog::level::err, spdlog::level::critical})
    if (kafka_level_name(l) == name) return l;
  return std::nullopt;
}

inline bool is_module_logger(std::string_view name) {
  return std::find(logging::modules.begin(), logging::modules.end(), name) != logging::modules.end();
}

/// Why `name` does not name this broker (`self_id`), read as Kafka reads a broker id (an
/// integer: "0", "00" and "+0" are broker 0), or nothing when it does.
inline std::optional<std::string> broker_name_problem(std::string_view name, std::int32_t self_id) {
  if (name.empty()) return "broker id must not be empty";
  std::string_view digits = name.front() == '+' ? name.substr(1) : name;
  std::int32_t id = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), id);
  if (ec != std::errc{} || end != digits.data() + digits.size() || digits.empty())
    return "broker id must be an integer, but it is: " + std::string(name);
  if (id != self_id)
    return "unexpected broker id " + std::string(name) + ", this is " + std::to_string(self_id);
  return std::nullopt;
}

}  // namespace portask::kafka
