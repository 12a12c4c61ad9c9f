#include "tools/cli/cli.hpp"

#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <map>

namespace portask::cli {

std::string read_secret(const char* env, const std::string& prompt) {
  if (const char* pw = std::getenv(env)) return pw;
  if (!isatty(STDIN_FILENO))
    throw usage_error(prompt + ": needs " + env + " (stdin is not a terminal to ask on)");
  std::cerr << prompt << ": " << std::flush;
  termios old{};
  tcgetattr(STDIN_FILENO, &old);
  termios quiet = old;
  quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
  tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  std::string line;
  std::getline(std::cin, line);
  tcsetattr(STDIN_FILENO, TCSANOW, &old);
  std::cerr << "\n";
  return line;
}

// Asked once per process: `cluster info` authenticates natively and over HTTP.
std::string password_for(const std::string& user) {
  static std::map<std::string, std::string> known;
  auto it = known.find(user);
  if (it == known.end())
    it = known.emplace(user, read_secret("PORTASK_PASSWORD", "password for " + user)).first;
  return it->second;
}

namespace {

client::options options_of(const common_options& o, protocol::encoding e) {
  client::options opts;
  opts.host = o.host;
  opts.port = o.port;
  opts.encoding = e;
  opts.timeout = std::chrono::milliseconds(o.timeout_ms);
  if (!o.tls_key_file.empty() && o.tls_cert_file.empty())
    throw usage_error("--tls-key-file needs --tls-cert-file (the client certificate it belongs to)");
  opts.tls = o.tls || !o.tls_ca_file.empty() || !o.tls_cert_file.empty();
  opts.tls_ca_file = o.tls_ca_file;
  opts.tls_cert_file = o.tls_cert_file;
  opts.tls_key_file = o.tls_key_file;
  if (!o.user.empty()) {
    opts.user = o.user;
    opts.password = password_for(o.user);
    opts.mechanism = o.sasl_mechanism;
  }
  return opts;
}

}  // namespace

client::connection open(const common_options& o, protocol::encoding e) {
  return check(client::connection::open(options_of(o, e)),
               "cannot connect to " + o.host + ":" + std::to_string(o.port));
}

client::cluster_client open_cluster(const common_options& o, protocol::encoding e) {
  return check(client::cluster_client::open(options_of(o, e)),
               "cannot connect to " + o.host + ":" + std::to_string(o.port));
}

std::pair<std::string, std::string> split_pair(const std::string& s) {
  const auto eq = s.find('=');
  if (eq == std::string::npos) return {s, ""};
  return {s.substr(0, eq), s.substr(eq + 1)};
}

void add_listing_format(CLI::App* cmd, listing& out) {
  cmd->add_option("--format", out, "output: text (a table) or json")
      ->transform(CLI::CheckedTransformer(
          std::map<std::string, listing>{{"text", listing::text}, {"json", listing::json}}))
      ->default_str("text");
}

void print_table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width;
  for (const auto& row : rows)
    for (std::size_t i = 0; i < row.size(); ++i) {
      if (width.size() <= i) width.push_back(0);
      width[i] = std::max(width[i], row[i].size());
    }
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(width[i] - row[i].size() + 2, ' ');
    }
    std::cout << line << '\n';
  }
}

}  // namespace portask::cli
