// portask-cli produce: values from arguments or stdin lines (one message per line, the line
// without its newline and without one '\r' before it, as Kafka's console producer reads
// lines; an empty line is an empty value, or a null one with -Z). A keyed message goes to the
// partition Kafka's default partitioner picks for its key (murmur2), so the CLI, the Java
// client and librdkafka put a key on the same partition; unkeyed batches are spread over the
// partitions. Up to 16 batches are in flight; in a cluster each goes to its partition's leader
// and follows it when it moves (client/cluster_client.hpp).
// Reading stdin, it sends what it holds whenever no more input is ready, so a pipe that
// trickles (`tail -f app.log | portask-cli produce logs`) is not held until a batch fills or
// stdin ends. SIGINT or SIGTERM stops the reading: what was read is sent and acknowledged,
// the summary printed, and then the signal ends the command (its shell reports 130 / 143,
// and a script running it stops too); a second signal ends it at once.
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <functional>
#include <iostream>
#include <map>
#include <optional>

#include "protocol/partitioner.hpp"
#include "tools/cli/cli.hpp"

namespace portask::cli {
namespace {

using clock_type = std::chrono::steady_clock;

// The first SIGINT or SIGTERM while stdin is read. The handler also writes a byte to the
// wake pipe: a reader that checked the flag just before the signal came and then waits would
// otherwise wait for input that may never come.
volatile std::sig_atomic_t stop_signal = 0;
int wake_write_fd = -1;
int wake_read_fd = -1;

// Which of the two this process caught (one ignored on purpose, by a shell that started it in
// the background, stays ignored).
volatile std::sig_atomic_t caught_sigint = 0, caught_sigterm = 0;

void on_stop_signal(int sig) {
  const int saved_errno = errno;
  stop_signal = sig;
  if (wake_write_fd >= 0) (void)!::write(wake_write_fd, "!", 1);
  // SA_RESETHAND gave this signal its default action back; the other one kills at once too.
  const int other = sig == SIGINT ? SIGTERM : SIGINT;
  if (other == SIGINT ? caught_sigint : caught_sigterm) {
    struct sigaction fallback {};
    fallback.sa_handler = SIG_DFL;
    sigemptyset(&fallback.sa_mask);
    sigaction(other, &fallback, nullptr);
  }
  errno = saved_errno;
}

// SIGINT and SIGTERM stop the reading of stdin instead of losing what was read. Without
// SA_RESTART a waiting poll or read returns EINTR; with SA_RESETHAND a second signal kills.
void catch_stop_signals() {
  int fds[2] = {-1, -1};
  if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0)
    throw runtime_error(std::string("cannot make a pipe: ") + std::strerror(errno));
  wake_read_fd = fds[0];
  wake_write_fd = fds[1];
  struct sigaction on_signal {};
  on_signal.sa_handler = on_stop_signal;
  sigemptyset(&on_signal.sa_mask);
  on_signal.sa_flags = SA_RESETHAND;
  for (const int sig : {SIGINT, SIGTERM}) {
    struct sigaction before {};
    sigaction(sig, nullptr, &before);
    if (before.sa_handler == SIG_IGN) continue;
    (sig == SIGINT ? caught_sigint : caught_sigterm) = 1;
    sigaction(sig, &on_signal, nullptr);
  }
}

// Ends the process as the stop signal would have, now that what was read is sent: a shell
// script running it then stops too (bash goes on after a child that merely exited 130).
[[noreturn]] void die_of_stop_signal() {
  std::cerr << std::flush;
  struct sigaction fallback {};
  fallback.sa_handler = SIG_DFL;
  sigemptyset(&fallback.sa_mask);
  sigaction(stop_signal, &fallback, nullptr);
  std::raise(stop_signal);
  throw exit_status{128 + stop_signal};  // not reached: the default action ends the process
}

// Lines of a file descriptor, read with read(2) into a buffer of its own: unlike an istream
// over stdio it can tell whether the next line is at hand or would mean waiting.
class line_reader {
 public:
  line_reader(int fd, int wake_fd) : fd_(fd), wake_fd_(wake_fd) {}

  enum class outcome { line, end, stopped };

  // The next line, without its '\n' and one '\r' before it (the last line may have no
  // '\n'). Each time it is about to wait for input it calls `idle` first. A stop signal ends
  // the reading (stopped) after what was read: its whole lines, then what came of the next.
  outcome next(std::string& line, const std::function<void()>& idle) {
    for (;;) {
      if (const auto nl = find_newline(); nl != std::string::npos) {
        take(line, nl);
        start_ = nl + 1;
        return outcome::line;
      }
      if (ended_) {
        if (start_ == buffer_.size()) return outcome::end;
        take(line, buffer_.size());
        start_ = buffer_.size();
        return outcome::line;
      }
      if (stop_signal != 0) return rest(line);
      if (!ready()) {
        idle();
        if (!wait()) return rest(line);
      }
      fill();
    }
  }

  // Whether next() can go on without waiting: a whole line is buffered, the input ended, or
  // the descriptor has something to read now.
  bool ready() const {
    if (ended_ || find_newline() != std::string::npos) return true;
    pollfd p{fd_, POLLIN, 0};
    return ::poll(&p, 1, 0) == 1;  // POLLHUP and errors too: read() says which
  }

 private:
  // The next '\n' from start_, or npos. What was searched without finding one is not searched
  // again, so a line arriving in many reads costs its length once, not its length squared.
  std::size_t find_newline() const {
    const auto nl = buffer_.find('\n', std::max(start_, searched_));
    searched_ = nl == std::string::npos ? buffer_.size() : nl;
    return nl;
  }

  // Stopped: what was read of a line with no '\n' yet is the last line.
  outcome rest(std::string& line) {
    if (start_ == buffer_.size()) return outcome::stopped;
    take(line, buffer_.size());
    start_ = buffer_.size();
    return outcome::line;
  }

  void take(std::string& line, std::size_t end) const {
    line.assign(buffer_, start_, end - start_);
    if (!line.empty() && line.back() == '\r') line.pop_back();
  }

  // Waits until the descriptor has input (true) or a stop signal came (false).
  bool wait() const {
    for (;;) {
      if (stop_signal != 0) return false;
      pollfd fds[2] = {{fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};  // a negative fd is skipped
      const int n = ::poll(fds, 2, -1);
      if (n < 0 && errno != EINTR)
        throw runtime_error(std::string("cannot wait for standard input: ") + std::strerror(errno));
      if (n > 0 && fds[0].revents != 0 && stop_signal == 0) return true;
    }
  }

  void fill() {
    if (start_ > 0) {
      buffer_.erase(0, start_);
      searched_ = searched_ > start_ ? searched_ - start_ : 0;
      start_ = 0;
    }
    char chunk[64 * 1024];
    const ssize_t n = ::read(fd_, chunk, sizeof chunk);
    if (n > 0) {
      buffer_.append(chunk, static_cast<std::size_t>(n));
    } else if (n == 0) {
      ended_ = true;
    } else if (errno != EINTR && errno != EAGAIN) {
      throw runtime_error(std::string("cannot read standard input: ") + std::strerror(errno));
    }
  }

  int fd_;
  int wake_fd_;
  std::string buffer_;
  std::size_t start_ = 0;  ///< where the unread part of buffer_ begins
  mutable std::size_t searched_ = 0;  ///< buffer_ up to here holds no '\n' after start_
  bool ended_ = false;
};

struct produce_options {
  std::string topic;
  std::int32_t partition = -1;
  std::string key;
  std::string key_delimiter;
  std::vector<std::string> headers;
  std::vector<std::string> values;
  bool empty_as_null = false;  ///< an empty value is sent as null (a tombstone)
  std::string codec = "binary";
  std::string compression = "none";
  std::size_t batch = 500;
};

// -H name=value. A header needs a name and an '=', as --config's key=value does: "=v", ""
// or a bare "name" is more likely a slip than a header meant to be nameless.
std::vector<protocol::message_header> parse_headers(const std::vector<std::string>& given) {
  std::vector<protocol::message_header> out;
  for (const auto& h : given) {
    const auto eq = h.find('=');
    if (eq == std::string::npos || eq == 0)
      throw usage_error("header '" + h + "': expected name=value (a name, then '='; the value may be empty)");
    out.push_back({h.substr(0, eq), h.substr(eq + 1)});
  }
  return out;
}

class producer {
 public:
  producer(client::cluster_client c, const produce_options& p, std::vector<protocol::message_header> headers)
      : c_(std::move(c)), p_(p), headers_(std::move(headers)) {}

  void add(std::optional<std::string> key, std::optional<std::string> value) {
    std::int32_t partition = p_.partition;
    if (partition < 0 && key) partition = protocol::partition_for_key(*key, partitions());
    protocol::message m;
    m.key = std::move(key);
    if (value) bytes_ += value->size();
    m.value = std::move(value);
    m.headers = headers_;
    auto& batch = pending_[partition];
    batch.messages.push_back(std::move(m));
    if (batch.messages.size() >= p_.batch) flush(partition);
  }

  // Sends every batch held, keeping up to max_in_flight unanswered (input that pauses,
  // such as a pipe written in blocks, keeps the pipeline full).
  void send_held() {
    while (!pending_.empty()) flush(pending_.begin()->first);
    c_.flush();
  }

  // Sends every batch held and waits for the answers to everything in flight.
  void send_all() {
    send_held();
    drain(0);
  }

  std::uint64_t sent() const noexcept { return sent_; }
  std::uint64_t acknowledged() const noexcept { return acknowledged_; }
  std::uint64_t bytes() const noexcept { return bytes_; }

 private:
  // The topic's partition count, asked once (keys need it).
  std::int32_t partitions() {
    if (partitions_ > 0) return partitions_;
    if ((partitions_ = c_.partitions_of(p_.topic)) > 0) return partitions_;
    drain(0);  // a connection with publishes in flight takes no other request
    auto d = check(c_.any(), "connect")->describe_topic(p_.topic);
    if (!client::ok(d) && client::error_of(d).code == errc::unknown_topic)
      throw runtime_error("topic '" + p_.topic +
                          "' does not exist; keyed messages need its partition count (create it "
                          "with: portask-cli topics create " + p_.topic + ")");
    partitions_ = check(std::move(d), "describe " + p_.topic).partitions;
    return partitions_;
  }

  void flush(std::int32_t partition) {
    auto it = pending_.find(partition);
    if (it == pending_.end()) return;
    sent_ += it->second.messages.size();
    if (auto r = c_.send_publish(p_.topic, partition, std::move(it->second)); !client::ok(r))
      failed(client::error_of(r));
    pending_.erase(it);
    // A batch leaves once it is full, as lines come (a pipe that trickles must not wait for
    // the next batches); the answers are read later.
    c_.flush();
    drain(max_in_flight);
  }

  void drain(std::size_t keep) {
    while (c_.in_flight() > keep) {
      auto r = c_.receive_publish();
      if (!client::ok(r)) failed(client::error_of(r));
      acknowledged_ += std::get<0>(r).count;
    }
  }

  // What was acknowledged before a failure is stored for sure: a script that resends knows
  // how much it may skip (batches in flight with the failed one may be stored or not).
  [[noreturn]] void failed(const client::failure& f) const {
    throw runtime_error("publish to " + p_.topic + ": " + f.message + (f.retriable ? " (retriable)" : "") + "; " +
                        std::to_string(acknowledged_) + " messages were acknowledged before this failure");
  }

  static constexpr std::size_t max_in_flight = 16;
  client::cluster_client c_;
  const produce_options& p_;
  std::vector<protocol::message_header> headers_;
  std::map<std::int32_t, protocol::message_batch> pending_;
  std::int32_t partitions_ = 0;
  std::uint64_t sent_ = 0, acknowledged_ = 0, bytes_ = 0;
};

int produce(const common_options& o, const produce_options& p) {
  auto codec = protocol::parse_codec(p.codec);
  auto compression = protocol::parse_compression(p.compression);
  if (!codec) throw usage_error("unknown codec '" + p.codec + "' (binary, json, cbor, msgpack)");
  if (!compression)
    throw usage_error("unknown compression '" + p.compression +
                      "' (none, gzip, snappy, lz4, zstd)");
  if (p.partition < -1) throw usage_error("--partition " + std::to_string(p.partition) + ": a partition is 0 or more (-1: by key)");
  auto headers = parse_headers(p.headers);
  producer out(open_cluster(o, {*codec, *compression}), p, std::move(headers));
  const bool from_stdin = p.values.empty();
  const bool progress = from_stdin && isatty(STDERR_FILENO);
  const auto start = clock_type::now();
  auto last_report = start;
  auto add = [&](std::string line) {
    std::optional<std::string> key;
    if (!p.key.empty()) key = p.key;
    if (!p.key_delimiter.empty()) {
      const auto at = line.find(p.key_delimiter);
      if (at != std::string::npos) {
        key = line.substr(0, at);
        line.erase(0, at + p.key_delimiter.size());
      }
    }
    std::optional<std::string> value;
    if (!(p.empty_as_null && line.empty())) value = std::move(line);
    out.add(std::move(key), std::move(value));
    if (progress && clock_type::now() - last_report > std::chrono::seconds(1)) {
      last_report = clock_type::now();
      const double secs = std::chrono::duration<double>(last_report - start).count();
      std::cerr << "\rsent " << out.sent() << " messages, "
                << static_cast<std::uint64_t>(out.sent() / secs) << " msg/s, "
                << (out.bytes() / secs / 1e6) << " MB/s" << std::flush;
    }
  };
  if (from_stdin) {
    catch_stop_signals();
    line_reader in(STDIN_FILENO, wake_read_fd);
    std::string line;
    // Whenever no more input is ready, what was read is sent before waiting for more.
    while (in.next(line, [&out] { out.send_held(); }) == line_reader::outcome::line) add(std::move(line));
  } else {
    for (const auto& v : p.values) add(v);
  }
  out.send_all();
  const double secs = std::chrono::duration<double>(clock_type::now() - start).count();
  std::cerr << (progress ? "\n" : "") << "produced " << out.acknowledged() << " messages to " << p.topic
            << " in " << secs << " s\n";
  if (stop_signal != 0) die_of_stop_signal();
  return 0;
}

}  // namespace

void add_produce_command(CLI::App& app, const common_options& o) {
  auto p = std::make_shared<produce_options>();
  auto* cmd = app.add_subcommand(
      "produce",
      "publish values given as arguments, or stdin lines (sent whenever no more input is ready; "
      "SIGINT/SIGTERM sends what was read, then ends it: 130/143)");
  cmd->add_option("topic", p->topic, "topic")->required();
  cmd->add_option("values", p->values, "values (default: one per stdin line; a '\\r' before the newline is dropped)");
  cmd->add_option("-p,--partition", p->partition,
                  "partition (-1: by key with Kafka's partitioner, else spread over the partitions)")
      ->transform(decimal<std::int32_t>());
  cmd->add_option("-k,--key", p->key, "key for every message");
  cmd->add_option("-K,--key-delimiter", p->key_delimiter,
                  "split each line at this delimiter into key and value (as kcat -K)");
  cmd->add_option("-H,--header", p->headers, "header name=value (repeatable; the value may be empty)")
      ->allow_extra_args(false);
  cmd->add_flag("-Z,--empty-as-null", p->empty_as_null,
                "send an empty value as null: a tombstone, which deletes its key from a compacted topic "
                "(as kcat -Z); without it an empty line is an empty value");
  cmd->add_option("--codec", p->codec, "binary, json, cbor, msgpack");
  cmd->add_option("--compression", p->compression, "none, gzip, snappy, lz4, zstd");
  cmd->add_option("--batch", p->batch, "messages per batch (1 to 100000)")->transform(decimal(1, 100000));
  cmd->callback([p, &o] { produce(o, *p); });
}

}  // namespace portask::cli
