#pragma once
/// Builds a broker_config from, in rising precedence: defaults, a YAML file (--config or
/// PORTASK_CONFIG), PORTASK_* environment variables, and command-line flags.

#include <optional>
#include <string>
#include <variant>

#include "actors/runtime/broker_config.hpp"

namespace portask {

struct config_request_exit {
  int code;  ///< --help / --version were answered, or the input was invalid
};

/// Returns the config, or an exit code when the process should stop (help, version, error;
/// the message has been printed). Looks no host name up (listener_host_problem does).
std::variant<broker_config, config_request_exit> load_config(int argc, char** argv);

/// Why a listener's host cannot be bound, or nothing: each host is resolved as its listener
/// resolves it when it starts (listen_address), so that a name that does not resolve stops
/// the broker before anything starts, named. For startup only, apart from load_config: a
/// SIGHUP reload reads the settings again but binds nothing, and must not wait on, or fail
/// with, a resolver.
std::optional<std::string> listener_host_problem(const broker_config& c);

/// One line per setting, for the startup log.
std::string describe(const broker_config& c);
/// The limits of the config, for the startup log.
std::string describe_limits(const broker_config& c);
/// One line: retention defaults, memory bounds and passivation, for the startup log.
std::string describe_lifecycle(const broker_config& c);
/// Authentication and authorization settings, one line (never the admin password).
std::string describe_security(const broker_config& c);

}  // namespace portask
