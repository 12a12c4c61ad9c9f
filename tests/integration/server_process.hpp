#pragma once
// The real `portask` executable as a child process on free loopback ports, and a tiny HTTP
// GET for its /metrics and /health.

#include <algorithm>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "client/client.hpp"
#include "process.hpp"

namespace portask::test {

/// After a test that failed, the broker's log at `path` on stderr (what it said is usually
/// why); nothing after one that passed.
void print_log_if_failed(const std::string& path);

/// A batch of one message: `value`, no key, no headers.
protocol::message_batch one_message(const std::string& value);

class server_process {
 public:
  server_process(std::string store_url, std::string log_path)
      : store_(std::move(store_url)), log_(std::move(log_path)), port_(free_port()),
        http_port_(free_port()), kafka_port_(free_port()) {}

  /// Starts the broker with `extra` flags; `prefix` runs it under another command (prlimit).
  /// True once this very process logged that it is ready (its ports are bound: another
  /// process on a probed port does not count). The ports were free a moment ago, which is all
  /// a probe can say: when another process took one meanwhile, the broker does not start,
  /// and it is started again on other free ports.
  bool start(std::vector<std::string> extra = {}, std::vector<std::string> prefix = {}) {
    for (int attempt = 0; attempt < 3; ++attempt) {
      if (attempt > 0) {
        port_ = free_port();
        http_port_ = free_port();
        kafka_port_ = free_port();
      }
      std::vector<std::string> args = prefix;
      args.insert(args.end(), {PORTASK_SERVER_BINARY,
                                    "--store", store_,
                                    "--port", std::to_string(port_),
                                    "--http-port", std::to_string(http_port_),
                                    "--kafka-port", std::to_string(kafka_port_)});
      if (log_level_flag) args.insert(args.end(), {"--log-level", "info"});
      args.insert(args.end(), extra.begin(), extra.end());
      // The test redis-servers fsync every write: on a loaded machine the default 5 s can
      // pass while the broker does nothing wrong. Tests that want a short one say so. (The
      // memory store makes no round trips and refuses the setting.)
      if (store_ != "memory" && std::find(extra.begin(), extra.end(), "--store-timeout-ms") == extra.end())
        args.insert(args.end(), {"--store-timeout-ms", "30000"});
      const auto logged_before = log_text().size();  // the log is appended to across starts
      process_ = child_process(args, log_);
      bool exited = false;
      const bool ready = wait_until([&] {
        if (log_text().find("] ready: ", logged_before) != std::string::npos) return true;
        exited = !process_.running();
        return exited;
      }, std::chrono::seconds(60));
      if (ready && !exited) return true;
      if (!exited || log_text().find("Address already in use", logged_before) == std::string::npos)
        return false;
    }
    return false;
  }
  /// Whether start() passes --log-level info (which overrides a config file's log_level).
  /// A broker started without it must still log at info, or start() never sees it ready.
  bool log_level_flag = true;

  int stop(int sig) { return process_.stop(sig); }
  bool running() { return process_.running(); }
  pid_t pid() const noexcept { return process_.pid(); }
  const std::string& log_path() const noexcept { return log_; }
  std::uint16_t port() const noexcept { return port_; }
  std::uint16_t http_port() const noexcept { return http_port_; }
  std::uint16_t kafka_port() const noexcept { return kafka_port_; }

  client::connection connect() const {
    client::options o;
    o.port = port_;
    o.timeout = std::chrono::seconds(15);
    auto c = client::connection::open(o);
    if (!client::ok(c)) throw std::runtime_error(client::error_of(c).message);
    return std::move(std::get<0>(c));
  }

 private:
  std::string log_text() const {
    std::ifstream in(log_);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }
  std::string store_, log_;
  std::uint16_t port_, http_port_, kafka_port_;
  child_process process_;
};

/// GET http://127.0.0.1:port/path; returns status code and body ("" on failure).
std::pair<int, std::string> http_get(std::uint16_t port, const std::string& path);

/// Makes brokers started from now on run with a small AddressSanitizer quarantine, so that
/// their RSS means live memory (the default quarantine keeps 256 MiB of freed blocks).
void small_asan_quarantine();

/// A field of /proc/<pid>/status in KiB ("VmRSS", "VmHWM"), or -1.
long proc_status_kib(pid_t pid, const std::string& field);

/// Whether every thread of `pid` is stopped (SIGSTOP). kill() returns before that: one thread
/// takes the signal and then stops the others, which meanwhile may still run, so a test that
/// needs the process frozen waits for this.
bool all_threads_stopped(pid_t pid);

/// The value of a Prometheus sample line `name{labels} value`, or -1.
double prometheus_value(const std::string& text, const std::string& series);

}  // namespace portask::test
