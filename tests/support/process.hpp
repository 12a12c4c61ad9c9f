#pragma once
// Test support: child processes (servers under test) and free loopback ports.

#include <chrono>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <sys/types.h>

namespace portask::test {

/// A child process, killed and reaped when the handle is destroyed.
class child_process {
 public:
  child_process() = default;
  /// Starts argv[0] with the given arguments; stdout and stderr go to `log_path` if given.
  child_process(std::vector<std::string> argv, std::string log_path = {});
  child_process(child_process&& other) noexcept;
  child_process& operator=(child_process&& other) noexcept;
  ~child_process();

  pid_t pid() const noexcept { return pid_; }
  bool running();
  /// Sends a signal and waits for exit (bounded); returns the exit status or -1.
  int stop(int signal_number, std::chrono::milliseconds limit = std::chrono::seconds(60));

 private:
  pid_t pid_ = -1;
};

/// A TCP port on 127.0.0.1 that was free a moment ago (bound and released by the kernel).
std::uint16_t free_port();

/// A socket listening on 127.0.0.1 at a port the system picked, closed with the object. It
/// accepts nothing: a test holds the port taken, or lets connections fill its accept queue
/// (`backlog`), after which the system drops new SYNs.
struct loopback_listener {
  explicit loopback_listener(int backlog = 1);
  ~loopback_listener();
  loopback_listener(const loopback_listener&) = delete;
  loopback_listener& operator=(const loopback_listener&) = delete;
  int fd = -1;
  std::uint16_t port = 0;
};

/// Polls `ready` every 10 ms until it returns true or `limit` passes. For waiting on an
/// external process becoming ready, where no event can be subscribed to.
bool wait_until(const std::function<bool()>& ready,
                std::chrono::milliseconds limit = std::chrono::seconds(10));

/// A socket connected to 127.0.0.1:port (receive timeout set), or -1. The caller closes it.
int connect_loopback(std::uint16_t port, int receive_timeout_s = 10);

/// Sends `request` (raw HTTP) to 127.0.0.1:port on a fresh connection and returns the status
/// code (0 if the server closed without a status line) and the body.
std::pair<int, std::string> http_exchange(std::uint16_t port, const std::string& request);

/// Runs a shell command (tests only ever point it at loopback); its exit status (-1 when
/// it did not exit normally) and its standard output.
std::pair<int, std::string> run_shell(const std::string& command);

/// True when a TCP connect to 127.0.0.1:port succeeds.
bool port_accepts(std::uint16_t port);

/// A fresh temporary directory, removed with its contents on destruction.
class temp_dir {
 public:
  temp_dir();
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const std::string& path() const noexcept { return path_; }

 private:
  std::string path_;
};

}  // namespace portask::test
