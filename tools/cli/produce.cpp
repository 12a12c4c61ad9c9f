// portask-cli produce: values from arguments or stdin lines (one message per line, the line
// without its newline and without one '\r' before it, as Kafka's console producer reads
// lines; an empty line is an empty value, or a null one with -Z). A keyed message goes to the
// partition Kafka's default partitioner picks for its key (murmur2), so the CLI, the Java
// client and librdkafka put a key on the same partition. Unkeyed messages go to one partition
// until its batch is sent, then to the next in turn (sticky, as Kafka's producer does since
// KIP-480), so every batch is for one partition, and each partition's batches leave in the
// order they were begun, as a Kafka producer keeps send order per partition. Like one without
// idempotence, this is no exactly-once producer: a batch whose outcome is unknown (answered
// `timeout` after a store stall, or cut off with its connection after the send) is sent
// again, so it may be stored twice, and a resent batch (one refused retriably too) goes
// behind later ones, which may land first (client/cluster_client.hpp; exactly once and in
// order: client/idempotent_producer.hpp). In a cluster the client picks the
// partition of each unkeyed batch as it sends it, one whose leader is known, and picks again
// when it resends the batch: a dead node's partitions do not hold the unkeyed lines up
// (there keyed and unkeyed lines keep each their own order in a partition, not the order
// between them).
// Where the topic's partition count cannot be learnt (not created yet) the broker picks, one
// batch at a time, until the first batch is acknowledged; the count is read again then and
// every 5 minutes, so partitions added meanwhile get messages too. A batch is bounded by
// --batch messages and by --max-batch-bytes as sent (the broker closes a connection whose
// frame exceeds its max_frame_bytes). Up to 16 batches are in flight; in a
// cluster each goes to its partition's leader and follows it when it moves.
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
#include <random>

#include "protocol/frame.hpp"
#include "protocol/partitioner.hpp"
#include "tools/cli/cli.hpp"
#include "tools/cli/delimiter.hpp"

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
  /// A line longer than `max_line` bytes is not read to its end (too_long).
  line_reader(int fd, int wake_fd, std::size_t max_line) : fd_(fd), wake_fd_(wake_fd), max_line_(max_line) {}

  enum class outcome { line, end, stopped, too_long };

  // The next line, without its '\n' and one '\r' before it (the last line may have no
  // '\n'). Each time it is about to wait for input it calls `idle` first. A stop signal ends
  // the reading (stopped) after what was read: its whole lines, then what came of the next.
  // A line that grows past max_line ends the reading (too_long) as soon as it does: input
  // with no newline at all would otherwise be held whole.
  outcome next(std::string& line, const std::function<void()>& idle) {
    for (;;) {
      const auto nl = find_newline();
      if ((nl == std::string::npos ? buffer_.size() : nl) - start_ > max_line_) return outcome::too_long;
      if (nl != std::string::npos) {
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
  std::size_t max_line_;
  std::string buffer_;
  std::size_t start_ = 0;  ///< where the unread part of buffer_ begins
  mutable std::size_t searched_ = 0;  ///< buffer_ up to here holds no '\n' after start_
  bool ended_ = false;
};

struct produce_options {
  std::string topic;
  std::int32_t partition = -1;
  std::string key;
  bool key_given = false;  ///< -k was given: an empty key is a key, not null
  std::string key_delimiter;  ///< -K's bytes, its escapes read (empty: none given)
  std::vector<std::string> headers;
  std::vector<std::string> values;
  bool empty_as_null = false;  ///< an empty value is sent as null (a tombstone)
  std::string codec = "binary";
  std::string compression = "none";
  std::size_t batch = 500;
  /// The broker's default max_frame_bytes: the largest frame payload it reads.
  std::size_t max_batch_bytes = protocol::default_max_frame_payload;
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

// An upper bound on the bytes `m` takes in a batch encoded with `codec`, before compression
// (docs/protocol.md, sections 5 and 6; producer::as_sent adds what compression may). Batches
// are cut by it so that no Publish frame exceeds what the broker reads; the exact size would
// mean encoding every message twice.
std::size_t encoded_bound(const protocol::message& m, protocol::codec_id codec) {
  const bool text = codec == protocol::codec_id::json;
  const auto bytes = [text](std::size_t n) { return text ? (n + 2) / 3 * 4 : n; };  // JSON: base64
  std::size_t size = 0;
  if (m.key) size += bytes(m.key->size());
  if (m.value) size += bytes(m.value->size());
  for (const auto& h : m.headers) size += bytes(h.key.size()) + (h.value ? bytes(h.value->size()) : 0);
  // Binary: a few varints and flag bytes around the byte strings. A structured document
  // names every field of every message (about 210 bytes of JSON at most).
  if (codec == protocol::codec_id::binary) return size + 64 + 24 * m.headers.size();
  return size + 256 + 48 * m.headers.size();
}

class producer {
 public:
  /// `unit` names what one message came from in errors: "line" or "value".
  producer(client::cluster_client c, const produce_options& p, protocol::codec_id codec, bool compressed,
           std::vector<protocol::message_header> headers, std::string unit)
      : c_(std::move(c)), p_(p), codec_(codec), compressed_(compressed), headers_(std::move(headers)),
        unit_(std::move(unit)),
        // The Publish request's own fields and the batch's header, the topic in both.
        batch_overhead_(128 + 2 * p.topic.size()),
        max_held_bytes_(std::max<std::size_t>(64u << 20, 4 * p.max_batch_bytes)),
        // Where unkeyed messages begin: each run at partition 0 would load it most.
        next_sticky_(std::random_device{}()) {}

  void add(std::optional<std::string> key, std::optional<std::string> value) {
    const auto partition = partition_for(key);
    const bool unkeyed_sticky = !key && partition == sticky_ && partition >= 0;
    protocol::message m;
    m.key = std::move(key);
    if (value) bytes_ += value->size();
    m.value = std::move(value);
    m.headers = headers_;
    ++added_;
    const auto size = encoded_bound(m, codec_);
    if (as_sent(batch_overhead_ + size) > p_.max_batch_bytes)
      too_large("its message takes up to " + std::to_string(as_sent(batch_overhead_ + size)) + " bytes as sent" +
                (compressed_ ? " (with room for what compression adds to data it cannot shrink)" : ""));
    // What holding it costs: its bytes and the objects around them (several times the bytes
    // for a small message with headers).
    const auto held = size + sizeof(protocol::message) + m.headers.size() * sizeof(protocol::message_header);
    auto at = held_.find(partition);
    // A batch this message would overfill leaves alone: it is its partition's only one.
    if (at != held_.end() && as_sent(at->second.bytes + size) > p_.max_batch_bytes) {
      send(at);
      at = held_.end();
    }
    if (at == held_.end()) {
      at = held_.emplace(partition, held_batch{{}, batch_overhead_, batch_overhead_, begun_++}).first;
      held_bytes_ += batch_overhead_;
      if (unkeyed_sticky) sticky_ = partition;  // the batch begun for it takes the next unkeyed ones too
    }
    at->second.batch.messages.push_back(std::move(m));
    at->second.bytes += size;
    at->second.held += held;
    held_bytes_ += held;
    if (at->second.batch.messages.size() >= p_.batch) send(at);
    // Keys spread over many partitions fill many batches slowly: memory stays bounded.
    while (held_.size() > max_held_batches || held_bytes_ > max_held_bytes_) send(oldest());
  }

  // A line longer than any message may be (line_reader::too_long): what came before it is
  // sent, then the command fails.
  [[noreturn]] void refuse_long_line(std::size_t max_line) {
    ++added_;
    too_large("it is longer than " + std::to_string(max_line) + " bytes");
  }

  // Sends every batch held, keeping up to max_in_flight unanswered (input that pauses,
  // such as a pipe written in blocks, keeps the pipeline full).
  void send_held() {
    while (!held_.empty()) send(held_.begin());
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
  std::uint64_t batches() const noexcept { return batches_; }

 private:
  struct held_batch {
    protocol::message_batch batch;
    std::size_t bytes;   ///< encoded_bound of its messages, batch_overhead_ included
    std::size_t held;    ///< bytes plus the message and header objects that hold them
    std::uint64_t begun;  ///< its place among the batches begun
  };
  /// By partition: one batch each (-1: the broker, or in a cluster the client, picks; held
  /// for unkeyed messages in a cluster, otherwise only while the topic's partition count is
  /// not known, and then the only one).
  using held_map = std::map<std::int32_t, held_batch>;

  // The partition of a message: -p's, its key's (Kafka's partitioner), or for an unkeyed one
  // the sticky partition, chosen when its first message comes and kept until its batch is
  // sent. Batches of different partitions may then leave in any order. In a cluster an
  // unkeyed batch goes as -1: the client gives it a partition with a leader when it sends it
  // and another when it resends it (a partition chosen here would hold the batch, and the
  // whole command, until a dead leader's lease expired).
  std::int32_t partition_for(const std::optional<std::string>& key) {
    if (p_.partition >= 0) return p_.partition;
    if (key) return protocol::partition_for_key(*key, partitions());
    if (c_.clustered()) return -1;
    if (sticky_ < 0) {
      if (known_partitions() == 0) return -1;
      sticky_ = static_cast<std::int32_t>(next_sticky_++ % static_cast<std::uint32_t>(partitions_));
    }
    return sticky_;
  }

  // The topic's partition count; 0 when the broker cannot say (a topic not created yet,
  // which the first publish may create): unkeyed batches then go to -1. Asked again once
  // the first such batch is answered (learn_partitions waits for it: the topic exists then),
  // and every recount_every, as a Kafka producer reads its metadata again
  // (metadata.max.age.ms): partitions added meanwhile get messages.
  std::int32_t known_partitions() {
    const auto now = clock_type::now();
    if (!asked_at_) {
      asked_at_ = now;
      (void)learn_partitions(false);
    } else if ((partitions_ == 0 && batches_ > 0 && !asked_after_first_) || now - *asked_at_ > recount_every) {
      asked_after_first_ = batches_ > 0;
      asked_at_ = now;
      (void)learn_partitions(true);
    }
    return partitions_;
  }

  // The count keys need. When it was not known, the unkeyed lines before may have created
  // the topic: they are sent and answered first (no batch for -1 is held past this), and
  // the broker asked again.
  std::int32_t partitions() {
    if (known_partitions() > 0) return partitions_;
    send_all();
    if (auto f = learn_partitions(true)) {
      if (f->code == errc::unknown_topic)
        throw runtime_error("topic '" + p_.topic +
                            "' does not exist; keyed messages need its partition count (create it "
                            "with: portask-cli topics create " + p_.topic + ")");
      throw runtime_error("describe " + p_.topic + ": " + failure_text(*f));
    }
    return partitions_;
  }

  // Reads the topic's partition count into partitions_ (from the client's Metadata unless
  // `fresh`); the broker's refusal otherwise, partitions_ then unchanged.
  std::optional<client::failure> learn_partitions(bool fresh) {
    if (!fresh) {
      if (const auto n = c_.partitions_of(p_.topic); n > 0) {
        partitions_ = n;
        return std::nullopt;
      }
    }
    drain(0);  // a connection with publishes in flight takes no other request
    auto d = check(c_.any(), "connect")->describe_topic(p_.topic);
    if (!client::ok(d)) return client::error_of(d);
    partitions_ = std::get<0>(d).partitions;
    return std::nullopt;
  }

  // The batch begun first (the limits on what is held send it).
  held_map::iterator oldest() {
    return std::min_element(held_.begin(), held_.end(),
                            [](const auto& a, const auto& b) { return a.second.begun < b.second.begun; });
  }

  // `bytes` of a batch as it may go out: compression adds a little to data it cannot shrink
  // (a few bytes per block; n/255 + 64 covers gzip, snappy, lz4 and zstd).
  std::size_t as_sent(std::size_t bytes) const { return compressed_ ? bytes + bytes / 255 + 64 : bytes; }

  void send(held_map::iterator at) {
    const auto partition = at->first;
    auto batch = std::move(at->second.batch);
    held_bytes_ -= at->second.held;
    held_.erase(at);
    if (partition == sticky_) sticky_ = -1;  // the next unkeyed message begins the next one
    sent_ += batch.messages.size();
    ++batches_;
    if (auto r = c_.send_publish(p_.topic, partition, std::move(batch)); !client::ok(r))
      failed(client::error_of(r));
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

  // A message larger than a batch may be: what came before it is sent, then the command
  // fails (sending it would make the broker close the connection, losing what is in flight).
  [[noreturn]] void too_large(const std::string& size) {
    send_all();
    throw runtime_error(unit_ + " " + std::to_string(added_) + " is too large to send: " + size +
                        ", over the limit of " + std::to_string(p_.max_batch_bytes) +
                        " (--max-batch-bytes; the broker reads no frame over its max_frame_bytes, " +
                        std::to_string(protocol::default_max_frame_payload) + " by default); " +
                        std::to_string(acknowledged_) + " messages before it were acknowledged");
  }

  // What was acknowledged before a failure is stored for sure: a script that resends knows
  // how much it may skip (batches in flight with the failed one may be stored or not).
  [[noreturn]] void failed(const client::failure& f) const {
    throw runtime_error("publish to " + p_.topic + ": " + failure_text(f) + "; " +
                        std::to_string(acknowledged_) + " messages were acknowledged before this failure");
  }

  static constexpr std::size_t max_in_flight = 16;
  // Keys spread over many partitions begin a batch for each: past this many held, or past
  // max_held_bytes_ (64 MiB, or 4 batches of --max-batch-bytes if more) of memory held
  // (held_batch::held), the oldest leaves.
  static constexpr std::size_t max_held_batches = 1024;
  static constexpr auto recount_every = std::chrono::minutes(5);
  client::cluster_client c_;
  const produce_options& p_;
  protocol::codec_id codec_;
  bool compressed_;
  std::vector<protocol::message_header> headers_;
  std::string unit_;
  std::size_t batch_overhead_;
  std::size_t max_held_bytes_;
  held_map held_;
  std::size_t held_bytes_ = 0;  ///< the memory every held batch takes (held_batch::held)
  std::uint64_t begun_ = 0;
  std::int32_t partitions_ = 0;  ///< 0: not known
  std::optional<clock_type::time_point> asked_at_;  ///< when it was last read (none: never)
  bool asked_after_first_ = false;  ///< read again once the first batch was answered
  std::int32_t sticky_ = -1;     ///< unkeyed messages' partition (-1: none chosen yet)
  std::uint32_t next_sticky_;
  std::uint64_t added_ = 0, sent_ = 0, acknowledged_ = 0, bytes_ = 0, batches_ = 0;
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
  const bool from_stdin = p.values.empty();
  producer out(open_cluster(o, {*codec, *compression}), p, *codec, *compression != protocol::compression_id::none,
               std::move(headers), from_stdin ? "line" : "value");
  const bool progress = from_stdin && isatty(STDERR_FILENO);
  const auto start = clock_type::now();
  auto last_report = start;
  auto add = [&](std::string line) {
    std::optional<std::string> key;
    if (p.key_given) key = p.key;  // -k '' is an empty key, as -K's empty key part is
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
    // Longer than this, a line's key and value alone exceed a batch (the delimiter is dropped).
    const auto max_line = p.max_batch_bytes + p.key_delimiter.size();
    line_reader in(STDIN_FILENO, wake_read_fd, max_line);
    std::string line;
    // Whenever no more input is ready, what was read is sent before waiting for more.
    auto got = line_reader::outcome::line;
    while ((got = in.next(line, [&out] { out.send_held(); })) == line_reader::outcome::line) add(std::move(line));
    if (got == line_reader::outcome::too_long) out.refuse_long_line(max_line);
  } else {
    for (const auto& v : p.values) add(v);
  }
  out.send_all();
  const double secs = std::chrono::duration<double>(clock_type::now() - start).count();
  std::cerr << (progress ? "\n" : "") << "produced " << out.acknowledged() << " messages in " << out.batches()
            << (out.batches() == 1 ? " batch" : " batches") << " to " << p.topic << " in " << secs << " s\n";
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
  auto* key = cmd->add_option("-k,--key", p->key, "key for every message (-k '': an empty key; without -k: null)");
  auto* key_delimiter =
      cmd->add_option("-K,--key-delimiter", p->key_delimiter,
                      "split each line at this delimiter into key and value, the first time it occurs (as kcat -K: "
                      "\\t a tab, \\n a newline, \\xNN a byte in two hex digits; also \\r a carriage return, "
                      "\\\\ a backslash; not empty, no other escape)");
  cmd->add_option("-H,--header", p->headers, "header name=value (repeatable; the value may be empty)")
      ->allow_extra_args(false);
  cmd->add_flag("-Z,--empty-as-null", p->empty_as_null,
                "send an empty value as null: a tombstone, which deletes its key from a compacted topic "
                "(as kcat -Z); without it an empty line is an empty value");
  cmd->add_option("--codec", p->codec, "binary, json, cbor, msgpack");
  cmd->add_option("--compression", p->compression, "none, gzip, snappy, lz4, zstd");
  cmd->add_option("--batch", p->batch, "messages per batch (1 to 100000)")->transform(decimal(1, 100000));
  auto* max_batch =
      cmd->add_option("--max-batch-bytes", p->max_batch_bytes,
                      "bytes per batch as sent (with compression: with room for data it cannot shrink; 1024 to "
                      "--max-frame-bytes; default: the broker's default max_frame_bytes, or --max-frame-bytes if "
                      "lower; at most the broker's max_frame_bytes; a larger line is an error)")
          ->transform(decimal(1024, std::numeric_limits<std::uint32_t>::max()));
  cmd->callback([p, &o, key, key_delimiter, max_batch] {
    p->key_given = key->count() > 0;
    if (key_delimiter->count() > 0) {
      std::string why;
      auto bytes = parse_delimiter(p->key_delimiter, why);
      if (!bytes) throw usage_error("-K '" + p->key_delimiter + "': " + why);
      p->key_delimiter = std::move(*bytes);
    }
    // The client encodes no batch over its own frame limit (client::options::max_frame_bytes).
    if (max_batch->count() == 0)
      p->max_batch_bytes = std::min<std::size_t>(p->max_batch_bytes, o.max_frame_bytes);
    else if (p->max_batch_bytes > o.max_frame_bytes)
      throw usage_error("--max-batch-bytes " + std::to_string(p->max_batch_bytes) + " is over --max-frame-bytes " +
                        std::to_string(o.max_frame_bytes) + ": the client encodes no batch over its frame limit");
    produce(o, *p);
  });
}

}  // namespace portask::cli
