#pragma once
/// Portask's module loggers as Kafka's BROKER_LOGGER config resource (KIP-412), so that
/// `kafka-configs --entity-type broker-loggers` and admin clients read and change them:
/// DescribeConfigs lists each with its level, IncrementalAlterConfigs SETs one or DELETEs
/// it back to the broker's level. They are the loggers GET/PUT /api/loggers reads and sets;
/// levels go by Kafka's (log4j's) names.

#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>
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

}  // namespace portask::kafka
