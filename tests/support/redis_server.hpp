#pragma once
// A real redis-server for one test: a free loopback port, its own temp dir, append-only
// persistence with fsync on every write (so a restart keeps what it acknowledged), killed
// and removed afterwards.

#include <memory>
#include <string>
#include <vector>

#include "process.hpp"

namespace portask::test {

class redis_server {
 public:
  redis_server();
  /// Starts (or restarts, on the same port and data dir) the server with `extra` flags
  /// (e.g. --requirepass); false if it did not come up (it exited, for instance because a
  /// port was taken meanwhile, or gave no answer within 60 s).
  bool start(std::vector<std::string> extra = {});
  /// SIGKILL: no shutdown save, what was fsynced survives.
  void kill();
  /// SIGSTOP / SIGCONT: the server keeps its connections but answers nothing meanwhile.
  void pause();
  void resume();
  pid_t pid() const noexcept { return process_.pid(); }
  std::uint16_t port() const noexcept { return port_; }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }
  const std::string& dir() const noexcept { return dir_.path(); }

 private:
  temp_dir dir_;
  std::uint16_t port_;
  child_process process_;
};

}  // namespace portask::test
