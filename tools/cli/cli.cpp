#include "tools/cli/cli.hpp"

#include <algorithm>
#include <iostream>

namespace portask::cli {

client::connection open(const common_options& o, protocol::encoding e) {
  client::options opts;
  opts.host = o.host;
  opts.port = o.port;
  opts.encoding = e;
  opts.timeout = std::chrono::milliseconds(o.timeout_ms);
  return check(client::connection::open(opts),
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
