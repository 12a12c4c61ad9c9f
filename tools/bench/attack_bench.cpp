// portask-attack: plays one careless or hostile client against a running broker (loopback
// only) and reports what it cost the broker's memory, read from /proc/<pid>/status. For
// docs/benchmarks.md ("What the limits hold"); tools/bench/run-limits-bench runs every mode.
//
//   portask-attack --mode idle       --pid P --port N [--connections 1000]
//   portask-attack --mode stall      --pid P --kafka-port N [--connections 40]
//   portask-attack --mode bomb       --pid P --kafka-port N
//   portask-attack --mode repeat     --pid P --kafka-port N
//   portask-attack --mode subscriber --pid P --port N
//   portask-attack --mode pipeliner  --pid P --kafka-port N
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "client/client.hpp"
#include "portask/kafka/kafka_messages.hpp"
#include "protocol/kafka/record_batch.hpp"

namespace {

namespace msg = portask::protocol::kafka::messages;
namespace kafka = portask::protocol::kafka;
using namespace std::chrono_literals;

struct settings {
  std::string mode;
  int pid = 0;
  std::uint16_t port = 7070;
  std::uint16_t kafka_port = 9092;
  int connections = 0;
};

long status_kib(int pid, const char* field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  const std::string key = std::string(field) + ":";
  while (std::getline(in, line))
    if (line.rfind(key, 0) == 0) return std::stol(line.substr(key.size()));
  return -1;
}

double mib(long kib) { return static_cast<double>(kib) / 1024.0; }

int connect_to(std::uint16_t port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

void send_all(int fd, const void* data, std::size_t n) {
  const auto* p = static_cast<const char*>(data);
  while (n > 0) {
    const auto k = ::send(fd, p, n, MSG_NOSIGNAL);
    if (k <= 0) return;
    p += k;
    n -= static_cast<std::size_t>(k);
  }
}

template <class Req>
portask::protocol::buffer kafka_request(std::int16_t key, std::int16_t version, std::int32_t corr,
                                        const Req& body) {
  portask::protocol::buffer out(4);
  kafka::writer w{out};
  w.i16(key);
  w.i16(version);
  w.i32(corr);
  w.string("attack", false);
  body.encode(w, version);
  portask::protocol::store_be32(out.data(), static_cast<std::uint32_t>(out.size() - 4));
  return out;
}

// Reads one response (size-prefixed) and drops it; false on a close.
bool drain_one(int fd) {
  std::uint8_t size[4];
  if (recv(fd, size, 4, MSG_WAITALL) != 4) return false;
  std::vector<char> body(portask::protocol::load_be32(size));
  return body.empty() || recv(fd, body.data(), body.size(), MSG_WAITALL) == static_cast<ssize_t>(body.size());
}

std::string batch_of(std::size_t values, std::size_t size, kafka::compression_type z, char fill = 'x') {
  portask::protocol::message_batch b;
  for (std::size_t i = 0; i < values; ++i) {
    b.messages.push_back({});
    b.messages.back().value = std::string(size, fill);
  }
  auto rb = kafka::from_messages(b, 0);
  rb.attributes = static_cast<std::int16_t>(z);
  portask::protocol::buffer out;
  (void)kafka::encode_record_batch(rb, out);
  return std::string(portask::protocol::as_chars(out));
}

msg::ProduceRequest produce_of(const std::string& topic, std::string records) {
  msg::ProduceRequest req;
  req.acks = -1;
  req.timeoutMs = 30000;
  req.topicData.push_back({topic, {{0, portask::protocol::gather_bytes(records)}}});
  return req;
}

// Fills `topic` partition 0 with `mib_total` MiB in 1 MiB batches (Kafka Produce v7).
void fill_topic(std::uint16_t kafka_port, const std::string& topic, int mib_total) {
  const int fd = connect_to(kafka_port);
  const auto records = batch_of(8, 128 * 1024, kafka::compression_type::none);
  for (int i = 0; i < mib_total; ++i) {
    auto req = kafka_request(0, 7, i, produce_of(topic, records));
    send_all(fd, req.data(), req.size());
    drain_one(fd);
  }
  close(fd);
}

msg::FetchRequest fetch_of(const std::string& topic, int mentions, std::int32_t max_bytes) {
  msg::FetchRequest f;
  f.replicaId = -1;
  f.maxBytes = max_bytes;
  f.minBytes = 1;
  msg::FetchRequest::FetchTopic t;
  t.topic = topic;
  for (int i = 0; i < mentions; ++i) {
    msg::FetchRequest::FetchTopic::FetchPartition p;
    p.partitionMaxBytes = max_bytes;
    t.partitions.push_back(p);
  }
  f.topics.push_back(t);
  return f;
}

void report(const settings& s, const char* what, long before, long during, const std::string& note) {
  std::printf("mode=%s %s: rss before %.1f MiB, during %.1f MiB (+%.1f MiB), peak %.1f MiB%s%s\n",
              s.mode.c_str(), what, mib(before), mib(during), mib(during - before),
              mib(status_kib(s.pid, "VmHWM")), note.empty() ? "" : "; ", note.c_str());
}

int idle(const settings& s) {
  const int n = s.connections ? s.connections : 1000;
  const long before = status_kib(s.pid, "VmRSS");
  std::vector<int> fds;
  for (int i = 0; i < n; ++i)
    if (const int fd = connect_to(s.port); fd >= 0) fds.push_back(fd);
  std::this_thread::sleep_for(2s);
  const long during = status_kib(s.pid, "VmRSS");
  report(s, "idle connections", before, during,
         std::to_string(fds.size()) + " connections, " +
             std::to_string((during - before) * 1024 / static_cast<long>(std::max<std::size_t>(1, fds.size()))) +
             " bytes each");
  for (int fd : fds) close(fd);
  return 0;
}

int stall(const settings& s) {
  const int n = s.connections ? s.connections : 40;
  const long before = status_kib(s.pid, "VmRSS");
  std::vector<int> fds;
  const std::string body((14u << 20), 'x');
  for (int i = 0; i < n; ++i) {
    const int fd = connect_to(s.kafka_port);
    if (fd < 0) continue;
    std::uint8_t size[4];
    portask::protocol::store_be32(size, 15u << 20);
    send_all(fd, size, 4);
    send_all(fd, body.data(), body.size());
    fds.push_back(fd);
  }
  const long during = status_kib(s.pid, "VmRSS");
  // Wait for the broker to close them (the request timeout), bounded.
  const auto start = std::chrono::steady_clock::now();
  std::size_t closed = 0;
  for (int fd : fds) {
    timeval tv{120, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char c;
    if (recv(fd, &c, 1, 0) <= 0) ++closed;
    close(fd);
  }
  const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  std::this_thread::sleep_for(1s);
  report(s, "stalled 15 MiB frames", before, during,
         std::to_string(closed) + "/" + std::to_string(fds.size()) + " closed by the broker within " +
             std::to_string(waited.count()) + " ms, rss after " + std::to_string(mib(status_kib(s.pid, "VmRSS"))) + " MiB");
  return 0;
}

int bomb(const settings& s) {
  fill_topic(s.kafka_port, "bomb", 1);
  const auto one = batch_of(1, 15u << 20, kafka::compression_type::zstd, '\0');
  std::string records;
  for (int i = 0; i < 64; ++i) records += one;
  const auto req = kafka_request(0, 7, 1, produce_of("bomb", records));
  const long before = status_kib(s.pid, "VmRSS");
  const int fd = connect_to(s.kafka_port);
  send_all(fd, req.data(), req.size());
  drain_one(fd);
  close(fd);
  report(s, "64 zstd batches of 15 MiB", before, status_kib(s.pid, "VmRSS"),
         "request " + std::to_string(req.size()) + " bytes");
  return 0;
}

int repeat(const settings& s) {
  fill_topic(s.kafka_port, "repeat", 64);
  const long before = status_kib(s.pid, "VmRSS");
  const int fd = connect_to(s.kafka_port);
  const auto req = kafka_request(1, 11, 1, fetch_of("repeat", 1000, 64 << 20));
  send_all(fd, req.data(), req.size());
  std::uint8_t size[4];
  recv(fd, size, 4, MSG_WAITALL);
  const auto response = portask::protocol::load_be32(size);
  std::vector<char> body(response);
  recv(fd, body.data(), body.size(), MSG_WAITALL);
  close(fd);
  report(s, "one partition named 1000 times", before, status_kib(s.pid, "VmRSS"),
         "request " + std::to_string(req.size()) + " bytes, response " + std::to_string(response) + " bytes");
  return 0;
}

int subscriber(const settings& s) {
  portask::client::options o;
  o.port = s.port;
  auto p = portask::client::connection::open(o);
  if (!portask::client::ok(p)) return 1;
  auto& producer = std::get<0>(p);
  portask::protocol::message_batch b;
  for (int i = 0; i < 8; ++i) {
    b.messages.push_back({});
    b.messages.back().value = std::string(128 * 1024, 'y');
  }
  for (int i = 0; i < 256; ++i) (void)producer.publish("flood", 0, b);
  const long before = status_kib(s.pid, "VmRSS");
  auto c = portask::client::connection::open(o);
  if (!portask::client::ok(c)) return 1;
  (void)std::get<0>(c).subscribe("flood", 0, 0, 0xFFFFFFFFu);  // then never reads
  std::this_thread::sleep_for(5s);
  report(s, "subscriber with 4 GiB credit that never reads, 256 MiB available", before,
         status_kib(s.pid, "VmRSS"), "");
  return 0;
}

int pipeliner(const settings& s) {
  fill_topic(s.kafka_port, "pipe", 256);
  const long before = status_kib(s.pid, "VmRSS");
  const int fd = connect_to(s.kafka_port);
  const auto f = fetch_of("pipe", 1, 50 << 20);
  for (int i = 0; i < 2000; ++i) {
    const auto req = kafka_request(1, 11, i, f);
    send_all(fd, req.data(), req.size());
  }
  std::this_thread::sleep_for(5s);
  report(s, "2000 pipelined 50 MiB fetches never read, 256 MiB available", before,
         status_kib(s.pid, "VmRSS"), "");
  close(fd);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  settings s;
  CLI::App app{"Plays one hostile client against a broker on loopback and reports its memory"};
  app.add_option("--mode", s.mode, "idle, stall, bomb, repeat, subscriber or pipeliner")->required();
  app.add_option("--pid", s.pid, "the broker's process id (for /proc)")->required();
  app.add_option("--port", s.port, "native port");
  app.add_option("--kafka-port", s.kafka_port, "Kafka port");
  app.add_option("--connections", s.connections, "idle/stall: how many connections");
  CLI11_PARSE(app, argc, argv);
  if (s.mode == "idle") return idle(s);
  if (s.mode == "stall") return stall(s);
  if (s.mode == "bomb") return bomb(s);
  if (s.mode == "repeat") return repeat(s);
  if (s.mode == "subscriber") return subscriber(s);
  if (s.mode == "pipeliner") return pipeliner(s);
  std::fprintf(stderr, "unknown mode %s\n", s.mode.c_str());
  return 2;
}
