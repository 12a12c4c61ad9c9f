#pragma once
/// One logger per module, so an operator can turn one part of the broker up to debug while it
/// runs (GET/PUT /api/loggers, docs/operations.md) without drowning in the rest. Each shares
/// the default logger's sinks and format, and starts at the level `log_level` set; the
/// function-local handles make a log call as cheap as spdlog's own default logger.

#include <spdlog/spdlog.h>

#include <array>
#include <memory>
#include <mutex>
#include <string_view>

namespace portask::logging {

/// Every module's logger name, as /api/loggers lists them. portask.authorizer carries the
/// denied authorizations alone (Kafka's kafka.authorizer.logger), so that an operator can
/// silence or keep them apart from the rest of security.
inline constexpr std::array<std::string_view, 12> modules = {
    "portask.kafka",   "portask.native",    "portask.http",    "portask.net",     "portask.groups",
    "portask.pipeline", "portask.retention", "portask.storage", "portask.runtime", "portask.security",
    "portask.authorizer", "portask.cluster"};

/// The logger named `name`, created on first use from the default logger at the global level.
inline std::shared_ptr<spdlog::logger> named(std::string_view name) {
  static std::mutex creating;
  std::lock_guard lock(creating);
  if (auto l = spdlog::get(std::string(name))) return l;
  auto l = spdlog::default_logger()->clone(std::string(name));
  spdlog::initialize_logger(l);  // registers it, at the registry's global level
  return l;
}

/// Creates every module's logger (so /api/loggers lists them all from the start).
inline void create_all() {
  for (auto m : modules) named(m);
}

#define PORTASK_MODULE_LOGGER(fn, name)                          \
  inline spdlog::logger& fn() {                                  \
    static const std::shared_ptr<spdlog::logger> l = named(name); \
    return *l;                                                   \
  }
PORTASK_MODULE_LOGGER(kafka, "portask.kafka")
PORTASK_MODULE_LOGGER(native, "portask.native")
PORTASK_MODULE_LOGGER(http, "portask.http")
PORTASK_MODULE_LOGGER(net, "portask.net")
PORTASK_MODULE_LOGGER(groups, "portask.groups")
PORTASK_MODULE_LOGGER(security, "portask.security")
PORTASK_MODULE_LOGGER(authorizer, "portask.authorizer")
PORTASK_MODULE_LOGGER(pipeline, "portask.pipeline")
PORTASK_MODULE_LOGGER(retention, "portask.retention")
PORTASK_MODULE_LOGGER(storage, "portask.storage")
PORTASK_MODULE_LOGGER(runtime, "portask.runtime")
PORTASK_MODULE_LOGGER(cluster, "portask.cluster")
#undef PORTASK_MODULE_LOGGER

}  // namespace portask::logging
