#include "redis_server.hpp"

#include <signal.h>

namespace portask::test {

redis_server::redis_server() : port_(free_port()) {}

bool redis_server::start() {
  process_ = child_process({"redis-server", "--port", std::to_string(port_), "--bind", "127.0.0.1",
                            "--dir", dir_.path(), "--save", "", "--appendonly", "yes",
                            "--appendfsync", "always", "--protected-mode", "no",
                            "--daemonize", "no"},
                           dir_.path() + "/redis.log");
  return wait_until([&] { return port_accepts(port_); });
}

void redis_server::kill() { process_.stop(SIGKILL); }

}  // namespace portask::test
