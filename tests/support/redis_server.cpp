#include "redis_server.hpp"

#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

namespace portask::test {
namespace {

// True when the server answers PING with +PONG (while it loads its append-only file after a
// restart it accepts connections but answers -LOADING).
bool answers_ping(std::uint16_t port) {
  const int fd = connect_loopback(port, 1);
  if (fd < 0) return false;
  bool ok = false;
  if (send(fd, "PING\r\n", 6, MSG_NOSIGNAL) == 6) {
    char buf[16] = {};
    // A server that wants a password answers NOAUTH: it is up all the same.
    ok = recv(fd, buf, sizeof buf - 1, 0) > 0 &&
         (std::strncmp(buf, "+PONG", 5) == 0 || std::strncmp(buf, "-NOAUTH", 7) == 0);
  }
  close(fd);
  return ok;
}

}  // namespace

redis_server::redis_server() : port_(free_port()) {}

bool redis_server::start(std::vector<std::string> extra) {
  std::vector<std::string> args{"redis-server", "--port", std::to_string(port_), "--bind", "127.0.0.1",
                                "--dir", dir_.path(), "--save", "", "--appendonly", "yes",
                                "--appendfsync", "always", "--protected-mode", "no",
                                "--daemonize", "no"};
  args.insert(args.end(), extra.begin(), extra.end());
  process_ = child_process(args, dir_.path() + "/redis.log");
  // Up when it answers, down when it exited (a port it was given taken meanwhile by a
  // parallel test: free_port() can only say a port was free a moment ago).
  return wait_until([&] { return answers_ping(port_) || !process_.running(); }, std::chrono::seconds(60)) &&
         process_.running();
}

void redis_server::kill() { process_.stop(SIGKILL); }

void redis_server::pause() { ::kill(process_.pid(), SIGSTOP); }

void redis_server::resume() { ::kill(process_.pid(), SIGCONT); }

}  // namespace portask::test
