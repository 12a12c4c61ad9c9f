#include "server_process.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

namespace portask::test {

std::pair<int, std::string> http_get(std::uint16_t port, const std::string& path) {
  const int fd = connect_loopback(port);
  if (fd < 0) return {0, {}};
  const std::string req = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  if (send(fd, req.data(), req.size(), MSG_NOSIGNAL) < 0) {
    close(fd);
    return {0, {}};
  }
  std::string response;
  char buf[4096];
  for (;;) {
    const auto n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    response.append(buf, static_cast<std::size_t>(n));
  }
  close(fd);
  int status = 0;
  if (response.rfind("HTTP/1.1 ", 0) == 0) status = std::stoi(response.substr(9, 3));
  const auto body = response.find("\r\n\r\n");
  return {status, body == std::string::npos ? std::string{} : response.substr(body + 4)};
}

long proc_status_kib(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
  return -1;
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
