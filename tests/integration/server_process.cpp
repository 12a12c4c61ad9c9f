#include "server_process.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include <gtest/gtest.h>

namespace portask::test {

void print_log_if_failed(const std::string& path) {
  if (!::testing::Test::HasFailure()) return;
  std::ifstream log(path);
  if (!log || log.peek() == std::ifstream::traits_type::eof()) return;  // no broker started
  std::cerr << "--- portask log ---\n" << log.rdbuf();
}

protocol::message_batch one_message(const std::string& value) {
  protocol::message_batch b;
  protocol::message m;
  m.value = value;
  b.messages.push_back(std::move(m));
  return b;
}

std::pair<int, std::string> http_get(std::uint16_t port, const std::string& path) {
  return http_exchange(port, "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
}

void small_asan_quarantine() {
  std::string opts = std::getenv("ASAN_OPTIONS") ? std::getenv("ASAN_OPTIONS") : "";
  if (opts.find("quarantine_size_mb") == std::string::npos)
    setenv("ASAN_OPTIONS", (opts.empty() ? "" : opts + ":").append("quarantine_size_mb=4").c_str(), 1);
}

long proc_status_kib(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
  return -1;
}

bool all_threads_stopped(pid_t pid) {
  std::error_code ec;
  std::size_t threads = 0;
  std::filesystem::directory_iterator it("/proc/" + std::to_string(pid) + "/task", ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    std::ifstream in(it->path() / "stat");
    std::string stat;
    std::getline(in, stat);
    // "tid (comm) S ...": the state follows the last ')', since comm may hold one.
    const auto close = stat.rfind(')');
    if (close == std::string::npos || close + 2 >= stat.size() || stat[close + 2] != 'T') return false;
    ++threads;
  }
  return !ec && threads > 0;
}

double prometheus_value(const std::string& text, const std::string& series) {
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  return -1;
}

}  // namespace portask::test
