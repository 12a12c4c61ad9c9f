#pragma once
/// What every portask-cli command shares: the global options, connecting, and the two ways a
/// command fails. Exit codes: 0 done, 1 runtime error (broker unreachable, request refused),
/// 2 usage error (bad flags or values).

#include <CLI/CLI.hpp>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "client/client.hpp"
#include "client/cluster_client.hpp"

namespace portask::cli {

struct common_options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 7070;
  std::uint16_t http_port = 8080;
  std::uint32_t timeout_ms = 30000;
  /// Authenticate as this user (docs/security.md); the password comes from PORTASK_PASSWORD,
  /// or is asked for on the terminal.
  std::string user;
  std::string sasl_mechanism = "SCRAM-SHA-512";
  /// TLS to an SSL / SASL_SSL native listener.
  bool tls = false;
  std::string tls_ca_file;
  std::string tls_cert_file;
  std::string tls_key_file;
};

/// The request failed or the broker could not be reached: exit 1.
struct runtime_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};
/// The command line asks for something that cannot be done as given: exit 2.
struct usage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// One connection to the broker named by --host/--port: for requests any node answers.
client::connection open(const common_options& o, protocol::encoding e = {});
/// A client that sends each partition's requests to its leader and each group's to its
/// coordinator, following them when they move (the named broker is where it starts).
client::cluster_client open_cluster(const common_options& o, protocol::encoding e = {});

/// The value of `r`, or a runtime_error naming `what` and the broker's answer.
template <class T>
T check(client::result<T> r, const std::string& what) {
  if (!client::ok(r)) {
    const auto& e = client::error_of(r);
    throw runtime_error(what + ": " + e.message + (e.retriable ? " (retriable)" : ""));
  }
  return std::move(std::get<0>(r));
}

/// "key=value" split at the first '='; "key" alone gives an empty value.
std::pair<std::string, std::string> split_pair(const std::string& s);

/// Output of listing commands: an aligned table with a header row, or JSON.
enum class listing { text, json };
/// Adds `--format text|json` to `cmd`.
void add_listing_format(CLI::App* cmd, listing& out);
/// Prints rows as columns padded to their widest cell.
void print_table(const std::vector<std::vector<std::string>>& rows);

// Each command family registers its subcommands on the app.
void add_produce_command(CLI::App& app, const common_options& o);
void add_consume_command(CLI::App& app, const common_options& o);
void add_topics_commands(CLI::App& app, const common_options& o);
void add_groups_commands(CLI::App& app, const common_options& o);
void add_cluster_commands(CLI::App& app, const common_options& o);
void add_security_commands(CLI::App& app, const common_options& o);

/// A secret from the environment variable `env`, or read from the terminal with echo off
/// (a usage error when neither is possible). Never a flag: flags show in `ps`.
std::string read_secret(const char* env, const std::string& prompt);
/// `user`'s password (PORTASK_PASSWORD, or asked on the terminal once per process).
std::string password_for(const std::string& user);

}  // namespace portask::cli
