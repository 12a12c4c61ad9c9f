// Careless and hostile clients against the real `portask` executable: every connection is
// bounded in time, memory and share of the broker (docs/operations.md, "Limits").
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "protocol/frame.hpp"
#include "protocol/native_messages.hpp"
#include "raw_kafka.hpp"
#include "server_process.hpp"

namespace portask::test {
namespace {

using namespace std::chrono_literals;

// Waits (bounded) for the peer to close: end of stream or a reset. Data is read and dropped.
bool closed_by_peer(int fd, std::chrono::seconds limit = 60s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  char buf[4096];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 200) <= 0) continue;
    const auto n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n == 0) return true;
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return true;
  }
  return false;
}

// True once the peer has closed (no waiting).
bool already_closed(int fd) {
  char c = 0;
  const auto n = recv(fd, &c, 1, MSG_DONTWAIT | MSG_PEEK);
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::size_t count_lines_with(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) n += line.find(needle) != std::string::npos;
  return n;
}

class Limits : public ::testing::Test {
 protected:
  double metric(const std::string& series) {
    return prometheus_value(http_get(server.http_port(), "/metrics").second, series);
  }
  bool metric_reaches(const std::string& series, double at_least, std::chrono::milliseconds limit = 30s) {
    return wait_until([&] { return metric(series) >= at_least; }, limit);
  }
  long rss_kib() { return proc_status_kib(server.pid(), "VmRSS"); }

  temp_dir dir;
  server_process server{"memory", dir.path() + "/broker.log"};
};

// A frame header that promises 15 MiB, part of it, then silence: closed once the request
// timeout has passed since its first byte, on both protocols; others are served meanwhile.
TEST_F(Limits, AStalledPartialFrameIsClosedAfterTheRequestTimeout) {
  ASSERT_TRUE(server.start({"--request-timeout-ms", "1000"}));
  const int kafka = connect_loopback(server.kafka_port());
  const int native = connect_loopback(server.port());
  ASSERT_GE(kafka, 0);
  ASSERT_GE(native, 0);
  protocol::buffer size(4);
  protocol::store_be32(size.data(), 15u << 20);
  ASSERT_EQ(send(kafka, size.data(), size.size(), MSG_NOSIGNAL), 4);
  const std::string some(1 << 20, 'x');
  ASSERT_GT(send(kafka, some.data(), some.size(), MSG_NOSIGNAL), 0);
  protocol::frame_header h;
  h.type = protocol::message_type::publish;
  h.length = 15u << 20;
  std::array<std::uint8_t, protocol::frame_header_size> header{};
  protocol::encode_header(h, header);
  ASSERT_EQ(send(native, header.data(), header.size(), MSG_NOSIGNAL), 16);
  ASSERT_GT(send(native, some.data(), some.size(), MSG_NOSIGNAL), 0);

  auto c = server.connect();  // a well-behaved client is served while they stall
  protocol::message_batch b;
  b.messages.push_back({});
  b.messages.back().value = "v";
  EXPECT_TRUE(client::ok(c.publish("stall", 0, b)));

  EXPECT_TRUE(closed_by_peer(kafka));
  EXPECT_TRUE(closed_by_peer(native));
  close(kafka);
  close(native);
  EXPECT_GE(metric("portask_connections_closed_by_limit_total{listener=\"kafka\",reason=\"request_timeout\"}"), 1);
  EXPECT_GE(metric("portask_connections_closed_by_limit_total{listener=\"native\",reason=\"request_timeout\"}"), 1);
  EXPECT_GE(count_lines_with(read_file(server.log_path()), "no whole request within 1000 ms"), 1u);
}

// One byte at a time, slower than the request timeout allows for the whole frame: closed
// before the frame is complete.
TEST_F(Limits, ASlowlorisConnectionIsClosed) {
  ASSERT_TRUE(server.start({"--request-timeout-ms", "1000"}));
  const int fd = connect_loopback(server.kafka_port());
  ASSERT_GE(fd, 0);
  protocol::buffer frame(4 + 100, 0);
  protocol::store_be32(frame.data(), 100);
  bool closed = false;
  std::size_t sent = 0;
  for (; sent < frame.size() && !closed; ++sent) {
    if (send(fd, frame.data() + sent, 1, MSG_NOSIGNAL) != 1) {
      closed = true;
      break;
    }
    // One byte every 200 ms: the frame would take 20 s.
    pollfd p{fd, POLLIN, 0};
    poll(&p, 1, 200);
    closed = already_closed(fd);
  }
  close(fd);
  EXPECT_TRUE(closed) << "the connection survived all " << frame.size() << " bytes";
  EXPECT_LT(sent, frame.size());
  EXPECT_GE(metric("portask_connections_closed_by_limit_total{listener=\"kafka\",reason=\"request_timeout\"}"), 1);
}

// Every listener's cap filled by idle connections: a new kcat client still produces and
// consumes, a new native client publishes, /metrics answers; each newcomer evicted the
// least recently active idle connection.
TEST_F(Limits, WithTheCapFilledByIdleClientsNewClientsAreStillServed) {
  ASSERT_TRUE(server.start({"--max-connections", "12"}));
  std::vector<int> idle;
  for (auto port : {server.kafka_port(), server.port(), server.http_port()})
    for (int i = 0; i < 12; ++i) {
      const int fd = connect_loopback(port);
      ASSERT_GE(fd, 0);
      idle.push_back(fd);
    }
  // The broker has taken all of them (the HTTP listener's own count is not a gauge; its
  // cap is checked by /metrics answering below).
  ASSERT_TRUE(wait_until([&] {
    auto text = http_get(server.http_port(), "/metrics").second;
    return prometheus_value(text, "portask_open_connections{protocol=\"kafka\"}") == 12 &&
           prometheus_value(text, "portask_open_connections{protocol=\"portask\"}") == 12;
  }, 30s));

  const std::string bootstrap = "127.0.0.1:" + std::to_string(server.kafka_port());
  auto [prc, pout] = run_shell("printf 'a\\nb\\nc\\n' | kcat -b " + bootstrap +
                               " -P -t evict -p 0 -m 20 2>&1");
  EXPECT_EQ(prc, 0) << pout;
  auto [crc, cout] = run_shell("kcat -b " + bootstrap + " -C -t evict -p 0 -o beginning -e -q -m 20 2>&1");
  EXPECT_EQ(crc, 0) << cout;
  EXPECT_EQ(cout, "a\nb\nc\n");

  auto c = server.connect();
  protocol::message_batch b;
  b.messages.push_back({});
  b.messages.back().value = "native";
  EXPECT_TRUE(client::ok(c.publish("evict", 0, b)));

  const auto text = http_get(server.http_port(), "/metrics").second;
  EXPECT_GE(prometheus_value(text, "portask_connections_closed_by_limit_total{listener=\"kafka\",reason=\"evicted_idle\"}"), 1);
  EXPECT_GE(prometheus_value(text, "portask_connections_closed_by_limit_total{listener=\"native\",reason=\"evicted_idle\"}"), 1);
  EXPECT_GE(prometheus_value(text, "portask_connections_closed_by_limit_total{listener=\"http\",reason=\"evicted_idle\"}"), 1);
  std::size_t evicted = 0;
  for (int fd : idle) {
    evicted += already_closed(fd) || closed_by_peer(fd, 0s);
    close(fd);
  }
  EXPECT_GE(evicted, 3u);
}

// With the cap filled by busy connections (each mid-frame) there is nobody to evict: a new
// native client gets the too-many-connections error frame and a close.
TEST_F(Limits, WithNoIdleConnectionANewClientIsRefusedWithAnErrorFrame) {
  ASSERT_TRUE(server.start({"--max-connections", "4", "--max-connections-per-address", "4"}));
  std::vector<int> busy;
  for (int i = 0; i < 4; ++i) {
    const int fd = connect_loopback(server.port());
    ASSERT_GE(fd, 0);
    ASSERT_EQ(send(fd, "PORT", 4, MSG_NOSIGNAL), 4);  // a frame begun, not finished
    busy.push_back(fd);
  }
  ASSERT_TRUE(wait_until([&] { return metric("portask_open_connections{protocol=\"portask\"}") == 4; }));
  const int late = connect_loopback(server.port());
  ASSERT_GE(late, 0);
  std::array<std::uint8_t, 512> reply{};
  const auto n = recv(late, reply.data(), reply.size(), 0);
  ASSERT_GE(n, static_cast<ssize_t>(protocol::frame_header_size));
  auto frame = protocol::decode_frame(protocol::byte_view{reply.data(), static_cast<std::size_t>(n)});
  ASSERT_TRUE(frame);
  EXPECT_EQ(frame->header.type, protocol::message_type::error);
  auto err = protocol::native::decode_error(frame->payload);
  ASSERT_TRUE(err);
  EXPECT_EQ(err->code, static_cast<std::uint16_t>(errc::too_many_connections));
  EXPECT_TRUE(closed_by_peer(late));
  close(late);
  EXPECT_GE(metric("portask_connections_refused_total{listener=\"native\",reason=\"address_full\"}"), 1);
  for (int fd : busy) close(fd);
}

// The process may open 256 files; 400 clients connect to the native listener. The broker
// keeps every listener's share of descriptors apart (and backs off accepting if they still
// run out): the Kafka listener and /health keep answering, and the log stays short.
TEST_F(Limits, UnderAFileLimitOf256FourHundredConnectsLeaveTheOtherListenersResponsive) {
  ASSERT_TRUE(server.start({}, {"prlimit", "--nofile=256"}));
  std::vector<int> fds;
  for (int i = 0; i < 400; ++i) {
    const int fd = connect_loopback(server.port());
    if (fd >= 0) fds.push_back(fd);
  }
  EXPECT_EQ(fds.size(), 400u);  // the kernel completes them; the broker takes what it can
  EXPECT_EQ(http_get(server.http_port(), "/health").first, 200);
  raw_kafka k{server.kafka_port()};
  msg::ApiVersionsRequest av;
  auto res = call<msg::ApiVersionsResponse>(k, 18, 0, av, false);
  EXPECT_EQ(res.errorCode, 0);
  EXPECT_FALSE(res.apiKeys.empty());
  auto c = server.connect();  // and a native client still gets in (an idle one is evicted)
  EXPECT_TRUE(client::ok(c.heartbeat()));
  for (int fd : fds) close(fd);
  EXPECT_TRUE(server.running());
  const auto log = read_file(server.log_path());
  std::size_t lines = 0;
  for (char ch : log) lines += ch == '\n';
  EXPECT_LT(lines, 100u) << log.substr(0, 4000);
  EXPECT_EQ(count_lines_with(log, "accept failed"), 0u);
}

// 64 zstd batches that each inflate to 15 MiB, in one small Produce request, one batch per
// partition (as Kafka takes them: a partition's records are one batch): the first two fit the
// request's budget (32 MiB here) and are stored, every later one is refused with
// MESSAGE_TOO_LARGE once it is spent; RSS grows by about the budget, not by the gigabyte the
// request asks for.
TEST_F(Limits, AMultiBatchDecompressionBombIsRefusedWithinTheRequestBudget) {
  small_asan_quarantine();
  ASSERT_TRUE(server.start({"--max-decompressed-bytes-per-request", std::to_string(32u << 20),
                            "--default-partitions", "64"}));
  protocol::message_batch one;
  one.messages.push_back({});
  one.messages.back().value = std::string(15u << 20, '\0');
  auto rb = kafka::from_messages(one, 0);
  rb.attributes = static_cast<std::int16_t>(kafka::compression_type::zstd);
  protocol::buffer batch;
  ASSERT_FALSE(kafka::encode_record_batch(rb, batch));
  ASSERT_LT(batch.size(), 4096u);
  const std::string records(protocol::as_chars(batch));
  msg::ProduceRequest req = produce_request("bomb", 0, records);
  for (std::int32_t p = 1; p < 64; ++p) req.topicData[0].partitionData.push_back({p, protocol::gather_bytes(records)});
  req.topicData.push_back({"bomb-too", {{0, protocol::gather_bytes(records)}}});

  raw_kafka k{server.kafka_port()};
  // The topics exist first, so the measurement is of the request alone.
  auto warm = call<msg::ProduceResponse>(k, 0, 7, produce_request("bomb", 0, record_batch_bytes("w", 1, kafka::compression_type::none)), false);
  call<msg::ProduceResponse>(k, 0, 7, produce_request("bomb-too", 0, record_batch_bytes("w", 1, kafka::compression_type::none)), false);
  ASSERT_EQ(warm.responses.at(0).partitionResponses.at(0).errorCode, 0);
  const long before = rss_kib();
  auto res = call<msg::ProduceResponse>(k, 0, 7, req, false);
  const long peak = proc_status_kib(server.pid(), "VmHWM");
  ASSERT_EQ(res.responses.size(), 2u);
  int stored = 0;
  int refused = 0;
  for (const auto& t : res.responses)
    for (const auto& p : t.partitionResponses) {
      if (p.errorCode == 0) ++stored;
      else if (p.errorCode == 10) ++refused;  // MESSAGE_TOO_LARGE
      else ADD_FAILURE() << t.name << "/" << p.index << ": error " << p.errorCode;
    }
  EXPECT_EQ(stored, 2) << "two batches of 15 MiB fit a budget of 32 MiB";
  EXPECT_EQ(refused, 63);
  EXPECT_EQ(metric("portask_requests_rejected_total{limit=\"decompressed_bytes\"}"), 1);
  // Budget 32 MiB plus one batch being parsed and the allocator's slack (and the two stored);
  // the request itself would take 1.9 GiB.
  EXPECT_LT(peak - before, 256L * 1024) << "peak " << peak << " KiB, before " << before << " KiB";
  auto ok = call<msg::ProduceResponse>(k, 0, 7, produce_request("bomb", 0, record_batch_bytes("after", 3, kafka::compression_type::zstd)), false);
  EXPECT_EQ(ok.responses.at(0).partitionResponses.at(0).errorCode, 0);
}

// Empty records are 7 bytes each on the wire, and each takes a message struct decoded: the
// request's budget counts those structures too, so one zstd batch of half a million of them
// (4 MiB inflated, within every bound on bytes) is refused, not decoded into 90 MiB.
TEST_F(Limits, ABatchOfManyEmptyRecordsIsChargedForWhatItTakesDecoded) {
  small_asan_quarantine();
  ASSERT_TRUE(server.start({"--max-decompressed-bytes-per-request", std::to_string(32u << 20)}));
  protocol::message_batch empty;
  empty.messages.resize(500000);
  auto rb = kafka::from_messages(empty, 0);
  rb.attributes = static_cast<std::int16_t>(kafka::compression_type::zstd);
  protocol::buffer batch;
  ASSERT_FALSE(kafka::encode_record_batch(rb, batch));
  raw_kafka k{server.kafka_port()};
  auto warm = call<msg::ProduceResponse>(k, 0, 7, produce_request("empties", 0, record_batch_bytes("w", 1, kafka::compression_type::none)), false);
  ASSERT_EQ(warm.responses.at(0).partitionResponses.at(0).errorCode, 0);
  const long before = rss_kib();
  auto res = call<msg::ProduceResponse>(k, 0, 7, produce_request("empties", 0, std::string(protocol::as_chars(batch))), false);
  const long peak = proc_status_kib(server.pid(), "VmHWM");
  EXPECT_EQ(res.responses.at(0).partitionResponses.at(0).errorCode, 10);  // MESSAGE_TOO_LARGE
  EXPECT_LT(peak - before, 64L * 1024) << "peak " << peak << " KiB, before " << before << " KiB";
  // A batch of a thousand is stored as before.
  empty.messages.resize(1000);
  auto small = kafka::from_messages(empty, 0);
  small.attributes = static_cast<std::int16_t>(kafka::compression_type::zstd);
  protocol::buffer fine;
  ASSERT_FALSE(kafka::encode_record_batch(small, fine));
  auto ok = call<msg::ProduceResponse>(k, 0, 7, produce_request("empties", 0, std::string(protocol::as_chars(fine))), false);
  EXPECT_EQ(ok.responses.at(0).partitionResponses.at(0).errorCode, 0);
}

// Pipelined produce requests, each within its budget, take turns within the connection's
// (the same max_decompressed_bytes_per_request): the ones read after a full budget wait for
// answers, and every one is stored and answered, in order.
TEST_F(Limits, PipelinedProduceRequestsShareTheDecodedBudget) {
  ASSERT_TRUE(server.start({"--max-decompressed-bytes-per-request", std::to_string(8u << 20)}));
  protocol::message_batch empty;
  empty.messages.resize(30000);  // about 5.5 MiB decoded, 0.3 MiB inflated
  auto rb = kafka::from_messages(empty, 0);
  rb.attributes = static_cast<std::int16_t>(kafka::compression_type::zstd);
  protocol::buffer batch;
  ASSERT_FALSE(kafka::encode_record_batch(rb, batch));
  raw_kafka k{server.kafka_port()};
  const auto req = produce_request("shared", 0, std::string(protocol::as_chars(batch)));
  auto first = call<msg::ProduceResponse>(k, 0, 7, req, false);
  ASSERT_EQ(first.responses.at(0).partitionResponses.at(0).errorCode, 0);
  constexpr int requests = 10;
  for (int i = 0; i < requests; ++i) k.send(0, 7, 1000 + i, req, false);
  for (int i = 0; i < requests; ++i) {
    std::int32_t correlation = 0;
    auto bytes = k.receive(correlation, false);
    ASSERT_TRUE(bytes) << i;
    EXPECT_EQ(correlation, 1000 + i);
    const auto res = decode_as<msg::ProduceResponse>(*bytes, 7);
    EXPECT_EQ(res.responses.at(0).partitionResponses.at(0).errorCode, 0) << i;
    EXPECT_EQ(res.responses.at(0).partitionResponses.at(0).baseOffset, 30000 * (i + 1)) << i;
  }
}

msg::FetchRequest fetch_request(const std::string& topic, std::int32_t max_bytes,
                                std::int32_t partition_max, int mentions = 1) {
  msg::FetchRequest f;
  f.replicaId = -1;
  f.maxWaitMs = 0;
  f.minBytes = 1;
  f.maxBytes = max_bytes;
  msg::FetchRequest::FetchTopic t;
  t.topic = topic;
  for (int i = 0; i < mentions; ++i) {
    msg::FetchRequest::FetchTopic::FetchPartition p;
    p.partition = 0;
    p.fetchOffset = 0;
    p.partitionMaxBytes = partition_max;
    t.partitions.push_back(p);
  }
  f.topics.push_back(t);
  return f;
}

std::size_t batches_in(const std::optional<protocol::gather_bytes>& records) {
  if (!records) return 0;
  auto b = kafka::decode_record_batches(records->owned());
  return b ? b->size() : 0;
}

// Fetch honours the request's max_bytes across partitions (the first batch always comes
// whole, as in Kafka), and a partition named three times is answered once.
TEST_F(Limits, FetchHonoursTheRequestMaxBytesAndAnswersARepeatedPartitionOnce) {
  ASSERT_TRUE(server.start());
  raw_kafka k{server.kafka_port()};
  const std::string big(5000, 'x');
  for (int i = 0; i < 10; ++i) {  // ten batches of about 50 KB
    auto res = call<msg::ProduceResponse>(
        k, 0, 7, produce_request("fmax", 0, record_batch_bytes(big, 10, kafka::compression_type::none)), false);
    ASSERT_EQ(res.responses.at(0).partitionResponses.at(0).errorCode, 0);
  }
  auto all = call<msg::FetchResponse>(k, 1, 11, fetch_request("fmax", 10 << 20, 10 << 20), false);
  const auto& everything = all.responses.at(0).partitions.at(0).records;
  ASSERT_EQ(batches_in(everything), 10u);
  const auto batch_size = everything->size() / 10;

  auto capped = call<msg::FetchResponse>(k, 1, 11, fetch_request("fmax", static_cast<std::int32_t>(batch_size * 5 / 2), 10 << 20), false);
  const auto& some = capped.responses.at(0).partitions.at(0).records;
  EXPECT_EQ(batches_in(some), 2u);
  EXPECT_LE(some->size(), batch_size * 5 / 2);

  auto tiny = call<msg::FetchResponse>(k, 1, 11, fetch_request("fmax", 100, 10 << 20), false);
  EXPECT_EQ(batches_in(tiny.responses.at(0).partitions.at(0).records), 1u);  // the first, whole

  auto repeated = call<msg::FetchResponse>(k, 1, 11, fetch_request("fmax", 10 << 20, 10 << 20, 3), false);
  ASSERT_EQ(repeated.responses.size(), 1u);
  ASSERT_EQ(repeated.responses[0].partitions.size(), 1u);
  EXPECT_EQ(batches_in(repeated.responses[0].partitions[0].records), 10u);
}

// A native subscriber that grants 4 GiB of credit and never reads: the broker stops pushing
// once the connection's queued output passes its cap (4 MiB here), and its memory stays
// bounded by that cap, not by the 96 MiB the subscription could take.
TEST_F(Limits, ANonReadingSubscriberLeavesMemoryBoundedByTheOutputCap) {
  small_asan_quarantine();
  ASSERT_TRUE(server.start({"--max-queued-output-bytes", std::to_string(4u << 20)}));
  auto producer = server.connect();
  protocol::message_batch b;
  for (int i = 0; i < 8; ++i) {
    b.messages.push_back({});
    b.messages.back().value = std::string(128 * 1024, static_cast<char>('a' + i));
  }
  for (int i = 0; i < 96; ++i) ASSERT_TRUE(client::ok(producer.publish("flood", 0, b)));  // 96 MiB
  const long before = rss_kib();

  auto subscriber = server.connect();
  ASSERT_TRUE(client::ok(subscriber.subscribe("flood", 0, 0, 0xFFFFFFFFu)));
  // Never reads: the broker notices its output is full and pauses.
  ASSERT_TRUE(metric_reaches("portask_output_pauses_total{listener=\"native\"}", 1));
  const long during = rss_kib();
  EXPECT_LT(during - before, 48L * 1024) << "before " << before << " KiB, during " << during << " KiB";
  EXPECT_LT(metric("portask_bytes_out_total{protocol=\"portask\"}"), 48.0 * (1 << 20));
  // The broker still serves others.
  auto other = server.connect();
  EXPECT_TRUE(client::ok(other.heartbeat()));
}

// A Kafka client that pipelines 2,000 Fetch requests (50 MiB each) and never reads the
// answers: the broker stops reading its requests once the queued output passes the cap,
// and answers what it took within that cap.
TEST_F(Limits, ANonReadingFetchPipelinerLeavesMemoryBoundedByTheOutputCap) {
  small_asan_quarantine();
  ASSERT_TRUE(server.start({"--max-queued-output-bytes", std::to_string(4u << 20)}));
  raw_kafka k{server.kafka_port()};
  const std::string big(100 * 1024, 'z');
  for (int i = 0; i < 64; ++i) {  // 64 MiB
    auto res = call<msg::ProduceResponse>(
        k, 0, 7, produce_request("pipe", 0, record_batch_bytes(big, 10, kafka::compression_type::none)), false);
    ASSERT_EQ(res.responses.at(0).partitionResponses.at(0).errorCode, 0);
  }
  const long before = rss_kib();
  raw_kafka pipeliner{server.kafka_port()};
  const auto f = fetch_request("pipe", 50 << 20, 50 << 20);
  for (int i = 0; i < 2000; ++i) pipeliner.send(1, 11, i, f, false);
  // The broker takes as many as its in-flight cap (256) allows, answers them within the
  // output cap, and then reads no more while the client reads nothing.
  const std::string fetches = "portask_requests_total{protocol=\"kafka\",request=\"fetch\"}";
  ASSERT_TRUE(metric_reaches(fetches, 256));
  const long during = rss_kib();
  EXPECT_LT(during - before, 48L * 1024) << "before " << before << " KiB, during " << during << " KiB";
  raw_kafka other{server.kafka_port()};  // others are served meanwhile
  auto res = call<msg::FetchResponse>(other, 1, 11, fetch_request("pipe", 1 << 20, 1 << 20), false);
  EXPECT_EQ(batches_in(res.responses.at(0).partitions.at(0).records), 1u);
  EXPECT_LT(metric(fetches), 2000);  // the pipeliner's later requests wait in its socket
  EXPECT_LT(metric("portask_bytes_out_total{protocol=\"kafka\"}"), 48.0 * (1 << 20));
}

}  // namespace
}  // namespace portask::test
