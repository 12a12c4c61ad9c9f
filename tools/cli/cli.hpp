#pragma once
/// What every portask-cli command shares: the global options, connecting, and the ways a
/// command ends. Exit codes: 0 done, 1 runtime error (broker unreachable, request refused,
/// output that cannot be written), 2 usage error (bad flags or values), 141 standard output's
/// reader went away (as a shell reports a death by SIGPIPE), 130 / 143 produce stopped by
/// SIGINT / SIGTERM after sending what it had read.

#include <CLI/CLI.hpp>
#include <cstdint>
#include <iostream>
#include <limits>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <utility>
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
  /// The largest frame payload taken from the broker (client::options::max_frame_bytes):
  /// raised with the broker's max_frame_bytes, to read records stored under that limit.
  std::uint32_t max_frame_bytes = client::default_max_frame_bytes;
};

/// The request failed or the broker could not be reached: exit 1.
struct runtime_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};
/// The command line asks for something that cannot be done as given: exit 2.
struct usage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// The command did what it had to and ends with this exit status (not an error to print).
struct exit_status {
  int code = 0;
};

/// The exit status of a process killed by SIGPIPE, as a shell reports it: what a command
/// ends with when its standard output's reader went away (`| head`), saying nothing.
inline constexpr int reader_gone_status = 141;

/// Makes std::cout write standard output through a buffer of the CLI's own, which keeps the
/// reason a write failed (stdio's loses it) for check_output(). Called first in main.
void take_over_output();
/// Flushes standard output. When its reader went away, throws exit_status{141}; when it
/// cannot be written otherwise (a full disk, /dev/full), a runtime_error saying why
/// (strerror: "No space left on device").
void check_output();
/// Whether standard output is a pipe or socket whose reader went away (it polls as an error).
bool output_reader_gone();

/// A transform for integer options: only an optional '-' and decimal digits, within
/// [min, max] (tools/cli/numbers.hpp says why CLI11 alone is not enough).
CLI::Validator decimal(std::int64_t min, std::int64_t max);
/// The same over the whole range of T (capped at INT64_MAX for 64-bit unsigned types).
template <class T>
CLI::Validator decimal() {
  constexpr auto top = std::numeric_limits<T>::max();
  return decimal(static_cast<std::int64_t>(std::numeric_limits<T>::min()),
                 std::cmp_greater(top, std::numeric_limits<std::int64_t>::max())
                     ? std::numeric_limits<std::int64_t>::max()
                     : static_cast<std::int64_t>(top));
}

/// `j` as one line of JSON. Names from the broker (groups, members, users) need not be
/// UTF-8: bytes that are not become U+FFFD rather than making dump() throw, a lossy repair
/// (consume's records keep their bytes: base64 with a marker, record_format.hpp).
std::string json_text(const nlohmann::json& j);

/// One connection to the broker named by --host/--port: for requests any node answers.
client::connection open(const common_options& o, protocol::encoding e = {});
/// A client that sends each partition's requests to its leader and each group's to its
/// coordinator, following them when they move (the named broker is where it starts).
client::cluster_client open_cluster(const common_options& o, protocol::encoding e = {});

/// A failure as portask-cli reports it: the client's message, the flag that raises the
/// limit a frame from the broker went over, and "(retriable)" when a retry may pass.
std::string failure_text(const client::failure& f);

/// The value of `r`, or a runtime_error naming `what` and the broker's answer.
template <class T>
T check(client::result<T> r, const std::string& what) {
  if (!client::ok(r)) throw runtime_error(what + ": " + failure_text(client::error_of(r)));
  return std::move(std::get<0>(r));
}

/// "key=value" split at the first '='; "key" alone gives an empty value.
std::pair<std::string, std::string> split_pair(const std::string& s);

/// Output of listing commands: an aligned table with a header row, or JSON.
enum class listing { text, json };
/// Adds `--format text|json` to `cmd`.
void add_listing_format(CLI::App* cmd, listing& out);
/// Prints rows as columns padded to their widest cell. Cells are escaped as consume escapes
/// records (escape_bytes): a name from the broker with a newline or a terminal escape code
/// in it stays on its row and reaches the terminal as text.
void print_table(const std::vector<std::vector<std::string>>& rows, std::ostream& out = std::cout);

// Each command family registers its subcommands on the app.
void add_produce_command(CLI::App& app, const common_options& o);
void add_consume_command(CLI::App& app, const common_options& o);
void add_topics_commands(CLI::App& app, const common_options& o);
void add_groups_commands(CLI::App& app, const common_options& o);
void add_cluster_commands(CLI::App& app, const common_options& o);
void add_security_commands(CLI::App& app, const common_options& o);

/// A secret from the environment variable `env`, or read from the terminal with echo off
/// (a usage error when neither is possible). Never a flag: flags show in `ps`. A signal that
/// ends the process at the prompt (Ctrl-C) turns echo back on first.
std::string read_secret(const char* env, const std::string& prompt);
/// `user`'s password (PORTASK_PASSWORD, or asked on the terminal once per process).
std::string password_for(const std::string& user);

}  // namespace portask::cli
