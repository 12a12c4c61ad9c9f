// The Portask broker executable.
#include <spdlog/spdlog.h>

#include "config_loader.hpp"
#include "portask/version.hpp"

int main(int argc, char** argv) {
  auto loaded = portask::load_config(argc, argv);
  if (auto* stop = std::get_if<portask::config_request_exit>(&loaded)) return stop->code;
  const auto& config = std::get<portask::broker_config>(loaded);
  spdlog::set_level(spdlog::level::from_str(config.log_level));
  spdlog::info("portask {} starting: {}", portask::version_string, portask::describe(config));
  if (config.store == "memory")
    spdlog::info("no store URL configured: using the embedded in-process memory store");
  spdlog::warn("the listeners are not part of this build yet; exiting");
  return 0;
}
